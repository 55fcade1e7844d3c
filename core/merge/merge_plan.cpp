// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge/merge_plan.h"

#include "util/error.h"
#include "util/text.h"

#include <cmath>
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
    for (const TensorRef &tensor : base.tensors()) {
        TensorPlan entry;
        entry.base = &tensor;
        if (!isFloating(tensor.dtype)) {
            entry.reason = std::string("not floating point (") + dtypeName(tensor.dtype) + ")";
        } else if (hasInclude && !std::regex_search(tensor.name, include)) {
            entry.reason = "not matched by --include";
        } else if (hasExclude && std::regex_search(tensor.name, exclude)) {
            entry.reason = "matched by --exclude";
        } else {
            for (std::size_t t = 0; t < tasks.size() && entry.reason.empty(); ++t) {
                const TensorRef *other = tasks[t]->find(tensor.name);
                if (!other)
                    entry.reason = "missing in task '" + taskNames[t] + "'";
                else if (other->shape != tensor.shape)
                    entry.reason = "shape " + formatShape(other->shape) + " in task '" +
                                   taskNames[t] + "' but " + formatShape(tensor.shape) +
                                   " in the base";
                else if (!isFloating(other->dtype))
                    entry.reason = std::string("not floating point in task '") + taskNames[t] +
                                   "' (" + dtypeName(other->dtype) + ")";
                else
                    entry.tasks.push_back(other);
            }
        }
        entry.merged = entry.reason.empty();
        if (entry.merged) {
            ++plan.mergedTensors;
            plan.mergedParameters += tensor.numel();
        } else {
            entry.tasks.clear();
            ++plan.copiedTensors;
        }
        plan.tensors.push_back(std::move(entry));
    }
    for (std::size_t t = 0; t < tasks.size(); ++t)
        for (const TensorRef &tensor : tasks[t]->tensors())
            if (!base.find(tensor.name))
                plan.ignoredTensors.push_back(tensor.name + " (only in task '" + taskNames[t] +
                                              "', not in the base)");
    return plan;
}

std::vector<std::string> describePlan(const MergePlan &plan)
{
    std::vector<std::string> lines{std::to_string(plan.mergedTensors) + " tensors (" +
                                   std::to_string(plan.mergedParameters) + " parameters) merged, " +
                                   std::to_string(plan.copiedTensors) + " copied from the base"};
    for (const TensorPlan &tensor : plan.tensors)
        if (!tensor.merged && isFloating(tensor.base->dtype))
            lines.push_back("left out (copied from the base): " + tensor.base->name + ": " +
                            tensor.reason);
    for (const std::string &ignored : plan.ignoredTensors)
        lines.push_back("not in the output: " + ignored);
    if (plan.mergedTensors == 0)
        lines.push_back("warning: no tensor is merged; the output equals the base");
    return lines;
}

} // namespace mf
