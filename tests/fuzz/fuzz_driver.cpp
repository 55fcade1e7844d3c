// SPDX-License-Identifier: GPL-3.0-or-later
// A small mutation driver for the fuzz harness where libFuzzer is absent (g++ builds):
// starts from the seed files, applies random byte edits, splices and length changes, and
// runs the harness under AddressSanitizer and UBSan for a fixed number of iterations.
// Usage: fuzz_driver ITERATIONS SEED_FILE...
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size);

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: fuzz_driver ITERATIONS SEED_FILE...\n");
        return 2;
    }
    const long iterations = std::atol(argv[1]);
    std::vector<std::string> seeds;
    for (int i = 2; i < argc; ++i) {
        std::ifstream in(argv[i], std::ios::binary);
        seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::mt19937_64 random(12345);
    const char *interesting[] = {"{",
                                 "}",
                                 "[",
                                 "]",
                                 "\"",
                                 ",",
                                 ":",
                                 "0",
                                 "-1",
                                 "1e400",
                                 "18446744073709551615",
                                 "\"dtype\"",
                                 "\"shape\"",
                                 "\"data_offsets\"",
                                 "\"F32\"",
                                 "\"__metadata__\"",
                                 "\"model\"",
                                 "\"vocab\"",
                                 "\"merges\"",
                                 "\"type\"",
                                 "\"Regex\"",
                                 "\"Sequence\"",
                                 "\"ByteLevel\"",
                                 "\"added_tokens\"",
                                 "\x80\x02",
                                 "(",
                                 "t",
                                 "R",
                                 "Q",
                                 "u",
                                 "s",
                                 "h\x00",
                                 "q\x00",
                                 "X\xff\xff\xff\x7f"};
    for (long n = 0; n < iterations; ++n) {
        std::string input = seeds[random() % seeds.size()];
        const int edits = 1 + static_cast<int>(random() % 8);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = input.empty() ? 0 : random() % input.size();
            switch (random() % 6) {
            case 0:
                if (!input.empty())
                    input[at] = static_cast<char>(random());
                break;
            case 1:
                input.insert(at,
                             interesting[random() % (sizeof interesting / sizeof *interesting)]);
                break;
            case 2:
                input.erase(at, random() % 16);
                break;
            case 3:
                input.resize(at);
                break;
            case 4: { // overwrite the 8-byte length prefix
                if (input.size() >= 8)
                    for (int i = 0; i < 8; ++i)
                        input[static_cast<std::size_t>(i)] = static_cast<char>(
                            random() % 4 == 0 ? random() : (i == 0 ? random() : 0));
                break;
            }
            default: { // splice a piece of another seed
                const std::string &other = seeds[random() % seeds.size()];
                if (!other.empty()) {
                    const std::size_t from = random() % other.size();
                    input.insert(at, other.substr(from, random() % 64));
                }
            }
            }
        }
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t *>(input.data()), input.size());
    }
    std::printf("fuzz_driver: %ld inputs, no crash\n", iterations);
    return 0;
}
