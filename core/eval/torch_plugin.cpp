// SPDX-License-Identifier: GPL-3.0-or-later
#include "eval/torch_plugin.h"

#include "util/error.h"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>
#include <vector>

namespace mf::eval {

namespace {

using Factory = Evaluator *(*)(const TorchEvaluatorOptions *, std::string *, std::string *);

Factory loadFactory()
{
    static std::mutex mutex;
    static Factory factory = nullptr;
    std::lock_guard<std::mutex> lock(mutex);
    if (factory)
        return factory;
    namespace fs = std::filesystem;
    std::vector<std::string> candidates;
    if (const char *path = std::getenv("MERGEFRONT_TORCH_PLUGIN"))
        candidates.push_back(path);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        candidates.push_back((exe.parent_path() / "libmergefront_torch.so").string());
        candidates.push_back(
            (exe.parent_path() / "../lib/mergefront/libmergefront_torch.so").string());
    }
#ifdef MERGEFRONT_TORCH_PLUGIN_BUILD_PATH
    candidates.push_back(MERGEFRONT_TORCH_PLUGIN_BUILD_PATH);
#endif
    std::string reasons;
    for (const std::string &candidate : candidates) {
        if (!fs::exists(candidate, ec))
            continue;
        void *handle = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            reasons += std::string(" ") + ::dlerror();
            continue;
        }
        factory = reinterpret_cast<Factory>(::dlsym(handle, "mergefront_create_torch_evaluator"));
        if (factory)
            return factory;
        reasons += " " + candidate + " has no evaluator entry point;";
    }
    throw Error("the TorchScript evaluator plugin (libmergefront_torch.so) cannot be loaded" +
                (reasons.empty()
                     ? std::string(": not found (build with MERGEFRONT_WITH_TORCH=ON, or set "
                                   "MERGEFRONT_TORCH_PLUGIN)")
                     : ":" + reasons));
}

} // namespace

std::unique_ptr<Evaluator> createTorchScriptEvaluator(const TorchEvaluatorOptions &options,
                                                      std::string &device)
{
    const Factory factory = loadFactory();
    std::string error;
    Evaluator *evaluator = factory(&options, &device, &error);
    if (!evaluator)
        throw Error(error);
    return std::unique_ptr<Evaluator>(evaluator);
}

} // namespace mf::eval
