// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "text/tokenizer.h"

#include <string>

namespace mf::text {

/// True when this build reads tokenizer.model files (Debian's libsentencepiece-dev).
bool haveSentencePiece();

/// A SentencePiece tokenizer.model as the pipeline's model and decoder (no normalizer or
/// pre-tokenizer: SentencePiece does its own). Each stretch of text between added tokens is
/// encoded on its own, as transformers' LlamaTokenizer (legacy) does. Throws mf::Error naming
/// the file when it cannot be read, or when this build has no SentencePiece.
Tokenizer::Parts sentencePieceParts(const std::string &modelFile);

} // namespace mf::text
