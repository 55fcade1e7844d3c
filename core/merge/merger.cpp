// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge/merger.h"

#include "io/adapter.h"
#include "io/mapped_file.h"
#include "io/read_ahead.h"

#include "util/error.h"
#include "util/parallel.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace mf {

namespace {

constexpr std::uint64_t kCopyChunk = 4u << 20; // bytes per work item of a copied tensor
// Elements per work item of a merged tensor: a merge whose inputs stay mapped works in
// cache-sized items; a streaming one in large items (fewer, larger writes behind the disk).
constexpr std::uint64_t kItemElements = 1u << 16;
constexpr std::uint64_t kStreamingItemElements = 1u << 20;

std::uint64_t itemElements(bool streaming)
{
    return streaming ? kStreamingItemElements : kItemElements;
}

bool needsDouble(const TensorPlan &tensor)
{
    if (tensor.base->dtype == DType::F64)
        return true;
    for (const TensorRef *task : tensor.tasks)
        if (task->dtype == DType::F64)
            return true;
    return false;
}

template<typename Real>
constexpr DType realDType()
{
    return sizeof(Real) == 8 ? DType::F64 : DType::F32;
}

/// Serializes progress reports, throttles them to ~10 per second, and turns "stop" into
/// mf::Cancelled on every worker.
class ProgressReporter {
public:
    ProgressReporter(const ProgressCallback &callback, std::uint64_t total, const char *stage)
        : m_callback(callback)
        , m_total(total)
        , m_stage(stage)
    {
        report(true);
    }
    void add(std::uint64_t units)
    {
        m_done.fetch_add(units, std::memory_order_relaxed);
        if (m_stop.load(std::memory_order_relaxed))
            throw Cancelled();
        report(false);
    }
    void finish() { report(true); }

private:
    void report(bool force)
    {
        if (!m_callback)
            return;
        std::unique_lock<std::mutex> lock(m_mutex, std::defer_lock);
        if (force)
            lock.lock();
        else if (!lock.try_lock())
            return;
        const auto now = std::chrono::steady_clock::now();
        if (!force && now - m_last < std::chrono::milliseconds(100))
            return;
        m_last = now;
        if (!m_callback({m_done.load(), m_total, m_stage})) {
            m_stop = true;
            throw Cancelled();
        }
    }

    ProgressCallback m_callback;
    std::uint64_t m_total;
    const char *m_stage;
    std::atomic<std::uint64_t> m_done{0};
    std::atomic<bool> m_stop{false};
    std::mutex m_mutex;
    std::chrono::steady_clock::time_point m_last{};
};

/// Per-thread buffers of the streaming kernel.
template<typename Real>
struct Scratch {
    std::vector<Real> base, inputs, work, out;
    std::vector<std::byte> bytes;
    void reserve(std::size_t tasks, std::size_t block)
    {
        base.resize(block);
        inputs.resize(tasks * block);
        work.resize((tasks + 1) * block);
        out.resize(block);
        bytes.resize(block * 8);
    }
};

template<typename Real>
const Real *loadBlock(const TensorRef &tensor, std::uint64_t start, std::size_t count, Real *buffer)
{
    // Stored in the kernel's type: read in place; else converted, or (a bound adapter's
    // tensor) computed as base + ΔW, into the buffer.
    if (!tensor.delta && tensor.dtype == realDType<Real>())
        return reinterpret_cast<const Real *>(tensor.data + start * dtypeSize(tensor.dtype));
    readValues(tensor, start, count, buffer);
    return buffer;
}

/// Merges elements [start, start + count) of one planned tensor; returns a pointer to
/// `count` elements of type Real (maybe inside the scratch).
template<typename Real>
const Real *mergeRange(const TensorPlan &tensor, const TensorTransform &transform,
                       const std::vector<Real> &coefficients, std::uint64_t start,
                       std::size_t count, Scratch<Real> &scratch, Real *out = nullptr)
{
    const std::size_t tasks = tensor.tasks.size();
    const Real *base = loadBlock(*tensor.base, start, count, scratch.base.data());
    const Real *inputs[64];
    std::vector<const Real *> manyInputs;
    const Real **taskPointers = inputs;
    if (tasks > 64) {
        manyInputs.resize(tasks);
        taskPointers = manyInputs.data();
    }
    for (std::size_t t = 0; t < tasks; ++t)
        taskPointers[t] =
            loadBlock(*tensor.tasks[t], start, count, scratch.inputs.data() + t * count);
    if (!out)
        out = scratch.out.data();
    mergeBlock<Real>(base, taskPointers, coefficients.data(), tasks, count, start, transform,
                     scratch.work.data(), out);
    return out;
}

/// mergeRange for a merged tensor, the base's values (as Real) for one that is not.
template<typename Real>
const Real *mergedOrBase(const TensorPlan &tensor, const TensorTransform &transform,
                         const std::vector<Real> &coefficients, std::uint64_t start,
                         std::size_t count, Scratch<Real> &scratch)
{
    return tensor.merged ? mergeRange<Real>(tensor, transform, coefficients, start, count, scratch)
                         : loadBlock(*tensor.base, start, count, scratch.base.data());
}

/// mergedOrBase, in `outType`, into `dest` (straight from the kernel when it is the
/// kernel's type, else converted).
template<typename Real>
void mergeBlockTo(const TensorPlan &tensor, const TensorTransform &transform,
                  const std::vector<Real> &coefficients, std::uint64_t start, std::size_t count,
                  DType outType, Scratch<Real> &scratch, std::byte *dest)
{
    if (scratch.base.empty())
        scratch.reserve(tensor.tasks.size(), kMergeBlock);
    const bool direct = outType == realDType<Real>();
    const Real *merged =
        tensor.merged ? mergeRange<Real>(tensor, transform, coefficients, start, count, scratch,
                                         direct ? reinterpret_cast<Real *>(dest) : nullptr)
                      : loadBlock(*tensor.base, start, count, scratch.base.data());
    if (direct) {
        if (merged != reinterpret_cast<const Real *>(dest))
            std::memcpy(dest, merged, count * sizeof(Real));
        return;
    }
    if constexpr (sizeof(Real) == 8)
        convertFromDouble(outType, merged, dest, count);
    else
        convertFromFloat(outType, merged, dest, count);
}

/// The input bytes elements [start, start + count) of a planned tensor are read from: the
/// base's and each stored task's (an adapter's delta is computed from the base's).
void elementSpans(const TensorPlan &tensor, std::uint64_t start, std::uint64_t count,
                  std::vector<ReadAhead::Span> &spans)
{
    const std::uint64_t baseSize = dtypeSize(tensor.base->dtype);
    ReadAhead::addSpan(tensor.base->data + start * baseSize, count * baseSize, spans);
    if (!tensor.merged)
        return;
    for (const TensorRef *task : tensor.tasks)
        if (!task->delta && task->data != tensor.base->data) {
            const std::uint64_t size = dtypeSize(task->dtype);
            ReadAhead::addSpan(task->data + start * size, count * size, spans);
        }
}

struct WorkItem {
    std::size_t tensor;  ///< index into the plan
    std::uint64_t start; ///< element (merged) or byte (copied) offset
    std::uint64_t count;
    std::size_t output = 0; ///< index into the writer's tensors
};

} // namespace

Merger::Merger(const Checkpoint &base, std::vector<const Checkpoint *> tasks,
               std::vector<std::string> taskNames, MergeOptions options)
    : m_tasks(std::move(tasks))
    , m_taskNames(std::move(taskNames))
    , m_options(std::move(options))
{
    if (m_taskNames.size() != m_tasks.size())
        throw Error("give one task name per model (" + std::to_string(m_tasks.size()) +
                    " models, " + std::to_string(m_taskNames.size()) + " names)");
    m_plan = planMerge(base, m_tasks, m_taskNames, m_options);
    m_transforms.resize(m_plan.tensors.size());
}

void Merger::prepare(int threads, const ProgressCallback &progress)
{
    if (m_prepared)
        return;
    const bool ties =
        m_options.method == MergeMethod::Ties || m_options.method == MergeMethod::DareTies;
    // Only TIES does real work here (two passes per task and tensor); say so only then.
    ProgressReporter reporter(ties ? progress : ProgressCallback(), m_plan.mergedParameters,
                              "preparing");
    // TIES reads every task's merged tensors twice (its thresholds): stream them.
    auto reads = [&](std::size_t i) {
        const TensorPlan &tensor = m_plan.tensors[i];
        return ties && tensor.merged && tensor.duplicateOf < 0;
    };
    std::optional<ReadAhead> stream;
    if (ties)
        stream.emplace(
            m_plan.tensors.size(),
            [&](std::size_t i, std::vector<ReadAhead::Span> &spans) {
                if (reads(i))
                    elementSpans(m_plan.tensors[i], 0, m_plan.tensors[i].base->numel(), spans);
            },
            streamOptions(0));
    parallelFor(m_plan.tensors.size(), ties ? threads : 1, [&](std::size_t i, int) {
        const TensorPlan &tensor = m_plan.tensors[i];
        // Not merged; or a duplicate, which takes the transform of the tensor it is.
        if (tensor.merged && tensor.duplicateOf < 0) {
            m_transforms[i] = prepareTransform(tensor, m_options);
            reporter.add(tensor.base->numel());
        }
        if (stream)
            stream->done(i);
    });
    for (std::size_t i = 0; i < m_plan.tensors.size(); ++i)
        if (m_plan.tensors[i].duplicateOf >= 0)
            m_transforms[i] = m_transforms[static_cast<std::size_t>(m_plan.tensors[i].duplicateOf)];
    reporter.finish();
    m_prepared = true;
}

bool largerThanMemory(const MemoryEstimate &estimate)
{
    return estimate.inputBytes + estimate.outputBytes > physicalMemoryBytes() / 2;
}

bool streamsInputs(std::uint64_t inputBytes)
{
    const char *forced = std::getenv("MERGEFRONT_STREAM_INPUTS");
    if (forced && std::string(forced) == "always")
        return true;
    if (forced && std::string(forced) == "never")
        return false;
    return inputBytes > physicalMemoryBytes() / 8;
}

ReadAhead::Options Merger::streamOptions(std::uint64_t outputBytes) const
{
    MemoryEstimate sizes = estimate(1);
    sizes.outputBytes = outputBytes;
    ReadAhead::Options options;
    options.enabled = streamsInputs(sizes.inputBytes);
    options.dropCache = options.enabled && largerThanMemory(sizes);
    return options;
}

MemoryEstimate Merger::estimate(int threads) const
{
    MemoryEstimate estimate;
    for (const TensorPlan &tensor : m_plan.tensors) {
        estimate.outputBytes += tensor.base->byteSize;
        estimate.inputBytes += tensor.base->byteSize;
        for (const TensorRef *task : tensor.tasks) {
            if (task->delta) // an adapter's: its factors, converted to float, in memory
                estimate.workingBytes += 4 * (task->delta->left.size() + task->delta->right.size() +
                                              task->delta->bias.size()) +
                                         8 * task->delta->factor.size();
            else if (task->data != tensor.base->data) // an adapter's untouched tensor is the base's
                estimate.inputBytes += task->byteSize;
        }
    }
    const std::uint64_t perThread = (3 * m_tasks.size() + 4) * kMergeBlock * sizeof(double);
    estimate.workingBytes += static_cast<std::uint64_t>(std::max(1, threads)) * perThread;
    // A work item's output buffer on each thread (f64 at most).
    const bool streaming = streamsInputs(estimate.inputBytes);
    const std::uint64_t item = itemElements(streaming);
    estimate.workingBytes += static_cast<std::uint64_t>(std::max(1, threads)) * item * 8;
    const bool ties =
        m_options.method == MergeMethod::Ties || m_options.method == MergeMethod::DareTies;
    if (ties)
        estimate.workingBytes += static_cast<std::uint64_t>(std::max(1, threads)) * 65536 * 8;
    // The inputs stream through a window: what is mapped at once is bounded by it and by the
    // items in flight (a merged item reads each input's share of `item` elements, a
    // copy kCopyChunk bytes); TIES's thresholds read whole tensors.
    std::uint64_t itemBytes = kCopyChunk, largest = 0;
    for (const TensorPlan &tensor : m_plan.tensors) {
        if (!tensor.merged)
            continue;
        std::vector<ReadAhead::Span> spans;
        const std::uint64_t n = tensor.base->numel();
        elementSpans(tensor, 0, std::min<std::uint64_t>(n, item), spans);
        std::uint64_t bytes = 0;
        for (const ReadAhead::Span &span : spans)
            bytes += span.length;
        itemBytes = std::max(itemBytes, bytes);
        largest = std::max(largest, bytes * (n + item - 1) / item);
    }
    if (ties)
        itemBytes = std::max(itemBytes, largest);
    estimate.mappedBytes =
        streaming ? std::min(estimate.inputBytes,
                             ReadAhead::residentBytes(ReadAhead::Options(), threads, itemBytes))
                  : estimate.inputBytes;
    return estimate;
}

std::vector<OutputTensor> Merger::outputTensors(std::optional<DType> floatingAs,
                                                bool omitDuplicates) const
{
    std::vector<OutputTensor> tensors;
    for (const TensorPlan &tensor : m_plan.tensors) {
        if (omitDuplicates && tensor.duplicateOf >= 0)
            continue;
        const DType dtype =
            floatingAs && isFloating(tensor.base->dtype) ? *floatingAs : tensor.base->dtype;
        tensors.push_back({tensor.name, dtype, tensor.base->shape});
    }
    return tensors;
}

void Merger::checkCoefficients(const std::vector<double> &coefficients) const
{
    const std::size_t columns = m_plan.columns.size();
    if (coefficients.size() != m_tasks.size() * columns)
        throw Error("expected " + std::to_string(m_tasks.size() * columns) + " coefficients (" +
                    (columns == 1 ? "one per task"
                                  : std::to_string(m_tasks.size()) + " tasks x " +
                                        std::to_string(columns) + " group columns, task by task") +
                    "), got " + std::to_string(coefficients.size()));
    for (std::size_t k = 0; k < coefficients.size(); ++k)
        if (!std::isfinite(coefficients[k]))
            throw Error("coefficient of task '" + m_taskNames[k / columns] + "'" +
                        (columns == 1 ? std::string()
                                      : " in group column '" + m_plan.columns[k % columns] + "'") +
                        " is not a finite number");
    if (!m_prepared)
        throw Error("internal: Merger::prepare() must run before merging");
}

std::vector<double> Merger::tensorCoefficients(std::size_t index,
                                               const std::vector<double> &coefficients) const
{
    std::vector<double> out(m_tasks.size());
    memberCoefficients(m_plan.tensors.at(index).group, coefficients.data(), m_tasks.size(),
                       m_plan.columns.size(), out.data());
    return out;
}

void Merger::mergeInto(CheckpointWriter &writer, const std::vector<double> &coefficients,
                       int threads, const ProgressCallback &progress) const
{
    checkCoefficients(coefficients);
    // Each of the writer's tensors is a tensor of the plan, by name.
    std::map<std::string, std::size_t> byName;
    for (std::size_t i = 0; i < m_plan.tensors.size(); ++i)
        byName.emplace(m_plan.tensors[i].name, i);
    std::vector<std::size_t> planIndex(writer.tensors().size());
    for (std::size_t out = 0; out < writer.tensors().size(); ++out) {
        const OutputTensor &tensor = writer.tensors()[out];
        const auto it = byName.find(tensor.name);
        if (it == byName.end() || tensor.shape != m_plan.tensors[it->second].base->shape)
            throw Error("internal: writer does not hold the merge's tensors");
        planIndex[out] = it->second;
    }
    // A tensor goes block by block through the kernel when it is merged or changes dtype;
    // otherwise its bytes are copied as they are.
    auto converted = [&](std::size_t out) {
        const TensorPlan &tensor = m_plan.tensors[planIndex[out]];
        return tensor.merged || writer.tensors()[out].dtype != tensor.base->dtype;
    };
    for (std::size_t out = 0; out < writer.tensors().size(); ++out)
        if (converted(out) && !isFloating(writer.tensors()[out].dtype))
            throw Error("internal: writer does not hold the merge's tensors");
    const ReadAhead::Options streaming = streamOptions(writer.tensorBytes());
    std::vector<WorkItem> items;
    for (std::size_t out : writer.diskOrder()) {
        const std::size_t index = planIndex[out];
        const TensorPlan &tensor = m_plan.tensors[index];
        const bool elements = converted(out);
        const std::uint64_t total = elements ? tensor.base->numel() : tensor.base->byteSize;
        const std::uint64_t step = elements ? itemElements(streaming.enabled) : kCopyChunk;
        for (std::uint64_t start = 0; start < total; start += step)
            items.push_back({index, start, std::min(step, total - start), out});
    }
    // Each merged tensor's per-task coefficients (its group's column, or its place on a ramp).
    std::vector<std::vector<double>> coefficientsD(m_plan.tensors.size());
    std::vector<std::vector<float>> coefficientsF(m_plan.tensors.size());
    for (std::size_t i = 0; i < m_plan.tensors.size(); ++i)
        if (m_plan.tensors[i].merged) {
            coefficientsD[i] = tensorCoefficients(i, coefficients);
            coefficientsF[i].assign(coefficientsD[i].begin(), coefficientsD[i].end());
        }
    const int workers = std::max(1, threads);
    std::vector<Scratch<float>> floatScratch(static_cast<std::size_t>(workers));
    std::vector<Scratch<double>> doubleScratch(static_cast<std::size_t>(workers));
    std::vector<std::vector<std::byte>> itemBytes(static_cast<std::size_t>(workers));

    // The inputs stream through: read ahead of the workers, released behind them.
    ReadAhead stream(
        items.size(),
        [&](std::size_t i, std::vector<ReadAhead::Span> &spans) {
            const WorkItem &item = items[i];
            const TensorPlan &tensor = m_plan.tensors[item.tensor];
            if (converted(item.output))
                elementSpans(tensor, item.start, item.count, spans);
            else
                ReadAhead::addSpan(tensor.base->data + item.start, item.count, spans);
        },
        streaming);
    ProgressReporter reporter(progress, writer.tensorBytes(), "merging");
    parallelFor(items.size(), workers, [&](std::size_t i, int worker) {
        const WorkItem &item = items[i];
        const TensorPlan &tensor = m_plan.tensors[item.tensor];
        const DType outType = writer.tensors()[item.output].dtype;
        if (!converted(item.output)) {
            writer.write(item.output, item.start, tensor.base->data + item.start, item.count);
            stream.done(i);
            reporter.add(item.count);
            return;
        }
        // Block by block through the kernel into one buffer: one write per item.
        const std::size_t workerIndex = static_cast<std::size_t>(worker);
        const std::size_t outSize = static_cast<std::size_t>(item.count) * dtypeSize(outType);
        std::vector<std::byte> &buffer = itemBytes[workerIndex];
        if (buffer.size() < outSize)
            buffer.resize(outSize);
        const bool wide = needsDouble(tensor) || outType == DType::F64;
        for (std::uint64_t done = 0; done < item.count; done += kMergeBlock) {
            const auto count =
                static_cast<std::size_t>(std::min<std::uint64_t>(kMergeBlock, item.count - done));
            std::byte *dest = buffer.data() + done * dtypeSize(outType);
            if (wide)
                mergeBlockTo<double>(tensor, m_transforms[item.tensor], coefficientsD[item.tensor],
                                     item.start + done, count, outType, doubleScratch[workerIndex],
                                     dest);
            else
                mergeBlockTo<float>(tensor, m_transforms[item.tensor], coefficientsF[item.tensor],
                                    item.start + done, count, outType, floatScratch[workerIndex],
                                    dest);
        }
        writer.write(item.output, item.start * dtypeSize(outType), buffer.data(), outSize);
        stream.done(i);
        reporter.add(outSize);
    });
    reporter.finish();
}

void Merger::mergeRanges(const std::vector<Range> &ranges, const std::vector<double> &coefficients,
                         int threads, std::uint64_t totalBytes, const RangeSink &sink,
                         const ProgressCallback &progress) const
{
    checkCoefficients(coefficients);
    std::vector<std::vector<float>> perTask(m_plan.tensors.size());
    for (const Range &range : ranges) {
        const TensorPlan &tensor = m_plan.tensors.at(range.tensor);
        if (range.start + range.count > tensor.base->numel())
            throw Error("internal: range past the end of tensor '" + tensor.name + "'");
        if (tensor.merged && perTask[range.tensor].empty()) {
            const std::vector<double> c = tensorCoefficients(range.tensor, coefficients);
            perTask[range.tensor].assign(c.begin(), c.end());
        }
    }
    const int workers = std::max(1, threads);
    std::vector<Scratch<float>> scratch(static_cast<std::size_t>(workers));
    std::vector<std::vector<float>> values(static_cast<std::size_t>(workers));
    ReadAhead stream(
        ranges.size(),
        [&](std::size_t r, std::vector<ReadAhead::Span> &spans) {
            elementSpans(m_plan.tensors[ranges[r].tensor], ranges[r].start, ranges[r].count, spans);
        },
        streamOptions(totalBytes));
    ProgressReporter reporter(progress, totalBytes, "merging");
    parallelFor(ranges.size(), workers, [&](std::size_t r, int worker) {
        const Range &range = ranges[r];
        const TensorPlan &tensor = m_plan.tensors[range.tensor];
        Scratch<float> &s = scratch[static_cast<std::size_t>(worker)];
        if (s.base.empty())
            s.reserve(m_tasks.size(), kMergeBlock);
        auto block = [&](std::uint64_t start, std::size_t count) {
            return mergedOrBase(tensor, m_transforms[range.tensor], perTask[range.tensor], start,
                                count, s);
        };
        if (range.count <= kMergeBlock) { // straight from the kernel's buffer
            const std::uint64_t written =
                sink(r, block(range.start, static_cast<std::size_t>(range.count)), worker);
            stream.done(r);
            reporter.add(written);
            return;
        }
        std::vector<float> &out = values[static_cast<std::size_t>(worker)];
        out.resize(static_cast<std::size_t>(range.count));
        for (std::uint64_t done = 0; done < range.count; done += kMergeBlock) {
            const auto count =
                static_cast<std::size_t>(std::min<std::uint64_t>(kMergeBlock, range.count - done));
            const float *merged = block(range.start + done, count);
            std::copy(merged, merged + count, out.data() + done);
        }
        const std::uint64_t written = sink(r, out.data(), worker);
        stream.done(r);
        reporter.add(written);
    });
    reporter.finish();
}

std::vector<double> Merger::taskVectorGram(int threads) const
{
    const std::size_t n = m_tasks.size();
    std::vector<WorkItem> items;
    for (std::size_t index = 0; index < m_plan.tensors.size(); ++index) {
        const TensorPlan &tensor = m_plan.tensors[index];
        if (!tensor.merged)
            continue;
        const std::uint64_t total = tensor.base->numel();
        for (std::uint64_t start = 0; start < total; start += kMergeBlock)
            items.push_back({index, start, std::min<std::uint64_t>(kMergeBlock, total - start)});
    }
    const int workers = std::max(1, threads);
    std::vector<std::vector<double>> partial(static_cast<std::size_t>(workers),
                                             std::vector<double>(n * n, 0.0));
    ReadAhead stream(
        items.size(),
        [&](std::size_t i, std::vector<ReadAhead::Span> &spans) {
            elementSpans(m_plan.tensors[items[i].tensor], items[i].start, items[i].count, spans);
        },
        streamOptions(0));
    parallelFor(items.size(), workers, [&](std::size_t i, int worker) {
        const WorkItem &item = items[i];
        const TensorPlan &tensor = m_plan.tensors[item.tensor];
        const auto count = static_cast<std::size_t>(item.count);
        std::vector<float> base(count), tau(n * count);
        convertToFloat(tensor.base->dtype,
                       tensor.base->data + item.start * dtypeSize(tensor.base->dtype), base.data(),
                       count);
        for (std::size_t t = 0; t < n; ++t) {
            const TensorRef &task = *tensor.tasks[t];
            float *row = tau.data() + t * count;
            readValues(task, item.start, count, row);
            for (std::size_t k = 0; k < count; ++k)
                row[k] -= base[k];
        }
        auto &gram = partial[static_cast<std::size_t>(worker)];
        for (std::size_t a = 0; a < n; ++a)
            for (std::size_t b = a; b < n; ++b) {
                double dot = 0;
                const float *x = tau.data() + a * count, *y = tau.data() + b * count;
                for (std::size_t k = 0; k < count; ++k)
                    dot += static_cast<double>(x[k]) * y[k];
                gram[a * n + b] += dot;
            }
        stream.done(i);
    });
    std::vector<double> gram(n * n, 0.0);
    for (const auto &p : partial)
        for (std::size_t k = 0; k < n * n; ++k)
            gram[k] += p[k];
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t b = 0; b < a; ++b)
            gram[a * n + b] = gram[b * n + a];
    return gram;
}

void Merger::mergeTensor(std::size_t index, const std::vector<double> &coefficients,
                         float *out) const
{
    checkCoefficients(coefficients);
    const TensorPlan &tensor = m_plan.tensors.at(index);
    const std::uint64_t n = tensor.base->numel();
    if (!tensor.merged) {
        convertToFloat(tensor.base->dtype, tensor.base->data, out, static_cast<std::size_t>(n));
        return;
    }
    const std::vector<double> perTask = tensorCoefficients(index, coefficients);
    const std::vector<float> coefficientsF(perTask.begin(), perTask.end());
    Scratch<float> scratch;
    scratch.reserve(m_tasks.size(), kMergeBlock);
    for (std::uint64_t start = 0; start < n; start += kMergeBlock) {
        const auto count =
            static_cast<std::size_t>(std::min<std::uint64_t>(kMergeBlock, n - start));
        const float *merged =
            mergeRange<float>(tensor, m_transforms[index], coefficientsF, start, count, scratch);
        std::copy(merged, merged + count, out + start);
    }
}

} // namespace mf
