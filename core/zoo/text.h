// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The text example's data (docs/EXAMPLE.md, "The text example"): domains of real text from
// Debian packages, split into training and held-out documents, tokenized byte by byte with a
// GPT-2 byte-level vocabulary, and the Hugging Face tokenizer and config files of its models.
// Plain C++; no torch.
#include "eval/language_model.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mf::zoo {

/// A text domain: where its documents are and how they are cut.
struct TextDomain {
    std::string name;
    std::string description;
    std::string package;    ///< the Debian package that ships the text
    std::string folder;     ///< its default folder
    std::string suffix;     ///< documents: files ending so ("" : every regular file)
    bool recursive = false; ///< below the folder too
    bool entries = false;   ///< each file is a fortune file: entries separated by "%" lines
};

/// c, python, prose, cmake (in that order).
const std::vector<TextDomain> &textDomainCatalog();
/// Throws mf::Error listing the known domains when `name` is not one.
const TextDomain &textDomain(const std::string &name);

/// The id of <|endoftext|> in the byte-level vocabulary: bytes are 0-255, this is 256.
constexpr int kEndOfText = 256;
constexpr const char *kEndOfTextSymbol = "<|endoftext|>";

/// A domain's text: documents in name order, each either training or held out.
struct DomainText {
    std::string name;
    std::string folder;
    std::vector<std::string> trainDocuments, testDocuments;
    std::vector<std::string> testNames; ///< the held-out documents' names (files, file:entry)
    std::string fingerprint;            ///< hex hash of every document's name and bytes
    std::size_t trainBytes() const;
    std::size_t testBytes() const;
};

/// Reads `domain` from `folder` (empty: its default). A document is held out when the hash of
/// its name (with `seed`) falls in the lowest tenth, at least one document on each side; a
/// document holding the literal "<|endoftext|>" is skipped. Throws mf::Error naming the domain,
/// the folder and the package when the folder is missing or holds no document, and when the
/// training or held-out text is shorter than `minimumBytes`.
DomainText readDomain(const TextDomain &domain, const std::string &folder, std::uint64_t seed,
                      std::size_t minimumBytes);

/// Byte-level tokens of documents: each byte its own id, <|endoftext|> between documents.
std::vector<std::int32_t> tokenize(const std::vector<std::string> &documents);

/// Held-out windows of T = `length` tokens: a window starting at s has inputs [s, s + T) and
/// targets [s + 1, s + T + 1). With N = tokens - 1, when more than `count` whole windows fit,
/// window i starts at floor(i (N - T) / (count - 1)): spread evenly over the whole held-out
/// stream, never overlapping; otherwise they start at 0, T, 2T, ... (every one that fits).
struct TokenWindows {
    std::int64_t count = 0, length = 0;
    std::vector<std::int64_t> inputs, targets; ///< count x length each
};
TokenWindows heldOutWindows(const std::vector<std::int32_t> &tokens, int length, int count);

/// GPT-2's byte-to-symbol map (bytes_to_unicode in its encoder): printable Latin-1 bytes map
/// to themselves, the rest to U+0100 onwards. Returned as UTF-8 strings, indexed by byte.
const std::vector<std::string> &byteSymbols();

/// The Hugging Face files of a GPT-2 with this byte-level vocabulary: config.json,
/// generation_config.json, vocab.json, merges.txt (no merges), tokenizer.json (the same for
/// GPT2TokenizerFast), tokenizer_config.json, special_tokens_map.json; name -> contents.
std::map<std::string, std::string> gpt2FolderFiles(const eval::Gpt2Config &config);

} // namespace mf::zoo
