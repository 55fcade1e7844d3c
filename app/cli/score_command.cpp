// SPDX-License-Identifier: GPL-3.0-or-later
// score: one causal language model folder scored on a data file, in process, as the
// causal-lm evaluator scores each merge (lm-evaluation-harness' definitions).
#include "arguments.h"
#include "commands.h"
#include "interrupt.h"

#include "eval/lm/causal_lm.h"
#include "eval/lm/scoring.h"
#include "io/checkpoint.h"
#include "text/tokenizer.h"
#include "text/tokenizer_folder.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace mf::cli {

const char *const kScoreUsage =
    "usage: mergefront-cli score MODEL --data F [--format text|multiple-choice|completion]\n"
    "                            [--max-length N] [--limit N] [--device D] [--threads N] [--json]\n"
    "  MODEL          a llama, mistral, qwen2, qwen3 or gpt2 model folder (config.json, the\n"
    "                 tokenizer, the weights)\n"
    "  --data F       text: a .txt file (one document), a folder (one per file) or .jsonl\n"
    "                 lines {\"text\"}; multiple-choice: .jsonl {\"context\", \"choices\", "
    "\"gold\"};\n"
    "                 completion: .jsonl {\"prompt\", \"completion\"}\n"
    "  --format       text (default): rolling log-likelihood, perplexity, bits per byte, ...;\n"
    "                 multiple-choice: acc, acc_norm; completion: completion_nll, bits per byte\n"
    "  --max-length N tokens the model reads at once (default min(max_position_embeddings, 2048))\n"
    "  --limit N      the first N documents or items\n"
    "  --device D     auto (CUDA when there is one), cpu, cuda, cuda:N\n"
    "  --json         the result as one JSON object on stdout\n"
    "  --per-token    with --json: \"requests\": every sequence the model read ({\"tokens\",\n"
    "                 \"targets\": how many of the last tokens were scored, \"logprobs\"})\n";

int scoreCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {"data", "format", "max-length", "limit", "device", "threads"},
                         {"json", "per-token"});
    if (args.positionals().size() != 1)
        throw UsageError("expected one MODEL folder");
    const std::string model = args.positionals()[0];
    eval::lm::LmDataOptions data;
    data.data = args.required("data");
    data.format = eval::lm::parseLmFormat(args.value("format").value_or("text"), "--format");
    data.maxLength = static_cast<int>(args.unsignedNumber("max-length", 0));
    data.limit = static_cast<int>(args.unsignedNumber("limit", 0));
    eval::lm::CausalLmOptions options;
    options.device = args.value("device").value_or("auto");
    options.threads = static_cast<int>(args.unsignedNumber("threads", 0));

    const auto started = std::chrono::steady_clock::now();
    const eval::lm::LmConfig config = eval::lm::readLmConfig(model);
    const auto tokenizer = text::loadTokenizer(model);
    const eval::lm::LmTaskData task(data, *tokenizer, config,
                                    [](const std::string &line) { std::cerr << line << "\n"; });
    const Checkpoint weights = Checkpoint::open(model);
    const auto lm = eval::lm::loadCausalLm(config, weights, options);
    std::cerr << config.describe() << "; " << lm->memoryPlan() << "\n";
    const std::vector<eval::lm::LmScore> scores = lm->score(task.requests(), *interruptToken());
    const nlohmann::json values = task.result(scores);
    nlohmann::ordered_json result; // in the documented order, not sorted
    for (const char *key :
         {"format", "documents", "items", "tokens", "bytes", "words", "loglikelihood", "perplexity",
          "byte_perplexity", "bits_per_byte", "word_perplexity", "acc", "acc_norm",
          "completion_nll", "completion_bits_per_byte", "details"})
        if (values.contains(key))
            result[key] = values[key];
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (args.flag("per-token")) {
        nlohmann::json requests = nlohmann::json::array();
        for (std::size_t r = 0; r < scores.size(); ++r)
            requests.push_back({{"tokens", task.requests()[r].tokens},
                                {"targets", task.requests()[r].targets},
                                {"logprobs", scores[r].tokenLogProbs}});
        result["requests"] = std::move(requests);
    }
    if (args.flag("json")) {
        std::cout << result.dump() << "\n";
        return 0;
    }
    std::printf("%s on %s: %s, %zu requests, max_length %d, %.1f s\n", model.c_str(),
                data.data.c_str(), eval::lm::lmFormatName(data.format).c_str(),
                task.requests().size(), task.maxLength(), seconds);
    for (const std::string &metric : eval::lm::lmMetrics(data.format))
        std::printf("  %-26s %.6g\n", metric.c_str(), eval::lm::lmMetric(values, metric));
    return 0;
}

} // namespace mf::cli
