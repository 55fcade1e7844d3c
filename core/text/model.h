// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mf::text {

/// The third stage: a pre-tokenized piece to token ids (tokenizers/src/models/).
class Model {
public:
    virtual ~Model() = default;
    /// Appends the ids of `piece` (non-empty) to `ids`.
    virtual void tokenize(std::string_view piece, std::vector<std::uint32_t> &ids) const = 0;
    virtual std::optional<std::uint32_t> tokenToId(std::string_view token) const = 0;
    /// The token of `id`, or nullptr when the model has none.
    virtual const std::string *idToToken(std::uint32_t id) const = 0;
    /// One past the largest id the model knows.
    virtual std::uint32_t vocabularySize() const = 0;
};

} // namespace mf::text
