// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/sample_table.h"

#include "util/atomic_file.h"
#include "util/error.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace mf::project {

using namespace mf::map;

namespace {

std::string trim(const std::string &text)
{
    const auto begin = text.find_first_not_of(" \t\r");
    if (begin == std::string::npos)
        return "";
    const auto end = text.find_last_not_of(" \t\r");
    std::string out = text.substr(begin, end - begin + 1);
    if (out.size() >= 2 && out.front() == '"' && out.back() == '"')
        out = out.substr(1, out.size() - 2);
    return out;
}

std::vector<std::string> fields(const std::string &line)
{
    std::vector<std::string> out;
    std::string current;
    bool quoted = false;
    for (char ch : line) {
        if (ch == '"')
            quoted = !quoted;
        if (ch == ',' && !quoted) {
            out.push_back(trim(current));
            current.clear();
        } else {
            current += ch;
        }
    }
    out.push_back(trim(current));
    return out;
}

bool isCoefficient(const std::string &name)
{
    return name.rfind("c:", 0) == 0;
}

} // namespace

bool isAnnotationColumn(const std::string &name)
{
    for (const char *prefix : {"measured:", "std:", "lower:", "upper:", "extrapolated:"})
        if (name.rfind(prefix, 0) == 0)
            return true;
    return false;
}

int Table::column(const std::string &name) const
{
    const auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
}

Table readTable(const std::string &path)
{
    std::ifstream in(path);
    if (!in)
        throw Error("cannot open " + path);
    Table table;
    std::string line;
    int lineNumber = 0;
    std::vector<std::vector<double>> rows;
    while (std::getline(in, line)) {
        ++lineNumber;
        if (trim(line).empty())
            continue;
        const auto cells = fields(line);
        if (table.header.empty()) {
            std::set<std::string> seen;
            for (const auto &name : cells) {
                if (name.empty())
                    throw Error(path + ": line " + std::to_string(lineNumber) +
                                " has an empty column name");
                if (!seen.insert(name).second)
                    throw Error(path + ": column '" + name + "' appears twice");
            }
            table.header = cells;
            continue;
        }
        if (cells.size() != table.header.size())
            throw Error(path + ": line " + std::to_string(lineNumber) + " has " +
                        std::to_string(cells.size()) + " fields, the header has " +
                        std::to_string(table.header.size()));
        std::vector<double> row;
        for (std::size_t k = 0; k < cells.size(); ++k) {
            if (cells[k].empty()) {
                row.push_back(std::numeric_limits<double>::quiet_NaN());
                continue;
            }
            char *end = nullptr;
            errno = 0;
            const double value = std::strtod(cells[k].c_str(), &end);
            if (end == cells[k].c_str() || *end != '\0')
                throw Error(path + ": line " + std::to_string(lineNumber) + ", column '" +
                            table.header[k] + "': '" + cells[k] + "' is not a number");
            row.push_back(value);
        }
        rows.push_back(std::move(row));
    }
    if (table.header.empty())
        throw Error(path + " is empty (expected a header line and rows of numbers)");
    table.values.resize(static_cast<Eigen::Index>(rows.size()),
                        static_cast<Eigen::Index>(table.header.size()));
    for (std::size_t r = 0; r < rows.size(); ++r)
        for (std::size_t k = 0; k < rows[r].size(); ++k)
            table.values(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(k)) = rows[r][k];
    return table;
}

std::string formatTable(const Table &table)
{
    std::ostringstream out;
    for (std::size_t k = 0; k < table.header.size(); ++k)
        out << (k ? "," : "") << table.header[k];
    out << "\n";
    char buffer[32];
    for (Eigen::Index r = 0; r < table.values.rows(); ++r) {
        for (Eigen::Index k = 0; k < table.values.cols(); ++k) {
            const double v = table.values(r, k);
            if (k)
                out << ",";
            if (!std::isnan(v)) {
                std::snprintf(buffer, sizeof buffer, "%.17g", v);
                out << buffer;
            }
        }
        out << "\n";
    }
    return out.str();
}

void writeTable(const std::string &path, const Table &table)
{
    writeFileAtomically(path, formatTable(table));
}

SampleTable samplesFromTable(const Table &table, const std::string &path,
                             const std::vector<std::string> &minimize, Link link)
{
    std::vector<int> coefficientColumns, metricColumns;
    for (std::size_t k = 0; k < table.header.size(); ++k) {
        if (isCoefficient(table.header[k]))
            coefficientColumns.push_back(static_cast<int>(k));
        else if (!isAnnotationColumn(table.header[k]))
            metricColumns.push_back(static_cast<int>(k));
    }
    if (coefficientColumns.empty())
        throw Error(path + " has no coefficient column (named c:<task>)");
    if (metricColumns.empty())
        throw Error(path + " has no metric column (every column not named c:<task>)");
    for (const std::string &name : minimize)
        if (std::find_if(metricColumns.begin(), metricColumns.end(), [&](int k) {
                return table.header[static_cast<std::size_t>(k)] == name;
            }) == metricColumns.end())
            throw Error("--minimize " + name + ": " + path + " has no metric column of that name");
    if (table.values.rows() == 0)
        throw Error(path + " has a header but no samples");

    SampleTable out;
    Problem &problem = out.problem;
    const auto n = static_cast<Eigen::Index>(coefficientColumns.size());
    const auto m = static_cast<Eigen::Index>(metricColumns.size());
    out.samples.c.resize(table.values.rows(), n);
    out.samples.y.resize(table.values.rows(), m);
    for (Eigen::Index j = 0; j < n; ++j) {
        const int k = coefficientColumns[static_cast<std::size_t>(j)];
        const std::string &name = table.header[static_cast<std::size_t>(k)];
        problem.coefficients.push_back(name.substr(2));
        out.samples.c.col(j) = table.values.col(k);
    }
    for (Eigen::Index j = 0; j < m; ++j) {
        const int k = metricColumns[static_cast<std::size_t>(j)];
        const std::string &name = table.header[static_cast<std::size_t>(k)];
        const bool minimized = std::find(minimize.begin(), minimize.end(), name) != minimize.end();
        problem.metrics.push_back(
            {name, minimized ? Direction::Minimize : Direction::Maximize, link});
        out.samples.y.col(j) = table.values.col(k);
    }
    auto checkColumn = [&](const Eigen::VectorXd &values, const std::string &name,
                           bool coefficient) {
        for (Eigen::Index i = 0; i < values.size(); ++i)
            if (!std::isfinite(values[i]))
                throw Error(path + ": column '" + name + "', sample " + std::to_string(i + 1) +
                            " is not a finite number");
        if (values.maxCoeff() == values.minCoeff())
            throw Error(path + ": column '" + name + "' has the same value in every sample" +
                        (coefficient ? " (vary that coefficient, or drop the column)"
                                     : " (a constant metric has no trade-off to fit)"));
    };
    for (Eigen::Index j = 0; j < n; ++j)
        checkColumn(out.samples.c.col(j), "c:" + problem.coefficients[static_cast<std::size_t>(j)],
                    true);
    for (Eigen::Index j = 0; j < m; ++j)
        checkColumn(out.samples.y.col(j), problem.metrics[static_cast<std::size_t>(j)].name, false);
    problem.lower = out.samples.c.colwise().minCoeff().transpose();
    problem.upper = out.samples.c.colwise().maxCoeff().transpose();
    return out;
}

Eigen::MatrixXd objectivesFromTable(const Table &table, const std::string &path,
                                    const std::vector<std::string> &names,
                                    const std::vector<std::string> &minimize)
{
    Eigen::MatrixXd out(table.values.rows(), static_cast<Eigen::Index>(names.size()));
    for (std::size_t j = 0; j < names.size(); ++j) {
        const int k = table.column(names[j]);
        if (k < 0)
            throw Error(path + " has no column '" + names[j] + "'");
        const bool minimized =
            std::find(minimize.begin(), minimize.end(), names[j]) != minimize.end();
        out.col(static_cast<Eigen::Index>(j)) = table.values.col(k) * (minimized ? -1.0 : 1.0);
        for (Eigen::Index i = 0; i < out.rows(); ++i)
            if (!std::isfinite(out(i, static_cast<Eigen::Index>(j))))
                throw Error(path + ": column '" + names[j] + "', row " + std::to_string(i + 1) +
                            " is not a finite number");
    }
    return out;
}

Table frontTable(const Problem &problem, const Front &front)
{
    Table table;
    for (const auto &name : problem.coefficients)
        table.header.push_back("c:" + name);
    for (const char *prefix : {"", "std:", "lower:", "upper:"})
        for (const auto &metric : problem.metrics)
            table.header.push_back(prefix + metric.name);
    // 1 where the prediction is beyond every measured value of the metric (0 when not marked).
    for (const auto &metric : problem.metrics)
        table.header.push_back("extrapolated:" + metric.name);
    const Eigen::MatrixXd extrapolated =
        front.extrapolated.rows() == front.size()
            ? front.extrapolated.cast<double>().eval()
            : Eigen::MatrixXd::Zero(front.size(), problem.metricCount()).eval();
    table.values.resize(front.size(), problem.dimension() + 5 * problem.metricCount());
    if (front.size() > 0)
        table.values << front.coefficients, front.metrics, front.stddev, front.lower, front.upper,
            extrapolated;
    return table;
}

} // namespace mf::project
