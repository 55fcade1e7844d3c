// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The split regexes of pre-tokenizers known by name: what Mergefront's tokenizers build for a
// folder that has no tokenizer.json, and what the GGUF output matches a tokenizer.json against
// to name its pre-tokenizer for llama.cpp.

namespace mf::text {

/// Llama 3's (tokenizer.json's Split pattern; llama.cpp's "llama-bpe").
inline constexpr const char *kLlama3PreTokenizerRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

/// Qwen2's and Qwen3's (Qwen2Tokenizer's pattern, tokenization_qwen2.py; llama.cpp's "qwen2").
inline constexpr const char *kQwen2PreTokenizerRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

} // namespace mf::text
