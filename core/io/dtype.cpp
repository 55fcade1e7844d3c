// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/dtype.h"

#include "util/error.h"

#include <cmath>

namespace mf {

namespace {

struct DTypeInfo {
    DType dtype;
    const char *name;
    std::size_t size;
    bool floating;
};

constexpr DTypeInfo kTypes[] = {
    {DType::F64, "F64", 8, true},    {DType::F32, "F32", 4, true},  {DType::F16, "F16", 2, true},
    {DType::BF16, "BF16", 2, true},  {DType::I64, "I64", 8, false}, {DType::I32, "I32", 4, false},
    {DType::I16, "I16", 2, false},   {DType::I8, "I8", 1, false},   {DType::U8, "U8", 1, false},
    {DType::Bool, "BOOL", 1, false},
};

const DTypeInfo &info(DType dtype)
{
    return kTypes[static_cast<int>(dtype)];
}

// Names the safetensors format knows but LibTorch 1.13 (and so Mergefront) cannot hold.
constexpr const char *kUnsupported[] = {"U16",     "U32",     "U64",     "F8_E4M3",
                                        "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2",
                                        "F4",      "C64",     "C128"};

} // namespace

const char *dtypeName(DType dtype)
{
    return info(dtype).name;
}
std::size_t dtypeSize(DType dtype)
{
    return info(dtype).size;
}
bool isFloating(DType dtype)
{
    return info(dtype).floating;
}

DType parseDTypeName(const std::string &name, const std::string &what)
{
    for (const auto &type : kTypes)
        if (name == type.name)
            return type.dtype;
    for (const char *unsupported : kUnsupported)
        if (name == unsupported)
            throw Error("dtype " + name + " of " + what +
                        " is not supported (LibTorch cannot hold it; convert the checkpoint "
                        "to F32, F16 or BF16 first)");
    throw Error("unknown dtype '" + name + "' of " + what);
}

float halfToFloat(std::uint16_t bits)
{
    const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
    const std::uint32_t exponent = (bits >> 10) & 0x1fu;
    std::uint32_t mantissa = bits & 0x3ffu;
    std::uint32_t word;
    if (exponent == 0x1f) { // inf or NaN
        word = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) { // normal
        word = sign | ((exponent + 112u) << 23) | (mantissa << 13);
    } else if (mantissa == 0) { // signed zero
        word = sign;
    } else { // subnormal: value = mantissa * 2^-24, exact in float
        const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
        std::memcpy(&word, &magnitude, sizeof word);
        word |= sign;
    }
    float value;
    std::memcpy(&value, &word, sizeof value);
    return value;
}

std::uint16_t floatToHalf(float value)
{
    std::uint32_t word;
    std::memcpy(&word, &value, sizeof word);
    const std::uint16_t sign = static_cast<std::uint16_t>((word >> 16) & 0x8000u);
    const std::uint32_t absWord = word & 0x7fffffffu;
    if (absWord > 0x7f800000u) // NaN
        return static_cast<std::uint16_t>(sign | 0x7e00u);
    if (absWord >= 0x477ff000u) // rounds to >= 65520: infinity
        return static_cast<std::uint16_t>(sign | 0x7c00u);
    if (absWord < 0x38800000u) { // below the smallest normal half: subnormal or zero
        // Adding 0.5 lets the FPU round to nearest even at the 2^-24 step.
        float magnitude;
        std::memcpy(&magnitude, &absWord, sizeof magnitude);
        const float shifted = magnitude + 0.5f;
        std::uint32_t shiftedWord;
        std::memcpy(&shiftedWord, &shifted, sizeof shiftedWord);
        return static_cast<std::uint16_t>(sign | (shiftedWord - 0x3f000000u));
    }
    // Normal: rebias the exponent, round the 13 dropped mantissa bits to nearest even.
    const std::uint32_t oddBit = (absWord >> 13) & 1u;
    const std::uint32_t rounded = absWord + 0xc8000fffu + oddBit; // -112 << 23, + half-ulp
    return static_cast<std::uint16_t>(sign | (rounded >> 13));
}

namespace {

template<typename Real>
void toReal(DType dtype, const void *source, Real *target, std::size_t count)
{
    switch (dtype) {
    case DType::F32: {
        const auto *in = static_cast<const float *>(source);
        for (std::size_t i = 0; i < count; ++i)
            target[i] = static_cast<Real>(in[i]);
        return;
    }
    case DType::F64: {
        const auto *in = static_cast<const double *>(source);
        for (std::size_t i = 0; i < count; ++i)
            target[i] = static_cast<Real>(in[i]);
        return;
    }
    case DType::F16: {
        const auto *in = static_cast<const std::uint16_t *>(source);
        for (std::size_t i = 0; i < count; ++i)
            target[i] = static_cast<Real>(halfToFloat(in[i]));
        return;
    }
    case DType::BF16: {
        const auto *in = static_cast<const std::uint16_t *>(source);
        for (std::size_t i = 0; i < count; ++i)
            target[i] = static_cast<Real>(bf16ToFloat(in[i]));
        return;
    }
    default:
        throw Error(std::string("internal: conversion from non-floating dtype ") +
                    dtypeName(dtype));
    }
}

template<typename Real>
void fromReal(DType dtype, const Real *source, void *target, std::size_t count)
{
    switch (dtype) {
    case DType::F32: {
        auto *out = static_cast<float *>(target);
        for (std::size_t i = 0; i < count; ++i)
            out[i] = static_cast<float>(source[i]);
        return;
    }
    case DType::F64: {
        auto *out = static_cast<double *>(target);
        for (std::size_t i = 0; i < count; ++i)
            out[i] = static_cast<double>(source[i]);
        return;
    }
    case DType::F16: {
        auto *out = static_cast<std::uint16_t *>(target);
        for (std::size_t i = 0; i < count; ++i)
            out[i] = floatToHalf(static_cast<float>(source[i]));
        return;
    }
    case DType::BF16: {
        auto *out = static_cast<std::uint16_t *>(target);
        for (std::size_t i = 0; i < count; ++i)
            out[i] = floatToBf16(static_cast<float>(source[i]));
        return;
    }
    default:
        throw Error(std::string("internal: conversion to non-floating dtype ") + dtypeName(dtype));
    }
}

} // namespace

void convertToFloat(DType dtype, const void *source, float *target, std::size_t count)
{
    toReal(dtype, source, target, count);
}

void convertFromFloat(DType dtype, const float *source, void *target, std::size_t count)
{
    fromReal(dtype, source, target, count);
}

void convertToDouble(DType dtype, const void *source, double *target, std::size_t count)
{
    toReal(dtype, source, target, count);
}

void convertFromDouble(DType dtype, const double *source, void *target, std::size_t count)
{
    fromReal(dtype, source, target, count);
}

} // namespace mf
