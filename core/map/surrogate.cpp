// SPDX-License-Identifier: GPL-3.0-or-later
#include "map/surrogate.h"

#include "util/error.h"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>
#include <vector>

namespace mf::map {

/// The part of a Gaussian-process residual's fit that depends only on where the samples lie
/// (scaled coordinates u, trend features Φ) and on the length scale l and nugget λ, not on the
/// metric's values: with A = R + λI and G = ΦᵀA⁻¹Φ, A⁻¹, A⁻¹Φ, G⁻¹ and
/// Q = A⁻¹ - A⁻¹ΦG⁻¹ΦᵀA⁻¹. Every metric fitted on the same samples shares it (KrigingCache).
struct KrigingFactors {
    Eigen::MatrixXd u, phi; ///< what it was computed for
    double lengthScale = 0, nugget = 0;
    bool valid = false; ///< A and G were positive definite and every Q_ii > 0
    Eigen::MatrixXd aInverse, aInvPhi, gInverse, q;
    double logDiagonal = 0; ///< Σ log Q_ii
};

namespace {

constexpr double kLogitClip = 1e-4; // targets clipped to [ε, 1-ε] for the link-space start
constexpr double kLogFloor = 1e-12;

std::string number(double value)
{
    std::ostringstream out;
    out << value;
    return out.str();
}

int parameterCount(ModelKind kind, int n)
{
    return kind == ModelKind::Full ? Surrogate::fullParameterCount(n) : 2 * n + 1;
}

/// Features of scaled coordinates u (one row).
void fillFeatures(ModelKind kind, const double *u, int n, double *out)
{
    int k = 0;
    out[k++] = 1.0;
    for (int i = 0; i < n; ++i)
        out[k++] = u[i];
    if (kind == ModelKind::Full) {
        for (int i = 0; i < n; ++i)
            for (int j = i; j < n; ++j)
                out[k++] = u[i] * u[j];
    } else {
        for (int i = 0; i < n; ++i)
            out[k++] = u[i] * u[i];
    }
}

/// Residuals y - g⁻¹(φβ) and the linearized features ψ = g⁻¹'(φβ) φ (the Jacobian of the
/// predictions with respect to β).
void linearize(Link link, const Eigen::MatrixXd &phi, const Eigen::VectorXd &beta,
               const Eigen::VectorXd &y, Eigen::VectorXd &residual, Eigen::MatrixXd &psi)
{
    const Eigen::VectorXd q = phi * beta;
    residual.resize(y.size());
    psi.resize(phi.rows(), phi.cols());
    for (Eigen::Index i = 0; i < y.size(); ++i) {
        residual[i] = y[i] - applyInverseLink(link, q[i]);
        psi.row(i) = inverseLinkDerivative(link, q[i]) * phi.row(i);
    }
}

/// Penalty matrix of the ridge: every parameter but the intercept.
Eigen::VectorXd penalty(int p, double lambda)
{
    Eigen::VectorXd d = Eigen::VectorXd::Constant(p, lambda);
    d[0] = 0;
    return d;
}

/// Matérn 5/2 correlation at distance d, length scale l.
double matern(double d, double l)
{
    const double r = std::sqrt(5.0) * d / l;
    return (1 + r + r * r / 3) * std::exp(-r);
}

/// Universal kriging in link space: z = Φβ + f + ε, f a Gaussian process with correlation
/// R (Matérn 5/2, length scale l) and nugget λ, β with a flat prior. Closed-form
/// leave-one-out (Dubrule 1983): the held-out residual of sample i is (Qz)_i / Q_ii and its
/// variance σ² / Q_ii.
struct Kriging {
    double lengthScale = 0, nugget = 0, variance = 0;
    double looLogLikelihood = -std::numeric_limits<double>::infinity();
    Eigen::VectorXd beta, weights, looResidual; ///< looResidual: link space
    Eigen::VectorXd looDiagonal; ///< Q_ii: held out, sample i's variance is σ² / Q_ii
    const KrigingFactors *factors = nullptr;
};

KrigingFactors factorize(const Eigen::MatrixXd &u, const Eigen::MatrixXd &phi, double lengthScale,
                         double nugget)
{
    KrigingFactors f;
    f.u = u;
    f.phi = phi;
    f.lengthScale = lengthScale;
    f.nugget = nugget;
    const Eigen::Index n = u.rows(), p = phi.cols();
    Eigen::MatrixXd a(n, n);
    for (Eigen::Index i = 0; i < n; ++i)
        for (Eigen::Index j = i; j < n; ++j)
            a(i, j) = a(j, i) = matern((u.row(i) - u.row(j)).norm(), lengthScale);
    a.diagonal().array() += nugget;
    const Eigen::LLT<Eigen::MatrixXd> llt(a);
    if (llt.info() != Eigen::Success)
        return f;
    f.aInverse = llt.solve(Eigen::MatrixXd::Identity(n, n));
    f.aInvPhi = f.aInverse * phi;
    Eigen::MatrixXd g = phi.transpose() * f.aInvPhi;
    g.diagonal().array() += 1e-10 * std::max(g.trace() / static_cast<double>(p), 1e-300);
    const Eigen::LDLT<Eigen::MatrixXd> gl(g);
    if (gl.info() != Eigen::Success)
        return f;
    f.gInverse = gl.solve(Eigen::MatrixXd::Identity(p, p));
    f.q = f.aInverse - f.aInvPhi * f.gInverse * f.aInvPhi.transpose();
    for (Eigen::Index i = 0; i < n; ++i) {
        if (!(f.q(i, i) > 1e-14))
            return f;
        f.logDiagonal += std::log(f.q(i, i));
    }
    f.valid = true;
    return f;
}

/// The kriging of values z with factors f (valid): β, the weights and the leave-one-out
/// residuals, the process variance that maximizes the leave-one-out likelihood (closed form)
/// and that likelihood.
bool krige(const KrigingFactors &f, const Eigen::VectorXd &z, Kriging &out)
{
    const Eigen::Index n = z.size();
    Kriging k;
    k.lengthScale = f.lengthScale;
    k.nugget = f.nugget;
    k.factors = &f;
    k.beta = f.gInverse * (f.aInvPhi.transpose() * z);
    k.weights = f.q * z; // = A⁻¹(z - Φβ)
    k.looDiagonal = f.q.diagonal();
    k.looResidual = k.weights.cwiseQuotient(k.looDiagonal);
    const double scaled = (k.looResidual.array().square() * k.looDiagonal.array()).sum();
    k.variance = std::max(scaled / static_cast<double>(n), 1e-300);
    k.looLogLikelihood = -0.5 * (static_cast<double>(n) * std::log(2 * M_PI * k.variance) -
                                 f.logDiagonal + static_cast<double>(n));
    if (!std::isfinite(k.looLogLikelihood))
        return false;
    out = std::move(k);
    return true;
}

} // namespace

std::string modelName(const SurrogateDiagnostics &d)
{
    std::string name = d.kind == ModelKind::Full ? "quadratic" : "reduced quadratic";
    return d.residual ? name + " + GP" : name;
}

double studentQuantile(double probability, int dof)
{
    // Acklam's rational approximation of the normal quantile, then the Cornish-Fisher
    // expansion in 1/ν (Abramowitz & Stegun 26.7.5); exact forms for ν = 1, 2.
    const double p = std::clamp(probability, 1e-12, 1 - 1e-12);
    if (dof == 1)
        return std::tan(M_PI * (p - 0.5));
    if (dof == 2)
        return (2 * p - 1) / std::sqrt(2 * p * (1 - p));
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    double z;
    if (p < 0.02425) {
        const double q = std::sqrt(-2 * std::log(p));
        z = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p > 1 - 0.02425) {
        const double q = std::sqrt(-2 * std::log(1 - p));
        z = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else {
        const double q = p - 0.5, r = q * q;
        z = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    if (dof <= 0 || dof > 1000)
        return z;
    const double v = dof, z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2, z9 = z7 * z2;
    return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
           (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v) +
           (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * v * v * v * v);
}

double applyLink(Link link, double y)
{
    switch (link) {
    case Link::Logit: {
        const double p = std::min(std::max(y, kLogitClip), 1 - kLogitClip);
        return std::log(p / (1 - p));
    }
    case Link::Log:
        return std::log(std::max(y, kLogFloor));
    default:
        return y;
    }
}

double applyInverseLink(Link link, double q)
{
    switch (link) {
    case Link::Logit:
        return q >= 0 ? 1 / (1 + std::exp(-q)) : std::exp(q) / (1 + std::exp(q));
    case Link::Log:
        return std::exp(std::min(q, 700.0));
    default:
        return q;
    }
}

double inverseLinkDerivative(Link link, double q)
{
    switch (link) {
    case Link::Logit: {
        const double s = applyInverseLink(Link::Logit, q);
        return s * (1 - s);
    }
    case Link::Log:
        return std::exp(std::min(q, 700.0));
    default:
        return 1;
    }
}

Link resolveLink(Link link, const Eigen::VectorXd &y, const std::string &metric)
{
    for (Eigen::Index i = 0; i < y.size(); ++i)
        if (!std::isfinite(y[i]))
            throw Error("metric '" + metric + "' has a value that is not a finite number (sample " +
                        std::to_string(i + 1) + ")");
    if (y.size() == 0) // nothing to check yet: the fit reports the missing samples
        return link == Link::Auto ? Link::Identity : link;
    const double lowest = y.minCoeff(), highest = y.maxCoeff();
    if (link == Link::Auto)
        return lowest > 0 && highest < 1 ? Link::Logit : lowest > 0 ? Link::Log : Link::Identity;
    if (link == Link::Logit && (lowest < 0 || highest > 1))
        throw Error("metric '" + metric + "' has values in [" + number(lowest) + ", " +
                    number(highest) + "], outside [0, 1], which the logit link needs");
    if (link == Link::Log && lowest <= 0)
        throw Error("metric '" + metric + "' has the value " + number(lowest) +
                    ", not positive, which the log link needs");
    return link;
}

KrigingCache::KrigingCache() = default;
KrigingCache::~KrigingCache() = default;

const KrigingFactors &KrigingCache::get(const Eigen::MatrixXd &u, const Eigen::MatrixXd &phi,
                                        double lengthScale, double nugget)
{
    for (const auto &f : m_entries)
        if (f->lengthScale == lengthScale && f->nugget == nugget && f->u.rows() == u.rows() &&
            f->u.cols() == u.cols() && f->phi.cols() == phi.cols() && f->u == u && f->phi == phi)
            return *f;
    m_entries.push_back(std::make_unique<KrigingFactors>(factorize(u, phi, lengthScale, nugget)));
    return *m_entries.back();
}

Surrogate Surrogate::fit(const Eigen::MatrixXd &c, const Eigen::VectorXd &y,
                         const std::string &metric, const SurrogateOptions &options,
                         KrigingCache *cache)
{
    const int samples = static_cast<int>(c.rows()), n = static_cast<int>(c.cols());
    if (samples != y.size())
        throw Error("metric '" + metric + "': " + std::to_string(samples) +
                    " coefficient rows but " + std::to_string(y.size()) + " values");
    if (n < 1)
        throw Error("metric '" + metric + "': no coefficients to fit over");
    if (!c.allFinite())
        throw Error("metric '" + metric +
                    "': a coefficient vector holds a value that is not finite");

    Surrogate s;
    s.m_metric = metric;
    SurrogateDiagnostics &d = s.m_diagnostics;
    d.link = resolveLink(options.link, y, metric);
    d.samples = samples;
    const int full = fullParameterCount(n), reduced = 2 * n + 1;
    if (samples >= full) {
        d.kind = ModelKind::Full;
    } else if (options.allowReduced && samples >= reduced) {
        d.kind = ModelKind::Reduced;
        d.note = "reduced quadratic (no cross terms): " + std::to_string(samples) +
                 " samples, the full one needs " + std::to_string(full);
    } else {
        throw Error("metric '" + metric + "': " + std::to_string(samples) +
                    " samples cannot fit a quadratic in " + std::to_string(n) + " coefficients (" +
                    std::to_string(full) + " needed for the full model" +
                    (options.allowReduced ? ", " + std::to_string(reduced) + " for the reduced one)"
                                          : ")"));
    }
    const int p = parameterCount(d.kind, n);
    d.parameters = p;

    // Scale coordinates to about [-1, 1] over the samples: better conditioned features.
    s.m_center = (c.colwise().maxCoeff() + c.colwise().minCoeff()).transpose() / 2;
    s.m_scale =
        ((c.colwise().maxCoeff() - c.colwise().minCoeff()).transpose() / 2).unaryExpr([](double h) {
            return h > 1e-12 ? h : 1.0;
        });
    const Eigen::MatrixXd phi = s.features(c);

    Eigen::VectorXd z(samples);
    for (int i = 0; i < samples; ++i)
        z[i] = applyLink(d.link, y[i]);
    const Eigen::MatrixXd gram = phi.transpose() * phi;
    const double lambda = options.ridge * std::max(gram.trace() / p, 1e-300);
    const Eigen::VectorXd ridge = penalty(p, lambda);
    Eigen::MatrixXd regularized = gram;
    regularized.diagonal() += ridge;
    s.m_beta = regularized.ldlt().solve(phi.transpose() * z);

    // Levenberg-Marquardt on Σ (y - g⁻¹(φβ))² + λ|β|² in metric space.
    auto objective = [&](const Eigen::VectorXd &beta) {
        const Eigen::VectorXd q = phi * beta;
        double sum = 0;
        for (int i = 0; i < samples; ++i) {
            const double r = y[i] - applyInverseLink(d.link, q[i]);
            sum += r * r;
        }
        return sum + beta.dot(ridge.asDiagonal() * beta);
    };
    if (d.link != Link::Identity) {
        double current = objective(s.m_beta), mu = 1e-3;
        Eigen::VectorXd residual;
        Eigen::MatrixXd jacobian;
        bool converged = false;
        for (int iteration = 0; iteration < options.maxIterations && !converged; ++iteration) {
            linearize(d.link, phi, s.m_beta, y, residual, jacobian);
            Eigen::MatrixXd normal = jacobian.transpose() * jacobian;
            normal.diagonal() += ridge;
            const Eigen::VectorXd gradient =
                jacobian.transpose() * residual - ridge.asDiagonal() * s.m_beta;
            bool improved = false;
            for (int attempt = 0; attempt < 12 && !improved; ++attempt) {
                Eigen::MatrixXd damped = normal;
                damped.diagonal() += mu * normal.diagonal().cwiseMax(1e-12);
                const Eigen::VectorXd candidate = s.m_beta + damped.ldlt().solve(gradient);
                const double value = objective(candidate);
                if (std::isfinite(value) && value < current) {
                    converged = current - value <= 1e-14 * std::max(current, 1e-300);
                    s.m_beta = candidate;
                    current = value;
                    improved = true;
                    mu = std::max(mu / 3, 1e-12);
                } else {
                    mu *= 4;
                }
            }
            converged = converged || !improved;
        }
    }

    // Diagnostics and the Laplace posterior, in the linearized features ψ = g⁻¹'(q) φ.
    Eigen::VectorXd residual;
    Eigen::MatrixXd psi;
    linearize(d.link, phi, s.m_beta, y, residual, psi);
    const double ssRes = residual.squaredNorm();
    const double mean = y.mean();
    const double ssTot = (y.array() - mean).square().sum();
    d.r2 = ssTot > 0 ? 1 - ssRes / ssTot : (ssRes <= 1e-24 ? 1.0 : 0.0);
    d.rmse = std::sqrt(ssRes / samples);
    Eigen::MatrixXd information = psi.transpose() * psi;
    information.diagonal() += ridge.cwiseMax(1e-12 * std::max(information.trace() / p, 1e-300));
    const Eigen::MatrixXd inverse = information.ldlt().solve(Eigen::MatrixXd::Identity(p, p));
    // Leave-one-out residuals from the hat matrix, in metric space and, divided by g⁻¹'(q),
    // in link space: the quadratic's error is taken as the same size everywhere in link space,
    // so in metric space it shrinks where the metric saturates (an accuracy near 1).
    double looSum = 0, looLinkSum = 0;
    bool looDefined = samples > p;
    const Eigen::VectorXd fitted = phi * s.m_beta;
    Eigen::VectorXd looLink(samples), looLeverage(samples);
    for (int i = 0; i < samples && looDefined; ++i) {
        const double leverage = psi.row(i) * inverse * psi.row(i).transpose();
        if (1 - leverage < 1e-9) {
            looDefined = false;
        } else {
            const double e = residual[i] / (1 - leverage);
            looSum += e * e;
            looLink[i] = e / std::max(inverseLinkDerivative(d.link, fitted[i]), 1e-3);
            looLeverage[i] = leverage;
            looLinkSum += looLink[i] * looLink[i];
        }
    }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    d.looRmse = looDefined ? std::sqrt(looSum / samples) : nan;
    s.m_modelError = looDefined ? std::sqrt(looLinkSum / samples) : nan;
    // The intervals' leave-one-out check: held out, sample i's prediction has the link-space
    // variance s₋ᵢ²(1 + h₋ᵢ(xᵢ)) = s₋ᵢ² / (1 - hᵢᵢ), s₋ᵢ the others' leave-one-out RMSE, and
    // the Student-t of the fit without it (one degree of freedom fewer).
    if (looDefined && samples - 1 > p) {
        const double t = studentQuantile(0.95, samples - 1 - p);
        for (int i = 0; i < samples; ++i) {
            const double others = (looLinkSum - looLink[i] * looLink[i]) / (samples - 1);
            d.looInside += std::abs(looLink[i]) <= t * std::sqrt(others / (1 - looLeverage[i]));
        }
        d.looCount = samples;
    }
    if (looDefined)
        d.interval = "quadratic: Student-t (" + std::to_string(samples - p) +
                     " degrees of freedom) x the leave-one-out RMSE in link space (" +
                     number(s.m_modelError) + ", " + linkName(d.link) + ") x sqrt(1 + leverage)";
    else
        d.interval = "none: as many samples as parameters";
    // Singular values of Φ from the eigenvalues of ΦᵀΦ (P x P, cheaper than an SVD of Φ).
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(gram, Eigen::EigenvaluesOnly);
    const double largest = eigen.eigenvalues().maxCoeff(),
                 smallest = eigen.eigenvalues().minCoeff();
    d.conditionNumber =
        smallest > 0 ? std::sqrt(largest / smallest) : std::numeric_limits<double>::infinity();
    // Noise from the residuals; with no degrees of freedom left, a small floor on the data scale.
    const double scale = std::max(std::sqrt(ssTot / std::max(samples, 1)), 1e-6);
    s.m_noiseStd = samples > p ? std::sqrt(ssRes / (samples - p)) : 0.0;
    const double noise = std::max(s.m_noiseStd, 1e-3 * scale);
    s.m_covariance = noise * noise * inverse;
    s.m_inverse = inverse;
    d.looRmseQuadratic = d.looRmse;
    d.looRmseResidual = std::numeric_limits<double>::quiet_NaN();
    d.degreesOfFreedom = samples - p;

    // The quadratic as the trend of a Gaussian process: kept when its leave-one-out error is
    // clearly smaller (10%). Needs a few degrees of freedom beyond the trend's parameters.
    using Residual = SurrogateOptions::Residual;
    if (options.residual != Residual::Off && samples >= p + 3) {
        Eigen::MatrixXd u(samples, n);
        for (int i = 0; i < samples; ++i)
            u.row(i) = (c.row(i).transpose() - s.m_center).cwiseQuotient(s.m_scale).transpose();
        Kriging best;
        std::vector<double> lengthScales = {0.3, 0.5, 0.8, 1.2, 2.0, 3.0};
        std::vector<double> nuggets = {1e-6, 1e-4, 1e-2, 1e-1};
        if (options.lengthScale > 0)
            lengthScales = {options.lengthScale};
        if (options.nugget > 0)
            nuggets = {options.nugget};
        KrigingCache own;
        KrigingCache &factors = cache ? *cache : own;
        for (double lengthScale : lengthScales)
            for (double nugget : nuggets) {
                const KrigingFactors &f = factors.get(u, phi, lengthScale, nugget);
                Kriging k;
                if (f.valid && krige(f, z, k) && k.looLogLikelihood > best.looLogLikelihood)
                    best = std::move(k);
            }
        if (std::isfinite(best.looLogLikelihood)) {
            double sum = 0;
            for (int i = 0; i < samples; ++i)
                sum += std::pow(y[i] - applyInverseLink(d.link, z[i] - best.looResidual[i]), 2);
            d.looRmseResidual = std::sqrt(sum / samples);
            // A quadratic that is exact (its LOO error below 10⁻⁴ of the data's spread) stays.
            const double spread = std::sqrt(ssTot / samples);
            if (options.residual == Residual::Always || !std::isfinite(d.looRmse) ||
                (d.looRmseResidual < 0.9 * d.looRmse && d.looRmse > 1e-4 * spread)) {
                d.residual = true;
                d.looRmse = d.looRmseResidual;
                d.process = {best.lengthScale, best.nugget, best.variance};
                d.note = d.note.empty() ? "" : d.note + "; ";
                d.note += "quadratic + Gaussian-process residual (leave-one-out RMSE " +
                          number(d.looRmseResidual) + " vs " + number(d.looRmseQuadratic) +
                          " for the quadratic alone)";
                s.m_beta = best.beta;
                s.m_points = u;
                s.m_gpWeights = best.weights;
                s.m_rInverse = best.factors->aInverse;
                s.m_rInvPhi = best.factors->aInvPhi;
                s.m_gInverse = best.factors->gInverse;
                // The leave-one-out check: held out, sample i's residual is r_i with the
                // variance σ₋ᵢ² / Q_ii, σ₋ᵢ² the process variance the others estimate.
                d.looInside = 0;
                d.looCount = 0;
                if (samples - 1 > p) {
                    const double t = studentQuantile(0.95, samples - 1 - p);
                    const double scaled = best.variance * samples;
                    for (int i = 0; i < samples; ++i) {
                        const double r = best.looResidual[i], qii = best.looDiagonal[i];
                        const double variance = std::max(scaled - r * r * qii, 0.0) / (samples - 1);
                        d.looInside += std::abs(r) <= t * std::sqrt(variance / qii);
                    }
                    d.looCount = samples;
                }
                d.interval = "quadratic + Gaussian process: Student-t (" +
                             std::to_string(samples - p) +
                             " degrees of freedom) x the universal-kriging standard deviation in "
                             "link space (" +
                             std::string(linkName(d.link)) + "; Matern 5/2, length scale " +
                             number(best.lengthScale) + ", nugget " + number(best.nugget) +
                             ", process variance by leave-one-out likelihood)";
                // In-sample fit of the interpolating model.
                const double res = (y - s.predictRows(c)).squaredNorm();
                d.r2 = ssTot > 0 ? 1 - res / ssTot : 1.0;
                d.rmse = std::sqrt(res / samples);
            }
        }
    }
    s.m_hessianU = s.scaledHessianFromBeta();
    return s;
}

Eigen::VectorXd Surrogate::features(const Eigen::VectorXd &c) const
{
    const int n = dimension();
    const Eigen::VectorXd u = (c - m_center).cwiseQuotient(m_scale);
    Eigen::VectorXd f(m_beta.size());
    fillFeatures(m_diagnostics.kind, u.data(), n, f.data());
    return f;
}

bool Surrogate::sharesFeaturesWith(const Surrogate &other) const
{
    return m_diagnostics.kind == other.m_diagnostics.kind && m_center == other.m_center &&
           m_scale == other.m_scale;
}

Eigen::MatrixXd Surrogate::featureRows(const Eigen::MatrixXd &c) const
{
    return features(c);
}

Eigen::MatrixXd Surrogate::features(const Eigen::MatrixXd &c) const
{
    const int n = dimension();
    const int p = parameterCount(m_diagnostics.kind, n);
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> f(c.rows(), p);
    Eigen::VectorXd u(n);
    for (Eigen::Index r = 0; r < c.rows(); ++r) {
        u = (c.row(r).transpose() - m_center).cwiseQuotient(m_scale);
        fillFeatures(m_diagnostics.kind, u.data(), n, f.row(r).data());
    }
    return f;
}

Eigen::VectorXd Surrogate::kernelTo(const Eigen::VectorXd &u) const
{
    const double l = m_diagnostics.process.lengthScale;
    Eigen::VectorXd k(m_points.rows());
    for (Eigen::Index j = 0; j < m_points.rows(); ++j)
        k[j] = matern((u - m_points.row(j).transpose()).norm(), l);
    return k;
}

Eigen::MatrixXd Surrogate::residualDistances(const Eigen::MatrixXd &c) const
{
    // All at once: |u - p|² = |u|² + |p|² - 2 u·p.
    const Eigen::MatrixXd u =
        (c.rowwise() - m_center.transpose()).array().rowwise() / m_scale.transpose().array();
    Eigen::MatrixXd d2 = (-2.0 * u) * m_points.transpose();
    d2.colwise() += u.rowwise().squaredNorm();
    d2.rowwise() += m_points.rowwise().squaredNorm().transpose();
    return d2.array().max(0.0).sqrt().matrix();
}

Eigen::MatrixXd Surrogate::residualKernel(const Eigen::MatrixXd &distances) const
{
    const double a = std::sqrt(5.0) / m_diagnostics.process.lengthScale;
    const Eigen::ArrayXXd r = distances.array() * a;
    return ((1 + r + r.square() / 3) * (-r).exp()).matrix();
}

Eigen::VectorXd Surrogate::residualFromDistances(const Eigen::MatrixXd &distances) const
{
    return residualKernel(distances) * m_gpWeights;
}

bool Surrogate::sharesResidualPointsWith(const Surrogate &other) const
{
    return hasResidual() && other.hasResidual() && m_center == other.m_center &&
           m_scale == other.m_scale && m_points == other.m_points;
}

Eigen::VectorXd Surrogate::residualRows(const Eigen::MatrixXd &c) const
{
    if (!m_diagnostics.residual)
        return Eigen::VectorXd::Zero(c.rows());
    return residualFromDistances(residualDistances(c));
}

double Surrogate::linkValue(const Eigen::VectorXd &c) const
{
    double q = features(c).dot(m_beta);
    if (m_diagnostics.residual)
        q += kernelTo((c - m_center).cwiseQuotient(m_scale)).dot(m_gpWeights);
    return q;
}

double Surrogate::inverseLink(double q) const
{
    return applyInverseLink(m_diagnostics.link, q);
}

double Surrogate::predict(const Eigen::VectorXd &c) const
{
    return inverseLink(linkValue(c));
}

Eigen::VectorXd Surrogate::predictRows(const Eigen::MatrixXd &c) const
{
    Eigen::VectorXd q = features(c) * m_beta + residualRows(c);
    for (Eigen::Index i = 0; i < q.size(); ++i)
        q[i] = inverseLink(q[i]);
    return q;
}

Eigen::MatrixXd Surrogate::scaledHessianFromBeta() const
{
    // Hessian of q in scaled coordinates u.
    const int n = dimension();
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, n);
    int k = 1 + n;
    if (m_diagnostics.kind == ModelKind::Full) {
        for (int i = 0; i < n; ++i)
            for (int j = i; j < n; ++j, ++k) {
                if (i == j)
                    a(i, i) = 2 * m_beta[k];
                else
                    a(i, j) = a(j, i) = m_beta[k];
            }
    } else {
        for (int i = 0; i < n; ++i, ++k)
            a(i, i) = 2 * m_beta[k];
    }
    return a;
}

double Surrogate::predict(const Eigen::VectorXd &c, Eigen::VectorXd &gradient) const
{
    const int n = dimension();
    const Eigen::VectorXd u = (c - m_center).cwiseQuotient(m_scale);
    double q = features(c).dot(m_beta);
    Eigen::VectorXd du = m_beta.segment(1, n) + m_hessianU * u; // ∂q/∂u
    if (m_diagnostics.residual) {
        // Matérn 5/2: ∂k/∂u = -(5 / 3l²)(1 + √5 d/l) e^(-√5 d/l) (u - u_j).
        const double l = m_diagnostics.process.lengthScale;
        const Eigen::MatrixXd delta = (-m_points).rowwise() + u.transpose(); // rows u - u_j
        const Eigen::ArrayXd r = delta.rowwise().norm().array() * (std::sqrt(5.0) / l);
        const Eigen::ArrayXd e = (-r).exp(), w = m_gpWeights.array();
        q += (w * (1 + r + r.square() / 3) * e).sum();
        du -= (5.0 / (3 * l * l)) * (delta.transpose() * (w * (1 + r) * e).matrix());
    }
    gradient = inverseLinkDerivative(m_diagnostics.link, q) * du.cwiseQuotient(m_scale);
    return inverseLink(q);
}

void Surrogate::uncertaintyAt(const Eigen::VectorXd &c, double level, double &mean, double &sd,
                              double &lower, double &upper) const
{
    const Link link = m_diagnostics.link;
    const double t = studentQuantile(0.5 + level / 2, m_diagnostics.degreesOfFreedom);
    const Eigen::VectorXd f = features(c);
    if (m_diagnostics.residual) {
        // Universal kriging variance, link space, nugget included (as in the leave-one-out
        // variance that calibrated it); the interval is mapped through g⁻¹.
        const Eigen::VectorXd k = kernelTo((c - m_center).cwiseQuotient(m_scale));
        const double q = f.dot(m_beta) + k.dot(m_gpWeights);
        const Eigen::VectorXd v = f - m_rInvPhi.transpose() * k;
        const double variance = m_diagnostics.process.variance *
                                std::max(1e-12, 1 + m_diagnostics.process.nugget -
                                                    k.dot(m_rInverse * k) + v.dot(m_gInverse * v));
        const double linkSd = std::sqrt(variance);
        mean = applyInverseLink(link, q);
        sd = inverseLinkDerivative(link, q) * linkSd;
        lower = applyInverseLink(link, q - t * linkSd);
        upper = applyInverseLink(link, q + t * linkSd);
        return;
    }
    const double q = f.dot(m_beta);
    mean = applyInverseLink(link, q);
    if (!std::isfinite(m_modelError)) {
        sd = lower = upper = std::numeric_limits<double>::quiet_NaN();
        return;
    }
    // The quadratic: s²(1 + h(c)) in link space, s the leave-one-out RMSE there, h the
    // leverage of c; the interval mapped through g⁻¹ (inside the link's domain).
    const Eigen::VectorXd psi = inverseLinkDerivative(link, q) * f;
    const double leverage = std::max(0.0, psi.dot(m_inverse * psi));
    const double linkSd = m_modelError * std::sqrt(1 + leverage);
    sd = inverseLinkDerivative(link, q) * linkSd;
    if (link == Link::Logit)
        sd = std::min(sd, 0.5); // no value in [0, 1] is more uncertain than that
    lower = applyInverseLink(link, q - t * linkSd);
    upper = applyInverseLink(link, q + t * linkSd);
}

double Surrogate::predictiveStd(const Eigen::VectorXd &c) const
{
    double mean, sd, lower, upper;
    uncertaintyAt(c, 0.9, mean, sd, lower, upper);
    return sd;
}

Eigen::VectorXd Surrogate::predictiveStdRows(const Eigen::MatrixXd &c) const
{
    return predictWithUncertainty(c).std;
}

Prediction Surrogate::predictWithUncertainty(const Eigen::MatrixXd &c, double level) const
{
    Prediction out;
    out.mean.resize(c.rows());
    out.std.resize(c.rows());
    out.lower.resize(c.rows());
    out.upper.resize(c.rows());
    for (Eigen::Index i = 0; i < c.rows(); ++i)
        uncertaintyAt(c.row(i).transpose(), level, out.mean[i], out.std[i], out.lower[i],
                      out.upper[i]);
    return out;
}

Eigen::VectorXd Surrogate::uncertaintyRows(const Eigen::MatrixXd &c) const
{
    Eigen::VectorXd out = predictiveStdRows(c);
    if (out.allFinite())
        return out;
    // No error estimate yet (n = P): the parameter uncertainty ranks points the same way.
    const Eigen::MatrixXd f = features(c);
    const Eigen::VectorXd q = f * m_beta;
    for (Eigen::Index i = 0; i < c.rows(); ++i) {
        const Eigen::VectorXd psi =
            inverseLinkDerivative(m_diagnostics.link, q[i]) * f.row(i).transpose();
        out[i] = std::sqrt(std::max(0.0, psi.dot(m_covariance * psi)));
    }
    return out;
}

double Surrogate::constantTerm() const
{
    // q = e' + b'ᵀD(c-m) + ½(c-m)ᵀH(c-m) with D = diag(1/scale), H = D A' D.
    const Eigen::VectorXd dm = m_center.cwiseQuotient(m_scale);
    const Eigen::MatrixXd hu = m_hessianU;
    return m_beta[0] - m_beta.segment(1, dimension()).dot(dm) + 0.5 * dm.dot(hu * dm);
}

Eigen::VectorXd Surrogate::linearTerm() const
{
    const Eigen::MatrixXd h = hessian();
    return m_beta.segment(1, dimension()).cwiseQuotient(m_scale) - h * m_center;
}

Eigen::MatrixXd Surrogate::hessian() const
{
    const Eigen::VectorXd inv = m_scale.cwiseInverse();
    return inv.asDiagonal() * m_hessianU * inv.asDiagonal();
}

} // namespace mf::map
