// SPDX-License-Identifier: GPL-3.0-or-later
#include "map/design.h"

#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace mf::map {

Eigen::MatrixXd stackRows(const Eigen::MatrixXd &top, const Eigen::MatrixXd &bottom)
{
    if (top.rows() == 0)
        return bottom;
    if (bottom.rows() == 0)
        return top;
    Eigen::MatrixXd out(top.rows() + bottom.rows(), top.cols());
    out << top, bottom;
    return out;
}

Eigen::MatrixXd oneHotDesign(const Problem &problem)
{
    const int n = problem.dimension();
    Eigen::MatrixXd out = problem.lower.transpose().replicate(n, 1);
    for (int i = 0; i < n; ++i)
        out(i, i) = problem.upper[i];
    return out;
}

Eigen::MatrixXd diagonalDesign(const Problem &problem, int count)
{
    Eigen::MatrixXd out(count, problem.dimension());
    for (int k = 0; k < count; ++k) {
        const double t = (k + 1.0) / (count + 1.0);
        out.row(k) = (problem.lower + t * (problem.upper - problem.lower)).transpose();
    }
    return out;
}

Eigen::MatrixXd latinHypercube(const Problem &problem, int count, std::uint64_t seed)
{
    const int n = problem.dimension();
    if (count <= 0)
        return Eigen::MatrixXd(0, n);
    std::mt19937_64 random(seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    Eigen::MatrixXd best;
    double bestDistance = -1;
    // Maximin over several hypercubes for small designs (samples); one for large candidate sets.
    const int tries = count <= 200 ? 20 : 1;
    for (int attempt = 0; attempt < tries; ++attempt) {
        Eigen::MatrixXd unit(count, n);
        std::vector<int> order(static_cast<std::size_t>(count));
        for (int j = 0; j < n; ++j) {
            std::iota(order.begin(), order.end(), 0);
            std::shuffle(order.begin(), order.end(), random);
            for (int i = 0; i < count; ++i)
                unit(i, j) = (order[static_cast<std::size_t>(i)] + uniform(random)) / count;
        }
        double smallest = std::numeric_limits<double>::infinity();
        if (tries > 1)
            for (int a = 0; a < count; ++a)
                for (int b = a + 1; b < count; ++b)
                    smallest = std::min(smallest, (unit.row(a) - unit.row(b)).squaredNorm());
        if (smallest > bestDistance) {
            bestDistance = smallest;
            best = unit;
        }
    }
    Eigen::MatrixXd out(count, n);
    for (int i = 0; i < count; ++i)
        out.row(i) = (problem.lower.array() +
                      best.row(i).transpose().array() * (problem.upper - problem.lower).array())
                         .transpose();
    return out;
}

Eigen::MatrixXd gridDesign(const Problem &problem, int levels, std::int64_t limit)
{
    const int n = problem.dimension();
    if (levels < 2)
        throw Error("a grid needs at least 2 levels per coefficient");
    double total = std::pow(static_cast<double>(levels), n);
    if (total > static_cast<double>(limit))
        throw Error("a " + std::to_string(levels) + "-level grid over " + std::to_string(n) +
                    " coefficients has " + std::to_string(static_cast<long long>(total)) +
                    " points, more than " + std::to_string(limit));
    const auto points = static_cast<Eigen::Index>(total);
    Eigen::MatrixXd out(points, n);
    for (Eigen::Index k = 0; k < points; ++k) {
        Eigen::Index rest = k;
        for (int j = n - 1; j >= 0; --j) {
            const double t = static_cast<double>(rest % levels) / (levels - 1);
            rest /= levels;
            out(k, j) = problem.lower[j] + t * (problem.upper[j] - problem.lower[j]);
        }
    }
    return out;
}

Eigen::MatrixXd initialDesign(const Problem &problem, int budget, std::uint64_t seed)
{
    Eigen::MatrixXd design = stackRows(oneHotDesign(problem), diagonalDesign(problem, 1));
    if (budget <= design.rows())
        return design.topRows(std::max(budget, 0));
    return stackRows(design,
                     latinHypercube(problem, budget - static_cast<int>(design.rows()), seed));
}

} // namespace mf::map
