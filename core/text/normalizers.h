// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "text/json_path.h"

#include <memory>
#include <string>

namespace mf::text {

/// The first stage of a tokenizer: text in, text out (tokenizers/src/normalizers/).
class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual std::string normalize(std::string text) const = 0;
};

/// A normalizer from tokenizer.json's "normalizer" (null gives nullptr): NFC, NFD, NFKC, NFKD,
/// Lowercase, Strip, StripAccents, Replace, Prepend, Sequence. Other types are refused,
/// naming the file and key.
std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json &value, const JsonPath &path);

} // namespace mf::text
