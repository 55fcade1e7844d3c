// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge/merge_inputs.h"

#include "io/adapter.h"

namespace mf {

MergeInputs::MergeInputs(const std::string &base, const std::vector<std::string> &models,
                         std::vector<std::string> taskNames, const MergeOptions &options)
    : m_base(Checkpoint::open(base))
{
    m_models.reserve(models.size());
    std::vector<const Checkpoint *> tasks;
    for (const std::string &path : models)
        m_models.push_back(openTaskCheckpoint(path, m_base));
    for (const Checkpoint &model : m_models)
        tasks.push_back(&model);
    m_merger = std::make_unique<Merger>(m_base, tasks, std::move(taskNames), options);
}

std::vector<const Checkpoint *> MergeInputs::all() const
{
    std::vector<const Checkpoint *> out{&m_base};
    for (const Checkpoint &model : m_models)
        out.push_back(&model);
    return out;
}

} // namespace mf
