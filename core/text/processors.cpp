// SPDX-License-Identifier: GPL-3.0-or-later
// One small class per post-processor, as tokenizers/src/processors/ has them.
#include "text/processors.h"

#include <sstream>

namespace mf::text {
namespace {

/// The single-sequence template: special-token ids around the sequence ($A).
class Template final : public PostProcessor {
public:
    Template(std::vector<std::uint32_t> before, std::vector<std::uint32_t> after)
        : m_before(std::move(before))
        , m_after(std::move(after))
    {
    }
    void process(std::vector<std::uint32_t> &ids, bool addSpecialTokens) const override
    {
        if (!addSpecialTokens)
            return;
        ids.insert(ids.begin(), m_before.begin(), m_before.end());
        ids.insert(ids.end(), m_after.begin(), m_after.end());
    }

private:
    std::vector<std::uint32_t> m_before, m_after;
};

/// ByteLevel only trims offsets: ids pass unchanged.
class Unchanged final : public PostProcessor {
public:
    void process(std::vector<std::uint32_t> &, bool) const override {}
};

class Sequence final : public PostProcessor {
public:
    explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> steps)
        : m_steps(std::move(steps))
    {
    }
    void process(std::vector<std::uint32_t> &ids, bool addSpecialTokens) const override
    {
        for (const auto &step : m_steps)
            if (step)
                step->process(ids, addSpecialTokens);
    }

private:
    std::vector<std::unique_ptr<PostProcessor>> m_steps;
};

/// The ids of one special token of a TemplateProcessing's "special_tokens".
std::vector<std::uint32_t> specialIds(const nlohmann::json &specials, const std::string &name,
                                      const JsonPath &where, const JsonPath &specialsPath)
{
    if (!specials.is_object() || !specials.contains(name))
        where.fail("special token '" + name + "' is not in " + specialsPath.where());
    const JsonPath path = specialsPath / name;
    const nlohmann::json &ids = requiredMember(specials[name], "ids", path);
    if (!ids.is_array())
        (path / "ids").fail("expected a list of ids");
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto id = nonNegative(ids[i]);
        if (!id || *id > UINT32_MAX)
            (path / "ids")[i].fail("expected a token id, found " + brief(ids[i]));
        out.push_back(static_cast<std::uint32_t>(*id));
    }
    return out;
}

std::unique_ptr<PostProcessor> makeTemplate(const nlohmann::json &value, const JsonPath &path)
{
    const JsonPath singlePath = path / "single";
    const nlohmann::json &single = requiredMember(value, "single", path);
    const nlohmann::json specials =
        value.contains("special_tokens") ? value["special_tokens"] : nlohmann::json::object();
    const JsonPath specialsPath = path / "special_tokens";
    std::vector<std::uint32_t> before, after;
    bool seenSequence = false;
    const auto addSpecial = [&](const std::string &name, const JsonPath &where) {
        const auto ids = specialIds(specials, name, where, specialsPath);
        auto &side = seenSequence ? after : before;
        side.insert(side.end(), ids.begin(), ids.end());
    };
    const auto addSequence = [&](const std::string &id, const JsonPath &where) {
        if (id != "A")
            where.fail("a single-sequence template can only hold sequence A, found " + id);
        if (seenSequence)
            where.fail("sequence A appears twice");
        seenSequence = true;
    };
    if (single.is_string()) { // the short form: "<s> $A </s>"
        std::istringstream words(single.get<std::string>());
        for (std::string word; words >> word;) {
            const std::string name = word.substr(0, word.rfind(':'));
            if (!name.empty() && name[0] == '$')
                addSequence(name == "$" || name == "$0" ? "A" : name.substr(1), singlePath);
            else
                addSpecial(name, singlePath);
        }
    } else if (single.is_array()) {
        for (std::size_t i = 0; i < single.size(); ++i) {
            const nlohmann::json &item = single[i];
            if (item.is_object() && item.contains("SpecialToken"))
                addSpecial(stringMember(item["SpecialToken"], "id", singlePath[i] / "SpecialToken"),
                           singlePath[i]);
            else if (item.is_object() && item.contains("Sequence"))
                addSequence(stringMember(item["Sequence"], "id", singlePath[i] / "Sequence"),
                            singlePath[i]);
            else
                singlePath[i].fail("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
        }
    } else {
        singlePath.fail("expected a template list or string, found " + brief(single));
    }
    if (!seenSequence)
        singlePath.fail("the template has no sequence $A");
    return std::make_unique<Template>(std::move(before), std::move(after));
}

/// BertProcessing and RobertaProcessing: {"cls": [token, id], "sep": [token, id]} around A.
std::unique_ptr<PostProcessor> makeClsSep(const nlohmann::json &value, const JsonPath &path)
{
    const auto idOf = [&](const char *key) {
        const nlohmann::json &pair = requiredMember(value, key, path);
        const auto id = pair.is_array() && pair.size() == 2 ? nonNegative(pair[1]) : std::nullopt;
        if (!id || *id > UINT32_MAX)
            (path / key).fail("expected [token, id], found " + brief(pair));
        return static_cast<std::uint32_t>(*id);
    };
    return std::make_unique<Template>(std::vector<std::uint32_t>{idOf("cls")},
                                      std::vector<std::uint32_t>{idOf("sep")});
}

} // namespace

std::unique_ptr<PostProcessor> makePostProcessor(const nlohmann::json &value, const JsonPath &path)
{
    if (value.is_null())
        return nullptr;
    const std::string type = componentType(value, path);
    if (type == "TemplateProcessing")
        return makeTemplate(value, path);
    if (type == "ByteLevel")
        return std::make_unique<Unchanged>();
    if (type == "BertProcessing" || type == "RobertaProcessing")
        return makeClsSep(value, path);
    if (type == "Sequence")
        return std::make_unique<Sequence>(
            componentList(value, "processors", path, makePostProcessor));
    (path / "type")
        .fail("unknown post-processor type '" + type +
              "' (Mergefront reads TemplateProcessing, ByteLevel, BertProcessing, "
              "RobertaProcessing, Sequence)");
}

std::unique_ptr<PostProcessor> makeBosEosProcessor(std::optional<std::uint32_t> bos,
                                                   std::optional<std::uint32_t> eos)
{
    std::vector<std::uint32_t> before, after;
    if (bos)
        before.push_back(*bos);
    if (eos)
        after.push_back(*eos);
    return std::make_unique<Template>(std::move(before), std::move(after));
}

} // namespace mf::text
