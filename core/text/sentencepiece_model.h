// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "text/tokenizer.h"

#include <string>

namespace mf::text {

/// True when this build reads tokenizer.model files (Debian's libsentencepiece-dev; the
/// library lives in a plugin opened on first use, see sentencepiece_plugin.cpp).
bool haveSentencePiece();

/// A SentencePiece tokenizer.model as the pipeline's model and decoder (no normalizer or
/// pre-tokenizer: SentencePiece does its own). Each stretch of text between added tokens is
/// encoded on its own, as transformers' LlamaTokenizer (legacy) does. Throws mf::Error naming
/// the file when it cannot be read, or when this build has no SentencePiece.
Tokenizer::Parts sentencePieceParts(const std::string &modelFile);

class Model;
class Decoder;

} // namespace mf::text

/// The SentencePiece plugin's entry point (C linkage, found with dlsym): the model and decoder
/// of a tokenizer.model, owned by the caller; on failure false, with `error` naming the file.
extern "C" bool mergefront_open_sentencepiece(const char *file, mf::text::Model **model,
                                              mf::text::Decoder **decoder, std::string *error);
