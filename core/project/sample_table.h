// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "map/front.h"
#include "map/problem.h"

#include <Eigen/Core>

#include <string>
#include <vector>

namespace mf::project {

using map::Front;
using map::Link;
using map::Problem;
using map::Samples;

/// A numeric CSV table: a header of column names, then rows of numbers. Empty cells are
/// NaN (e.g. a `measured:<task>` column of a point never evaluated).
struct Table {
    std::vector<std::string> header;
    Eigen::MatrixXd values;
    int column(const std::string &name) const; ///< -1 when absent
};

/// Reads a CSV file. Throws mf::Error naming the file, line and column on an empty file,
/// a duplicate or empty column name, a row with the wrong number of fields, or a cell that
/// is not a number.
Table readTable(const std::string &path);

/// Writes a CSV file atomically (temporary file + rename). NaN cells are written empty.
void writeTable(const std::string &path, const Table &table);
/// The CSV text writeTable writes.
std::string formatTable(const Table &table);

/// CLI.md's sample convention: `c:<task>` columns are coefficients, every other column is
/// a metric (maximized unless named in `minimize`). Refuses NaN/inf, constant coefficient
/// columns, constant metric columns, missing columns, and names in `minimize` that are not
/// metric columns; each message names the file and the column.
struct SampleTable {
    Problem problem; ///< box = the samples' bounding box
    Samples samples;
};
SampleTable samplesFromTable(const Table &table, const std::string &path,
                             const std::vector<std::string> &minimize, Link link);

/// Metric columns of a table as objectives (maximized), in the order of `names`.
Eigen::MatrixXd objectivesFromTable(const Table &table, const std::string &path,
                                    const std::vector<std::string> &names,
                                    const std::vector<std::string> &minimize);

/// measured:<m>, std:<m>, lower:<m>, upper:<m>, extrapolated:<m>: what a front CSV carries beside
/// its metrics, never a metric column when a CSV is read as samples or as a front.
bool isAnnotationColumn(const std::string &name);

/// A front as CLI.md's CSV: `c:<task>` columns, then the predicted metric columns.
Table frontTable(const Problem &problem, const Front &front);

} // namespace mf::project
