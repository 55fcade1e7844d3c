// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>

namespace mf {

/// Where to look for a plugin and what to say when it is not there.
struct PluginSearch {
    std::string fileName;     ///< "libmergefront_torch.so"
    std::string environment;  ///< a variable naming the file, tried first ("" for none)
    std::string buildPath;    ///< the build tree's copy, tried last ("" for none)
    std::string entryPoint;   ///< a symbol the right file has
    std::string what;         ///< "the TorchScript evaluator plugin (libmergefront_torch.so)"
    std::string notFoundHint; ///< said when no candidate exists ("build with ...")
};

/// Opens a plugin once per process: $environment, beside the executable, ../<libdir>/mergefront/
/// and ../lib/mergefront/ from it, then the build tree; the first file with the entry point
/// wins. RTLD_LOCAL keeps each plugin's libraries out of the global scope, so two plugins'
/// copies of one library (LibTorch's protobuf, the one SentencePiece carries inside) never
/// bind to each other. Throws mf::Error saying what was tried.
void *openPlugin(const PluginSearch &search);

} // namespace mf
