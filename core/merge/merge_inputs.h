// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/checkpoint.h"
#include "merge/merger.h"

#include <memory>
#include <string>
#include <vector>

namespace mf {

/// A base and its task checkpoints, opened once, with the Merger over them. The Merger points
/// into the checkpoints, so this object stays where it was built (hold it by unique_ptr).
class MergeInputs {
public:
    /// Opens every checkpoint (mf::Error names the file at fault) and plans the merge. A model
    /// that is a PEFT LoRA adapter is bound to the base (io/adapter.h): its task vector is the
    /// adapter's ΔW, computed block by block.
    MergeInputs(const std::string &base, const std::vector<std::string> &models,
                std::vector<std::string> taskNames, const MergeOptions &options);
    MergeInputs(const MergeInputs &) = delete;
    MergeInputs &operator=(const MergeInputs &) = delete;

    const Checkpoint &base() const { return m_base; }
    const std::vector<Checkpoint> &models() const { return m_models; }
    /// The base, then the task checkpoints.
    std::vector<const Checkpoint *> all() const;
    Merger &merger() { return *m_merger; }
    const Merger &merger() const { return *m_merger; }

private:
    Checkpoint m_base;
    std::vector<Checkpoint> m_models;
    std::unique_ptr<Merger> m_merger;
};

} // namespace mf
