// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "text/json_path.h"

#include <memory>
#include <string>
#include <vector>

namespace mf::text {

/// The last stage, for decoding: token strings back to text (tokenizers/src/decoders/). Each
/// decoder rewrites the list of strings; the text is their concatenation.
class Decoder {
public:
    virtual ~Decoder() = default;
    virtual std::vector<std::string> decodeChain(std::vector<std::string> tokens) const = 0;
};

/// A decoder from tokenizer.json's "decoder" (null gives nullptr): ByteLevel, ByteFallback,
/// Metaspace, Replace, Strip, Fuse, Sequence.
std::unique_ptr<Decoder> makeDecoder(const nlohmann::json &value, const JsonPath &path);

} // namespace mf::text
