// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "text/json_path.h"

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace mf::text {

/// A piece of normalized text on its way to the model.
struct Piece {
    std::string text;
    /// The piece begins where the input begins (Metaspace's "first" prepend scheme).
    bool atStart = false;
};

/// The second stage: splits pieces into smaller ones, may rewrite them
/// (tokenizers/src/pre_tokenizers/).
class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    virtual void preTokenize(std::vector<Piece> &pieces) const = 0;
};

/// A pre-tokenizer from tokenizer.json's "pre_tokenizer" (null gives nullptr): ByteLevel,
/// Split, Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit, Sequence. Other types
/// are refused, naming the file and key.
std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json &value, const JsonPath &path);

/// GPT-2's byte-to-character table: byte b is the UTF-8 text byteSymbol(b).
const std::array<std::string, 256> &byteSymbols();
/// The byte a byte-level symbol stands for, or -1 when `c` is none of them.
int byteOfSymbol(char32_t c);

} // namespace mf::text
