// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz harness for the parsers that read untrusted bytes: the safetensors header (and its
// offset checks), the restricted unpickler, and tokenizer.json (the whole pipeline it builds,
// then an encode and a decode with it). libFuzzer calls LLVMFuzzerTestOneInput;
// fuzz_driver.cpp calls it too where libFuzzer is absent. Any crash, sanitizer report,
// or exception other than mf::Error is a bug.
#include "io/pickle.h"
#include "io/safetensors.h"
#include "text/tokenizer.h"
#include "util/error.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto *bytes = reinterpret_cast<const std::byte *>(data);
    try {
        mf::parseSafetensorsHeader(bytes, size, "fuzz.safetensors");
    } catch (const mf::Error &) {
    }
    try {
        mf::readStateDictPickle(bytes, size, "fuzz.pt");
    } catch (const mf::Error &) {
    }
    try {
        const mf::text::Tokenizer tokenizer(
            mf::text::partsFromTokenizerJson(
                std::string_view(reinterpret_cast<const char *>(data), size), "fuzz.json"),
            {});
        const auto ids = tokenizer.encode("Hello w\xc3\xb6rld  123 <s>\n\t\xe6\x97\xa5 x", true);
        tokenizer.decode(ids, false);
    } catch (const mf::Error &) {
    }
    return 0;
}
