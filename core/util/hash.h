// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace mf {

/// SplitMix64 finalizer: a fast, well-mixed 64-bit hash of one word. Used as a
/// counter-based random stream (DARE masks) so results never depend on thread scheduling.
inline std::uint64_t mix64(std::uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/// FNV-1a over bytes, folded through mix64; stable across runs and platforms.
inline std::uint64_t hashBytes(const void *data, std::size_t size, std::uint64_t seed = 0)
{
    const auto *bytes = static_cast<const unsigned char *>(data);
    std::uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (std::size_t i = 0; i < size; ++i) {
        h ^= bytes[i];
        h *= 0x100000001b3ULL;
    }
    return mix64(h);
}

inline std::uint64_t hashString(std::string_view text, std::uint64_t seed = 0)
{
    return hashBytes(text.data(), text.size(), seed);
}

/// A 64-bit hash as 16 lower-case hex digits (fingerprints, cache keys).
inline std::string hexDigits(std::uint64_t value)
{
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

} // namespace mf
