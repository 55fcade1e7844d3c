// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge/merge_plan.h"

#include "util/error.h"
#include "util/text.h"

#include <algorithm>

#include <cmath>
#include <map>
#include <regex>

namespace mf {

namespace {

struct MethodName {
    MergeMethod method;
    const char *name;
};

constexpr MethodName kMethods[] = {{MergeMethod::TaskArithmetic, "task_arithmetic"},
                                   {MergeMethod::Ties, "ties"},
                                   {MergeMethod::Dare, "dare"},
                                   {MergeMethod::DareTies, "dare_ties"}};

std::regex compile(const std::string &pattern, const char *option)
{
    try {
        return std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error &e) {
        throw Error(std::string("invalid ") + option + " regex '" + pattern + "': " + e.what());
    }
}

} // namespace

const char *methodName(MergeMethod method)
{
    for (const auto &m : kMethods)
        if (m.method == method)
            return m.name;
    return "?";
}

MergeMethod parseMergeMethod(const std::string &name)
{
    for (const auto &m : kMethods)
        if (name == m.name)
            return m.method;
    throw Error("unknown merge method '" + name +
                "' (expected task_arithmetic, ties, dare or dare_ties)");
}

void validateMergeOptions(const MergeOptions &options)
{
    if (!(options.density > 0.0 && options.density <= 1.0))
        throw Error("density must be in (0, 1] (the fraction of each task vector TIES keeps)");
    if (!(options.dropRate >= 0.0 && options.dropRate < 1.0))
        throw Error("drop rate must be in [0, 1) (the probability DARE drops an entry)");
    if (!options.include.empty())
        compile(options.include, "--include");
    if (!options.exclude.empty())
        compile(options.exclude, "--exclude");
    validateGroups(options.groups);
}

MergePlan planMerge(const Checkpoint &base, const std::vector<const Checkpoint *> &tasks,
                    const std::vector<std::string> &taskNames, const MergeOptions &options)
{
    validateMergeOptions(options);
    const bool hasInclude = !options.include.empty();
    const bool hasExclude = !options.exclude.empty();
    const std::regex include = hasInclude ? compile(options.include, "--include") : std::regex();
    const std::regex exclude = hasExclude ? compile(options.exclude, "--exclude") : std::regex();

    MergePlan plan;
    // Plans one output tensor whose base values are `baseTensor`.
    auto planTensor = [&](const std::string &name, const TensorRef &baseTensor) {
        TensorPlan entry;
        entry.name = name;
        entry.base = &baseTensor;
        if (!isFloating(baseTensor.dtype)) {
            entry.reason = std::string("not floating point (") + dtypeName(baseTensor.dtype) + ")";
        } else if (hasInclude && !std::regex_search(name, include)) {
            entry.reason = "not matched by --include";
        } else if (hasExclude && std::regex_search(name, exclude)) {
            entry.reason = "matched by --exclude";
        } else {
            for (std::size_t t = 0; t < tasks.size() && entry.reason.empty(); ++t) {
                const TensorRef *other = tasks[t]->find(name);
                if (!other && (other = tasks[t]->findOrTied(name)))
                    plan.tiedNotes.push_back("task '" + taskNames[t] + "' stores no " + name +
                                             ": tied to its " + other->name + ", used as " + name);
                if (!other) {
                    entry.reason = "missing in task '" + taskNames[t] + "'";
                } else if (other->shape != baseTensor.shape) {
                    entry.reason = "shape " + formatShape(other->shape) + " in task '" +
                                   taskNames[t] + "' but " + formatShape(baseTensor.shape) +
                                   " in the base";
                    entry.shapeMismatch = true;
                } else if (!isFloating(other->dtype)) {
                    entry.reason = std::string("not floating point in task '") + taskNames[t] +
                                   "' (" + dtypeName(other->dtype) + ")";
                } else {
                    entry.tasks.push_back(other);
                }
            }
        }
        entry.merged = entry.reason.empty();
        if (entry.merged) {
            ++plan.mergedTensors;
            plan.mergedParameters += baseTensor.numel();
        } else {
            entry.tasks.clear();
            ++plan.copiedTensors;
        }
        plan.tensors.push_back(std::move(entry));
    };
    for (const TensorRef &tensor : base.tensors())
        planTensor(tensor.name, tensor);

    // Names the base stores as one storage with another tensor: when every task has them as
    // one tensor too, they are one tensor of the merge.
    for (TensorPlan &entry : plan.tensors) {
        const auto tie = base.tied().find(entry.name);
        if (tie == base.tied().end() || !base.find(entry.name))
            continue;
        std::size_t target = 0;
        while (target < plan.tensors.size() && plan.tensors[target].name != tie->second)
            ++target;
        if (target == plan.tensors.size() || plan.tensors[target].merged != entry.merged)
            continue;
        bool same = true;
        for (std::size_t t = 0; t < entry.tasks.size() && same; ++t)
            same = entry.tasks[t]->data == plan.tensors[target].tasks[t]->data &&
                   entry.tasks[t]->delta == plan.tensors[target].tasks[t]->delta &&
                   entry.tasks[t]->dtype == plan.tensors[target].tasks[t]->dtype;
        if (!same)
            continue;
        entry.duplicateOf = static_cast<int>(target);
        plan.tiedNotes.push_back(entry.name + " is the same storage as " + tie->second +
                                 " in the base and every task: merged once, as " + tie->second +
                                 "; a model folder stores it once");
    }

    // Names the base ties to a tensor it stores (lm_head.weight -> the word embeddings).
    for (const auto &[name, storedAs] : base.tied()) {
        if (base.find(name) || !base.find(storedAs))
            continue;
        std::vector<std::string> apart;
        for (std::size_t t = 0; t < tasks.size(); ++t)
            if (tasks[t]->find(name) && !tasks[t]->tied().count(name))
                apart.push_back(taskNames[t]);
        if (apart.empty()) {
            plan.tiedNotes.push_back(name + " is tied to " + storedAs +
                                     " in the base and every task: merged once, as " + storedAs +
                                     " (the output ties them too)");
            continue;
        }
        plan.tiedNotes.push_back(name + " is tied to " + storedAs +
                                 " in the base but stored apart in task '" + apart.front() + "'" +
                                 (apart.size() > 1 ? " and others" : "") +
                                 ": written apart as the base's " + storedAs +
                                 " + the task vectors (a folder's config.json unties it)");
        plan.untied.push_back(name);
        planTensor(name, *base.find(storedAs));
    }

    // Tensors the base lacks: a task's own (its head) is carried; a name in several is not.
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::size_t>> owners;
    for (std::size_t t = 0; t < tasks.size(); ++t)
        for (const TensorRef &tensor : tasks[t]->tensors()) {
            if (base.find(tensor.name) || base.tied().count(tensor.name))
                continue;
            const auto tie = tasks[t]->tied().find(tensor.name);
            if (tie != tasks[t]->tied().end() && base.find(tie->second)) {
                plan.tiedNotes.push_back("task '" + taskNames[t] + "' stores " + tensor.name +
                                         " as the same storage as " + tie->second +
                                         ", which the base stores alone: merged as " + tie->second);
                continue;
            }
            auto &list = owners[tensor.name];
            if (list.empty())
                order.push_back(tensor.name);
            list.push_back(t);
        }
    for (const std::string &name : order) {
        const std::vector<std::size_t> &list = owners[name];
        if (list.size() > 1) {
            std::string who;
            for (std::size_t k = 0; k < list.size(); ++k)
                who += (k ? ", '" : "'") + taskNames[list[k]] + "'";
            plan.ignoredTensors.push_back(name + " (in tasks " + who +
                                          " but not in the base: left out, not one of them)");
            continue;
        }
        const std::size_t t = list.front();
        if (!options.keepTaskOnly) {
            plan.ignoredTensors.push_back(name + " (only in task '" + taskNames[t] +
                                          "', not in the base; task-only tensors dropped)");
            continue;
        }
        TensorPlan entry;
        entry.name = name;
        entry.base = tasks[t]->find(name);
        entry.taskOnly = static_cast<int>(t);
        entry.reason = "only in task '" + taskNames[t] + "', not in the base";
        ++plan.taskOnlyTensors;
        plan.tensors.push_back(std::move(entry));
    }

    // Coefficient groups: every merged tensor in exactly one (a duplicate as the one it is).
    plan.groups = options.groups;
    plan.columns = groupColumns(options.groups);
    std::vector<std::string> mergedNames;
    std::vector<std::size_t> mergedIndex;
    for (std::size_t i = 0; i < plan.tensors.size(); ++i)
        if (plan.tensors[i].merged && plan.tensors[i].duplicateOf < 0) {
            mergedNames.push_back(plan.tensors[i].name);
            mergedIndex.push_back(i);
        }
    const std::vector<GroupMember> members = assignGroups(mergedNames, options.groups);
    for (std::size_t k = 0; k < members.size(); ++k)
        plan.tensors[mergedIndex[k]].group = members[k];
    for (TensorPlan &entry : plan.tensors)
        if (entry.duplicateOf >= 0)
            entry.group = plan.tensors[static_cast<std::size_t>(entry.duplicateOf)].group;
    return plan;
}

std::vector<std::string> describePlan(const MergePlan &plan)
{
    std::string summary = std::to_string(plan.mergedTensors) + " tensors (" +
                          std::to_string(plan.mergedParameters) + " parameters) merged, " +
                          std::to_string(plan.copiedTensors) + " copied from the base";
    if (plan.taskOnlyTensors)
        summary += ", " + std::to_string(plan.taskOnlyTensors) + " carried from their task";
    std::vector<std::string> lines{summary};
    std::vector<std::string> mismatched;
    for (const TensorPlan &tensor : plan.tensors) {
        if (tensor.taskOnly >= 0)
            lines.push_back("carried unchanged: " + tensor.name + " (" + tensor.reason + ")");
        else if (!tensor.merged && isFloating(tensor.base->dtype))
            lines.push_back("left out (copied from the base): " + tensor.name + ": " +
                            tensor.reason);
        if (tensor.shapeMismatch)
            mismatched.push_back(tensor.name);
    }
    for (const std::string &ignored : plan.ignoredTensors)
        lines.push_back("not in the output: " + ignored);
    for (const std::string &note : plan.tiedNotes)
        lines.push_back("tied: " + note);
    if (!mismatched.empty()) {
        std::string names;
        for (const std::string &name : mismatched)
            names += (names.empty() ? "" : "|") + escapeRegex(name);
        lines.push_back("fix: a resized vocabulary or added tokens give other shapes; these keep "
                        "the base's values. To say so explicitly and merge the rest, use "
                        "--exclude '^(" +
                        names + ")$' (or merge only the backbone with --include)");
    }
    for (std::size_t g = 0; g < plan.groups.size(); ++g) {
        std::uint64_t tensors = 0, parameters = 0;
        int low = -1, high = -1;
        for (const TensorPlan &tensor : plan.tensors)
            if (tensor.merged && tensor.duplicateOf < 0 &&
                tensor.group.group == static_cast<int>(g)) {
                ++tensors;
                parameters += tensor.base->numel();
                low = low < 0 ? tensor.group.layer : std::min(low, tensor.group.layer);
                high = std::max(high, tensor.group.layer);
            }
        const CoefficientGroup &group = plan.groups[g];
        lines.push_back("group '" + group.name + "': " + std::to_string(tensors) + " tensors (" +
                        std::to_string(parameters) + " parameters)" +
                        (group.ramp ? ", a ramp from layer " + std::to_string(low) + " to " +
                                          std::to_string(high)
                                    : std::string()) +
                        (group.include.empty() ? ", the rest" : ""));
    }
    if (plan.mergedTensors == 0)
        lines.push_back("warning: no tensor is merged; the output equals the base");
    return lines;
}

} // namespace mf
