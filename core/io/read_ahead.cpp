// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/read_ahead.h"

#include "io/mapped_file.h"

#include <algorithm>
#include <unistd.h>

namespace mf {

namespace {

constexpr std::uint64_t kReleaseStep = 16u << 20; // bytes of a file released at once

} // namespace

/// Consumed ranges, merged while they are contiguous in their file, released in steps (a
/// syscall per 16 MB, not per item; a page shared by two items is released once both are
/// done).
class ReadAhead::Releaser {
public:
    explicit Releaser(bool dropCache)
        : m_dropCache(dropCache)
        , m_page(static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)))
    {
    }
    void add(const ReadAhead::Span &span)
    {
        Pending *pending = nullptr;
        for (Pending &p : m_pending)
            if (p.file == span.file)
                pending = &p;
        if (!pending) {
            m_pending.push_back({span.file, span.offset, span.offset});
            pending = &m_pending.back();
        }
        const std::uint64_t end = span.offset + span.length;
        if (span.offset > pending->end || end < pending->begin) { // not contiguous: a new run
            flush(*pending, true);
            pending->begin = span.offset;
            pending->end = end;
        } else {
            pending->begin = std::min(pending->begin, span.offset);
            pending->end = std::max(pending->end, end);
        }
        if (pending->end - pending->begin >= kReleaseStep)
            flush(*pending, false);
    }
    void flushAll()
    {
        for (Pending &p : m_pending)
            flush(p, true);
    }

private:
    struct Pending {
        const MappedFile *file;
        std::uint64_t begin, end;
    };
    void flush(Pending &p, bool all)
    {
        // Keep the run's last partial page: the next item may read the rest of it.
        const std::uint64_t upTo = all ? p.end : p.end / m_page * m_page;
        if (upTo > p.begin)
            p.file->release(p.begin, upTo - p.begin, m_dropCache);
        p.begin = upTo;
    }
    bool m_dropCache;
    std::uint64_t m_page;
    std::vector<Pending> m_pending;
};

ReadAhead::ReadAhead(std::size_t items, SpansOf spansOf, Options options)
    : m_items(items)
    , m_spansOf(std::move(spansOf))
    , m_options(options)
    , m_releaser(std::make_unique<Releaser>(options.dropCache))
    , m_done(options.enabled ? items : 0, 0)
{
    if (m_options.enabled)
        m_thread = std::thread([this] { run(); });
}

ReadAhead::~ReadAhead()
{
    if (!m_options.enabled)
        return;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_one();
    m_thread.join();
    // What the last workers finished while another one held the release (no worker runs now).
    std::lock_guard<std::mutex> releasing(m_releaseMutex);
    releaseUpTo(m_frontier);
    m_releaser->flushAll();
}

void ReadAhead::releaseUpTo(std::size_t frontier)
{
    for (; m_released < frontier; ++m_released) {
        m_releaseSpans.clear();
        m_spansOf(m_released, m_releaseSpans);
        for (const Span &span : m_releaseSpans)
            m_releaser->add(span);
    }
}

void ReadAhead::done(std::size_t item)
{
    if (!m_options.enabled)
        return;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_done[item] = 1;
        if (item != m_frontier)
            return;
        while (m_frontier < m_items && m_done[m_frontier])
            ++m_frontier;
    }
    m_wake.notify_one();
    // The worker that moves the frontier unmaps what is behind it, at once: the resident size
    // stays bounded however fast the workers go. One at a time (the runs are merged in
    // order); a worker that finds another at it leaves the rest to it or to the next call.
    std::unique_lock<std::mutex> releasing(m_releaseMutex, std::try_to_lock);
    if (!releasing.owns_lock())
        return;
    for (;;) {
        std::size_t frontier = 0;
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            frontier = m_frontier;
        }
        if (m_released >= frontier)
            break;
        releaseUpTo(frontier);
    }
}

void ReadAhead::addSpan(const void *data, std::uint64_t bytes, std::vector<Span> &spans)
{
    std::uint64_t offset = 0;
    if (const MappedFile *file = data && bytes ? MappedFile::containing(data, &offset) : nullptr)
        spans.push_back({file, offset, bytes});
}

std::uint64_t ReadAhead::residentBytes(const Options &options, int threads, std::uint64_t itemBytes)
{
    // Mapped ahead, the items being merged, and the runs waiting for a release step.
    return options.mapAhead + static_cast<std::uint64_t>(std::max(1, threads) + 1) * itemBytes +
           4 * kReleaseStep;
}

std::uint64_t ReadAhead::bytesOf(std::size_t item)
{
    m_spans.clear();
    m_spansOf(item, m_spans);
    std::uint64_t bytes = 0;
    for (const Span &span : m_spans)
        bytes += span.length;
    return bytes;
}

void ReadAhead::run()
{
    std::size_t readCursor = 0, mapCursor = 0, passed = 0;
    std::uint64_t readBytes = 0, mappedBytes = 0; // of the items from `passed` to each cursor
    for (;;) {
        std::size_t frontier = 0;
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_wake.wait(lock, [&] {
                return m_stop || m_frontier != passed ||
                       (readCursor < m_items && readBytes < m_options.readAhead) ||
                       (mapCursor < m_items && mappedBytes < m_options.mapAhead);
            });
            if (m_stop)
                return;
            frontier = m_frontier;
        }
        // The windows are measured from the first item not done.
        for (; passed < frontier; ++passed) {
            if (passed >= readCursor)
                continue; // passed before it was asked for
            const std::uint64_t bytes = bytesOf(passed);
            readBytes -= bytes;
            if (passed < mapCursor)
                mappedBytes -= bytes;
        }
        readCursor = std::max(readCursor, frontier);
        mapCursor = std::max(mapCursor, frontier);
        // Ask the disk for everything in the read-ahead window (returns at once) ...
        for (; readCursor < m_items && readBytes < m_options.readAhead; ++readCursor) {
            readBytes += bytesOf(readCursor);
            for (const Span &span : m_spans)
                span.file->readAhead(span.offset, span.length);
        }
        // ... then map the next item (waits for its pages), and look at the frontier again.
        if (mapCursor < m_items && mappedBytes < m_options.mapAhead) {
            mappedBytes += bytesOf(mapCursor);
            for (const Span &span : m_spans)
                span.file->populate(span.offset, span.length);
            ++mapCursor;
        }
    }
}

} // namespace mf
