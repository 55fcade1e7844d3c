// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace mf {

/// Element types a checkpoint may hold: those LibTorch can hold too.
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

/// Name as safetensors spells it ("F32", "BF16", "BOOL", ...).
const char *dtypeName(DType dtype);
std::size_t dtypeSize(DType dtype);
bool isFloating(DType dtype);

/// Parses a safetensors dtype name. Known names that LibTorch cannot hold (F8_E4M3, U16,
/// ...) and unknown names throw mf::Error naming `what` (e.g. "tensor 'x' in file.safetensors").
DType parseDTypeName(const std::string &name, const std::string &what);

/// Conversions for half-precision formats, round-to-nearest-even, NaN kept NaN.
float halfToFloat(std::uint16_t bits);
std::uint16_t floatToHalf(float value);

inline float bf16ToFloat(std::uint16_t bits)
{
    const std::uint32_t word = static_cast<std::uint32_t>(bits) << 16;
    float value;
    std::memcpy(&value, &word, sizeof value);
    return value;
}

inline std::uint16_t floatToBf16(float value)
{
    std::uint32_t word;
    std::memcpy(&word, &value, sizeof word);
    if ((word & 0x7fffffffu) > 0x7f800000u) // NaN: keep it quiet, keep the sign
        return static_cast<std::uint16_t>((word >> 16) | 0x0040u);
    const std::uint32_t rounding = 0x7fffu + ((word >> 16) & 1u);
    return static_cast<std::uint16_t>((word + rounding) >> 16);
}

/// Bulk conversions used by the merge kernel (vectorizable loops).
void convertToFloat(DType dtype, const void *source, float *target, std::size_t count);
void convertFromFloat(DType dtype, const float *source, void *target, std::size_t count);
void convertToDouble(DType dtype, const void *source, double *target, std::size_t count);
void convertFromDouble(DType dtype, const double *source, void *target, std::size_t count);

} // namespace mf
