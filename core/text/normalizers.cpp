// SPDX-License-Identifier: GPL-3.0-or-later
// One small class per normalizer, as tokenizers/src/normalizers/ has them.
#include "text/normalizers.h"

#include "text/regex.h"
#include "text/unicode.h"

#include <vector>

namespace mf::text {
namespace {

class UnicodeNormalizer final : public Normalizer {
public:
    explicit UnicodeNormalizer(NormalForm form)
        : m_form(form)
    {
    }
    std::string normalize(std::string text) const override { return text::normalize(text, m_form); }

private:
    NormalForm m_form;
};

class Lowercase final : public Normalizer {
public:
    std::string normalize(std::string text) const override { return lowercase(text); }
};

/// Removes whitespace (Unicode White_Space) on the left and/or the right.
class Strip final : public Normalizer {
public:
    Strip(bool left, bool right)
        : m_left(left)
        , m_right(right)
    {
    }
    std::string normalize(std::string text) const override
    {
        const std::string_view view(text);
        const std::size_t begin = m_left ? leadingWhitespaceLength(view) : 0;
        const std::size_t end =
            m_right ? begin + trailingWhitespaceStart(view.substr(begin)) : text.size();
        return text.substr(begin, end - begin);
    }

private:
    bool m_left, m_right;
};

/// Removes combining marks (category Mn); meant after NFD or NFKD.
class StripAccents final : public Normalizer {
public:
    std::string normalize(std::string text) const override
    {
        std::string out;
        out.reserve(text.size());
        for (std::size_t pos = 0; pos < text.size();) {
            const std::size_t start = pos;
            if (!isNonSpacingMark(nextCodePoint(text, pos)))
                out.append(text, start, pos - start);
        }
        return out;
    }
};

class Replace final : public Normalizer {
public:
    Replace(Pattern pattern, std::string content)
        : m_pattern(std::move(pattern))
        , m_content(std::move(content))
    {
    }
    std::string normalize(std::string text) const override
    {
        return m_pattern.replaceAll(text, m_content);
    }

private:
    Pattern m_pattern;
    std::string m_content;
};

/// Prepends its text to any non-empty input.
class Prepend final : public Normalizer {
public:
    explicit Prepend(std::string prefix)
        : m_prefix(std::move(prefix))
    {
    }
    std::string normalize(std::string text) const override
    {
        return text.empty() ? text : m_prefix + text;
    }

private:
    std::string m_prefix;
};

class Sequence final : public Normalizer {
public:
    explicit Sequence(std::vector<std::unique_ptr<Normalizer>> normalizers)
        : m_normalizers(std::move(normalizers))
    {
    }
    std::string normalize(std::string text) const override
    {
        for (const auto &normalizer : m_normalizers)
            if (normalizer)
                text = normalizer->normalize(std::move(text));
        return text;
    }

private:
    std::vector<std::unique_ptr<Normalizer>> m_normalizers;
};

} // namespace

std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json &value, const JsonPath &path)
{
    if (value.is_null())
        return nullptr;
    const std::string type = componentType(value, path);
    if (type == "NFC")
        return std::make_unique<UnicodeNormalizer>(NormalForm::NFC);
    if (type == "NFD")
        return std::make_unique<UnicodeNormalizer>(NormalForm::NFD);
    if (type == "NFKC")
        return std::make_unique<UnicodeNormalizer>(NormalForm::NFKC);
    if (type == "NFKD")
        return std::make_unique<UnicodeNormalizer>(NormalForm::NFKD);
    if (type == "Lowercase")
        return std::make_unique<Lowercase>();
    if (type == "StripAccents")
        return std::make_unique<StripAccents>();
    if (type == "Strip")
        return std::make_unique<Strip>(boolMember(value, "strip_left", path, false),
                                       boolMember(value, "strip_right", path, false));
    if (type == "Replace")
        return std::make_unique<Replace>(
            Pattern(requiredMember(value, "pattern", path), (path / "pattern").where()),
            stringMember(value, "content", path));
    if (type == "Prepend")
        return std::make_unique<Prepend>(stringMember(value, "prepend", path));
    if (type == "Sequence")
        return std::make_unique<Sequence>(
            componentList(value, "normalizers", path, makeNormalizer));
    (path / "type")
        .fail("unknown normalizer type '" + type +
              "' (Mergefront reads NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, "
              "Replace, Prepend, Sequence)");
}

} // namespace mf::text
