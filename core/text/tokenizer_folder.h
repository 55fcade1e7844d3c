// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "text/tokenizer.h"

#include <memory>
#include <string>

namespace mf::text {

/// The tokenizer of a model folder (or of a folder holding only tokenizer files, or of a
/// tokenizer.json given as a file), as transformers' AutoTokenizer finds it:
///  - tokenizer.json (Hugging Face's fast tokenizer) when present;
///  - else tokenizer.model (SentencePiece; transformers' LlamaTokenizer, legacy mode);
///  - else vocab.json + merges.txt (GPT-2's byte-level BPE; Qwen2Tokenizer's pattern and NFC
///    when tokenizer_config.json names that class).
/// tokenizer_config.json (then special_tokens_map.json) gives bos/eos/pad/unk, add_bos_token,
/// add_eos_token, the chat template (or chat_template.jinja) and the decode clean-up; for the
/// Llama and Gemma tokenizer classes, add_bos_token / add_eos_token decide what --special adds,
/// as transformers makes them. Throws mf::Error naming the file and key at fault.
std::unique_ptr<Tokenizer> loadTokenizer(const std::string &path);

} // namespace mf::text
