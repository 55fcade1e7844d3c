// SPDX-License-Identifier: GPL-3.0-or-later
// Analytic test problems with known answers, shared by the MAP engine's tests.
#pragma once

#include "map/problem.h"

#include <Eigen/Core>

#include <cmath>
#include <string>

namespace mftest {

inline mf::map::Problem unitProblem(int n, int m, mf::map::Link link = mf::map::Link::Auto)
{
    mf::map::Problem p;
    for (int i = 0; i < n; ++i)
        p.coefficients.push_back("t" + std::to_string(i));
    for (int j = 0; j < m; ++j)
        p.metrics.push_back({"m" + std::to_string(j), mf::map::Direction::Maximize, link});
    p.lower = Eigen::VectorXd::Zero(n);
    p.upper = Eigen::VectorXd::Ones(n);
    return p;
}

inline double sigmoid(double x)
{
    return 1 / (1 + std::exp(-x));
}

/// Two metrics, each exactly sigmoid(2 - 4 |c - p_m|²) with optima p_0 = (0.8, 0.2) and
/// p_1 = (0.2, 0.8): the Pareto set is the segment between the optima.
inline Eigen::MatrixXd twoPeaks(const Eigen::MatrixXd &c)
{
    Eigen::MatrixXd y(c.rows(), 2);
    for (Eigen::Index r = 0; r < c.rows(); ++r) {
        const double a = std::pow(c(r, 0) - 0.8, 2) + std::pow(c(r, 1) - 0.2, 2);
        const double b = std::pow(c(r, 0) - 0.2, 2) + std::pow(c(r, 1) - 0.8, 2);
        y(r, 0) = sigmoid(2 - 4 * a);
        y(r, 1) = sigmoid(2 - 4 * b);
    }
    return y;
}

/// N metrics, metric t exactly sigmoid(2 - 4 |c - p_t|²) with p_t = 0.2 + 0.6 e_t: an
/// (N-1)-dimensional front between the optima. For N = 2 this is twoPeaks.
inline Eigen::MatrixXd peaks(const Eigen::MatrixXd &c)
{
    const Eigen::Index n = c.cols();
    Eigen::MatrixXd y(c.rows(), n);
    for (Eigen::Index r = 0; r < c.rows(); ++r)
        for (Eigen::Index t = 0; t < n; ++t) {
            Eigen::VectorXd optimum = Eigen::VectorXd::Constant(n, 0.2);
            optimum[t] = 0.8;
            y(r, t) = sigmoid(2 - 4 * (c.row(r).transpose() - optimum).squaredNorm());
        }
    return y;
}

/// Merging-like: task t rises with its own coefficient, suffers interference from the others,
/// and every accuracy collapses when the coefficients sum past ~1.3. Not a quadratic.
inline Eigen::MatrixXd mergeLike(const Eigen::MatrixXd &c)
{
    const Eigen::Index n = c.cols();
    Eigen::MatrixXd y(c.rows(), n);
    for (Eigen::Index r = 0; r < c.rows(); ++r)
        for (Eigen::Index t = 0; t < n; ++t) {
            double others = 0;
            for (Eigen::Index s = 0; s < n; ++s)
                if (s != t)
                    others += c(r, s) * (1.0 + 0.3 * static_cast<double>((s + t) % 3));
            const double own = c(r, t);
            const double q = -1.5 + 4.0 * own - 1.2 * own * own * own - 1.4 * others * others / n -
                             0.8 * own * others;
            const double collapse = 1 / (1 + std::exp(8 * (c.row(r).sum() - 1.3)));
            y(r, t) = 0.1 + 0.85 * collapse / (1 + std::exp(-q));
        }
    return y;
}

} // namespace mftest
