// SPDX-License-Identifier: GPL-3.0-or-later
#include "eval/process.h"

#include "util/error.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mf::eval {

namespace {

void appendCapped(std::string &buffer, const char *data, std::size_t size, std::size_t cap)
{
    buffer.append(data, size);
    if (buffer.size() > cap)
        buffer.erase(0, buffer.size() - cap);
}

} // namespace

std::string shellQuote(const std::string &text)
{
    std::string quoted = "'";
    for (char c : text)
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

ProcessResult runProcess(const std::string &command, double timeoutSeconds,
                         const CancelFlag &cancel)
{
    int outPipe[2], errPipe[2];
    if (::pipe2(outPipe, O_CLOEXEC) != 0)
        throw Error("cannot start '" + command + "': " + systemErrorText(errno));
    if (::pipe2(errPipe, O_CLOEXEC) != 0) {
        ::close(outPipe[0]);
        ::close(outPipe[1]);
        throw Error("cannot start '" + command + "': " + systemErrorText(errno));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        for (int fd : {outPipe[0], outPipe[1], errPipe[0], errPipe[1]})
            ::close(fd);
        throw Error("cannot start '" + command + "': " + systemErrorText(errno));
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        const int devNull = ::open("/dev/null", O_RDONLY);
        ::dup2(devNull, 0);
        ::dup2(outPipe[1], 1);
        ::dup2(errPipe[1], 2);
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char *>(nullptr));
        ::_exit(127);
    }
    ::setpgid(pid, pid);
    ::close(outPipe[1]);
    ::close(errPipe[1]);

    ProcessResult result;
    const auto started = std::chrono::steady_clock::now();
    pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}};
    int open = 2;
    char buffer[65536];
    bool killed = false;
    // Kills the whole process group once the time is up or the work is cancelled.
    const auto enforceLimits = [&] {
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (!killed && (cancel.load() || elapsed > timeoutSeconds)) {
            result.cancelled = cancel.load();
            result.timedOut = !result.cancelled;
            ::kill(-pid, SIGKILL);
            killed = true;
        }
    };
    while (open > 0) {
        const int ready = ::poll(fds, 2, 50);
        if (ready < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
            if (got > 0) {
                if (i == 0)
                    appendCapped(result.out, buffer, static_cast<std::size_t>(got), 4u << 20);
                else
                    appendCapped(result.err, buffer, static_cast<std::size_t>(got), 64u << 10);
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open;
            }
        }
        enforceLimits();
    }
    for (auto &fd : fds)
        if (fd.fd >= 0)
            ::close(fd.fd);
    // The pipes may close before the process ends (it closed them, or a child kept running):
    // keep enforcing the time-out and the cancel flag until it is gone.
    int status = 0;
    while (true) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid || (done < 0 && errno != EINTR))
            break;
        enforceLimits();
        ::usleep(20000);
    }
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

} // namespace mf::eval
