// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "text/json_path.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace mf::text {

/// The fourth stage: adds what the model expects around a sequence, such as BOS
/// (tokenizers/src/processors/). Single sequences only.
class PostProcessor {
public:
    virtual ~PostProcessor() = default;
    /// Rewrites `ids` of one sequence; with `addSpecialTokens` false most processors leave it.
    virtual void process(std::vector<std::uint32_t> &ids, bool addSpecialTokens) const = 0;
};

/// A post-processor from tokenizer.json's "post_processor" (null gives nullptr):
/// TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence.
std::unique_ptr<PostProcessor> makePostProcessor(const nlohmann::json &value, const JsonPath &path);
/// [bos] $A [eos], each present when given: what transformers builds for Llama and Gemma
/// tokenizers from add_bos_token / add_eos_token.
std::unique_ptr<PostProcessor> makeBosEosProcessor(std::optional<std::uint32_t> bos,
                                                   std::optional<std::uint32_t> eos);

} // namespace mf::text
