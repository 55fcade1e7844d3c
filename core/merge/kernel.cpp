// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge/kernel.h"

#include "io/adapter.h"
#include "util/hash.h"

#include <array>
#include <cmath>
#include <cstring>

namespace mf {

namespace {

/// p * 2^64 as the threshold below which a uniform 64-bit draw means "drop".
std::uint64_t dropThreshold(double p)
{
    if (p <= 0)
        return 0;
    return static_cast<std::uint64_t>(
        std::ldexp(p, 64) >= 18446744073709551615.0 ? 18446744073709551615.0 : std::ldexp(p, 64));
}

std::uint32_t magnitudeBits(float value)
{
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits & 0x7fffffffu;
}

/// Streams |τ| of one task over the tensor, block by block, in float (the threshold's type).
template<typename Visit>
void forEachMagnitude(const TensorRef &base, const TensorRef &task, bool dare, std::uint64_t key,
                      std::uint64_t dropBelow, float scale, Visit visit)
{
    std::array<float, 4096> b{}, t{};
    const std::uint64_t n = base.numel();
    for (std::uint64_t start = 0; start < n; start += b.size()) {
        const std::size_t count =
            static_cast<std::size_t>(std::min<std::uint64_t>(b.size(), n - start));
        convertToFloat(base.dtype, base.data + start * dtypeSize(base.dtype), b.data(), count);
        readValues(task, start, count, t.data());
        for (std::size_t i = 0; i < count; ++i) {
            float tau = t[i] - b[i];
            if (dare)
                tau = dareKeeps(key, start + i, dropBelow) ? tau * scale : 0.0f;
            visit(magnitudeBits(tau));
        }
    }
}

/// The k-th largest |τ| (k >= 1) by radix select on the float bits: non-negative floats
/// order like their bit patterns. Pass 1 counts the high 16 bits, pass 2 the low 16 bits
/// of the bucket that holds the k-th largest. Exact, two streaming passes, 512 kB of counts.
float kthLargestMagnitude(const TensorRef &base, const TensorRef &task, bool dare,
                          std::uint64_t key, std::uint64_t dropBelow, float scale, std::uint64_t k)
{
    std::vector<std::uint64_t> counts(65536, 0);
    forEachMagnitude(base, task, dare, key, dropBelow, scale,
                     [&](std::uint32_t bits) { ++counts[bits >> 16]; });
    std::uint32_t high = 65535;
    std::uint64_t above = 0; // elements strictly larger than the chosen bucket
    while (above + counts[high] < k)
        above += counts[high--];
    std::fill(counts.begin(), counts.end(), 0);
    forEachMagnitude(base, task, dare, key, dropBelow, scale, [&](std::uint32_t bits) {
        if ((bits >> 16) == high)
            ++counts[bits & 0xffffu];
    });
    std::uint32_t low = 65535;
    while (above + counts[low] < k)
        above += counts[low--];
    const std::uint32_t bits = (high << 16) | low;
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

} // namespace

std::uint64_t dareKey(std::uint64_t seed, std::size_t task, const std::string &tensorName)
{
    return mix64(hashString(tensorName, seed) ^ mix64(static_cast<std::uint64_t>(task) + 1));
}

TensorTransform prepareTransform(const TensorPlan &tensor, const MergeOptions &options)
{
    TensorTransform transform;
    transform.method = options.method;
    transform.disjointMean = options.disjointMean;
    const bool dare =
        options.method == MergeMethod::Dare || options.method == MergeMethod::DareTies;
    const bool ties =
        options.method == MergeMethod::Ties || options.method == MergeMethod::DareTies;
    if (dare) {
        transform.dropRate = options.dropRate;
        for (std::size_t t = 0; t < tensor.tasks.size(); ++t)
            transform.dareKeys.push_back(dareKey(options.seed, t, tensor.name));
    }
    if (ties) {
        const std::uint64_t n = tensor.base->numel();
        const auto keep =
            static_cast<std::uint64_t>(std::ceil(options.density * static_cast<double>(n)));
        const std::uint64_t dropBelow = dropThreshold(options.dropRate);
        const float scale = static_cast<float>(1.0 / (1.0 - options.dropRate));
        for (std::size_t t = 0; t < tensor.tasks.size(); ++t) {
            // keep >= n keeps everything: threshold 0 (zeros add nothing either way).
            transform.trimThresholds.push_back(
                keep >= n || n == 0
                    ? 0.0f
                    : kthLargestMagnitude(*tensor.base, *tensor.tasks[t], dare,
                                          dare ? transform.dareKeys[t] : 0, dropBelow, scale,
                                          std::max<std::uint64_t>(keep, 1)));
        }
    }
    return transform;
}

template<typename Real>
void taskVectorBlock(const Real *base, const Real *task, std::size_t taskIndex, std::size_t count,
                     std::uint64_t first, const TensorTransform &transform, Real *tau)
{
    const MergeMethod method = transform.method;
    const bool dare = method == MergeMethod::Dare || method == MergeMethod::DareTies;
    const bool ties = method == MergeMethod::Ties || method == MergeMethod::DareTies;
    for (std::size_t i = 0; i < count; ++i)
        tau[i] = task[i] - base[i];
    if (dare) {
        const std::uint64_t dropBelow = dropThreshold(transform.dropRate);
        const Real scale = static_cast<Real>(1.0 / (1.0 - transform.dropRate));
        const std::uint64_t key = transform.dareKeys[taskIndex];
        for (std::size_t i = 0; i < count; ++i)
            tau[i] = dareKeeps(key, first + i, dropBelow) ? tau[i] * scale : Real(0);
    }
    if (ties) {
        const float threshold = transform.trimThresholds[taskIndex];
        if (threshold > 0)
            for (std::size_t i = 0; i < count; ++i)
                if (!(std::fabs(static_cast<float>(tau[i])) >= threshold))
                    tau[i] = 0;
    }
}

template void taskVectorBlock<float>(const float *, const float *, std::size_t, std::size_t,
                                     std::uint64_t, const TensorTransform &, float *);

template<typename Real>
void mergeBlock(const Real *base, const Real *const *tasks, const Real *coefficients,
                std::size_t taskCount, std::size_t count, std::uint64_t first,
                const TensorTransform &transform, Real *scratch, Real *out)
{
    const MergeMethod method = transform.method;
    if (method == MergeMethod::TaskArithmetic || taskCount == 0) {
        // out = base + (c_0 τ_0 + c_1 τ_1 + ...), summed in the order Python's sum() does.
        if (taskCount == 0) {
            std::memcpy(out, base, count * sizeof(Real));
            return;
        }
        const Real c0 = coefficients[0];
        const Real *t0 = tasks[0];
        for (std::size_t i = 0; i < count; ++i)
            out[i] = c0 * (t0[i] - base[i]);
        for (std::size_t t = 1; t < taskCount; ++t) {
            const Real c = coefficients[t];
            const Real *x = tasks[t];
            for (std::size_t i = 0; i < count; ++i)
                out[i] += c * (x[i] - base[i]);
        }
        for (std::size_t i = 0; i < count; ++i)
            out[i] = base[i] + out[i];
        return;
    }

    // DARE / TIES / DARE-TIES: build τ̃_t for the block in scratch, then combine.
    const bool ties = method == MergeMethod::Ties || method == MergeMethod::DareTies;
    Real *sum = scratch + taskCount * count;
    for (std::size_t t = 0; t < taskCount; ++t)
        taskVectorBlock(base, tasks[t], t, count, first, transform, scratch + t * count);
    if (!ties) {
        for (std::size_t i = 0; i < count; ++i)
            out[i] = coefficients[0] * scratch[i];
        for (std::size_t t = 1; t < taskCount; ++t)
            for (std::size_t i = 0; i < count; ++i)
                out[i] += coefficients[t] * scratch[t * count + i];
        for (std::size_t i = 0; i < count; ++i)
            out[i] = base[i] + out[i];
        return;
    }
    // Elect the sign of the summed trimmed vectors; keep only entries that agree.
    std::memcpy(sum, scratch, count * sizeof(Real));
    for (std::size_t t = 1; t < taskCount; ++t)
        for (std::size_t i = 0; i < count; ++i)
            sum[i] += scratch[t * count + i];
    for (std::size_t i = 0; i < count; ++i) {
        const Real elected = sum[i];
        Real acc = 0;
        int agreeing = 0;
        for (std::size_t t = 0; t < taskCount; ++t) {
            const Real tau = scratch[t * count + i];
            if ((tau > 0 && elected > 0) || (tau < 0 && elected < 0)) {
                acc += coefficients[t] * tau;
                ++agreeing;
            }
        }
        if (transform.disjointMean && agreeing > 1)
            acc /= static_cast<Real>(agreeing);
        out[i] = base[i] + acc;
    }
}

template void mergeBlock<float>(const float *, const float *const *, const float *, std::size_t,
                                std::size_t, std::uint64_t, const TensorTransform &, float *,
                                float *);
template void mergeBlock<double>(const double *, const double *const *, const double *, std::size_t,
                                 std::size_t, std::uint64_t, const TensorTransform &, double *,
                                 double *);

} // namespace mf
