// SPDX-License-Identifier: GPL-3.0-or-later
#include "util/text.h"

#include <filesystem>

#include "util/error.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace mf {

std::string systemErrorText(int errnum)
{
    return std::strerror(errnum);
}

std::string formatBytes(std::uint64_t bytes)
{
    static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1000.0 && unit < 5) {
        value /= 1000.0;
        ++unit;
    }
    char buffer[32];
    if (unit == 0)
        std::snprintf(buffer, sizeof buffer, "%llu B", static_cast<unsigned long long>(bytes));
    else
        std::snprintf(buffer, sizeof buffer, "%.2f %s", value, units[unit]);
    return buffer;
}

std::string formatShape(const std::vector<std::int64_t> &shape)
{
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i)
            text += ", ";
        text += std::to_string(shape[i]);
    }
    return text + "]";
}

std::uint64_t parseByteSize(const std::string &text)
{
    std::size_t end = 0;
    double number = 0;
    try {
        number = std::stod(text, &end);
    } catch (const std::exception &) {
        throw Error("invalid size '" + text + "' (expected e.g. 500MB, 2GB, 1GiB)");
    }
    std::string unit = text.substr(end);
    for (char &ch : unit)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    double scale = 0;
    if (unit.empty() || unit == "B")
        scale = 1;
    else if (unit == "KB" || unit == "K")
        scale = 1e3;
    else if (unit == "MB" || unit == "M")
        scale = 1e6;
    else if (unit == "GB" || unit == "G")
        scale = 1e9;
    else if (unit == "TB" || unit == "T")
        scale = 1e12;
    else if (unit == "KIB")
        scale = 1024.0;
    else if (unit == "MIB")
        scale = 1024.0 * 1024.0;
    else if (unit == "GIB")
        scale = 1024.0 * 1024.0 * 1024.0;
    else
        throw Error("invalid size unit in '" + text +
                    "' (expected B, kB, MB, GB, TB, KiB, MiB, GiB)");
    const double bytes = number * scale;
    if (!std::isfinite(bytes) || bytes < 1 || bytes > 1e18)
        throw Error("size '" + text + "' is out of range");
    return static_cast<std::uint64_t>(bytes);
}

bool startsWith(const std::string &text, const std::string &prefix)
{
    return text.compare(0, prefix.size(), prefix) == 0;
}

bool endsWith(const std::string &text, const std::string &suffix)
{
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string asciiLower(std::string text)
{
    for (char &c : text)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return text;
}

std::vector<std::string> splitString(const std::string &text, char separator)
{
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t pos = text.find(separator, start);
        parts.push_back(text.substr(start, pos - start));
        if (pos == std::string::npos)
            break;
        start = pos + 1;
    }
    return parts;
}

std::string relativePath(const std::string &path, const std::string &folder)
{
    namespace fs = std::filesystem;
    return fs::absolute(path)
        .lexically_normal()
        .lexically_relative(fs::absolute(folder).lexically_normal())
        .string();
}

std::string escapeRegex(const std::string &text)
{
    std::string out;
    for (char ch : text) {
        if (std::string("\\^$.|?*+()[]{}").find(ch) != std::string::npos)
            out += '\\';
        out += ch;
    }
    return out;
}

} // namespace mf
