// SPDX-License-Identifier: GPL-3.0-or-later
#include "map/front.h"

#include "map/design.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

namespace mf::map {

namespace {

bool dominates(const Eigen::MatrixXd &o, Eigen::Index a, Eigen::Index b)
{
    bool strictly = false;
    for (Eigen::Index m = 0; m < o.cols(); ++m) {
        if (o(a, m) < o(b, m))
            return false;
        strictly = strictly || o(a, m) > o(b, m);
    }
    return strictly;
}

/// Evenly spread unit-simplex directions: a lattice for M <= 3, seeded random otherwise.
std::vector<Eigen::VectorXd> directions(int m, int count, std::uint64_t seed)
{
    std::vector<Eigen::VectorXd> out;
    if (m == 1) {
        out.push_back(Eigen::VectorXd::Ones(1));
    } else if (m == 2) {
        for (int k = 0; k < count; ++k) {
            const double t = (k + 0.5) / count;
            out.push_back((Eigen::VectorXd(2) << t, 1 - t).finished());
        }
    } else if (m == 3) {
        int h = 1;
        while ((h + 2) * (h + 1) / 2 < count)
            ++h;
        for (int i = 0; i <= h; ++i)
            for (int j = 0; i + j <= h; ++j)
                out.push_back((Eigen::VectorXd(3) << i + 0.1, j + 0.1, h - i - j + 0.1).finished() /
                              (h + 0.3));
    } else {
        std::mt19937_64 random(seed);
        std::exponential_distribution<double> exponential(1.0);
        for (int k = 0; k < count; ++k) {
            Eigen::VectorXd w(m);
            for (int i = 0; i < m; ++i)
                w[i] = exponential(random);
            out.push_back(w / w.sum());
        }
        for (int i = 0; i < m; ++i) // the axis directions too (each metric's own best)
            out.push_back(Eigen::VectorXd::Unit(m, i) * 0.97 +
                          Eigen::VectorXd::Constant(m, 0.03 / m));
    }
    return out;
}

/// Achievement scalarizing function to minimize: max_m w_m (ideal_m - o_m) / range_m.
double asf(const Eigen::VectorXd &objectives, const Eigen::VectorXd &ideal,
           const Eigen::VectorXd &range, const Eigen::VectorXd &w)
{
    double worst = -std::numeric_limits<double>::infinity(), sum = 0;
    for (Eigen::Index m = 0; m < objectives.size(); ++m) {
        const double term = w[m] * (ideal[m] - objectives[m]) / range[m];
        worst = std::max(worst, term);
        sum += term;
    }
    return worst + 1e-4 * sum; // augmented: no weakly dominated optima
}

/// Gradients of the objectives (maximized, divided by their range) at x, one per row;
/// components that would leave the box at an active bound are zeroed.
Eigen::MatrixXd objectiveGradients(const Problem &problem, const std::vector<Surrogate> &surrogates,
                                   const Eigen::VectorXd &x, const Eigen::VectorXd &range,
                                   const Problem &region)
{
    const int m = problem.metricCount(), n = problem.dimension();
    Eigen::MatrixXd g(m, n);
    Eigen::VectorXd gradient;
    for (int k = 0; k < m; ++k) {
        surrogates[static_cast<std::size_t>(k)].predict(x, gradient);
        const double sign =
            problem.metrics[static_cast<std::size_t>(k)].direction == Direction::Minimize ? -1 : 1;
        g.row(k) = (sign / range[k]) * gradient.transpose();
    }
    for (int j = 0; j < n; ++j)
        for (int k = 0; k < m; ++k)
            if ((x[j] <= region.lower[j] && g(k, j) < 0) ||
                (x[j] >= region.upper[j] && g(k, j) > 0))
                g(k, j) = 0;
    return g;
}

/// The min-norm point of the convex hull of the rows of g (Frank-Wolfe): a direction that
/// improves every objective, or about zero at a Pareto-stationary point.
Eigen::VectorXd commonAscent(const Eigen::MatrixXd &g)
{
    const Eigen::Index m = g.rows();
    Eigen::VectorXd alpha = Eigen::VectorXd::Constant(m, 1.0 / static_cast<double>(m));
    const Eigen::MatrixXd gram = g * g.transpose();
    for (int iteration = 0; iteration < 50; ++iteration) {
        const Eigen::VectorXd gradient = gram * alpha;
        Eigen::Index t = 0;
        gradient.minCoeff(&t);
        const Eigen::VectorXd direction = Eigen::VectorXd::Unit(m, t) - alpha;
        const double curvature = direction.dot(gram * direction);
        if (curvature <= 1e-18)
            break;
        const double step = std::clamp(-direction.dot(gradient) / curvature, 0.0, 1.0);
        if (step <= 1e-12)
            break;
        alpha += step * direction;
    }
    return g.transpose() * alpha;
}

} // namespace

std::vector<int> nonDominated(const Eigen::MatrixXd &objectives)
{
    const Eigen::Index n = objectives.rows();
    // A point can only be dominated by one with a larger sum: visit in decreasing sum and
    // compare with the kept points only.
    std::vector<int> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    const Eigen::VectorXd sums = objectives.rowwise().sum();
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sums[a] > sums[b]; });
    std::vector<int> kept;
    for (int i : order) {
        if (!objectives.row(i).allFinite())
            continue;
        bool dominated = false;
        for (int k : kept)
            if (dominates(objectives, k, i) || objectives.row(k) == objectives.row(i)) {
                dominated = true;
                break;
            }
        if (!dominated)
            kept.push_back(i);
    }
    std::stable_sort(kept.begin(), kept.end(), [&](int a, int b) {
        return objectives(a, 0) != objectives(b, 0) ? objectives(a, 0) > objectives(b, 0) : a < b;
    });
    return kept;
}

Eigen::MatrixXd patternSearches(
    Eigen::MatrixXd x, Eigen::VectorXd &best, const Eigen::VectorXd &lower,
    const Eigen::VectorXd &upper, const Eigen::VectorXd &width, double step, double finalStep,
    double margin,
    const std::function<Eigen::VectorXd(const Eigen::MatrixXd &, const std::vector<Eigen::Index> &)>
        &scores)
{
    const Eigen::Index k = x.rows(), n = x.cols();
    Eigen::VectorXd steps = Eigen::VectorXd::Constant(k, step);
    std::vector<Eigen::Index> running, owner;
    Eigen::MatrixXd trials;
    for (;;) {
        running.clear();
        for (Eigen::Index i = 0; i < k; ++i)
            if (steps[i] > finalStep)
                running.push_back(i);
        if (running.empty())
            return x;
        const auto count = static_cast<Eigen::Index>(running.size());
        trials.resize(2 * n * count, n);
        owner.resize(static_cast<std::size_t>(trials.rows()));
        for (Eigen::Index a = 0; a < count; ++a) {
            const Eigen::Index i = running[static_cast<std::size_t>(a)];
            for (Eigen::Index j = 0; j < n; ++j)
                for (int side = 0; side < 2; ++side) {
                    const Eigen::Index row = 2 * n * a + 2 * j + side;
                    trials.row(row) = x.row(i);
                    trials(row, j) = std::clamp(x(i, j) + (side ? -steps[i] : steps[i]) * width[j],
                                                lower[j], upper[j]);
                    owner[static_cast<std::size_t>(row)] = i;
                }
        }
        const Eigen::VectorXd values = scores(trials, owner);
        for (Eigen::Index a = 0; a < count; ++a) {
            const Eigen::Index i = running[static_cast<std::size_t>(a)];
            Eigen::Index winner = -1;
            for (Eigen::Index t = 2 * n * a; t < 2 * n * (a + 1); ++t)
                if (values[t] < best[i] - margin) {
                    best[i] = values[t];
                    winner = t;
                }
            if (winner >= 0)
                x.row(i) = trials.row(winner);
            else
                steps[i] /= 2;
        }
    }
}

Eigen::VectorXd patternSearch(Eigen::VectorXd x, double &best, const Eigen::VectorXd &lower,
                              const Eigen::VectorXd &upper, const Eigen::VectorXd &width,
                              double step, double finalStep, double margin,
                              const std::function<Eigen::VectorXd(const Eigen::MatrixXd &)> &scores)
{
    Eigen::VectorXd bests = Eigen::VectorXd::Constant(1, best);
    const Eigen::MatrixXd out =
        patternSearches(x.transpose(), bests, lower, upper, width, step, finalStep, margin,
                        [&](const Eigen::MatrixXd &trials, const std::vector<Eigen::Index> &) {
                            return scores(trials);
                        });
    best = bests[0];
    return out.row(0).transpose();
}

void markExtrapolation(const Problem &problem, const Samples &measured, Front &front)
{
    const int m = problem.metricCount();
    front.extrapolated = Eigen::MatrixXi::Zero(front.size(), m);
    for (int k = 0; k < m; ++k) {
        const bool maximize =
            problem.metrics[static_cast<std::size_t>(k)].direction == Direction::Maximize;
        double best = std::numeric_limits<double>::quiet_NaN();
        for (Eigen::Index r = 0; r < measured.y.rows(); ++r) {
            const double v = measured.y(r, k);
            if (std::isfinite(v) && (!std::isfinite(best) || (maximize ? v > best : v < best)))
                best = v;
        }
        if (!std::isfinite(best))
            continue;
        for (int i = 0; i < front.size(); ++i)
            front.extrapolated(i, k) =
                maximize ? front.metrics(i, k) > best : front.metrics(i, k) < best;
    }
}

MetricPredictor::MetricPredictor(const std::vector<Surrogate> &surrogates)
    : m_surrogates(surrogates)
{
    m_shared = !surrogates.empty();
    for (const auto &s : surrogates)
        m_shared = m_shared && s.sharesFeaturesWith(surrogates.front());
    if (!m_shared)
        return;
    m_trend.resize(surrogates.front().weights().size(),
                   static_cast<Eigen::Index>(surrogates.size()));
    for (std::size_t m = 0; m < surrogates.size(); ++m)
        m_trend.col(static_cast<Eigen::Index>(m)) = surrogates[m].weights();
    // Residual processes: the distances to the samples once for all that share them, the
    // kernel (its exponentials: most of a front's time) once for all that also share a length
    // scale, then one product with their weights side by side.
    std::vector<bool> done(surrogates.size(), false);
    const Surrogate *owner = nullptr;
    for (std::size_t m = 0; m < surrogates.size(); ++m) {
        const Surrogate &s = surrogates[m];
        if (!s.hasResidual() || done[m])
            continue;
        Group group;
        group.first = m;
        group.newDistances = !owner || !s.sharesResidualPointsWith(*owner);
        if (group.newDistances)
            owner = &s;
        for (std::size_t j = m; j < surrogates.size(); ++j)
            if (!done[j] && surrogates[j].hasResidual() &&
                surrogates[j].residualLengthScale() == s.residualLengthScale() &&
                (j == m || surrogates[j].sharesResidualPointsWith(s))) {
                group.members.push_back(j);
                done[j] = true;
            }
        group.weights.resize(s.residualWeights().size(),
                             static_cast<Eigen::Index>(group.members.size()));
        for (std::size_t g = 0; g < group.members.size(); ++g)
            group.weights.col(static_cast<Eigen::Index>(g)) =
                surrogates[group.members[g]].residualWeights();
        m_groups.push_back(std::move(group));
    }
}

Eigen::MatrixXd MetricPredictor::operator()(const Eigen::MatrixXd &coefficients) const
{
    // In blocks of rows whose temporaries (rows x samples) stay small: in the cache, and below
    // the allocator's mmap threshold (larger ones cost page faults on every call).
    constexpr Eigen::Index kBlock = 96;
    if (coefficients.rows() <= kBlock)
        return predictBlock(coefficients);
    Eigen::MatrixXd out(coefficients.rows(), static_cast<Eigen::Index>(m_surrogates.size()));
    for (Eigen::Index first = 0; first < coefficients.rows(); first += kBlock) {
        const Eigen::Index rows = std::min(kBlock, coefficients.rows() - first);
        out.middleRows(first, rows) = predictBlock(coefficients.middleRows(first, rows));
    }
    return out;
}

Eigen::MatrixXd MetricPredictor::predictBlock(const Eigen::MatrixXd &coefficients) const
{
    const std::vector<Surrogate> &surrogates = m_surrogates;
    Eigen::MatrixXd out(coefficients.rows(), static_cast<Eigen::Index>(surrogates.size()));
    if (!m_shared) {
        for (std::size_t m = 0; m < surrogates.size(); ++m)
            out.col(static_cast<Eigen::Index>(m)) = surrogates[m].predictRows(coefficients);
        return out;
    }
    // One feature matrix for every metric, one matrix product for all of them.
    out.noalias() = surrogates.front().featureRows(coefficients) * m_trend;
    Eigen::MatrixXd distances;
    for (const Group &group : m_groups) {
        const Surrogate &s = surrogates[group.first];
        if (group.newDistances)
            distances = s.residualDistances(coefficients);
        const Eigen::MatrixXd parts = s.residualKernel(distances) * group.weights;
        for (std::size_t g = 0; g < group.members.size(); ++g)
            out.col(static_cast<Eigen::Index>(group.members[g])) +=
                parts.col(static_cast<Eigen::Index>(g));
    }
    for (std::size_t m = 0; m < surrogates.size(); ++m)
        for (Eigen::Index i = 0; i < out.rows(); ++i)
            out(i, static_cast<Eigen::Index>(m)) =
                surrogates[m].inverseLink(out(i, static_cast<Eigen::Index>(m)));
    return out;
}

Eigen::MatrixXd predictMetrics(const std::vector<Surrogate> &surrogates,
                               const Eigen::MatrixXd &coefficients)
{
    return MetricPredictor(surrogates)(coefficients);
}

double spacing(const Eigen::MatrixXd &objectives)
{
    const Eigen::Index k = objectives.rows();
    if (k < 2)
        return 0;
    const Eigen::VectorXd lo = objectives.colwise().minCoeff(),
                          hi = objectives.colwise().maxCoeff();
    const Eigen::VectorXd range = (hi - lo).unaryExpr([](double r) { return r > 0 ? r : 1.0; });
    Eigen::MatrixXd unit = objectives;
    for (Eigen::Index i = 0; i < k; ++i)
        unit.row(i) = (objectives.row(i) - lo.transpose()).cwiseQuotient(range.transpose());
    Eigen::VectorXd nearest(k);
    for (Eigen::Index i = 0; i < k; ++i) {
        double best = std::numeric_limits<double>::infinity();
        for (Eigen::Index j = 0; j < k; ++j)
            if (j != i)
                best = std::min(best, (unit.row(i) - unit.row(j)).cwiseAbs().sum());
        nearest[i] = best;
    }
    const double mean = nearest.mean();
    return std::sqrt((nearest.array() - mean).square().sum() / static_cast<double>(k - 1));
}

Front computeFront(const Problem &problem, const std::vector<Surrogate> &surrogates,
                   const FrontOptions &options)
{
    const int n = problem.dimension(), m = problem.metricCount();
    if (static_cast<int>(surrogates.size()) != m)
        throw Error("one surrogate per metric expected");
    Problem region = problem;
    if (options.lower.size() == n && options.upper.size() == n) {
        region.lower = options.lower;
        region.upper = options.upper;
    }
    region.validate();

    // Candidates: a Latin hypercube, the corners (up to 2^10 of them), the one-hots.
    const int candidates = options.candidates > 0 ? options.candidates : (m <= 3 ? 3000 : 1500);
    Eigen::MatrixXd c =
        stackRows(latinHypercube(region, candidates, options.seed), oneHotDesign(region));
    if (n <= 10)
        c = stackRows(c, gridDesign(region, 2));
    const MetricPredictor predict(surrogates);
    Eigen::MatrixXd metrics = predict(c);
    Front front;
    front.evaluated = static_cast<int>(c.rows());

    // Local refinement of ASF problems, from the best candidate of each direction.
    Eigen::MatrixXd objectives = toObjectives(problem, metrics);
    const Eigen::VectorXd ideal = objectives.colwise().maxCoeff();
    const Eigen::VectorXd nadir = objectives.colwise().minCoeff();
    const Eigen::VectorXd range =
        (ideal - nadir).unaryExpr([](double r) { return r > 1e-12 ? r : 1.0; });
    const int starts = options.refineStarts > 0 ? options.refineStarts : (m <= 2 ? 60 : 80);
    const auto dirs = directions(m, starts, options.seed + 17);
    Eigen::MatrixXd refined(static_cast<Eigen::Index>(dirs.size()), n);
    const Eigen::VectorXd width = region.upper - region.lower;
    // Normalized gaps to the ideal point: the ASF of candidate i is max_m w_m gaps(i, m).
    Eigen::MatrixXd gaps = (-objectives).rowwise() + ideal.transpose();
    gaps = gaps * range.cwiseInverse().asDiagonal();
    // Each direction refined by pattern search from its best candidate, all of them in step
    // (one prediction call per round for every search still running).
    Eigen::VectorXd bestValues(refined.rows());
    for (std::size_t d = 0; d < dirs.size(); ++d) {
        const Eigen::VectorXd &w = dirs[d];
        Eigen::Index best = 0;
        const Eigen::VectorXd values =
            (gaps * w.asDiagonal()).rowwise().maxCoeff() + 1e-4 * (gaps * w);
        bestValues[static_cast<Eigen::Index>(d)] = values.minCoeff(&best);
        refined.row(static_cast<Eigen::Index>(d)) = c.row(best);
    }
    refined = patternSearches(
        refined, bestValues, region.lower, region.upper, width, 0.05, 2e-4, 0,
        [&](const Eigen::MatrixXd &trials, const std::vector<Eigen::Index> &owner) {
            const Eigen::MatrixXd o = toObjectives(problem, predict(trials));
            front.evaluated += static_cast<int>(trials.rows());
            Eigen::VectorXd value(trials.rows());
            for (Eigen::Index t = 0; t < trials.rows(); ++t)
                value[t] = asf(o.row(t).transpose(), ideal, range,
                               dirs[static_cast<std::size_t>(owner[static_cast<std::size_t>(t)])]);
            return value;
        });
    c = stackRows(c, refined);
    metrics = stackRows(metrics, predict(refined));
    objectives = toObjectives(problem, metrics);

    // Polish: a candidate can be non-dominated within the finite set yet dominated nearby.
    // Move each one along the common ascent direction of all objectives (the min-norm point
    // of the convex hull of their normalized gradients, MGDA) while that dominates it.
    std::vector<int> kept = nonDominated(objectives);
    for (int index : kept) {
        Eigen::VectorXd x = c.row(index).transpose();
        Eigen::VectorXd o = objectives.row(index).transpose();
        for (int iteration = 0; iteration < 12; ++iteration) {
            const Eigen::MatrixXd g = objectiveGradients(problem, surrogates, x, range, region);
            const Eigen::VectorXd d = commonAscent(g);
            if (d.norm() < 1e-9)
                break; // Pareto stationary
            bool moved = false;
            for (double step = 0.05 * width.norm() / d.norm(); step * d.norm() > 1e-6 && !moved;
                 step /= 2) {
                Eigen::VectorXd trial =
                    (x + step * d).cwiseMax(region.lower).cwiseMin(region.upper);
                Eigen::MatrixXd one = trial.transpose();
                const Eigen::VectorXd to =
                    toObjectives(problem, Eigen::VectorXd(predict(one).row(0).transpose()));
                ++front.evaluated;
                const Eigen::VectorXd delta = to - o;
                if ((delta.array() >= 0).all() && (delta.array() > 0).any()) {
                    x = trial;
                    o = to;
                    moved = true;
                }
            }
            if (!moved)
                break;
        }
        c.row(index) = x.transpose();
        objectives.row(index) = o.transpose();
    }
    metrics = predict(c);
    objectives = toObjectives(problem, metrics);
    kept = nonDominated(objectives);
    if (static_cast<int>(kept.size()) > options.maxPoints && options.maxPoints > 0) {
        // Thin evenly along the (sorted) front: keep every k-th point and both ends.
        std::vector<int> thinned;
        const double stride = static_cast<double>(kept.size() - 1) / (options.maxPoints - 1);
        for (int i = 0; i < options.maxPoints; ++i)
            thinned.push_back(kept[static_cast<std::size_t>(std::lround(i * stride))]);
        kept = thinned;
    }
    const auto k = static_cast<Eigen::Index>(kept.size());
    front.coefficients.resize(k, n);
    front.metrics.resize(k, m);
    front.stddev.resize(k, m);
    front.lower.resize(k, m);
    front.upper.resize(k, m);
    for (Eigen::Index i = 0; i < k; ++i) {
        front.coefficients.row(i) = c.row(kept[static_cast<std::size_t>(i)]);
        front.metrics.row(i) = metrics.row(kept[static_cast<std::size_t>(i)]);
    }
    for (int j = 0; j < m; ++j) {
        const Prediction p = surrogates[static_cast<std::size_t>(j)].predictWithUncertainty(
            front.coefficients, front.level);
        front.stddev.col(j) = p.std;
        front.lower.col(j) = p.lower;
        front.upper.col(j) = p.upper;
    }
    front.spacing = spacing(toObjectives(problem, front.metrics));
    return front;
}

} // namespace mf::map
