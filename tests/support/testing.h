// SPDX-License-Identifier: GPL-3.0-or-later
// Test support: Qt Test where Qt is built (the default), and otherwise a small stand-in
// with the same macros, so the core tests also run on a GPU box or cluster node without
// Qt (-DMERGEFRONT_WITH_QT=OFF). Test files use only: QObject/Q_OBJECT/Q_SLOTS, QVERIFY,
// QVERIFY2, QCOMPARE (on integers, bools, strings, exact doubles), QFAIL, QSKIP, qInfo, and
// MF_TEST_MAIN.
#pragma once

#ifdef MERGEFRONT_QT_TEST

#include <QtTest/QtTest>
/// The Qt Test main; the listed functions matter only to the stand-in below.
#define MF_TEST_MAIN(Class, ...) QTEST_APPLESS_MAIN(Class)

#else

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

class QObject {
public:
    virtual ~QObject() = default;
};
#define Q_OBJECT
#define Q_SLOTS : public // "private Q_SLOTS:" becomes "private: public:"
/// Qt's informational message: one line on stderr.
#define qInfo(...) (std::fprintf(stderr, "QINFO  : " __VA_ARGS__), std::fputc('\n', stderr))

namespace mftest {

struct Outcome {
    bool failed = false;
    bool skipped = false;
};

inline Outcome &outcome()
{
    static Outcome current;
    return current;
}

inline void report(const char *kind, const std::string &what, const char *file, int line)
{
    std::printf("%s: %s\n   Loc: [%s(%d)]\n", kind, what.c_str(), file, line);
}

template<typename T, typename = void>
struct Streamable : std::false_type {
};
template<typename T>
struct Streamable<T, std::void_t<decltype(std::declval<std::ostream &>() << std::declval<T>())>>
    : std::true_type {
};

/// The value as text for a failure message; containers print element by element.
template<typename T>
std::string show(const T &value)
{
    std::ostringstream out;
    if constexpr (std::is_same_v<T, bool>) {
        out << (value ? "true" : "false");
    } else if constexpr (Streamable<T>::value) {
        out << value;
    } else {
        out << "{";
        bool first = true;
        for (const auto &item : value) {
            out << (first ? "" : ", ") << show(item);
            first = false;
        }
        out << "}";
    }
    return out.str();
}

} // namespace mftest

#define QVERIFY2(condition, message)                                                               \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            mftest::outcome().failed = true;                                                       \
            mftest::report("FAIL!  ",                                                              \
                           std::string("'" #condition "' returned FALSE. (") +                     \
                               std::string(message) + ")",                                         \
                           __FILE__, __LINE__);                                                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define QVERIFY(condition) QVERIFY2(condition, "")
#define QCOMPARE(actual, expected)                                                                 \
    do {                                                                                           \
        const auto &mfActual = (actual);                                                           \
        const auto &mfExpected = (expected);                                                       \
        if (!(mfActual == mfExpected)) {                                                           \
            mftest::outcome().failed = true;                                                       \
            mftest::report("FAIL!  ",                                                              \
                           "Compared values are not the same\n   Actual   (" #actual "): " +       \
                               mftest::show(mfActual) +                                            \
                               "\n   Expected (" #expected "): " + mftest::show(mfExpected),       \
                           __FILE__, __LINE__);                                                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define QFAIL(message)                                                                             \
    do {                                                                                           \
        mftest::outcome().failed = true;                                                           \
        mftest::report("FAIL!  ", message, __FILE__, __LINE__);                                    \
        return;                                                                                    \
    } while (0)
#define QSKIP(message)                                                                             \
    do {                                                                                           \
        mftest::outcome().skipped = true;                                                          \
        mftest::report("SKIP   ", message, __FILE__, __LINE__);                                    \
        return;                                                                                    \
    } while (0)

// clang-format off
#define MF_TEST_EXPAND(x) x
#define MF_TEST_CALL(fn)                                                                    \
    if (only.empty() || only == #fn) {                                                      \
        mftest::outcome() = {};                                                             \
        test.fn();                                                                          \
        counts[mftest::outcome().failed ? 1 : mftest::outcome().skipped ? 2 : 0]++;         \
        if (!mftest::outcome().failed && !mftest::outcome().skipped)                        \
            std::printf("PASS   : %s::%s()\n", className, #fn);                            \
    }
#define MF_TEST_EACH_1(f) MF_TEST_CALL(f)
#define MF_TEST_EACH_2(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_1(__VA_ARGS__))
#define MF_TEST_EACH_3(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_2(__VA_ARGS__))
#define MF_TEST_EACH_4(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_3(__VA_ARGS__))
#define MF_TEST_EACH_5(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_4(__VA_ARGS__))
#define MF_TEST_EACH_6(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_5(__VA_ARGS__))
#define MF_TEST_EACH_7(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_6(__VA_ARGS__))
#define MF_TEST_EACH_8(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_7(__VA_ARGS__))
#define MF_TEST_EACH_9(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_8(__VA_ARGS__))
#define MF_TEST_EACH_10(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_9(__VA_ARGS__))
#define MF_TEST_EACH_11(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_10(__VA_ARGS__))
#define MF_TEST_EACH_12(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_11(__VA_ARGS__))
#define MF_TEST_EACH_13(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_12(__VA_ARGS__))
#define MF_TEST_EACH_14(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_13(__VA_ARGS__))
#define MF_TEST_EACH_15(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_14(__VA_ARGS__))
#define MF_TEST_EACH_16(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_15(__VA_ARGS__))
#define MF_TEST_EACH_17(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_16(__VA_ARGS__))
#define MF_TEST_EACH_18(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_17(__VA_ARGS__))
#define MF_TEST_EACH_19(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_18(__VA_ARGS__))
#define MF_TEST_EACH_20(f, ...) MF_TEST_CALL(f) MF_TEST_EXPAND(MF_TEST_EACH_19(__VA_ARGS__))
#define MF_TEST_PICK(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16,  \
                     _17, _18, _19, _20, NAME, ...)                                         \
    NAME
#define MF_TEST_EACH(...)                                                                   \
    MF_TEST_EXPAND(MF_TEST_PICK(__VA_ARGS__, MF_TEST_EACH_20, MF_TEST_EACH_19,              \
                                MF_TEST_EACH_18, MF_TEST_EACH_17, MF_TEST_EACH_16,          \
                                MF_TEST_EACH_15, MF_TEST_EACH_14, MF_TEST_EACH_13,          \
                                MF_TEST_EACH_12, MF_TEST_EACH_11, MF_TEST_EACH_10,          \
                                MF_TEST_EACH_9, MF_TEST_EACH_8, MF_TEST_EACH_7,             \
                                MF_TEST_EACH_6, MF_TEST_EACH_5, MF_TEST_EACH_4,             \
                                MF_TEST_EACH_3, MF_TEST_EACH_2, MF_TEST_EACH_1, unused)(__VA_ARGS__))

// clang-format on

/// Runs the listed test functions in order (all, or the one named on the command line)
/// and ends with Qt Test's totals line.
#define MF_TEST_MAIN(Class, ...)                                                                   \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        const std::string only = argc > 1 ? argv[1] : "";                                          \
        const char *className = #Class;                                                            \
        int counts[3] = {0, 0, 0};                                                                 \
        std::printf("********* Start testing of %s *********\n", className);                       \
        Class test;                                                                                \
        MF_TEST_EACH(__VA_ARGS__)                                                                  \
        std::printf("Totals: %d passed, %d failed, %d skipped\n", counts[0], counts[1],            \
                    counts[2]);                                                                    \
        return counts[1] ? 1 : 0;                                                                  \
    }

#endif
