// SPDX-License-Identifier: GPL-3.0-or-later
// Half and bfloat16 conversions against known bit patterns and exhaustive round trips.
#include "testing.h"

#include "io/dtype.h"
#include "util/error.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace {

std::uint32_t bitsOf(float value)
{
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

float fromBits(std::uint32_t bits)
{
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

} // namespace

class TestDType : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void namesAndSizes();
    void unsupportedDTypesAreNamed();
    void halfKnownValues();
    void halfRoundsToNearestEven();
    void halfRoundTripsEveryPattern();
    void bf16KnownValuesAndRounding();
    void bf16RoundTripsEveryPattern();
    void bulkConversions();
};

void TestDType::namesAndSizes()
{
    QCOMPARE(std::string(mf::dtypeName(mf::DType::BF16)), std::string("BF16"));
    QCOMPARE(std::string(mf::dtypeName(mf::DType::Bool)), std::string("BOOL"));
    QCOMPARE(mf::dtypeSize(mf::DType::F64), std::size_t(8));
    QCOMPARE(mf::dtypeSize(mf::DType::BF16), std::size_t(2));
    QVERIFY(mf::isFloating(mf::DType::F16));
    QVERIFY(!mf::isFloating(mf::DType::I64));
    QVERIFY(mf::parseDTypeName("F32", "x") == mf::DType::F32);
    QVERIFY(mf::parseDTypeName("U8", "x") == mf::DType::U8);
}

void TestDType::unsupportedDTypesAreNamed()
{
    for (const char *name : {"F8_E4M3", "F8_E5M2", "U16", "U32", "U64"}) {
        std::string message;
        try {
            mf::parseDTypeName(name, "tensor 'w' in a.safetensors");
        } catch (const mf::Error &e) {
            message = e.what();
        }
        QVERIFY2(message.find(name) != std::string::npos, message.c_str());
        QVERIFY2(message.find("tensor 'w' in a.safetensors") != std::string::npos, message.c_str());
        QVERIFY2(message.find("not supported") != std::string::npos, message.c_str());
    }
    std::string message;
    try {
        mf::parseDTypeName("Q4_K", "tensor 'w'");
    } catch (const mf::Error &e) {
        message = e.what();
    }
    QVERIFY2(message.find("unknown dtype 'Q4_K'") != std::string::npos, message.c_str());
}

void TestDType::halfKnownValues()
{
    // IEEE 754 binary16 patterns, as numpy.float16(...).view(numpy.uint16) gives them.
    QCOMPARE(mf::floatToHalf(1.0f), std::uint16_t(0x3c00));
    QCOMPARE(mf::floatToHalf(-2.0f), std::uint16_t(0xc000));
    QCOMPARE(mf::floatToHalf(65504.0f), std::uint16_t(0x7bff));
    QCOMPARE(mf::floatToHalf(65520.0f), std::uint16_t(0x7c00)); // rounds to infinity
    QCOMPARE(mf::floatToHalf(0.1f), std::uint16_t(0x2e66));
    QCOMPARE(mf::floatToHalf(std::ldexp(1.0f, -24)), std::uint16_t(0x0001)); // smallest subnormal
    QCOMPARE(mf::floatToHalf(std::ldexp(1.0f, -26)), std::uint16_t(0x0000)); // underflows to 0
    QCOMPARE(mf::floatToHalf(-0.0f), std::uint16_t(0x8000));
    QCOMPARE(mf::floatToHalf(std::numeric_limits<float>::infinity()), std::uint16_t(0x7c00));
    QVERIFY((mf::floatToHalf(std::nanf("")) & 0x7fff) > 0x7c00);
    QCOMPARE(mf::halfToFloat(0x3555), 0.333251953125f);
    QCOMPARE(mf::halfToFloat(0x0001), std::ldexp(1.0f, -24));
    QCOMPARE(mf::halfToFloat(0x03ff), std::ldexp(1023.0f, -24));
    QVERIFY(std::isnan(mf::halfToFloat(0x7e00)));
}

void TestDType::halfRoundsToNearestEven()
{
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1.0).
    QCOMPARE(mf::floatToHalf(1.0f + std::ldexp(1.0f, -11)), std::uint16_t(0x3c00));
    // 1 + 3 * 2^-11 lies halfway between 0x3c01 and 0x3c02: ties to even (0x3c02).
    QCOMPARE(mf::floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), std::uint16_t(0x3c02));
    // Just above halfway rounds up.
    QCOMPARE(mf::floatToHalf(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)),
             std::uint16_t(0x3c01));
    // Subnormal halfway case: 1.5 * 2^-24 rounds to 2 * 2^-24 (even).
    QCOMPARE(mf::floatToHalf(1.5f * std::ldexp(1.0f, -24)), std::uint16_t(0x0002));
}

void TestDType::halfRoundTripsEveryPattern()
{
    for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
        const auto half = static_cast<std::uint16_t>(bits);
        const float value = mf::halfToFloat(half);
        if (std::isnan(value))
            continue;
        QVERIFY2(mf::floatToHalf(value) == half, std::to_string(bits).c_str());
    }
}

void TestDType::bf16KnownValuesAndRounding()
{
    QCOMPARE(mf::floatToBf16(1.0f), std::uint16_t(0x3f80));
    QCOMPARE(mf::floatToBf16(-3.0f), std::uint16_t(0xc040));
    QCOMPARE(mf::floatToBf16(fromBits(0x3f808000)), std::uint16_t(0x3f80)); // tie -> even
    QCOMPARE(mf::floatToBf16(fromBits(0x3f818000)), std::uint16_t(0x3f82)); // tie -> even
    QCOMPARE(mf::floatToBf16(fromBits(0x3f808001)), std::uint16_t(0x3f81)); // above tie
    QCOMPARE(mf::floatToBf16(fromBits(0x7f7fffff)), std::uint16_t(0x7f80)); // max -> inf
    QVERIFY((mf::floatToBf16(std::nanf("")) & 0x7fff) > 0x7f80);
    QCOMPARE(mf::bf16ToFloat(0x4049), 3.140625f);
}

void TestDType::bf16RoundTripsEveryPattern()
{
    for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
        const auto b = static_cast<std::uint16_t>(bits);
        const float value = mf::bf16ToFloat(b);
        if (std::isnan(value))
            continue;
        QVERIFY2(mf::floatToBf16(value) == b, std::to_string(bits).c_str());
        QCOMPARE(bitsOf(value) >> 16, bits);
    }
}

void TestDType::bulkConversions()
{
    const float source[] = {0.5f, -1.25f, 3.0f, 1e-3f};
    std::uint16_t half[4];
    float back[4];
    mf::convertFromFloat(mf::DType::F16, source, half, 4);
    mf::convertToFloat(mf::DType::F16, half, back, 4);
    for (int i = 0; i < 3; ++i)
        QCOMPARE(back[i], source[i]);
    QVERIFY(std::fabs(back[3] - 1e-3f) < 1e-6f);
    double wide[4];
    mf::convertToDouble(mf::DType::F32, source, wide, 4);
    QCOMPARE(wide[1], -1.25);
}

MF_TEST_MAIN(TestDType, namesAndSizes, unsupportedDTypesAreNamed, halfKnownValues,
             halfRoundsToNearestEven, halfRoundTripsEveryPattern, bf16KnownValuesAndRounding,
             bf16RoundTripsEveryPattern, bulkConversions)
#ifdef MERGEFRONT_QT_TEST
#include "tst_dtype.moc"
#endif
