// SPDX-License-Identifier: GPL-3.0-or-later
// Requests and metrics as lm-evaluation-harness 0.4 (HFLM) computes them:
//   text:            loglikelihood_rolling: get_rolling_token_windows(prefix, max_length,
//                    context_len=1) + make_disjoint_window, no special tokens in the document;
//   multiple-choice: loglikelihood(context, " " + choice) split by _encode_pair, no BOS;
//   completion:      loglikelihood(prompt, completion) split by _encode_pair.
// Every request is left-truncated to max_length + 1 tokens as _loglikelihood_tokens does.
#include "eval/lm/scoring.h"

#include "text/tokenizer.h"
#include "text/unicode.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/text.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

namespace mf::eval::lm {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// One parsed JSONL line and where it came from.
struct Line {
    json value;
    std::string where; ///< "file:line"
};

std::vector<Line> readJsonLines(const std::string &path, int limit)
{
    std::istringstream in(readFile(path));
    std::vector<Line> lines;
    std::string text;
    for (int number = 1; std::getline(in, text); ++number) {
        if (text.find_first_not_of(" \t\r") == std::string::npos)
            continue; // blank lines (a trailing newline) hold nothing
        Line line{json(), path + ":" + std::to_string(number)};
        try {
            line.value = json::parse(text);
        } catch (const json::exception &e) {
            throw Error(line.where + ": not a JSON line (" + e.what() + ")");
        }
        if (!line.value.is_object())
            throw Error(line.where + ": expected a JSON object");
        lines.push_back(std::move(line));
        if (limit > 0 && static_cast<int>(lines.size()) == limit)
            break;
    }
    if (lines.empty())
        throw Error(path + ": no items (an empty data file)");
    return lines;
}

std::string stringKey(const Line &line, const char *key)
{
    const auto it = line.value.find(key);
    if (it == line.value.end())
        throw Error(line.where + ": no \"" + key + "\" key");
    if (!it->is_string())
        throw Error(line.where + ": \"" + key + "\" is not a string");
    return it->get<std::string>();
}

/// Python's len(re.split(r"\s+", text)): one more than the runs of whitespace.
double wordCount(const std::string &text)
{
    double runs = 0;
    bool inRun = false;
    for (std::size_t pos = 0; pos < text.size();) {
        const bool space = text::isWhitespace(text::nextCodePoint(text, pos));
        runs += space && !inRun;
        inRun = space;
    }
    return runs + 1;
}

double characterCount(const std::string &text)
{
    double count = 0;
    for (std::size_t pos = 0; pos < text.size(); ++count)
        text::nextCodePoint(text, pos);
    return count;
}

std::vector<std::int32_t> encode(const text::Tokenizer &tokenizer, const std::string &text,
                                 const std::string &where)
{
    try {
        const std::vector<std::uint32_t> ids = tokenizer.encode(text, false);
        return std::vector<std::int32_t>(ids.begin(), ids.end());
    } catch (const Error &e) {
        throw Error(where + ": " + e.what());
    }
}

/// The text documents: a .txt file is one, a folder holds one per file (sorted by name), a
/// .jsonl one per line's "text".
std::vector<std::pair<std::string, std::string>> readDocuments(const std::string &path, int limit)
{
    std::vector<std::pair<std::string, std::string>> documents; // (where, text)
    std::error_code error;
    if (fs::is_directory(path, error)) {
        std::vector<std::string> files;
        for (const auto &entry : fs::directory_iterator(path))
            if (entry.is_regular_file() && entry.path().filename().string()[0] != '.')
                files.push_back(entry.path().string());
        std::sort(files.begin(), files.end());
        for (const std::string &file : files)
            documents.emplace_back(file, readFile(file));
    } else if (endsWith(path, ".jsonl")) {
        for (const Line &line : readJsonLines(path, limit))
            documents.emplace_back(line.where, stringKey(line, "text"));
    } else {
        documents.emplace_back(path, readFile(path));
    }
    if (limit > 0 && static_cast<int>(documents.size()) > limit)
        documents.resize(limit);
    if (documents.empty())
        throw Error(path + ": no documents (an empty data folder)");
    return documents;
}

} // namespace

LmFormat parseLmFormat(const std::string &name, const std::string &where)
{
    if (name == "text")
        return LmFormat::Text;
    if (name == "multiple-choice")
        return LmFormat::MultipleChoice;
    if (name == "completion")
        return LmFormat::Completion;
    throw Error(where + ": format '" + name + "' (expected text, multiple-choice or completion)");
}

std::string lmFormatName(LmFormat format)
{
    switch (format) {
    case LmFormat::Text:
        return "text";
    case LmFormat::MultipleChoice:
        return "multiple-choice";
    case LmFormat::Completion:
        break;
    }
    return "completion";
}

const std::vector<std::string> &lmMetrics(LmFormat format)
{
    static const std::vector<std::string> text = {"perplexity", "byte_perplexity", "bits_per_byte",
                                                  "word_perplexity", "loglikelihood"};
    static const std::vector<std::string> choice = {"acc", "acc_norm"};
    static const std::vector<std::string> completion = {
        "completion_nll", "completion_bits_per_byte", "loglikelihood"};
    return format == LmFormat::Text             ? text
           : format == LmFormat::MultipleChoice ? choice
                                                : completion;
}

int defaultMaxLength(const LmConfig &config)
{
    return std::min(config.maxPositions, 2048);
}

LmTaskData::LmTaskData(const LmDataOptions &options, const text::Tokenizer &tokenizer,
                       const LmConfig &config, const std::function<void(const std::string &)> &log)
    : m_format(options.format)
    , m_maxLength(options.maxLength > 0 ? options.maxLength : defaultMaxLength(config))
{
    config.checkLength(m_maxLength);
    if (config.layout == Layout::Gpt2 && m_maxLength > config.maxPositions)
        throw Error("max_length " + std::to_string(m_maxLength) +
                    " is more than the model's "
                    "n_positions (" +
                    std::to_string(config.maxPositions) + ", " + config.file + ")");
    // HFLM.prefix_token_id: BOS when the tokenizer has one, else EOS.
    const auto &tc = tokenizer.config();
    std::optional<std::uint32_t> prefix;
    if (tc.bosToken)
        prefix = tokenizer.tokenToId(*tc.bosToken);
    if (!prefix && tc.eosToken)
        prefix = tokenizer.tokenToId(*tc.eosToken);
    m_hasPrefix = prefix.has_value();
    if (!prefix && m_format == LmFormat::Text)
        throw Error(tc.source + ": the tokenizer has neither a BOS nor an EOS token to start the "
                                "rolling windows with");
    m_prefixToken = static_cast<std::int32_t>(prefix.value_or(0));

    if (m_format == LmFormat::Text) {
        for (const auto &[where, document] : readDocuments(options.data, options.limit)) {
            Item item;
            item.firstRequest = m_requests.size();
            item.bytes = static_cast<double>(document.size());
            item.words = wordCount(document);
            const std::vector<std::int32_t> tokens = encode(tokenizer, document, where);
            item.tokens = static_cast<double>(tokens.size());
            // get_rolling_token_windows(context_len=1) + make_disjoint_window: the first window
            // is [prefix] + tokens[:L-1] predicting tokens[:L]; each next one reads the max_length
            // tokens before its predictions and predicts up to max_length new ones.
            const auto n = static_cast<std::int64_t>(tokens.size());
            const std::int64_t max = m_maxLength;
            if (n > 0) {
                const std::int64_t first = std::min(max, n);
                std::vector<std::int32_t> window{m_prefixToken};
                window.insert(window.end(), tokens.begin(), tokens.begin() + first);
                addRequest(std::move(window), static_cast<int>(first));
                for (std::int64_t predicted = first; predicted < n;) {
                    const std::int64_t count = std::min(n - predicted, max);
                    const std::int64_t end = predicted + count;
                    addRequest(std::vector<std::int32_t>(tokens.begin() + (end - max - 1),
                                                         tokens.begin() + end),
                               static_cast<int>(count));
                    predicted = end;
                }
            }
            item.requestCount = m_requests.size() - item.firstRequest;
            m_items.push_back(std::move(item));
        }
    } else {
        for (const Line &line : readJsonLines(options.data, options.limit)) {
            Item item;
            item.firstRequest = m_requests.size();
            if (m_format == LmFormat::MultipleChoice) {
                const std::string context = stringKey(line, "context");
                const auto choices = line.value.find("choices");
                if (choices == line.value.end() || !choices->is_array() || choices->empty())
                    throw Error(line.where + ": \"choices\" must be a non-empty list of strings");
                const auto gold = line.value.find("gold");
                if (gold == line.value.end() || !gold->is_number_integer())
                    throw Error(line.where + ": \"gold\" must be the index of the right choice");
                item.gold = gold->get<int>();
                if (item.gold < 0 || item.gold >= static_cast<int>(choices->size()))
                    throw Error(line.where + ": \"gold\" is " + std::to_string(item.gold) +
                                ", outside the " + std::to_string(choices->size()) + " choices");
                std::string delimiter = " ";
                if (line.value.contains("delimiter"))
                    delimiter = stringKey(line, "delimiter");
                for (std::size_t c = 0; c < choices->size(); ++c) {
                    if (!(*choices)[c].is_string())
                        throw Error(line.where + ": \"choices\"[" + std::to_string(c) +
                                    "] is not a string");
                    const std::string choice = (*choices)[c].get<std::string>();
                    item.choiceLengths.push_back(characterCount(choice));
                    addPair(context, delimiter + choice, tokenizer,
                            line.where + ": choice " + std::to_string(c));
                }
            } else {
                const std::string prompt = stringKey(line, "prompt");
                const std::string completion = stringKey(line, "completion");
                item.bytes = static_cast<double>(completion.size());
                addPair(prompt, completion, tokenizer, line.where);
                item.tokens = m_requests.back().targets;
            }
            item.requestCount = m_requests.size() - item.firstRequest;
            m_items.push_back(std::move(item));
        }
    }
    if (m_truncated > 0 && log)
        log(std::to_string(m_truncated) + " of " + std::to_string(m_requests.size()) +
            " sequences in " + options.data + " are longer than max_length " +
            std::to_string(m_maxLength) +
            ": truncated from the left, as lm-evaluation-harness does");
}

void LmTaskData::addPair(const std::string &context, const std::string &continuation,
                         const text::Tokenizer &tokenizer, const std::string &where)
{
    std::vector<std::int32_t> contextIds, continuationIds;
    // A context that is only whitespace leaves nothing before the continuation either: it is
    // read as an empty one (lm-evaluation-harness would score the first token from nothing).
    if (text::trailingWhitespaceStart(context) == 0) {
        if (!m_hasPrefix)
            throw Error(where + ": an empty context needs the tokenizer's BOS or EOS token, and "
                                "it has neither");
        contextIds = {m_prefixToken}; // loglikelihood() with an empty context
        continuationIds = encode(tokenizer, context + continuation, where);
    } else {
        // _encode_pair: trailing whitespace of the context moves to the continuation, the whole
        // is encoded, and the continuation is what follows the context's own encoding.
        const std::size_t cut = text::trailingWhitespaceStart(context);
        const std::string head = context.substr(0, cut);
        const std::string tail = context.substr(cut) + continuation;
        const std::vector<std::int32_t> whole = encode(tokenizer, head + tail, where);
        contextIds = encode(tokenizer, head, where);
        if (contextIds.size() <= whole.size())
            continuationIds.assign(whole.begin() + static_cast<std::ptrdiff_t>(contextIds.size()),
                                   whole.end());
    }
    if (continuationIds.empty())
        throw Error(where + ": the continuation encodes to no tokens (nothing to score)");
    if (static_cast<int>(continuationIds.size()) > m_maxLength)
        throw Error(where + ": the continuation is " + std::to_string(continuationIds.size()) +
                    " tokens, more than max_length " + std::to_string(m_maxLength));
    std::vector<std::int32_t> tokens = std::move(contextIds);
    tokens.insert(tokens.end(), continuationIds.begin(), continuationIds.end());
    addRequest(std::move(tokens), static_cast<int>(continuationIds.size()));
}

void LmTaskData::addRequest(std::vector<std::int32_t> tokens, int targets)
{
    const std::size_t keep = static_cast<std::size_t>(m_maxLength) + 1;
    if (tokens.size() > keep) {
        tokens.erase(tokens.begin(), tokens.end() - static_cast<std::ptrdiff_t>(keep));
        ++m_truncated;
    }
    m_requests.push_back({std::move(tokens), targets});
}

json LmTaskData::result(const std::vector<LmScore> &scores) const
{
    if (scores.size() != m_requests.size())
        throw Error("scores for " + std::to_string(scores.size()) + " of " +
                    std::to_string(m_requests.size()) + " requests");
    json out = {{"format", lmFormatName(m_format)}};
    double loglikelihood = 0, tokens = 0, bytes = 0, words = 0;
    for (const Item &item : m_items) {
        for (std::size_t r = 0; r < item.requestCount; ++r)
            loglikelihood += scores[item.firstRequest + r].logLikelihood;
        tokens += item.tokens;
        bytes += item.bytes;
        words += item.words;
    }
    const double ln2 = std::log(2.0);
    const auto safe = [](double value, double count) {
        return count > 0 ? value / count : 0.0;
    };
    if (m_format == LmFormat::Text) {
        out["documents"] = m_items.size();
        out["tokens"] = tokens;
        out["bytes"] = bytes;
        out["words"] = words;
        out["loglikelihood"] = loglikelihood;
        out["perplexity"] = std::exp(-safe(loglikelihood, tokens));
        out["byte_perplexity"] = std::exp(-safe(loglikelihood, bytes));
        out["bits_per_byte"] = -safe(loglikelihood, bytes) / ln2;
        out["word_perplexity"] = std::exp(-safe(loglikelihood, words));
    } else if (m_format == LmFormat::Completion) {
        out["items"] = m_items.size();
        out["tokens"] = tokens;
        out["bytes"] = bytes;
        out["loglikelihood"] = loglikelihood;
        out["completion_nll"] = -safe(loglikelihood, tokens);
        out["completion_bits_per_byte"] = -safe(loglikelihood, bytes) / ln2;
    } else {
        double acc = 0, accNorm = 0;
        json details = json::array();
        for (const Item &item : m_items) {
            std::vector<double> lls;
            std::size_t best = 0, bestNorm = 0;
            for (std::size_t c = 0; c < item.requestCount; ++c) {
                lls.push_back(scores[item.firstRequest + c].logLikelihood);
                const double norm = lls[c] / std::max(1.0, item.choiceLengths[c]);
                if (lls[c] > lls[best])
                    best = c;
                if (norm > lls[bestNorm] / std::max(1.0, item.choiceLengths[bestNorm]))
                    bestNorm = c;
            }
            acc += static_cast<int>(best) == item.gold;
            accNorm += static_cast<int>(bestNorm) == item.gold;
            details.push_back({{"loglikelihoods", lls}, {"gold", item.gold}});
        }
        out["items"] = m_items.size();
        out["acc"] = acc / static_cast<double>(m_items.size());
        out["acc_norm"] = accNorm / static_cast<double>(m_items.size());
        out["details"] = std::move(details);
    }
    return out;
}

double lmMetric(const json &result, const std::string &metric)
{
    const auto it = result.find(metric);
    if (metric == "format" || metric == "details" || it == result.end() || !it->is_number()) {
        std::string known;
        for (const std::string &name :
             lmMetrics(parseLmFormat(result.value("format", "text"), "result")))
            known += (known.empty() ? "" : ", ") + name;
        throw Error("metric '" + metric + "' is not one the " + result.value("format", "") +
                    " format reports (" + known + ")");
    }
    return it->get<double>();
}

} // namespace mf::eval::lm
