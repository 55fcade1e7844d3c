// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace mf {

/// A coefficient group (METHOD.md section 12, docs/RECIPES.md): the merged tensors whose name
/// the regex matches share one coefficient per task, or, for a layer ramp, a first and a last
/// value per task interpolated linearly over the layer index (the `.N.` in HF names).
struct CoefficientGroup {
    std::string name;
    std::string include; ///< ECMAScript regex searched in the tensor name; empty: the rest
    bool ramp = false;   ///< two coefficients per task: at the group's first and last layer
    bool operator==(const CoefficientGroup &other) const
    {
        return name == other.name && include == other.include && ramp == other.ramp;
    }
};

/// Where one merged tensor takes its coefficients from.
struct GroupMember {
    int group = -1;      ///< index into the groups (-1: no groups, the one column)
    int column = 0;      ///< its (first) column in the coefficient matrix
    bool ramp = false;   ///< interpolates columns `column` and `column + 1`
    int layer = -1;      ///< the layer index read from the name (-1: none)
    double position = 0; ///< ramp: (layer - first layer) / (last layer - first layer)
};

/// Throws mf::Error when a group has no name or a repeated one, a regex does not compile,
/// more than one group takes "the rest", or a ramp has no regex.
void validateGroups(const std::vector<CoefficientGroup> &groups);

/// The coefficient matrix's columns: a group's name, or "NAME:first" and "NAME:last" for a
/// ramp; {""} without groups (one coefficient per task, as without block-wise merging).
std::vector<std::string> groupColumns(const std::vector<CoefficientGroup> &groups);

/// The first run of digits between dots (or at the end) in a tensor name: 3 for
/// "transformer.h.3.attn.c_attn.weight", 0 for "backbone.0.weight"; -1 when there is none.
int layerIndex(const std::string &name);

/// Puts every name in exactly one group: the one whose regex matches it, else the rest group.
/// Throws mf::Error, naming the tensors, when a tensor matches two groups, matches none and
/// there is no rest group, or is in a ramp without a layer index; and naming the group when a
/// group gets no tensor. Without groups every name is in the one column.
std::vector<GroupMember> assignGroups(const std::vector<std::string> &names,
                                      const std::vector<CoefficientGroup> &groups);

/// The per-task coefficients of one tensor from the coefficient matrix `matrix` (task-major:
/// task t's columns at t * columns ...): C[t][column], or for a ramp
/// C[t][column] + (C[t][column + 1] - C[t][column]) * position.
void memberCoefficients(const GroupMember &member, const double *matrix, std::size_t tasks,
                        std::size_t columns, double *out);

/// Groups for HF transformer names (the New dialog's presets). "embeddings, halves, head":
/// tensors without a layer index named like an embedding (embed, wte, wpe, word_embeddings,
/// position) / layers of the first half / layers of the second half / everything else (final
/// norm, head). "embeddings, ramp, head": the layers as one ramp. Throws mf::Error when the
/// names have fewer than two layers.
std::vector<CoefficientGroup> transformerGroups(const std::vector<std::string> &names,
                                                bool ramp = false);

} // namespace mf
