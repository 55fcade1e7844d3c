// SPDX-License-Identifier: GPL-3.0-or-later
// tokenize / decode: a model folder's tokenizer from the command line.
#include "arguments.h"
#include "commands.h"

#include "text/json_path.h"
#include "text/tokenizer_folder.h"
#include "util/atomic_file.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <sstream>

namespace mf::cli {

const char *const kTokenizeUsage =
    "usage: mergefront-cli tokenize MODEL (--text S | --file F) [--special] [--json]\n"
    "  MODEL       a model folder, or a folder with just the tokenizer files: tokenizer.json,\n"
    "              else tokenizer.model (SentencePiece), else vocab.json + merges.txt; with\n"
    "              tokenizer_config.json beside them\n"
    "  --text S    the text to tokenize (UTF-8)\n"
    "  --file F    the text is the whole file F\n"
    "  --special   add what the tokenizer's post-processor adds (BOS, ...); without it no\n"
    "              special tokens are added, as lm-evaluation-harness asks for log-likelihoods\n"
    "              (special-token text in the input is matched either way)\n"
    "  --json      {\"ids\": [...], \"tokens\": [...]} on stdout\n";

const char *const kDecodeUsage =
    "usage: mergefront-cli decode MODEL (--ids 1,2,3 | --file F) [--skip-special] [--json]\n"
    "  --ids LIST       token ids, separated by commas or spaces\n"
    "  --file F         ids from F: a JSON list, tokenize --json's output, or plain numbers\n"
    "  --skip-special   leave special tokens out of the text\n"
    "  --json           {\"text\": ...} on stdout\n";

namespace {

std::vector<std::uint32_t> parseIds(const std::string &text, const std::string &where)
{
    std::vector<std::uint32_t> ids;
    std::string cleaned = text;
    for (char &c : cleaned)
        if (c == ',' || c == '\n' || c == '\r' || c == '\t')
            c = ' ';
    std::istringstream words(cleaned);
    for (std::string word; words >> word;) {
        std::size_t used = 0;
        unsigned long long id = 0;
        try {
            id = std::stoull(word, &used);
        } catch (const std::exception &) {
            used = 0;
        }
        if (used != word.size() || word[0] == '-' || id > UINT32_MAX)
            throw Error(where + ": '" + word + "' is not a token id");
        ids.push_back(static_cast<std::uint32_t>(id));
    }
    return ids;
}

std::vector<std::uint32_t> idsFromFile(const std::string &file)
{
    const std::string bytes = readFile(file);
    const auto start = bytes.find_first_not_of(" \t\r\n");
    if (start == std::string::npos || (bytes[start] != '[' && bytes[start] != '{'))
        return parseIds(bytes, file);
    const nlohmann::json value = nlohmann::json::parse(bytes, nullptr, false);
    if (value.is_discarded())
        throw Error(file + ": invalid JSON");
    const nlohmann::json &list = value.is_object() && value.contains("ids") ? value["ids"] : value;
    if (!list.is_array())
        throw Error(file + ": expected a list of ids or an object with \"ids\"");
    std::vector<std::uint32_t> ids;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto id = text::nonNegative(list[i]);
        if (!id || *id > UINT32_MAX)
            throw Error(file + ": ids[" + std::to_string(i) + "] is not a token id");
        ids.push_back(static_cast<std::uint32_t>(*id));
    }
    return ids;
}

/// What tokenize and decode work on: the MODEL positional, and exactly one of an inline
/// option (--text, --ids) and --file.
struct Input {
    std::string model;
    bool inlined = false; ///< the inline option was given, not --file
    std::string value;    ///< its value: the text or ids, or the file's path
    std::string where;    ///< how messages name it: --OPTION, or the file
};

Input commandInput(const Arguments &args, const std::string &inlineOption)
{
    if (args.positionals().size() != 1)
        throw UsageError("expected one MODEL folder");
    const auto inlined = args.value(inlineOption), file = args.value("file");
    if (inlined.has_value() == file.has_value())
        throw UsageError("give exactly one of --" + inlineOption + " and --file");
    if (inlined)
        return {args.positionals()[0], true, *inlined, "--" + inlineOption};
    return {args.positionals()[0], false, *file, *file};
}

} // namespace

int tokenizeCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {"text", "file"}, {"special", "json"});
    const Input input = commandInput(args, "text");
    const std::string text = input.inlined ? input.value : readFile(input.value);
    const auto tokenizer = text::loadTokenizer(input.model);
    std::vector<std::uint32_t> ids;
    try {
        ids = tokenizer->encode(text, args.flag("special"));
    } catch (const Error &e) {
        throw Error(input.where + ": " + e.what());
    }
    const std::vector<std::string> names = tokenizer->tokens(ids);
    if (args.flag("json")) {
        const nlohmann::ordered_json out = {{"ids", ids}, {"tokens", names}};
        std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
        for (std::size_t i = 0; i < ids.size(); ++i)
            std::cout << (i ? " " : "") << ids[i];
        std::cout << "\n"
                  << nlohmann::json(names).dump(-1, ' ', false,
                                                nlohmann::json::error_handler_t::replace)
                  << "\n";
    }
    return 0;
}

int decodeCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {"ids", "file"}, {"skip-special", "json"});
    const Input input = commandInput(args, "ids");
    const std::vector<std::uint32_t> ids =
        input.inlined ? parseIds(input.value, input.where) : idsFromFile(input.value);
    const auto tokenizer = text::loadTokenizer(input.model);
    std::string text;
    try {
        text = tokenizer->decode(ids, args.flag("skip-special"));
    } catch (const Error &e) {
        throw Error(input.where + ": " + e.what());
    }
    if (args.flag("json"))
        std::cout << nlohmann::json{{"text", text}}.dump() << "\n";
    else
        std::cout << text << "\n";
    return 0;
}

} // namespace mf::cli
