// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "map/problem.h"

#include <Eigen/Core>

#include <string>

namespace mf::map {

/// Full quadratic: [1, c_i, c_i c_j (i <= j)], P = (N+1)(N+2)/2 parameters.
/// Reduced: [1, c_i, c_i^2], 2N+1 parameters (no cross terms), when samples are too few.
enum class ModelKind { Full, Reduced };

struct SurrogateOptions {
    Link link = Link::Auto;
    double ridge = 1e-8;      ///< ridge weight relative to trace(ΦᵀΦ)/P; the intercept is free
    int maxIterations = 100;  ///< Levenberg-Marquardt iterations in metric space
    bool allowReduced = true; ///< fewer samples than P: fit the reduced model (else refuse)
};

struct SurrogateDiagnostics {
    Link link = Link::Identity; ///< the link actually used (auto resolved)
    ModelKind kind = ModelKind::Full;
    int samples = 0;
    int parameters = 0;
    double r2 = 0;      ///< 1 - SS_res / SS_tot, in metric space
    double looRmse = 0; ///< leave-one-out RMSE (hat matrix of the linearized fit); NaN when n = P
    double rmse = 0;    ///< in-sample RMSE, metric space
    double conditionNumber = 0; ///< of the (scaled) feature matrix
    std::string note;           ///< e.g. why the reduced model was used
};

/// One metric's surrogate M̃(c) = g⁻¹(e + bᵀc + ½ cᵀAc) (METHOD.md section 4): a closed-form
/// ridge fit in link space, refined by Levenberg-Marquardt on the squared error in metric
/// space. Also a Bayesian view (Laplace approximation: Bayesian linear regression in the
/// linearized features) giving a predictive standard deviation at any c.
class QuadraticSurrogate {
public:
    /// `c`: n x N samples, `y`: n values. Throws mf::Error naming `metric` on non-finite
    /// values, values outside the link's domain, or too few samples (fewer than 2N+1, or
    /// fewer than P with allowReduced off).
    static QuadraticSurrogate fit(const Eigen::MatrixXd &c, const Eigen::VectorXd &y,
                                  const std::string &metric, const SurrogateOptions &options = {});

    /// Parameter count of the full model for N coefficients.
    static int fullParameterCount(int n) { return (n + 1) * (n + 2) / 2; }

    double predict(const Eigen::VectorXd &c) const;
    /// Row-wise predictions for an m x N matrix.
    Eigen::VectorXd predictRows(const Eigen::MatrixXd &c) const;
    /// Value and gradient with respect to c.
    double predict(const Eigen::VectorXd &c, Eigen::VectorXd &gradient) const;
    /// Epistemic standard deviation of the prediction (parameter uncertainty), metric space.
    double predictiveStd(const Eigen::VectorXd &c) const;
    Eigen::VectorXd predictiveStdRows(const Eigen::MatrixXd &c) const;
    /// Residual noise standard deviation estimated from the fit.
    double noiseStd() const { return m_noiseStd; }

    const SurrogateDiagnostics &diagnostics() const { return m_diagnostics; }
    const std::string &metric() const { return m_metric; }
    int dimension() const { return static_cast<int>(m_center.size()); }

    /// True when both use the same features of c (same samples' scaling, same model kind):
    /// then predictions for many metrics can share one feature matrix.
    bool sharesFeaturesWith(const QuadraticSurrogate &other) const;
    /// Feature rows of c (m x P) and the weights they multiply (link space).
    Eigen::MatrixXd featureRows(const Eigen::MatrixXd &c) const;
    const Eigen::VectorXd &weights() const { return m_beta; }

    /// The fitted quadratic in original coordinates, link space: e + bᵀc + ½ cᵀAc.
    double constantTerm() const;
    Eigen::VectorXd linearTerm() const;
    Eigen::MatrixXd hessian() const;
    /// Link-space value q(c), and g⁻¹.
    double linkValue(const Eigen::VectorXd &c) const;
    double inverseLink(double q) const;

private:
    Eigen::VectorXd features(const Eigen::VectorXd &c) const;
    Eigen::MatrixXd features(const Eigen::MatrixXd &c) const;
    Eigen::MatrixXd scaledHessianFromBeta() const;

    std::string m_metric;
    SurrogateDiagnostics m_diagnostics;
    Eigen::VectorXd m_center, m_scale; ///< u = (c - center) / scale
    Eigen::VectorXd m_beta;            ///< in scaled features
    Eigen::MatrixXd m_covariance;      ///< posterior covariance of beta (Laplace)
    Eigen::MatrixXd m_hessianU;        ///< Hessian of q in scaled coordinates (from beta)
    double m_noiseStd = 0;
};

/// The link g and its inverse, as used by the surrogates.
double applyLink(Link link, double y);
double applyInverseLink(Link link, double q);
double inverseLinkDerivative(Link link, double q);
/// Resolves Link::Auto from the values; checks the values lie in the link's domain.
Link resolveLink(Link link, const Eigen::VectorXd &y, const std::string &metric);

} // namespace mf::map
