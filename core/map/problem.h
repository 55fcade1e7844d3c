// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <Eigen/Core>

#include <string>
#include <vector>

namespace mf::map {

enum class Direction { Maximize, Minimize };

/// How a metric is mapped before the quadratic is fitted (METHOD.md section 4).
enum class Link {
    Auto,     ///< logit when every value lies in (0,1), log when every value is > 0, else identity
    Identity, ///< g(y) = y
    Logit,    ///< g(y) = log(y / (1 - y)); for accuracies
    Log,      ///< g(y) = log(y); for positive losses
};

const char *linkName(Link link);         ///< "auto", "identity", "logit", "log"
Link parseLink(const std::string &name); ///< throws mf::Error

struct Metric {
    std::string name;
    Direction direction = Direction::Maximize;
    Link link = Link::Auto;
};

/// N coefficients, each in a box [lower, upper], and M metrics.
struct Problem {
    std::vector<std::string> coefficients; ///< task names, one per coefficient
    Eigen::VectorXd lower;                 ///< per coefficient (default 0)
    Eigen::VectorXd upper;                 ///< per coefficient (default 1)
    std::vector<Metric> metrics;

    int dimension() const { return static_cast<int>(coefficients.size()); }
    int metricCount() const { return static_cast<int>(metrics.size()); }
    /// Throws mf::Error when the box is empty or not finite, or names are missing.
    void validate() const;
};

/// Samples: row i of `c` is a coefficient vector, row i of `y` its M measured metrics.
struct Samples {
    Eigen::MatrixXd c; ///< n x N
    Eigen::MatrixXd y; ///< n x M
    int count() const { return static_cast<int>(c.rows()); }
};

/// Metrics as objectives to maximize: minimized metrics change sign.
Eigen::MatrixXd toObjectives(const Problem &problem, const Eigen::MatrixXd &metrics);
Eigen::VectorXd toObjectives(const Problem &problem, const Eigen::VectorXd &metrics);

} // namespace mf::map
