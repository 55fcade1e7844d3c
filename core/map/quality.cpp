// SPDX-License-Identifier: GPL-3.0-or-later
#include "map/quality.h"

#include "map/front.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mf::map {

namespace {

using Points = std::vector<Eigen::VectorXd>;

double volume2d(Points points, const Eigen::VectorXd &ref)
{
    std::sort(points.begin(), points.end(),
              [](const Eigen::VectorXd &a, const Eigen::VectorXd &b) { return a[0] > b[0]; });
    double total = 0, top = ref[1];
    for (const auto &p : points) {
        if (p[1] > top) {
            total += (p[0] - ref[0]) * (p[1] - top);
            top = p[1];
        }
    }
    return total;
}

Points nondominatedOf(const Points &points)
{
    if (points.empty())
        return {};
    Eigen::MatrixXd matrix(static_cast<Eigen::Index>(points.size()), points.front().size());
    for (std::size_t i = 0; i < points.size(); ++i)
        matrix.row(static_cast<Eigen::Index>(i)) = points[i].transpose();
    Points out;
    for (int i : nonDominated(matrix))
        out.push_back(points[static_cast<std::size_t>(i)]);
    return out;
}

/// 3 objectives: sweep the third downwards, keeping the 2-D staircase of the points above
/// the sweep plane and its area. O(n²) worst case, exact.
double volume3d(Points points, const Eigen::VectorXd &ref)
{
    std::sort(points.begin(), points.end(),
              [](const Eigen::VectorXd &a, const Eigen::VectorXd &b) { return a[2] > b[2]; });
    std::vector<std::pair<double, double>> stair; // (x, y) with x decreasing, y increasing
    double area = 0, total = 0;
    for (std::size_t k = 0; k < points.size(); ++k) {
        const double x = points[k][0], y = points[k][1];
        // Dominated in (x, y) by the staircase: adds nothing to the area.
        bool covered = false;
        for (const auto &s : stair)
            if (s.first >= x && s.second >= y) {
                covered = true;
                break;
            }
        if (!covered) {
            std::vector<std::pair<double, double>> next;
            for (const auto &s : stair)
                if (!(x >= s.first && y >= s.second))
                    next.push_back(s);
            next.emplace_back(x, y);
            std::sort(next.begin(), next.end(),
                      [](const auto &a, const auto &b) { return a.first > b.first; });
            stair = std::move(next);
            area = 0;
            double top = ref[1];
            for (const auto &s : stair) {
                if (s.second > top) {
                    area += (s.first - ref[0]) * (s.second - top);
                    top = s.second;
                }
            }
        }
        const double below = k + 1 < points.size() ? points[k + 1][2] : ref[2];
        total += area * (points[k][2] - below);
    }
    return total;
}

double wfg(Points points, const Eigen::VectorXd &ref)
{
    if (points.empty())
        return 0;
    if (ref.size() == 2)
        return volume2d(points, ref);
    if (ref.size() == 3)
        return volume3d(points, ref);
    // Sorting by the last objective keeps the limit sets small.
    const Eigen::Index last = ref.size() - 1;
    std::sort(
        points.begin(), points.end(),
        [last](const Eigen::VectorXd &a, const Eigen::VectorXd &b) { return a[last] > b[last]; });
    double total = 0;
    for (std::size_t k = 0; k < points.size(); ++k) {
        const double inclusive = (points[k] - ref).prod();
        Points limited;
        for (std::size_t j = k + 1; j < points.size(); ++j)
            limited.push_back(points[k].cwiseMin(points[j]));
        total += inclusive - wfg(nondominatedOf(limited), ref);
    }
    return total;
}

} // namespace

double hypervolume(const Eigen::MatrixXd &points, const Eigen::VectorXd &reference)
{
    if (points.cols() != reference.size())
        throw Error("hypervolume: points and reference point differ in dimension");
    Points valid;
    for (Eigen::Index i = 0; i < points.rows(); ++i)
        if ((points.row(i).transpose().array() > reference.array()).all())
            valid.push_back(points.row(i).transpose());
    if (reference.size() == 1) {
        double best = reference[0];
        for (const auto &p : valid)
            best = std::max(best, p[0]);
        return best - reference[0];
    }
    return wfg(nondominatedOf(valid), reference);
}

FrontQuality frontQuality(const Eigen::MatrixXd &front, const Eigen::MatrixXd &truth)
{
    if (front.rows() == 0 || truth.rows() == 0)
        throw Error("front quality needs a non-empty front and a non-empty truth");
    if (front.cols() != truth.cols())
        throw Error("the front has " + std::to_string(front.cols()) + " objectives, the truth " +
                    std::to_string(truth.cols()));
    if (!front.allFinite() || !truth.allFinite())
        throw Error("front quality: a value is not a finite number");
    const Eigen::RowVectorXd lo = truth.colwise().minCoeff(), hi = truth.colwise().maxCoeff();
    const Eigen::RowVectorXd range = (hi - lo).unaryExpr([](double r) { return r > 0 ? r : 1.0; });
    auto normalize = [&](const Eigen::MatrixXd &x) {
        Eigen::MatrixXd out = x;
        for (Eigen::Index i = 0; i < x.rows(); ++i)
            out.row(i) = (x.row(i) - lo).cwiseQuotient(range);
        return out;
    };
    const Eigen::MatrixXd f = normalize(front), t = normalize(truth);

    FrontQuality q;
    for (Eigen::Index i = 0; i < f.rows(); ++i) {
        double nearest = std::numeric_limits<double>::infinity();
        for (Eigen::Index j = 0; j < t.rows(); ++j)
            nearest = std::min(nearest, (f.row(i) - t.row(j)).norm());
        q.gd += nearest / static_cast<double>(f.rows());
    }
    int won = 0;
    for (Eigen::Index j = 0; j < t.rows(); ++j) {
        double nearest = std::numeric_limits<double>::infinity(), nearestPlus = nearest;
        bool covered = false;
        for (Eigen::Index i = 0; i < f.rows(); ++i) {
            nearest = std::min(nearest, (f.row(i) - t.row(j)).norm());
            // IGD+ for maximization: only the objectives where the front point is worse.
            nearestPlus = std::min(nearestPlus, (t.row(j) - f.row(i)).cwiseMax(0.0).norm());
            covered = covered || (front.row(i).array() >= truth.row(j).array()).all();
        }
        q.igd += nearest / static_cast<double>(t.rows());
        q.igdPlus += nearestPlus / static_cast<double>(t.rows());
        won += covered;
    }
    q.winRate = static_cast<double>(won) / static_cast<double>(t.rows());
    const Eigen::VectorXd reference = Eigen::VectorXd::Constant(truth.cols(), -0.1);
    q.hypervolume = hypervolume(f, reference);
    q.hypervolumeTruth = hypervolume(t, reference);
    return q;
}

double hypervolumeImprovement(const Eigen::MatrixXd &base, const Eigen::RowVectorXd &point,
                              const Eigen::VectorXd &ref)
{
    const Eigen::Index m = point.size();
    if ((point.array() <= ref.transpose().array()).any())
        return 0;
    Eigen::MatrixXd limited(base.rows(), m);
    Eigen::Index count = 0;
    for (Eigen::Index r = 0; r < base.rows(); ++r) {
        if ((base.row(r).array() >= point.array()).all())
            return 0; // dominated already
        const Eigen::RowVectorXd l = base.row(r).cwiseMin(point);
        if ((l.array() > ref.transpose().array()).all())
            limited.row(count++) = l;
    }
    const double box = (point.transpose() - ref).prod();
    if (count == 0)
        return box;
    limited.conservativeResize(count, m);
    const std::vector<int> kept = nonDominated(limited);
    Eigen::MatrixXd front(static_cast<Eigen::Index>(kept.size()), m);
    for (std::size_t i = 0; i < kept.size(); ++i)
        front.row(static_cast<Eigen::Index>(i)) = limited.row(kept[i]);
    return std::max(0.0, box - hypervolume(front, ref));
}

} // namespace mf::map
