// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mf {

class MappedFile;

/// Streams memory-mapped inputs through a pass over work items taken in order (a merge's
/// tensors and blocks, in the order its output lies on disk). A thread of its own:
/// - asks the disk for the inputs of the items ahead of the workers (`readAhead` bytes: deep
///   enough that the disk always has requests queued) and maps the nearest of them
///   (`mapAhead` bytes), so workers neither wait for the disk nor fault page by page;
/// - unmaps what the finished items read, as soon as they are done (and evicts it from the page
/// cache too when
///   `dropCache`: a merge larger than memory would only push others' pages out for pages it
///   never reads again).
/// The process's resident share of the inputs stays within about mapAhead plus the items in
/// flight, whatever the size of the merge.
class ReadAhead {
public:
    /// A byte range of a mapped file that an item reads.
    struct Span {
        const MappedFile *file = nullptr;
        std::uint64_t offset = 0;
        std::uint64_t length = 0;
    };
    /// Appends the spans work item `item` reads (called on the read-ahead thread and, one at a
    /// time, on the worker releasing what is done).
    using SpansOf = std::function<void(std::size_t item, std::vector<Span> &spans)>;
    struct Options {
        std::uint64_t readAhead = 512u << 20;
        std::uint64_t mapAhead = 64u << 20;
        bool dropCache = false;
        bool enabled = true; ///< false: no thread, done() does nothing (inputs mapped whole)
    };

    /// Starts the thread; `items` are numbered 0 .. items-1 in the order workers take them.
    ReadAhead(std::size_t items, SpansOf spansOf, Options options);
    /// Stops the thread; what is still mapped stays mapped (the mapping owners unmap it).
    ~ReadAhead();
    ReadAhead(const ReadAhead &) = delete;
    ReadAhead &operator=(const ReadAhead &) = delete;

    /// A worker finished `item` (any thread).
    void done(std::size_t item);

    /// The span of `bytes` at `data` when they lie in a mapped file (none otherwise).
    static void addSpan(const void *data, std::uint64_t bytes, std::vector<Span> &spans);

    /// Bytes of mapped input the merge keeps resident at most (mapAhead plus the items in
    /// flight on `threads` workers, `itemBytes` each): what a memory estimate says.
    static std::uint64_t residentBytes(const Options &options, int threads,
                                       std::uint64_t itemBytes);

private:
    void run();
    std::uint64_t bytesOf(std::size_t item);
    /// Hands the spans of the done items before `frontier` to the releaser (m_releaseMutex held).
    void releaseUpTo(std::size_t frontier);

    class Releaser;

    std::size_t m_items;
    SpansOf m_spansOf;
    Options m_options;
    std::vector<Span> m_spans; ///< scratch of the thread

    std::mutex m_releaseMutex; ///< held by the worker releasing what is behind the frontier
    std::unique_ptr<Releaser> m_releaser;
    std::vector<Span> m_releaseSpans;
    std::size_t m_released = 0; ///< items before it are released

    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::vector<char> m_done;
    std::size_t m_frontier = 0; ///< every item before it is done
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace mf
