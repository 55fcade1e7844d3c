// SPDX-License-Identifier: GPL-3.0-or-later
#include "map/surrogate.h"

#include "util/error.h"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include <cmath>
#include <limits>
#include <sstream>

namespace mf::map {

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
    return kind == ModelKind::Full ? QuadraticSurrogate::fullParameterCount(n) : 2 * n + 1;
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

} // namespace

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
    const double lowest = y.size() ? y.minCoeff() : 0, highest = y.size() ? y.maxCoeff() : 0;
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

QuadraticSurrogate QuadraticSurrogate::fit(const Eigen::MatrixXd &c, const Eigen::VectorXd &y,
                                           const std::string &metric,
                                           const SurrogateOptions &options)
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

    QuadraticSurrogate s;
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
    double looSum = 0;
    bool looDefined = samples > p;
    for (int i = 0; i < samples && looDefined; ++i) {
        const double leverage = psi.row(i) * inverse * psi.row(i).transpose();
        if (1 - leverage < 1e-9)
            looDefined = false;
        else
            looSum += std::pow(residual[i] / (1 - leverage), 2);
    }
    d.looRmse = looDefined ? std::sqrt(looSum / samples) : std::numeric_limits<double>::quiet_NaN();
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
    s.m_hessianU = s.scaledHessianFromBeta();
    return s;
}

Eigen::VectorXd QuadraticSurrogate::features(const Eigen::VectorXd &c) const
{
    const int n = dimension();
    const Eigen::VectorXd u = (c - m_center).cwiseQuotient(m_scale);
    Eigen::VectorXd f(m_beta.size());
    fillFeatures(m_diagnostics.kind, u.data(), n, f.data());
    return f;
}

bool QuadraticSurrogate::sharesFeaturesWith(const QuadraticSurrogate &other) const
{
    return m_diagnostics.kind == other.m_diagnostics.kind && m_center == other.m_center &&
           m_scale == other.m_scale;
}

Eigen::MatrixXd QuadraticSurrogate::featureRows(const Eigen::MatrixXd &c) const
{
    return features(c);
}

Eigen::MatrixXd QuadraticSurrogate::features(const Eigen::MatrixXd &c) const
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

double QuadraticSurrogate::linkValue(const Eigen::VectorXd &c) const
{
    return features(c).dot(m_beta);
}

double QuadraticSurrogate::inverseLink(double q) const
{
    return applyInverseLink(m_diagnostics.link, q);
}

double QuadraticSurrogate::predict(const Eigen::VectorXd &c) const
{
    return inverseLink(linkValue(c));
}

Eigen::VectorXd QuadraticSurrogate::predictRows(const Eigen::MatrixXd &c) const
{
    Eigen::VectorXd q = features(c) * m_beta;
    for (Eigen::Index i = 0; i < q.size(); ++i)
        q[i] = inverseLink(q[i]);
    return q;
}

Eigen::MatrixXd QuadraticSurrogate::scaledHessianFromBeta() const
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

double QuadraticSurrogate::predict(const Eigen::VectorXd &c, Eigen::VectorXd &gradient) const
{
    const int n = dimension();
    const Eigen::VectorXd u = (c - m_center).cwiseQuotient(m_scale);
    const double q = features(c).dot(m_beta);
    const Eigen::VectorXd du = m_beta.segment(1, n) + m_hessianU * u; // ∂q/∂u
    gradient = inverseLinkDerivative(m_diagnostics.link, q) * du.cwiseQuotient(m_scale);
    return inverseLink(q);
}

double QuadraticSurrogate::predictiveStd(const Eigen::VectorXd &c) const
{
    const Eigen::VectorXd f = features(c);
    const double q = f.dot(m_beta);
    const Eigen::VectorXd psi = inverseLinkDerivative(m_diagnostics.link, q) * f;
    return std::sqrt(std::max(0.0, psi.dot(m_covariance * psi)));
}

Eigen::VectorXd QuadraticSurrogate::predictiveStdRows(const Eigen::MatrixXd &c) const
{
    const Eigen::MatrixXd f = features(c);
    const Eigen::VectorXd q = f * m_beta;
    Eigen::VectorXd out(c.rows());
    for (Eigen::Index i = 0; i < c.rows(); ++i) {
        const Eigen::VectorXd psi =
            inverseLinkDerivative(m_diagnostics.link, q[i]) * f.row(i).transpose();
        out[i] = std::sqrt(std::max(0.0, psi.dot(m_covariance * psi)));
    }
    return out;
}

double QuadraticSurrogate::constantTerm() const
{
    // q = e' + b'ᵀD(c-m) + ½(c-m)ᵀH(c-m) with D = diag(1/scale), H = D A' D.
    const Eigen::VectorXd dm = m_center.cwiseQuotient(m_scale);
    const Eigen::MatrixXd hu = m_hessianU;
    return m_beta[0] - m_beta.segment(1, dimension()).dot(dm) + 0.5 * dm.dot(hu * dm);
}

Eigen::VectorXd QuadraticSurrogate::linearTerm() const
{
    const Eigen::MatrixXd h = hessian();
    return m_beta.segment(1, dimension()).cwiseQuotient(m_scale) - h * m_center;
}

Eigen::MatrixXd QuadraticSurrogate::hessian() const
{
    const Eigen::VectorXd inv = m_scale.cwiseInverse();
    return inv.asDiagonal() * m_hessianU * inv.asDiagonal();
}

} // namespace mf::map
