// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The example project's data: MNIST and Fashion-MNIST as IDX files, and the tasks built from
// them (docs/EXAMPLE.md). Plain C++ (zlib for the .gz files); no torch.
#include "eval/network.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mf::zoo {

/// Reads an IDX image file (magic 0x00000803: count, rows, cols, then uint8 pixels) and its
/// label file (0x00000801: count, then uint8 labels), gzipped or not. Throws mf::Error naming
/// the file at fault: missing, wrong magic, truncated, counts that differ, a label >= classes.
eval::LabelledImages readIdx(const std::string &imagesPath, const std::string &labelsPath,
                             int classes = 10);

/// One source data set (MNIST or Fashion-MNIST): its train and test splits.
struct Source {
    std::string name; ///< "mnist" or "fashion"
    eval::LabelledImages train, test;
    std::string fingerprint; ///< hex hash of every image and label (the zoo's cache key)
};

/// Loads `name` from `folder`, which holds train-images-idx3-ubyte, train-labels-idx1-ubyte,
/// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each possibly with ".gz".
Source loadSource(const std::string &name, const std::string &folder);

/// A task of the example project.
struct TaskDefinition {
    std::string name;
    std::string source; ///< "mnist" or "fashion"
    std::string description;
    int classes = 10;
};

/// mnist, fashion, mnist-rot90, mnist-perm, fashion-coarse (in that order).
const std::vector<TaskDefinition> &taskCatalog();
/// Throws mf::Error listing the known tasks when `name` is not one.
const TaskDefinition &taskDefinition(const std::string &name);

/// `count` images (0 = all) of `split`, drawn without replacement in a seeded order,
/// transformed and relabelled for `task`.
eval::LabelledImages taskImages(const TaskDefinition &task, const eval::LabelledImages &split,
                                std::size_t count, std::uint64_t seed);

/// The pixels of one square image turned 90 degrees clockwise.
std::vector<std::uint8_t> rotateClockwise(const std::uint8_t *pixels, int side);
/// The fixed pixel permutation of mnist-perm: out[i] = in[permutation[i]].
const std::vector<int> &mnistPermutation();
/// Fashion-MNIST's ten classes grouped: 0 upper body (T-shirt, pullover, coat, shirt),
/// 1 footwear (sandal, sneaker, ankle boot), 2 other (trouser, dress, bag).
int coarseFashionClass(int fashionClass);

/// `count` images drawn in a seeded order from each source's train split, labelled
/// 0-9 for the first source and 10-19 for the second: the base network's pretraining mix.
eval::LabelledImages pretrainingMix(const Source &first, const Source &second, std::size_t count,
                                    std::uint64_t seed);

} // namespace mf::zoo
