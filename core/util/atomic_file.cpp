// SPDX-License-Identifier: GPL-3.0-or-later
#include "util/atomic_file.h"

#include "util/error.h"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace mf {

void writeFile(const std::string &path, const std::string &bytes, bool sync)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error("cannot write " + path + ": " + systemErrorText(errno));
    std::size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            throw Error("cannot write " + path + ": " + systemErrorText(err));
        }
        written += static_cast<std::size_t>(n);
    }
    if ((sync && ::fsync(fd) != 0) | (::close(fd) != 0))
        throw Error("cannot write " + path + ": " + systemErrorText(errno));
}

std::string readFile(const std::string &path)
{
    std::ifstream stream(path, std::ios::binary);
    if (!stream)
        throw Error("cannot read " + path);
    std::stringstream buffer;
    buffer << stream.rdbuf();
    if (stream.bad())
        throw Error("cannot read " + path);
    return buffer.str();
}

void writeFileAtomically(const std::string &path, const std::string &bytes, bool sync)
{
    const std::filesystem::path target(path);
    const std::string temporary = (target.parent_path() / ("." + target.filename().string() +
                                                           ".tmp-" + std::to_string(::getpid())))
                                      .string();
    try {
        writeFile(temporary, bytes, sync);
    } catch (const Error &e) {
        std::remove(temporary.c_str());
        // Name the file the caller asked for, not the temporary.
        std::string message = e.what();
        const std::size_t at = message.find(temporary);
        if (at != std::string::npos)
            message.replace(at, temporary.size(), path);
        throw Error(message);
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        const int err = errno;
        std::remove(temporary.c_str());
        throw Error("cannot write " + path + ": " + systemErrorText(err));
    }
    if (sync) {
        const std::string folder =
            target.parent_path().empty() ? "." : target.parent_path().string();
        const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir >= 0) {
            ::fsync(dir);
            ::close(dir);
        }
    }
}

} // namespace mf
