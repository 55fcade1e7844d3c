// SPDX-License-Identifier: GPL-3.0-or-later
// The tokenizer's parts checked by hand against the reference's semantics (Hugging Face's
// tokenizers, Rust), where tst_tokenizer_reference's tokenizers.js cannot be the judge: BPE
// merges, the split behaviors, Digits / Punctuation / Whitespace on non-ASCII text, Lowercase,
// the Metaspace and ByteFallback decoders. Then bad input refused with the file and key named,
// the CLI, and SentencePiece models (spm_train's model, compared with spm_encode).
#include "fixtures.h"
#include "testing.h"

#include "text/decoders.h"
#include "text/normalizers.h"
#include "text/pre_tokenizers.h"
#include "text/sentencepiece_model.h"
#include "text/tokenizer.h"
#include "text/tokenizer_folder.h"

#include <nlohmann/json.hpp>

#include <filesystem>

using nlohmann::json;
using Strings = std::vector<std::string>;
using Ids = std::vector<std::uint32_t>;

namespace {

const mf::text::JsonPath kTest("test.json");

Strings preTokenize(const json &config, const std::string &text, bool atStart = true)
{
    std::vector<mf::text::Piece> pieces{{text, atStart}};
    mf::text::makePreTokenizer(config, kTest)->preTokenize(pieces);
    Strings out;
    for (const auto &piece : pieces)
        out.push_back(piece.text);
    return out;
}

std::string normalize(const json &config, const std::string &text)
{
    return mf::text::makeNormalizer(config, kTest)->normalize(text);
}

Strings decodeChain(const json &config, const Strings &tokens)
{
    return mf::text::makeDecoder(config, kTest)->decodeChain(tokens);
}

/// A tokenizer.json of a small BPE: a b c ab bc abc <unk>, merges "b c", "a b", "a bc".
json toyTokenizer()
{
    return {
        {"version", "1.0"},
        {"added_tokens", json::array()},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "WhitespaceSplit"}}},
        {"post_processor", nullptr},
        {"decoder", nullptr},
        {"model",
         {{"type", "BPE"},
          {"unk_token", "<unk>"},
          {"fuse_unk", false},
          {"byte_fallback", false},
          {"vocab", {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}, {"abc", 5}, {"<unk>", 6}}},
          {"merges", {"b c", "a b", "a bc"}}}}};
}

std::unique_ptr<mf::text::Tokenizer> fromJson(const json &tokenizer)
{
    return std::make_unique<mf::text::Tokenizer>(
        mf::text::partsFromTokenizerJson(tokenizer.dump(), "tokenizer.json"),
        mf::text::TokenizerConfig{});
}

std::string loadError(const std::string &bytes)
{
    return mftest::errorOf([&] { mf::text::partsFromTokenizerJson(bytes, "tokenizer.json"); });
}

} // namespace

class TestTokenizer : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void bpeMergesByHand()
    {
        auto tokenizer = fromJson(toyTokenizer());
        // "abc": (b,c) has rank 0, then (a,bc) rank 2.
        QCOMPARE(tokenizer->encode("abc", false), (Ids{5}));
        // Equal ranks merge leftmost first: "abab" -> ab ab.
        QCOMPARE(tokenizer->encode("abab", false), (Ids{3, 3}));
        // "bca": bc, then (bc, a) has no merge.
        QCOMPARE(tokenizer->encode("bca abc", false), (Ids{4, 0, 5}));
        // Unknown characters become <unk>, one each; fused when fuse_unk.
        QCOMPARE(tokenizer->encode("axxb", false), (Ids{0, 6, 6, 1}));
        json fused = toyTokenizer();
        fused["model"]["fuse_unk"] = true;
        QCOMPARE(fromJson(fused)->encode("axxb", false), (Ids{0, 6, 1}));
        // Byte fallback: x is <0x78>; é (C3 A9) lacks <0xA9>, so it falls to <unk>.
        json bytes = toyTokenizer();
        bytes["model"]["byte_fallback"] = true;
        bytes["model"]["vocab"]["<0x78>"] = 7;
        bytes["model"]["vocab"]["<0xC3>"] = 8;
        QCOMPARE(fromJson(bytes)->encode("axé", false), (Ids{0, 7, 6}));
        // ignore_merges: a piece in the vocabulary stays whole even when merges would differ.
        json ignore = toyTokenizer();
        ignore["model"]["vocab"]["ba"] = 9;
        QCOMPARE(fromJson(ignore)->encode("ba", false), (Ids{1, 0}));
        ignore["model"]["ignore_merges"] = true;
        QCOMPARE(fromJson(ignore)->encode("ba", false), (Ids{9}));
        // Merges as pairs (the newer format) read the same.
        json pairs = toyTokenizer();
        pairs["model"]["merges"] = json::array(
            {json::array({"b", "c"}), json::array({"a", "b"}), json::array({"a", "bc"})});
        QCOMPARE(fromJson(pairs)->encode("abc abab", false), (Ids{5, 3, 3}));
        QCOMPARE(tokenizer->tokens({5, 6}), (Strings{"abc", "<unk>"}));
    }

    void splitBehaviorsByHand()
    {
        const auto split = [](const char *behavior, bool invert = false) {
            return preTokenize({{"type", "Split"},
                                {"pattern", {{"String", "-"}}},
                                {"behavior", behavior},
                                {"invert", invert}},
                               "a-b--c");
        };
        QCOMPARE(split("Removed"), (Strings{"a", "b", "c"}));
        QCOMPARE(split("Isolated"), (Strings{"a", "-", "b", "-", "-", "c"}));
        QCOMPARE(split("MergedWithPrevious"), (Strings{"a-", "b-", "-", "c"}));
        QCOMPARE(split("MergedWithNext"), (Strings{"a", "-b", "-", "-c"}));
        QCOMPARE(split("Contiguous"), (Strings{"a", "-", "b", "--", "c"}));
        QCOMPARE(split("Removed", true), (Strings{"-", "-", "-"}));
        // A regex with Oniguruma's Unicode classes and look-ahead.
        QCOMPARE(preTokenize({{"type", "Split"},
                              {"pattern", {{"Regex", "\\s+(?!\\S)|\\p{L}+"}}},
                              {"behavior", "Isolated"}},
                             "ab  çd1"),
                 (Strings{"ab", " ", " ", "çd", "1"}));
    }

    void preTokenizersByHand()
    {
        // Digits are Unicode's numeric characters (the reference's char::is_numeric).
        QCOMPARE(
            preTokenize({{"type", "Digits"}, {"individual_digits", true}}, "ab12c\u0663\u00bd"),
            (Strings{"ab", "1", "2", "c", "\u0663", "\u00bd"}));
        QCOMPARE(
            preTokenize({{"type", "Digits"}, {"individual_digits", false}}, "ab12c\u0663\u00bd"),
            (Strings{"ab", "12", "c", "\u0663\u00bd"}));
        // Punctuation isolates each mark (ASCII symbols and Unicode P*).
        QCOMPARE(preTokenize({{"type", "Punctuation"}}, "Hey!! \u00bfyou\u2026"),
                 (Strings{"Hey", "!", "!", " ", "\u00bf", "you", "\u2026"}));
        // Whitespace: runs of word characters (Unicode letters too) and of other symbols.
        QCOMPARE(preTokenize({{"type", "Whitespace"}}, "H\u00e9llo, w\u00f6rld!!  \u65e5\u672c ok"),
                 (Strings{"H\u00e9llo", ",", "w\u00f6rld", "!!", "\u65e5\u672c", "ok"}));
        QCOMPARE(preTokenize({{"type", "WhitespaceSplit"}}, "a \t b\u3000c\u00a0d"),
                 (Strings{"a", "b", "c", "d"}));
        // Metaspace splits before each replacement; "first" prepends only at the input's start.
        const json metaspace = {
            {"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}};
        QCOMPARE(preTokenize(metaspace, "hello  world"),
                 (Strings{"\u2581hello", "\u2581", "\u2581world"}));
        QCOMPARE(preTokenize(metaspace, "x y", false), (Strings{"x", "\u2581y"}));
        QCOMPARE(preTokenize({{"type", "ByteLevel"}, {"add_prefix_space", true}}, "hi there"),
                 (Strings{"\u0120hi", "\u0120there"}));
        QCOMPARE(
            preTokenize(
                {{"type", "Sequence"},
                 {"pretokenizers",
                  {{{"type", "Digits"}, {"individual_digits", true}},
                   {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}},
                "a1 \u00e9"),
            (Strings{"a", "1", "\u0120\u00c3\u00a9"}));
    }

    void normalizersByHand()
    {
        QCOMPARE(normalize({{"type", "NFKC"}}, "\ufb01\u2460\uff21"), std::string("fi1A"));
        QCOMPARE(normalize({{"type", "NFC"}}, "e\u0301"), std::string("\u00e9"));
        QCOMPARE(normalize({{"type", "Sequence"},
                            {"normalizers", {{{"type", "NFD"}}, {{"type", "StripAccents"}}}}},
                           "Cr\u00e8me br\u00fbl\u00e9e"),
                 std::string("Creme brulee"));
        // Lowercase character by character (the reference's char::to_lowercase): a final
        // sigma stays σ, İ becomes i + combining dot.
        QCOMPARE(normalize({{"type", "Lowercase"}},
                           "\u0130STANBUL \u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3"),
                 std::string("i\u0307stanbul \u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c3"));
        QCOMPARE(normalize({{"type", "Strip"}, {"strip_left", true}, {"strip_right", false}},
                           "\u3000 a \t"),
                 std::string("a \t"));
        QCOMPARE(normalize({{"type", "Prepend"}, {"prepend", "\u2581"}}, ""), std::string(""));
        QCOMPARE(
            normalize({{"type", "Replace"}, {"pattern", {{"Regex", "[0-9]+"}}}, {"content", "#"}},
                      "a12b3"),
            std::string("a#b#"));
    }

    void decodersByHand()
    {
        // Metaspace: every replacement of the first token is dropped, the others become spaces.
        QCOMPARE(
            decodeChain(
                {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}},
                {"\u2581\u2581Hello", "\u2581world"}),
            (Strings{"Hello", " world"}));
        QCOMPARE(
            decodeChain(
                {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "never"}},
                {"\u2581Hello"}),
            (Strings{" Hello"}));
        // ByteFallback: valid runs become their text; an invalid run one U+FFFD per byte.
        QCOMPARE(decodeChain({{"type", "ByteFallback"}},
                             {"<0xE4>", "<0xBD>", "<0xA0>", "a", "<0xE4>", "<0xBD>"}),
                 (Strings{"\u4f60", "a", "\ufffd", "\ufffd"}));
        // ByteLevel: an invalid sequence becomes one U+FFFD per maximal subpart.
        QCOMPARE(decodeChain({{"type", "ByteLevel"}}, {"\u00e4\u00bd", "a"}), (Strings{"\ufffda"}));
        QCOMPARE(decodeChain({{"type", "Strip"}, {"content", " "}, {"start", 2}, {"stop", 1}},
                             {"   ab  ", " "}),
                 (Strings{" ab ", ""}));
        QCOMPARE(
            decodeChain(
                {{"type", "Sequence"},
                 {"decoders",
                  {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                   {{"type", "Fuse"}}}}},
                {"\u2581a", "b", "\u2581c"}),
            (Strings{" ab c"}));
    }

    void addedTokensByHand()
    {
        json t = toyTokenizer();
        t["pre_tokenizer"] = nullptr;
        t["added_tokens"] = {{{"id", 10},
                              {"content", "ab"},
                              {"single_word", true},
                              {"lstrip", false},
                              {"rstrip", false},
                              {"normalized", false},
                              {"special", false}},
                             {{"id", 11},
                              {"content", "<s>"},
                              {"single_word", false},
                              {"lstrip", true},
                              {"rstrip", true},
                              {"normalized", false},
                              {"special", true}},
                             {{"id", 12},
                              {"content", "<s>x"},
                              {"single_word", false},
                              {"lstrip", false},
                              {"rstrip", false},
                              {"normalized", false},
                              {"special", true}}};
        t["model"]["vocab"][" "] = 13;
        t["model"]["vocab"]["x"] = 14;
        auto tokenizer = fromJson(t);
        // single_word: "ab" alone matches, inside "cab" it does not (BPE then makes c + ab).
        QCOMPARE(tokenizer->encode("ab cab", false), (Ids{10, 13, 2, 3}));
        // lstrip / rstrip swallow the spaces around <s>; the longest token wins.
        QCOMPARE(tokenizer->encode("a  <s>  b <s>x", false), (Ids{0, 11, 1, 13, 12}));
        QCOMPARE(tokenizer->decode({0, 11, 1}, false), std::string("a <s> b"));
        QCOMPARE(tokenizer->decode({0, 11, 1}, true), std::string("a b"));
    }

    void refusesBadInput()
    {
        const std::string good = toyTokenizer().dump();
        std::string e = loadError(good.substr(0, good.size() / 2));
        QVERIFY2(e.find("tokenizer.json: invalid JSON at byte ") == 0, e.c_str());
        e = loadError("{\"model\": [1, 2,]}");
        QVERIFY2(e.find("tokenizer.json: invalid JSON at byte 17") == 0, e.c_str());
        const auto withEdit = [](const std::function<void(json &)> &edit) {
            json t = toyTokenizer();
            edit(t);
            return loadError(t.dump());
        };
        e = withEdit([](json &t) { t["normalizer"] = {{"type", "Precompiled"}}; });
        QVERIFY2(e.find("tokenizer.json: normalizer.type: unknown normalizer type 'Precompiled'") ==
                     0,
                 e.c_str());
        e = withEdit([](json &t) {
            t["pre_tokenizer"] = {
                {"type", "Sequence"},
                {"pretokenizers", {{{"type", "Digits"}}, {{"type", "UnicodeScripts"}}}}};
        });
        QVERIFY2(e.find("tokenizer.json: pre_tokenizer.pretokenizers[1].type: unknown "
                        "pre-tokenizer type 'UnicodeScripts'") == 0,
                 e.c_str());
        e = withEdit([](json &t) { t["decoder"] = {{"type", "CTC"}}; });
        QVERIFY2(e.find("decoder.type: unknown decoder type 'CTC'") != std::string::npos,
                 e.c_str());
        e = withEdit([](json &t) { t["post_processor"] = {{"type", "Template"}}; });
        QVERIFY2(e.find("post_processor.type: unknown post-processor type 'Template'") !=
                     std::string::npos,
                 e.c_str());
        e = withEdit([](json &t) { t["model"]["merges"][1] = "a x"; });
        QVERIFY2(e.find("tokenizer.json: model.merges[1]: 'x' is not in the vocabulary") == 0,
                 e.c_str());
        e = withEdit([](json &t) { t["model"]["merges"].push_back("c a"); });
        QVERIFY2(e.find("model.merges[3]: 'c a' makes 'ca', which is not in the vocabulary") !=
                     std::string::npos,
                 e.c_str());
        e = withEdit([](json &t) { t["model"]["merges"][0] = "b c d"; });
        QVERIFY2(e.find("model.merges[0]: expected two tokens separated by one space") !=
                     std::string::npos,
                 e.c_str());
        e = withEdit([](json &t) { t["model"]["vocab"]["abc"] = 1; });
        QVERIFY2(e.find("tokenizer.json: model.vocab.") == 0 &&
                     e.find("duplicate ids") != std::string::npos,
                 e.c_str());
        e = withEdit([](json &t) { t["model"]["vocab"]["a"] = "zero"; });
        QVERIFY2(e.find("model.vocab.a: expected a token id, found 'zero'") != std::string::npos,
                 e.c_str());
        e = withEdit([](json &t) { t["model"]["type"] = "WordPiece"; });
        QVERIFY2(e.find("model.type: the WordPiece model is not supported") != std::string::npos,
                 e.c_str());
        e = withEdit([](json &t) {
            t["model"] = {
                {"type", "Unigram"},
                {"unk_id", 0},
                {"vocab", json::array({json::array({"<unk>", 0.0}), json::array({"a", -1.5})})}};
        });
        QVERIFY2(e.find("model.type: the Unigram model is not supported") != std::string::npos,
                 e.c_str());
        e = withEdit([](json &t) { t["model"]["dropout"] = 0.1; });
        QVERIFY2(e.find("dropout") != std::string::npos, e.c_str());
        e = withEdit([](json &t) {
            t["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(a"}}}};
        });
        QVERIFY2(e.find("pre_tokenizer.pattern: the regex /(a/ does not compile") !=
                     std::string::npos,
                 e.c_str());
        e = withEdit([](json &t) { t["added_tokens"] = {{{"content", "<s>"}}}; });
        QVERIFY2(e.find("added_tokens[0].id: missing") != std::string::npos, e.c_str());
        // Decoding an id the vocabulary lacks, encoding bytes that are not UTF-8.
        auto tokenizer = fromJson(toyTokenizer());
        e = mftest::errorOf([&] { tokenizer->decode({0, 99}, false); });
        QVERIFY2(e == "token id 99 is out of range: the vocabulary has ids 0 to 6", e.c_str());
        e = mftest::errorOf([&] { tokenizer->encode("ab\xff", false); });
        QVERIFY2(e == "the text is not valid UTF-8 (at byte 2)", e.c_str());
        // A folder without tokenizer files, a broken tokenizer_config.json.
        mftest::TempDir dir;
        e = mftest::errorOf([&] { mf::text::loadTokenizer(dir.path()); });
        QVERIFY2(e.find("no tokenizer.json, tokenizer.model, or vocab.json + merges.txt") !=
                     std::string::npos,
                 e.c_str());
        mftest::writeFile(dir.file("tokenizer.json"), good);
        mftest::writeFile(dir.file("tokenizer_config.json"), "{\"bos_token\": 3}");
        e = mftest::errorOf([&] { mf::text::loadTokenizer(dir.path()); });
        QVERIFY2(e.find("tokenizer_config.json: bos_token: expected a token") != std::string::npos,
                 e.c_str());
    }

    void cliTokenizeAndDecode()
    {
        mftest::TempDir dir;
        json t = toyTokenizer();
        t["added_tokens"] = {
            {{"id", 6}, {"content", "<unk>"}, {"special", true}, {"normalized", false}},
            {{"id", 7}, {"content", "<s>"}, {"special", true}, {"normalized", false}}};
        t["model"]["vocab"]["<s>"] = 7;
        t["post_processor"] = {
            {"type", "TemplateProcessing"},
            {"single", "<s> $A"},
            {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {7}}, {"tokens", {"<s>"}}}}}}};
        std::filesystem::create_directories(dir.file("tok"));
        std::filesystem::create_directories(dir.file("broken"));
        mftest::writeFile(dir.file("tok/tokenizer.json"), t.dump());
        auto run =
            mftest::runCli(dir, {"tokenize", dir.file("tok"), "--text", "abc ab<s>", "--json"});
        QCOMPARE(run.code, 0);
        QCOMPARE(json::parse(run.out),
                 (json{{"ids", {5, 3, 7}}, {"tokens", {"abc", "ab", "<s>"}}}));
        run = mftest::runCli(dir, {"tokenize", dir.file("tok"), "--text", "abc", "--special"});
        QCOMPARE(run.code, 0);
        QCOMPARE(run.out, std::string("7 5\n[\"<s>\",\"abc\"]\n"));
        mftest::writeFile(dir.file("text.txt"), "ab\ncab");
        run = mftest::runCli(
            dir, {"tokenize", dir.file("tok"), "--file", dir.file("text.txt"), "--json"});
        QCOMPARE(run.code, 0);
        const json ids = json::parse(run.out)["ids"]; // a copy: QCOMPARE keeps a reference
        QCOMPARE(ids, (json{3, 2, 3}));
        mftest::writeFile(dir.file("ids.json"), run.out);
        run = mftest::runCli(dir,
                             {"decode", dir.file("tok"), "--file", dir.file("ids.json"), "--json"});
        QCOMPARE(run.code, 0);
        const json text = json::parse(run.out)["text"];
        QCOMPARE(text, json("ab c ab"));
        run = mftest::runCli(dir, {"decode", dir.file("tok"), "--ids", "7,5 3", "--skip-special"});
        QCOMPARE(run.out, std::string("abc ab\n"));
        // Bad input: exit 1 naming the culprit; usage errors: exit 2.
        run = mftest::runCli(dir, {"decode", dir.file("tok"), "--ids", "5,1000"});
        QCOMPARE(run.code, 1);
        QVERIFY2(run.err.find("--ids: token id 1000 is out of range") != std::string::npos,
                 run.err.c_str());
        mftest::writeFile(dir.file("bad.txt"), "a\xc3(");
        run = mftest::runCli(dir, {"tokenize", dir.file("tok"), "--file", dir.file("bad.txt")});
        QCOMPARE(run.code, 1);
        QVERIFY2(run.err.find(dir.file("bad.txt") + ": the text is not valid UTF-8 (at byte 1)") !=
                     std::string::npos,
                 run.err.c_str());
        mftest::writeFile(dir.file("broken/tokenizer.json"), t.dump().substr(0, 40));
        run = mftest::runCli(dir, {"tokenize", dir.file("broken"), "--text", "a"});
        QCOMPARE(run.code, 1);
        QVERIFY2(run.err.find(dir.file("broken/tokenizer.json") + ": invalid JSON at byte") !=
                     std::string::npos,
                 run.err.c_str());
        run = mftest::runCli(dir, {"tokenize", dir.file("tok")});
        QCOMPARE(run.code, 2);
        run = mftest::runCli(dir, {"decode", dir.file("tok"), "--ids", "x"});
        QCOMPARE(run.code, 1);
        QVERIFY2(run.err.find("--ids: 'x' is not a token id") != std::string::npos,
                 run.err.c_str());
    }

    /// A folder with only tokenizer.model: a real SentencePiece BPE model trained by Debian's
    /// spm_train on fortune cookies, encoded by us and by spm_encode.
    void sentencePieceModel()
    {
        if (!mf::text::haveSentencePiece())
            QSKIP("built without libsentencepiece-dev");
        mftest::TempDir dir;
        const std::string fortunes = "/usr/share/games/fortunes/fortunes";
        const std::string train = "spm_train --input=" + fortunes +
                                  " --model_prefix=" + dir.file("sp") +
                                  " --vocab_size=400 --model_type=bpe --byte_fallback=true "
                                  "--character_coverage=0.9995 --minloglevel=2 >/dev/null 2>&1";
        QVERIFY2(std::system(train.c_str()) == 0, "spm_train (Debian's sentencepiece) failed");
        std::filesystem::create_directories(dir.file("model"));
        std::filesystem::copy_file(dir.file("sp.model"), dir.file("model/tokenizer.model"));
        const std::string lines =
            "Hello, world!\n  Two  spaces and 12345 digits.\nCaf\u00e9 \u65e5\u672c \U0001F600\n";
        mftest::writeFile(dir.file("lines.txt"), lines);
        QVERIFY(
            std::system(("spm_encode --model=" + dir.file("sp.model") + " --output_format=id < " +
                         dir.file("lines.txt") + " > " + dir.file("ids.txt"))
                            .c_str()) == 0);
        const auto tokenizer = mf::text::loadTokenizer(dir.file("model"));
        QCOMPARE(tokenizer->config().kind, std::string("tokenizer.model"));
        QVERIFY(
            std::system(("spm_decode --model=" + dir.file("sp.model") + " --input_format=id < " +
                         dir.file("ids.txt") + " > " + dir.file("decoded.txt"))
                            .c_str()) == 0);
        const auto linesOf = [](const std::string &text) {
            Strings out;
            for (std::size_t start = 0; start < text.size();) {
                const std::size_t end = text.find('\n', start);
                out.push_back(text.substr(start, end - start));
                start = end + 1;
            }
            return out;
        };
        const Strings inputs = linesOf(lines),
                      expected = linesOf(mftest::readFile(dir.file("ids.txt"))),
                      decoded = linesOf(mftest::readFile(dir.file("decoded.txt")));
        QCOMPARE(expected.size(), inputs.size());
        QCOMPARE(decoded.size(), inputs.size());
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            const Ids ids = tokenizer->encode(inputs[i], false);
            std::string got;
            for (std::uint32_t id : ids)
                got += (got.empty() ? "" : " ") + std::to_string(id);
            QCOMPARE(got, expected[i]);
            QCOMPARE(tokenizer->decode(ids, false), decoded[i]);
            // --special adds BOS (<s>), LlamaTokenizer's default.
            const std::uint32_t first = tokenizer->encode(inputs[i], true).front();
            const std::uint32_t bos = tokenizer->tokenToId("<s>").value();
            QCOMPARE(first, bos);
        }
    }
};

MF_TEST_MAIN(TestTokenizer, bpeMergesByHand, splitBehaviorsByHand, preTokenizersByHand,
             normalizersByHand, decodersByHand, addedTokensByHand, refusesBadInput,
             cliTokenizeAndDecode, sentencePieceModel)
#ifdef MERGEFRONT_QT_TEST
#include "tst_tokenizer.moc"
#endif
