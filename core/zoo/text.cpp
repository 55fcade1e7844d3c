// SPDX-License-Identifier: GPL-3.0-or-later
#include "zoo/text.h"

#include "util/error.h"
#include "util/hash.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mf::zoo {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

/// `preferred` when it exists, else the last (by name) PARENT/PREFIX*/BELOW folder, else
/// `preferred` (whose absence readDomain then reports).
std::string versionedFolder(const std::string &preferred, const std::string &parent,
                            const std::string &prefix, const std::string &below)
{
    if (fs::exists(preferred))
        return preferred;
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(parent, ec))
        if (entry.path().filename().string().rfind(prefix, 0) == 0 &&
            fs::is_directory(entry.path() / below))
            found.push_back((entry.path() / below).string());
    std::sort(found.begin(), found.end());
    return found.empty() ? preferred : found.back();
}

std::string readWhole(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot read " + path.string());
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

/// Fortune entries: the text between lines that are exactly "%".
std::vector<std::string> fortuneEntries(const std::string &text)
{
    std::vector<std::string> entries;
    std::string current;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line == "%") {
            if (!current.empty())
                entries.push_back(current);
            current.clear();
        } else {
            current += line + "\n";
        }
    }
    if (!current.empty())
        entries.push_back(current);
    return entries;
}

} // namespace

const std::vector<TextDomain> &textDomainCatalog()
{
    static const std::vector<TextDomain> catalog = {
        {"c", "C: the Linux kernel's user-space headers", "linux-libc-dev", "/usr/include/linux",
         ".h", true, false},
        {"python", "Python: the standard library's top-level modules",
         "libpython3.11-minimal, libpython3.11-stdlib",
         versionedFolder("/usr/lib/python3.11", "/usr/lib", "python3.", ""), ".py", false, false},
        {"prose", "English prose: fortune cookies (quotations, jokes, literature)", "fortunes",
         "/usr/share/games/fortunes", "", false, true},
        {"cmake", "CMake: the modules shipped with CMake", "cmake-data",
         versionedFolder("/usr/share/cmake-3.25/Modules", "/usr/share", "cmake-3.", "Modules"),
         ".cmake", false, false},
    };
    return catalog;
}

const TextDomain &textDomain(const std::string &name)
{
    std::string known;
    for (const TextDomain &domain : textDomainCatalog()) {
        if (domain.name == name)
            return domain;
        known += (known.empty() ? "" : ", ") + domain.name;
    }
    throw Error("unknown text domain '" + name + "' (the text example has " + known + ")");
}

std::size_t DomainText::trainBytes() const
{
    std::size_t n = 0;
    for (const std::string &d : trainDocuments)
        n += d.size();
    return n;
}

std::size_t DomainText::testBytes() const
{
    std::size_t n = 0;
    for (const std::string &d : testDocuments)
        n += d.size();
    return n;
}

DomainText readDomain(const TextDomain &domain, const std::string &folder, std::uint64_t seed,
                      std::size_t minimumBytes)
{
    DomainText text;
    text.name = domain.name;
    text.folder = folder.empty() ? domain.folder : folder;
    const std::string what = "text domain '" + domain.name + "' (" + text.folder +
                             ", Debian package " + domain.package + ")";
    std::error_code ec;
    if (!fs::is_directory(text.folder, ec))
        throw Error(what + ": the folder does not exist (install the package, or give the "
                           "domain's folder)");

    std::vector<fs::path> files;
    auto consider = [&](const fs::directory_entry &entry) {
        if (!entry.is_regular_file(ec) || entry.is_symlink(ec))
            return;
        const std::string name = entry.path().filename().string();
        if (domain.suffix.empty() ? name.find('.') != std::string::npos
                                  : (name.size() <= domain.suffix.size() ||
                                     name.compare(name.size() - domain.suffix.size(),
                                                  domain.suffix.size(), domain.suffix) != 0))
            return; // fortune data files have no dot (.dat indexes, .u8 links are skipped)
        files.push_back(entry.path());
    };
    if (domain.recursive)
        for (const auto &entry : fs::recursive_directory_iterator(text.folder, ec))
            consider(entry);
    else
        for (const auto &entry : fs::directory_iterator(text.folder, ec))
            consider(entry);
    std::sort(files.begin(), files.end());

    struct Document {
        std::string name, bytes;
        std::uint64_t hash;
    };
    std::vector<Document> documents;
    std::uint64_t fingerprint = 0x7e47;
    for (const fs::path &file : files) {
        const std::string relative = fs::relative(file, text.folder).string();
        const std::string bytes = readWhole(file);
        std::vector<std::pair<std::string, std::string>> pieces;
        if (domain.entries) {
            const std::vector<std::string> entries = fortuneEntries(bytes);
            for (std::size_t i = 0; i < entries.size(); ++i)
                pieces.emplace_back(relative + ":" + std::to_string(i + 1), entries[i]);
        } else {
            pieces.emplace_back(relative, bytes);
        }
        for (auto &[name, piece] : pieces) {
            if (piece.empty() || piece.find(kEndOfTextSymbol) != std::string::npos)
                continue;
            fingerprint = hashString(piece, hashString(name, fingerprint));
            documents.push_back({name, std::move(piece), hashString(name, seed)});
        }
    }
    text.fingerprint = hexDigits(fingerprint);
    if (documents.empty())
        throw Error(
            what + ": no documents (" +
            (domain.suffix.empty() ? std::string("files") : "*" + domain.suffix + " files") +
            ") in the folder");
    if (documents.size() < 2)
        throw Error(what + ": one document only; the held-out text needs documents of its own");

    // Held out: the lowest tenth of the name hashes; at least one document each side.
    std::vector<bool> heldOut(documents.size());
    std::size_t held = 0;
    for (std::size_t i = 0; i < documents.size(); ++i) {
        heldOut[i] = documents[i].hash < UINT64_MAX / 10;
        held += heldOut[i];
    }
    if (held == 0 || held == documents.size()) {
        const auto lowest =
            std::min_element(documents.begin(), documents.end(),
                             [](const Document &a, const Document &b) { return a.hash < b.hash; });
        std::fill(heldOut.begin(), heldOut.end(), false);
        heldOut[static_cast<std::size_t>(lowest - documents.begin())] = true;
    }
    for (std::size_t i = 0; i < documents.size(); ++i) {
        if (heldOut[i]) {
            text.testNames.push_back(documents[i].name);
            text.testDocuments.push_back(std::move(documents[i].bytes));
        } else {
            text.trainDocuments.push_back(std::move(documents[i].bytes));
        }
    }
    for (const auto &[side, bytes] :
         {std::pair{"training", text.trainBytes()}, std::pair{"held-out", text.testBytes()}})
        if (bytes < minimumBytes)
            throw Error(what + ": its " + side + " text has " + std::to_string(bytes) +
                        " bytes, fewer than the " + std::to_string(minimumBytes) +
                        " the zoo needs (one window of tokens at least)");
    return text;
}

std::vector<std::int32_t> tokenize(const std::vector<std::string> &documents)
{
    std::vector<std::int32_t> tokens;
    for (const std::string &document : documents) {
        if (!tokens.empty())
            tokens.push_back(kEndOfText);
        for (char c : document)
            tokens.push_back(static_cast<unsigned char>(c));
    }
    return tokens;
}

TokenWindows heldOutWindows(const std::vector<std::int32_t> &tokens, int length, int count)
{
    TokenWindows windows;
    windows.length = length;
    const std::size_t t = static_cast<std::size_t>(length);
    const std::size_t n = tokens.empty() ? 0 : tokens.size() - 1; // tokens that are predicted
    const std::size_t wanted = static_cast<std::size_t>(std::max(count, 0));
    const std::size_t fit = n / t; // contiguous windows that fit
    std::vector<std::size_t> starts;
    if (fit <= wanted || wanted < 2) {
        for (std::size_t i = 0; i < std::min(fit, wanted); ++i)
            starts.push_back(i * t);
    } else { // spread evenly over the whole stream (spacing > t: they never overlap)
        for (std::size_t i = 0; i < wanted; ++i)
            starts.push_back(i * (n - t) / (wanted - 1));
    }
    for (std::size_t start : starts) {
        for (std::size_t i = 0; i < t; ++i) {
            windows.inputs.push_back(tokens[start + i]);
            windows.targets.push_back(tokens[start + i + 1]);
        }
        ++windows.count;
    }
    return windows;
}

const std::vector<std::string> &byteSymbols()
{
    static const std::vector<std::string> symbols = [] {
        auto utf8 = [](unsigned code) {
            std::string s;
            if (code < 0x80) {
                s += static_cast<char>(code);
            } else {
                s += static_cast<char>(0xC0 | (code >> 6));
                s += static_cast<char>(0x80 | (code & 0x3F));
            }
            return s;
        };
        std::vector<std::string> out(256);
        unsigned next = 256;
        for (unsigned b = 0; b < 256; ++b) {
            const bool printable =
                (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out[b] = utf8(printable ? b : next++);
        }
        return out;
    }();
    return symbols;
}

std::map<std::string, std::string> gpt2FolderFiles(const eval::Gpt2Config &config)
{
    ordered_json model = {{"activation_function", "gelu_new"},
                          {"architectures", {"GPT2LMHeadModel"}},
                          {"attn_pdrop", 0.0},
                          {"bos_token_id", kEndOfText},
                          {"embd_pdrop", 0.0},
                          {"eos_token_id", kEndOfText},
                          {"initializer_range", 0.02},
                          {"layer_norm_epsilon", config.layerNormEpsilon},
                          {"model_type", "gpt2"},
                          {"n_ctx", config.context},
                          {"n_embd", config.width},
                          {"n_head", config.heads},
                          {"n_inner", nullptr},
                          {"n_layer", config.layers},
                          {"n_positions", config.context},
                          {"reorder_and_upcast_attn", false},
                          {"resid_pdrop", 0.0},
                          {"scale_attn_by_inverse_layer_idx", false},
                          {"scale_attn_weights", true},
                          {"summary_activation", nullptr},
                          {"summary_first_dropout", 0.0},
                          {"summary_proj_to_labels", true},
                          {"summary_type", "cls_index"},
                          {"summary_use_proj", true},
                          {"tie_word_embeddings", true},
                          {"torch_dtype", "float32"},
                          {"use_cache", true},
                          {"vocab_size", config.vocab}};
    const ordered_json generation = {{"bos_token_id", kEndOfText}, {"eos_token_id", kEndOfText}};
    ordered_json vocab = ordered_json::object();
    for (int b = 0; b < 256; ++b)
        vocab[byteSymbols()[static_cast<std::size_t>(b)]] = b;
    vocab[kEndOfTextSymbol] = kEndOfText;
    const ordered_json special = {{"bos_token", kEndOfTextSymbol},
                                  {"eos_token", kEndOfTextSymbol},
                                  {"unk_token", kEndOfTextSymbol}};
    ordered_json tokenizer = {{"add_bos_token", false},
                              {"add_prefix_space", false},
                              {"bos_token", kEndOfTextSymbol},
                              {"clean_up_tokenization_spaces", false},
                              {"eos_token", kEndOfTextSymbol},
                              {"errors", "replace"},
                              {"model_max_length", config.context},
                              {"tokenizer_class", "GPT2Tokenizer"},
                              {"unk_token", kEndOfTextSymbol}};
    // tokenizer.json: the same vocabulary for GPT2TokenizerFast (the tokenizers library's
    // byte-level BPE with no merges), so it loads without converting vocab.json.
    const ordered_json added = {{{"id", kEndOfText},
                                 {"content", kEndOfTextSymbol},
                                 {"single_word", false},
                                 {"lstrip", false},
                                 {"rstrip", false},
                                 {"normalized", true},
                                 {"special", true}}};
    const ordered_json byteLevel = {{"type", "ByteLevel"},
                                    {"add_prefix_space", false},
                                    {"trim_offsets", true},
                                    {"use_regex", true}};
    const ordered_json fast = {{"version", "1.0"},
                               {"truncation", nullptr},
                               {"padding", nullptr},
                               {"added_tokens", added},
                               {"normalizer", nullptr},
                               {"pre_tokenizer", byteLevel},
                               {"post_processor", byteLevel},
                               {"decoder", byteLevel},
                               {"model",
                                {{"type", "BPE"},
                                 {"dropout", nullptr},
                                 {"unk_token", nullptr},
                                 {"continuing_subword_prefix", ""},
                                 {"end_of_word_suffix", ""},
                                 {"fuse_unk", false},
                                 {"byte_fallback", false},
                                 {"vocab", vocab},
                                 {"merges", ordered_json::array()}}}};
    return {{"config.json", model.dump(2) + "\n"},
            {"tokenizer.json", fast.dump(2) + "\n"},
            {"generation_config.json", generation.dump(2) + "\n"},
            {"vocab.json", vocab.dump() + "\n"},
            {"merges.txt", "#version: 0.2\n"},
            {"special_tokens_map.json", special.dump(2) + "\n"},
            {"tokenizer_config.json", tokenizer.dump(2) + "\n"}};
}

} // namespace mf::zoo
