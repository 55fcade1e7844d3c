// SPDX-License-Identifier: GPL-3.0-or-later
#include "util/plugin.h"

#include "util/error.h"

#include <dlfcn.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <vector>

namespace mf {

void *openPlugin(const PluginSearch &search)
{
    static std::mutex mutex;
    static std::map<std::string, void *> opened; // by file name
    std::lock_guard<std::mutex> lock(mutex);
    if (void *handle = opened[search.fileName])
        return handle;
    namespace fs = std::filesystem;
    std::vector<std::string> candidates;
    if (!search.environment.empty())
        if (const char *path = std::getenv(search.environment.c_str()))
            candidates.push_back(path);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        candidates.push_back((exe.parent_path() / search.fileName).string());
        // Installed: <prefix>/bin/mergefront-cli and <prefix>/<libdir>/mergefront/ (libdir is
        // lib/x86_64-linux-gnu under /usr on Debian, lib elsewhere).
#ifdef MERGEFRONT_INSTALL_LIBDIR
        candidates.push_back(
            (exe.parent_path() / ".." / MERGEFRONT_INSTALL_LIBDIR / "mergefront" / search.fileName)
                .string());
#endif
        candidates.push_back((exe.parent_path() / "../lib/mergefront" / search.fileName).string());
    }
    if (!search.buildPath.empty())
        candidates.push_back(search.buildPath);
    std::string reasons;
    for (const std::string &candidate : candidates) {
        if (!fs::exists(candidate, ec))
            continue;
        void *handle = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            reasons += std::string(" ") + ::dlerror();
            continue;
        }
        if (::dlsym(handle, search.entryPoint.c_str())) {
            opened[search.fileName] = handle;
            return handle;
        }
        reasons += " " + candidate + " has no " + search.entryPoint + ";";
    }
    throw Error(search.what + " cannot be loaded" +
                (reasons.empty() ? ": not found (" + search.notFoundHint + ")" : ":" + reasons));
}

} // namespace mf
