// SPDX-License-Identifier: GPL-3.0-or-later
#include "background.h"

#include <QMetaObject>

namespace mf::ui {

Background::Background(QObject *parent)
    : QObject(parent)
{
}

Background::~Background()
{
    std::map<int, std::thread> threads;
    {
        std::lock_guard lock(m_mutex);
        threads.swap(m_threads);
    }
    for (auto &[id, thread] : threads)
        thread.join(); // what they post now is never delivered: the queue goes with this object
}

void Background::post(std::function<void()> function)
{
    {
        std::lock_guard lock(m_mutex);
        m_queue.push_back(std::move(function));
    }
    // By name: the queued call carries nothing, the function waits in the queue.
    QMetaObject::invokeMethod(this, "deliver", Qt::QueuedConnection);
}

void Background::deliver()
{
    std::deque<std::function<void()>> ready;
    {
        std::lock_guard lock(m_mutex);
        ready.swap(m_queue);
    }
    for (std::function<void()> &function : ready)
        function();
}

void Background::reap(int id)
{
    std::thread thread;
    {
        std::lock_guard lock(m_mutex);
        const auto it = m_threads.find(id);
        if (it == m_threads.end())
            return;
        thread = std::move(it->second);
        m_threads.erase(it);
    }
    thread.join(); // it has posted its result and is returning
}

} // namespace mf::ui
