// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "map/explore.h"
#include "map/selection.h"

#include <Eigen/Core>

#include <string>
#include <vector>

namespace mf::map {

struct NestedOptions {
    Eigen::MatrixXd similarity;  ///< N x N cosine similarity of the task vectors
    Eigen::VectorXd preference;  ///< one weight per task (>= 0); default all equal
    int samplesPerPair = 12;     ///< evaluations of each 2-task MAP (2P = 12 for 2 tasks; with C
                                 ///< coefficient columns per task 2P of the 2C-dimensional pair)
    double lower = 0, upper = 1; ///< box of each pair's two coefficients
    Rule rule = Rule::Chebyshev; ///< how a pair's merge is picked from its front
    std::uint64_t seed = 1;
    SurrogateOptions surrogate;
};

/// One merge of the tree: two nodes combined with coefficients (a, b).
struct NestedStep {
    int left = -1, right = -1;   ///< node ids; 0..N-1 are the tasks, then one per step
    double a = 0, b = 0;         ///< chosen coefficients (in the first column, block-wise)
    double similarity = 0;       ///< cosine similarity of the two nodes' task vectors
    Eigen::VectorXd composition; ///< the new node as a coefficient vector over the tasks
    int evaluations = 0;
};

struct NestedResult {
    std::vector<NestedStep> steps; ///< N - 1 steps, in order
    Eigen::VectorXd coefficients;  ///< the final merge over the original tasks
    Samples samples;               ///< every evaluation (coefficients over the original tasks)
};

/// Nested MAP (METHOD.md section 8): repeatedly pair the two nodes whose task vectors are
/// most similar (cosine, from the Gram structure of `similarity`), run a 2-task MAP on the
/// pair's two group metrics (preference-weighted means of each group's task metrics) and
/// pick the pair's merge by the groups' summed preferences; the final merge is one
/// coefficient vector over the original tasks (products of coefficients along each path).
/// `problem` has N metrics (metric t belongs to task t) and N x C coefficients, task by task
/// (C = 1 task-wise; block-wise each pair's MAP runs over its 2 C coefficients, one (a, b)
/// per column).
NestedResult nestedMap(const Problem &problem, const BatchEvaluator &evaluate,
                       const NestedOptions &options);

} // namespace mf::map
