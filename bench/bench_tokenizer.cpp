// SPDX-License-Identifier: GPL-3.0-or-later
// Tokenizer speed (docs/BENCHMARKS.md, "Tokenizers"): the load time of a folder's tokenizer
// and the encode throughput over a list of documents, as JSON on stdout.
//   mergefront-bench-tokenizer FOLDER DOCUMENTS.json [REPEAT]
// DOCUMENTS.json: a list of strings, each encoded on its own without special tokens (as
// lm-evaluation-harness encodes requests). Best of REPEAT runs (default 3) for both.
#include "timing.h"

#include "text/tokenizer.h"
#include "text/tokenizer_folder.h"
#include "util/atomic_file.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: mergefront-bench-tokenizer FOLDER DOCUMENTS.json [REPEAT]\n");
        return 2;
    }
    const int repeat = argc > 3 ? std::atoi(argv[3]) : 3;
    const auto documents =
        nlohmann::json::parse(mf::readFile(argv[2])).get<std::vector<std::string>>();
    std::size_t bytes = 0;
    for (const std::string &document : documents)
        bytes += document.size();
    std::unique_ptr<mf::text::Tokenizer> tokenizer;
    const double load =
        mfbench::bestSeconds([&] { tokenizer = mf::text::loadTokenizer(argv[1]); }, repeat);
    std::size_t tokens = 0;
    for (const std::string &document : documents) // counted once, outside the timing
        tokens += tokenizer->encode(document, false).size();
    // The encode alone, best of `repeat` passes, each with a fresh tokenizer (cold cache).
    double best = 1e300;
    for (int r = 0; r < repeat; ++r) {
        tokenizer = mf::text::loadTokenizer(argv[1]);
        best = std::min(best, mfbench::bestSeconds(
                                  [&] {
                                      for (const std::string &document : documents)
                                          tokenizer->encode(document, false);
                                  },
                                  1));
    }
    const nlohmann::json out = {{"load_s", load},
                                {"encode_s", best},
                                {"documents", documents.size()},
                                {"bytes", bytes},
                                {"tokens", tokens},
                                {"tokens_per_s", tokens / best},
                                {"vocabulary", tokenizer->vocabularySize()}};
    std::cout << out.dump() << "\n";
    return 0;
}
