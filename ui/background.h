// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QObject>

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace mf::ui {

/// Work off the GUI thread, and the way back onto it. run() starts `work` on its own thread and
/// hands its result to `done` on the thread this object lives in (the GUI thread); post() sends
/// any function there from any thread.
///
/// What crosses threads goes through a std::mutex-guarded queue, and the thread is a
/// std::thread: both are seen by ThreadSanitizer. (Qt's own queue of queued calls and its thread
/// pool synchronize through Qt's futex-based QMutex inside libQt6Core, which TSan does not see
/// since Debian's Qt is not built with it: every result passed through them read as a race.)
/// The queued call that wakes this object carries no data.
///
/// The destructor waits for threads still working (their results are dropped), so a `done` can
/// use its owner freely: this object is a member or child of it.
class Background : public QObject {
    Q_OBJECT
public:
    explicit Background(QObject *parent = nullptr);
    ~Background() override;

    /// Runs `work()` on a new thread, then `done(result)` here. `work` must not throw: return
    /// the error in the result.
    template<class Work, class Done>
    void run(Work work, Done done)
    {
        std::lock_guard lock(m_mutex);
        const int id = m_nextId++;
        m_threads.emplace(
            id, std::thread([this, id, work = std::move(work), done = std::move(done)]() mutable {
                auto result = work();
                post([this, id, done = std::move(done), result = std::move(result)]() mutable {
                    reap(id);
                    done(std::move(result));
                });
            }));
    }

    /// Runs `function` on this object's thread, soon (in order with other posts). Thread-safe.
    void post(std::function<void()> function);

private:
    Q_INVOKABLE void deliver();
    void reap(int id); ///< joins a thread that has posted its result (it is ending)

    std::mutex m_mutex; ///< guards the queue and the threads
    std::deque<std::function<void()>> m_queue;
    std::map<int, std::thread> m_threads;
    int m_nextId = 0;
};

} // namespace mf::ui
