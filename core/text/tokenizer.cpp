// SPDX-License-Identifier: GPL-3.0-or-later
#include "text/tokenizer.h"

#include "text/decoders.h"
#include "text/model.h"
#include "text/normalizers.h"
#include "text/pre_tokenizers.h"
#include "text/processors.h"
#include "text/unicode.h"
#include "util/error.h"

namespace mf::text {

Tokenizer::Parts::Parts() = default;
Tokenizer::Parts::Parts(Parts &&) noexcept = default;
Tokenizer::Parts &Tokenizer::Parts::operator=(Parts &&) noexcept = default;
Tokenizer::Parts::~Parts() = default;

Tokenizer::Tokenizer(Parts parts, TokenizerConfig config)
    : m_parts(std::move(parts))
    , m_config(std::move(config))
{
    if (!m_parts.model)
        throw Error(m_config.source + ": the tokenizer has no model");
    m_added = AddedVocabulary(m_parts.addedTokens, m_parts.normalizer.get());
}

Tokenizer::~Tokenizer() = default;

std::vector<std::uint32_t> Tokenizer::encode(std::string_view text, bool addSpecialTokens) const
{
    const std::size_t invalid = invalidUtf8Offset(text);
    if (invalid != std::string_view::npos)
        throw Error("the text is not valid UTF-8 (at byte " + std::to_string(invalid) + ")");
    std::vector<std::uint32_t> ids;
    for (const auto &section : m_added.splitRaw(text)) {
        if (section.id)
            ids.push_back(*section.id);
        else if (section.end > section.begin)
            encodeSection(text.substr(section.begin, section.end - section.begin),
                          section.begin == 0, ids);
    }
    if (m_parts.postProcessor)
        m_parts.postProcessor->process(ids, addSpecialTokens);
    return ids;
}

void Tokenizer::encodeSection(std::string_view text, bool atStart,
                              std::vector<std::uint32_t> &ids) const
{
    const std::string normalized =
        m_parts.normalizer ? m_parts.normalizer->normalize(std::string(text)) : std::string(text);
    std::vector<Piece> pieces;
    const auto flush = [&] { // the text before a token (or the end), pre-tokenized on its own
        if (m_parts.preTokenizer)
            m_parts.preTokenizer->preTokenize(pieces);
        for (const Piece &piece : pieces)
            if (!piece.text.empty())
                m_parts.model->tokenize(piece.text, ids);
        pieces.clear();
    };
    for (const auto &section : m_added.splitNormalized(normalized)) {
        if (section.id) {
            flush();
            ids.push_back(*section.id);
        } else if (section.end > section.begin) {
            pieces.push_back({normalized.substr(section.begin, section.end - section.begin),
                              atStart && section.begin == 0});
        }
    }
    flush();
}

std::vector<std::string> Tokenizer::tokens(const std::vector<std::uint32_t> &ids) const
{
    std::vector<std::string> out;
    out.reserve(ids.size());
    for (std::uint32_t id : ids) {
        const std::string *token = idToToken(id);
        out.push_back(token ? *token : std::string());
    }
    return out;
}

std::string Tokenizer::decode(const std::vector<std::uint32_t> &ids, bool skipSpecialTokens) const
{
    std::vector<std::string> pieces;
    pieces.reserve(ids.size());
    for (std::uint32_t id : ids) {
        const AddedToken *added = m_added.byId(id);
        if (added && added->special && skipSpecialTokens)
            continue;
        const std::string *token = idToToken(id);
        if (!token)
            throw Error("token id " + std::to_string(id) +
                        (id >= vocabularySize() ? " is out of range: the vocabulary has ids 0 to " +
                                                      std::to_string(vocabularySize() - 1)
                                                : " is not in the vocabulary"));
        pieces.push_back(*token);
    }
    std::string text;
    if (m_parts.decoder) {
        for (const std::string &piece : m_parts.decoder->decodeChain(std::move(pieces)))
            text += piece;
    } else {
        for (std::size_t i = 0; i < pieces.size(); ++i)
            text += (i ? " " : "") + pieces[i];
    }
    return m_config.cleanUpTokenizationSpaces ? cleanUpTokenization(std::move(text)) : text;
}

std::optional<std::uint32_t> Tokenizer::tokenToId(std::string_view token) const
{
    if (const auto id = m_added.idOf(token))
        return id;
    return m_parts.model->tokenToId(token);
}

const std::string *Tokenizer::idToToken(std::uint32_t id) const
{
    if (const AddedToken *added = m_added.byId(id))
        return &added->content;
    return m_parts.model->idToToken(id);
}

std::uint32_t Tokenizer::vocabularySize() const
{
    std::uint32_t size = m_parts.model->vocabularySize();
    for (const AddedToken &token : m_added.tokens())
        size = std::max(size, token.id + 1);
    return size;
}

std::string cleanUpTokenization(std::string text)
{
    static const std::pair<const char *, const char *> rules[] = {
        {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto &[from, to] : rules) {
        const std::string pattern(from), replacement(to);
        std::string out;
        std::size_t last = 0;
        for (std::size_t pos = text.find(pattern); pos != std::string::npos;
             pos = text.find(pattern, pos + pattern.size())) {
            out.append(text, last, pos - last);
            out += replacement;
            last = pos + pattern.size();
        }
        out.append(text, last, std::string::npos);
        text = std::move(out);
    }
    return text;
}

} // namespace mf::text
