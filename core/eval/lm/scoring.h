// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A language-model task's data, read and tokenized once, turned into log-likelihood requests
// as lm-evaluation-harness 0.4's Hugging Face backend builds them, and the scores turned into
// its metrics (docs/LANGUAGE_MODELS.md). No torch: the requests go to a CausalLm.
#include "eval/lm/causal_lm.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace mf::text {
class Tokenizer;
}

namespace mf::eval::lm {

enum class LmFormat { Text, MultipleChoice, Completion };

/// "text", "multiple-choice", "completion"; throws mf::Error naming `where` otherwise.
LmFormat parseLmFormat(const std::string &name, const std::string &where);
std::string lmFormatName(LmFormat format);
/// The metrics a format reports, the first being its default.
const std::vector<std::string> &lmMetrics(LmFormat format);
/// min(max_position_embeddings, 2048): lm-evaluation-harness' default context.
int defaultMaxLength(const LmConfig &config);

struct LmDataOptions {
    std::string data; ///< .txt, .jsonl or a folder (text); .jsonl (the others)
    LmFormat format = LmFormat::Text;
    int maxLength = 0; ///< tokens the model reads at most (0: defaultMaxLength)
    int limit = 0;     ///< the first N documents or items (0: all)
};

/// What was scored, per format (the `score` command's JSON): text {"format", "documents",
/// "tokens", "bytes", "words", "loglikelihood", "perplexity", "byte_perplexity", "bits_per_byte",
/// "word_perplexity"}; multiple-choice {"format", "items", "acc", "acc_norm", "details"};
/// completion {"format", "items", "tokens", "bytes", "loglikelihood", "completion_nll",
/// "completion_bits_per_byte"}.
class LmTaskData {
public:
    /// Reads and tokenizes `options.data`. Throws mf::Error naming the file, line and key: an
    /// unreadable or empty file, a malformed JSONL line, gold out of range, text that is not
    /// UTF-8, a continuation longer than max_length. `log` hears, once, that items were
    /// truncated from the left.
    LmTaskData(const LmDataOptions &options, const text::Tokenizer &tokenizer,
               const LmConfig &config, const std::function<void(const std::string &)> &log = {});

    LmFormat format() const { return m_format; }
    int maxLength() const { return m_maxLength; }
    const std::vector<LmRequest> &requests() const { return m_requests; }
    /// Items (documents) read, and requests truncated from the left.
    std::size_t items() const { return m_items.size(); }
    int truncated() const { return m_truncated; }
    /// The format's result object from one score per request (in requests() order).
    nlohmann::json result(const std::vector<LmScore> &scores) const;

private:
    struct Item {
        std::size_t firstRequest = 0, requestCount = 0;
        double bytes = 0, words = 0, tokens = 0; ///< text and completion sizes
        std::vector<double> choiceLengths;       ///< multiple-choice: characters per choice
        int gold = 0;
    };
    /// One loglikelihood(context, continuation) request, split as _encode_pair splits it.
    void addPair(const std::string &context, const std::string &continuation,
                 const text::Tokenizer &tokenizer, const std::string &where);
    void addRequest(std::vector<std::int32_t> tokens, int targets);

    LmFormat m_format;
    int m_maxLength = 0;
    std::int32_t m_prefixToken = 0; ///< BOS, else EOS (HFLM.prefix_token_id)
    bool m_hasPrefix = false;
    std::vector<Item> m_items;
    std::vector<LmRequest> m_requests;
    int m_truncated = 0;
};

/// One metric out of a result object; throws mf::Error naming the metric and the ones there are.
double lmMetric(const nlohmann::json &result, const std::string &metric);

} // namespace mf::eval::lm
