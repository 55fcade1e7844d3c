// SPDX-License-Identifier: GPL-3.0-or-later
// tokenizer.json in one pass: a SAX handler builds the document except model.vocab and
// model.merges (hundreds of thousands of entries), which go straight into flat lists; a
// 150k-token file loads several times faster than through a full DOM.
#include "text/bpe.h"
#include "text/decoders.h"
#include "text/normalizers.h"
#include "text/pre_tokenizers.h"
#include "text/processors.h"
#include "text/tokenizer.h"
#include "util/error.h"

namespace mf::text {
namespace {

using json = nlohmann::json;

class TokenizerJsonHandler : public nlohmann::json_sax<json> {
public:
    TokenizerJsonHandler(json &root, std::string file)
        : m_dom(root, true)
        , m_file(std::move(file))
    {
    }

    std::vector<std::pair<std::string, std::uint64_t>> vocab;
    std::vector<std::pair<std::string, std::string>> merges;
    bool haveVocab = false, haveMerges = false;

    bool null() override
    {
        return scalar([&] { return m_dom.null(); }, "null");
    }
    bool boolean(bool value) override
    {
        return scalar([&] { return m_dom.boolean(value); }, value ? "true" : "false");
    }
    bool number_integer(number_integer_t value) override
    {
        if (m_mode == Mode::Vocab && value >= 0)
            return number_unsigned(static_cast<number_unsigned_t>(value));
        return scalar([&] { return m_dom.number_integer(value); }, std::to_string(value));
    }
    bool number_unsigned(number_unsigned_t value) override
    {
        if (m_mode == Mode::Vocab) {
            vocab.emplace_back(std::move(m_key), value);
            return true;
        }
        return scalar([&] { return m_dom.number_unsigned(value); }, std::to_string(value));
    }
    bool number_float(number_float_t value, const string_t &text) override
    {
        return scalar([&] { return m_dom.number_float(value, text); }, text);
    }
    bool string(string_t &value) override
    {
        if (m_mode == Mode::Merges) {
            const std::size_t space = value.find(' ');
            if (space == std::string::npos || value.find(' ', space + 1) != std::string::npos)
                fail(where() + ": expected two tokens separated by one space, found '" + value +
                     "'");
            merges.emplace_back(value.substr(0, space), value.substr(space + 1));
            return true;
        }
        if (m_mode == Mode::MergePair) {
            if (m_pair.size() == 2)
                fail(where() + ": expected a pair of tokens");
            m_pair.push_back(std::move(value));
            return true;
        }
        return scalar([&] { return m_dom.string(value); }, "'" + value + "'");
    }
    bool binary(binary_t &value) override { return m_dom.binary(value); }
    bool start_object(std::size_t size) override
    {
        if (m_mode != Mode::Dom)
            fail(where() + ": expected " + expected() + ", found an object");
        if (atModelKey("vocab")) {
            m_mode = Mode::Vocab;
            haveVocab = true;
            return true;
        }
        m_frames.push_back({true, {}});
        return m_dom.start_object(size);
    }
    bool key(string_t &value) override
    {
        if (m_mode == Mode::Vocab) {
            m_key = std::move(value);
            return true;
        }
        m_frames.back().key = value;
        return m_dom.key(value);
    }
    bool end_object() override
    {
        if (m_mode == Mode::Vocab) {
            m_mode = Mode::Dom;
            return true;
        }
        m_frames.pop_back();
        return m_dom.end_object();
    }
    bool start_array(std::size_t size) override
    {
        if (m_mode == Mode::Merges) {
            m_mode = Mode::MergePair;
            m_pair.clear();
            return true;
        }
        if (m_mode != Mode::Dom)
            fail(where() + ": expected " + expected() + ", found a list");
        if (atModelKey("merges")) {
            m_mode = Mode::Merges;
            haveMerges = true;
            return true;
        }
        m_frames.push_back({false, {}});
        return m_dom.start_array(size);
    }
    bool end_array() override
    {
        if (m_mode == Mode::MergePair) {
            if (m_pair.size() != 2)
                fail(where() + ": expected a pair of tokens");
            merges.emplace_back(std::move(m_pair[0]), std::move(m_pair[1]));
            m_mode = Mode::Merges;
            return true;
        }
        if (m_mode == Mode::Merges) {
            m_mode = Mode::Dom;
            return true;
        }
        m_frames.pop_back();
        return m_dom.end_array();
    }
    bool parse_error(std::size_t position, const std::string &,
                     const nlohmann::detail::exception &e) override
    {
        std::string message = e.what();
        const std::size_t colon = message.find("] ");
        if (colon != std::string::npos)
            message = message.substr(colon + 2);
        throw Error(m_file + ": invalid JSON at byte " + std::to_string(position) + ": " + message);
    }

private:
    enum class Mode { Dom, Vocab, Merges, MergePair };
    struct Frame {
        bool object;
        std::string key;
    };

    [[noreturn]] void fail(const std::string &message) const
    {
        throw Error(m_file + ": " + message);
    }

    template<typename Forward>
    bool scalar(Forward forward, const std::string &shown)
    {
        if (m_mode != Mode::Dom)
            fail(where() + ": expected " + expected() + ", found " + shown);
        return forward();
    }
    std::string where() const
    {
        switch (m_mode) {
        case Mode::Vocab:
            return "model.vocab." + m_key;
        case Mode::Merges:
        case Mode::MergePair:
            return "model.merges[" + std::to_string(merges.size()) + "]";
        case Mode::Dom:
            break;
        }
        return "";
    }
    std::string expected() const
    {
        return m_mode == Mode::Vocab ? "a token id" : "a merge ('a b' or [a, b])";
    }
    /// The next value is the member `name` of the top-level "model" object.
    bool atModelKey(const char *name) const
    {
        return m_frames.size() == 2 && m_frames[0].object && m_frames[0].key == "model" &&
               m_frames[1].object && m_frames[1].key == name;
    }

    nlohmann::detail::json_sax_dom_parser<json> m_dom;
    std::string m_file;
    std::vector<Frame> m_frames;
    Mode m_mode = Mode::Dom;
    std::string m_key;
    std::vector<std::string> m_pair;
};

std::vector<AddedToken> readAddedTokens(const json &list, const JsonPath &path)
{
    std::vector<AddedToken> tokens;
    if (list.is_null())
        return tokens;
    if (!list.is_array())
        path.fail("expected a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
        const JsonPath at = path[i];
        AddedToken token;
        const json &id = requiredMember(list[i], "id", at);
        const auto value = nonNegative(id);
        if (!value || *value >= (1u << 24))
            (at / "id").fail("expected a token id, found " + brief(id));
        token.id = static_cast<std::uint32_t>(*value);
        token.content = stringMember(list[i], "content", at);
        if (token.content.empty())
            (at / "content").fail("an added token cannot be empty");
        token.special = boolMember(list[i], "special", at, false);
        token.singleWord = boolMember(list[i], "single_word", at, false);
        token.lstrip = boolMember(list[i], "lstrip", at, false);
        token.rstrip = boolMember(list[i], "rstrip", at, false);
        token.normalized = boolMember(list[i], "normalized", at, !token.special);
        tokens.push_back(std::move(token));
    }
    return tokens;
}

} // namespace

Tokenizer::Parts partsFromTokenizerJson(std::string_view bytes, const std::string &file)
{
    json root;
    TokenizerJsonHandler handler(root, file);
    json::sax_parse(bytes.begin(), bytes.end(), &handler);
    const JsonPath top(file);
    if (!root.is_object())
        top.fail("expected a JSON object (a Hugging Face tokenizer.json)");
    const json &model = requiredMember(root, "model", top);
    const JsonPath modelPath = top / "model";
    if (!model.is_object())
        modelPath.fail("expected an object, found " + brief(model));
    std::string type = stringMember(model, "type", modelPath, std::string());
    if (type.empty() && handler.haveVocab && handler.haveMerges)
        type = "BPE";
    if (type != "BPE")
        (modelPath / "type")
            .fail(type.empty() ? std::string("missing (and no vocab + merges to read a BPE from)")
                               : "the " + type +
                                     " model is not supported: Mergefront reads BPE tokenizers "
                                     "(GPT-2, Llama, Mistral, Qwen, Gemma, SmolLM)");
    if (!handler.haveVocab)
        (modelPath / "vocab").fail("missing, or not an object of token: id");
    if (!handler.haveMerges)
        (modelPath / "merges").fail("missing, or not a list");

    BpeConfig config = bpeConfigFromJson(model, modelPath);
    config.vocab = std::move(handler.vocab);
    config.merges = std::move(handler.merges);

    Tokenizer::Parts parts;
    parts.model =
        std::make_unique<Bpe>(std::move(config), modelPath / "vocab", modelPath / "merges");
    const auto member = [&root](const char *key) -> const json & {
        static const json null;
        const auto it = root.find(key);
        return it == root.end() ? null : *it;
    };
    parts.normalizer = makeNormalizer(member("normalizer"), top / "normalizer");
    parts.preTokenizer = makePreTokenizer(member("pre_tokenizer"), top / "pre_tokenizer");
    parts.postProcessor = makePostProcessor(member("post_processor"), top / "post_processor");
    parts.decoder = makeDecoder(member("decoder"), top / "decoder");
    parts.addedTokens = readAddedTokens(member("added_tokens"), top / "added_tokens");
    return parts;
}

} // namespace mf::text
