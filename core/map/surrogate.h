// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "map/problem.h"

#include <Eigen/Core>

#include <memory>
#include <string>
#include <vector>

namespace mf::map {

/// Full quadratic: [1, c_i, c_i c_j (i <= j)], P = (N+1)(N+2)/2 parameters.
/// Reduced: [1, c_i, c_i^2], 2N+1 parameters (no cross terms), when samples are too few.
enum class ModelKind { Full, Reduced };

struct SurrogateOptions {
    Link link = Link::Auto;
    double ridge = 1e-8;      ///< ridge weight relative to trace(ΦᵀΦ)/P; the intercept is free
    int maxIterations = 100;  ///< Levenberg-Marquardt iterations in metric space
    bool allowReduced = true; ///< fewer samples than P: fit the reduced model (else refuse)
    /// The quadratic plus a Gaussian-process residual (universal kriging): Auto tries it and
    /// keeps it when its leave-one-out error is clearly smaller; Off: the quadratic alone;
    /// Always: it whenever there are samples enough (P + 3).
    enum class Residual { Auto, Off, Always } residual = Residual::Auto;
    double lengthScale = 0; ///< > 0: this one instead of choosing by leave-one-out likelihood
    double nugget = 0;      ///< > 0: this one instead of choosing
};

/// The Gaussian-process residual's settings, chosen by leave-one-out likelihood.
struct ResidualDiagnostics {
    double lengthScale = 0; ///< Matérn 5/2, in the scaled coordinates (samples span [-1, 1])
    double nugget = 0;      ///< relative to the process variance
    double variance = 0;    ///< process variance, link space
};

struct SurrogateDiagnostics {
    Link link = Link::Identity; ///< the link actually used (auto resolved)
    ModelKind kind = ModelKind::Full;
    bool residual = false; ///< the quadratic trend plus a Gaussian-process residual was chosen
    ResidualDiagnostics process; ///< when `residual`
    int samples = 0;
    int parameters = 0;
    double r2 = 0;      ///< 1 - SS_res / SS_tot, in metric space (in-sample)
    double looRmse = 0; ///< leave-one-out RMSE of the model used, metric space; NaN when n = P
    double looRmseQuadratic = 0; ///< the quadratic alone's (hat matrix of the linearized fit)
    double looRmseResidual = 0;  ///< the quadratic + GP's (closed form); NaN when not tried
    int degreesOfFreedom = 0;    ///< samples - parameters (the Student-t of the intervals)
    double rmse = 0;             ///< in-sample RMSE, metric space
    double conditionNumber = 0;  ///< of the (scaled) feature matrix
    std::string note;            ///< e.g. why the reduced model was used
    /// Leave-one-out check of the 90% intervals: of looCount samples, each predicted by the
    /// model fitted without it, with the interval that model gives there, looInside held the
    /// held-out value (looCount 0: the interval cannot be estimated).
    int looInside = 0, looCount = 0;
    /// How the intervals are made, in words (the export sidecar records it).
    std::string interval;
};

/// "quadratic", "reduced quadratic", "quadratic + GP", "reduced quadratic + GP".
std::string modelName(const SurrogateDiagnostics &diagnostics);

/// A prediction with its uncertainty, metric space: `std` includes the model's error as the
/// leave-one-out residuals measure it (not only the parameter uncertainty), and [lower, upper]
/// is the central interval at the requested level (Student-t on the fit's degrees of
/// freedom; inside the link's domain). NaN std and bounds when the error cannot be estimated
/// (as many samples as parameters).
struct Prediction {
    Eigen::VectorXd mean, std, lower, upper;
};

/// One metric's surrogate (METHOD.md sections 4 and 11). Two models are fitted and the one
/// with the smaller leave-one-out error is used:
/// - the quadratic M̃(c) = g⁻¹(e + bᵀc + ½ cᵀAc): a closed-form ridge fit in link space,
///   refined by Levenberg-Marquardt on the squared error in metric space; its uncertainty is
///   s²(1 + h(c)) in link space with s the leave-one-out RMSE there (so misspecification
///   widens it) and h the leverage of c in the linearized features;
/// - the quadratic as the trend of a Gaussian process in link space (universal kriging,
///   Matérn 5/2, length scale and nugget by leave-one-out likelihood): it interpolates where
///   the quadratic is the wrong shape and falls back to the trend, with a growing variance,
///   away from the samples.
struct KrigingFactors;

/// The factorizations of the Gaussian-process residual's fits that depend only on where the
/// samples lie, not on the metric's values: fitting every metric of the same samples through
/// one cache factors each (length scale, nugget) once instead of once per metric.
class KrigingCache {
public:
    KrigingCache();
    ~KrigingCache();
    KrigingCache(const KrigingCache &) = delete;
    KrigingCache &operator=(const KrigingCache &) = delete;
    /// The factors for scaled sample coordinates u, trend features phi, length scale and nugget
    /// (computed on first use).
    const KrigingFactors &get(const Eigen::MatrixXd &u, const Eigen::MatrixXd &phi,
                              double lengthScale, double nugget);

private:
    std::vector<std::unique_ptr<KrigingFactors>> m_entries;
};

class Surrogate {
public:
    /// `c`: n x N samples, `y`: n values. Throws mf::Error naming `metric` on non-finite
    /// values, values outside the link's domain, or too few samples (fewer than 2N+1, or
    /// fewer than P with allowReduced off).
    /// `cache`: shared by fits on the same sample coordinates (fitSurrogates); null: its own.
    static Surrogate fit(const Eigen::MatrixXd &c, const Eigen::VectorXd &y,
                         const std::string &metric, const SurrogateOptions &options = {},
                         KrigingCache *cache = nullptr);

    /// Parameter count of the full model for N coefficients.
    static int fullParameterCount(int n) { return (n + 1) * (n + 2) / 2; }

    double predict(const Eigen::VectorXd &c) const;
    /// Row-wise predictions for an m x N matrix.
    Eigen::VectorXd predictRows(const Eigen::MatrixXd &c) const;
    /// Value and gradient with respect to c.
    double predict(const Eigen::VectorXd &c, Eigen::VectorXd &gradient) const;
    /// Standard deviation of the prediction, model error included (see Prediction), metric
    /// space; NaN when it cannot be estimated.
    double predictiveStd(const Eigen::VectorXd &c) const;
    Eigen::VectorXd predictiveStdRows(const Eigen::MatrixXd &c) const;
    /// Means, standard deviations and central `level` intervals of m x N rows.
    Prediction predictWithUncertainty(const Eigen::MatrixXd &c, double level = 0.9) const;
    /// How uncertain the model is at c relative to elsewhere (for choosing where to sample):
    /// the predictive std where defined, else the parameter uncertainty alone. Always finite.
    Eigen::VectorXd uncertaintyRows(const Eigen::MatrixXd &c) const;
    /// Residual noise standard deviation estimated from the fit.
    double noiseStd() const { return m_noiseStd; }

    const SurrogateDiagnostics &diagnostics() const { return m_diagnostics; }
    const std::string &metric() const { return m_metric; }
    int dimension() const { return static_cast<int>(m_center.size()); }

    /// True when both use the same features of c (same samples' scaling, same model kind):
    /// then predictions for many metrics can share one feature matrix.
    bool sharesFeaturesWith(const Surrogate &other) const;
    /// Feature rows of c (m x P) and the weights they multiply (link space): the quadratic
    /// (trend) part of the link-space value; the residual process adds residualRows(c).
    Eigen::MatrixXd featureRows(const Eigen::MatrixXd &c) const;
    const Eigen::VectorXd &weights() const { return m_beta; }
    bool hasResidual() const { return m_diagnostics.residual; }
    /// The residual process's link-space part for m x N rows (zeros without one).
    Eigen::VectorXd residualRows(const Eigen::MatrixXd &c) const;
    /// The same in steps, for metrics fitted on the same samples (sharesResidualPointsWith):
    /// the m x n distances to the samples once; the m x n kernel over them once for all that
    /// share a length scale too (residualLengthScale); each metric's part is then that kernel
    /// times its residualWeights().
    Eigen::MatrixXd residualDistances(const Eigen::MatrixXd &c) const;
    Eigen::MatrixXd residualKernel(const Eigen::MatrixXd &distances) const;
    Eigen::VectorXd residualFromDistances(const Eigen::MatrixXd &distances) const;
    const Eigen::VectorXd &residualWeights() const { return m_gpWeights; }
    double residualLengthScale() const { return m_diagnostics.process.lengthScale; }
    bool sharesResidualPointsWith(const Surrogate &other) const;

    /// The fitted quadratic (the trend, with a residual process) in original coordinates,
    /// link space: e + bᵀc + ½ cᵀAc.
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
    /// Kernel vector between scaled u and the samples.
    Eigen::VectorXd kernelTo(const Eigen::VectorXd &u) const;
    void uncertaintyAt(const Eigen::VectorXd &c, double level, double &mean, double &sd,
                       double &lower, double &upper) const;

    std::string m_metric;
    SurrogateDiagnostics m_diagnostics;
    Eigen::VectorXd m_center, m_scale; ///< u = (c - center) / scale
    Eigen::VectorXd m_beta;            ///< in scaled features
    Eigen::MatrixXd m_covariance;      ///< posterior covariance of beta (Laplace)
    Eigen::MatrixXd m_inverse;  ///< (ΨᵀΨ + ridge)⁻¹: leverage h(c) = ψᵀ m_inverse ψ
    Eigen::MatrixXd m_hessianU; ///< Hessian of q in scaled coordinates (from beta)
    double m_noiseStd = 0;
    double m_modelError = 0; ///< the quadratic's leave-one-out RMSE in link space, or NaN
    // The residual process (universal kriging in link space), when chosen.
    Eigen::MatrixXd m_points;    ///< n x N scaled sample coordinates
    Eigen::VectorXd m_gpWeights; ///< (R + λI)⁻¹ (z - Φβ)
    Eigen::MatrixXd m_rInverse;  ///< (R + λI)⁻¹
    Eigen::MatrixXd m_rInvPhi;   ///< (R + λI)⁻¹ Φ
    Eigen::MatrixXd m_gInverse;  ///< (Φᵀ(R + λI)⁻¹Φ)⁻¹
};

/// Quantile of Student's t with `dof` degrees of freedom (the normal's for dof <= 0 or large).
double studentQuantile(double probability, int dof);

/// The link g and its inverse, as used by the surrogates.
double applyLink(Link link, double y);
double applyInverseLink(Link link, double q);
double inverseLinkDerivative(Link link, double q);
/// Resolves Link::Auto from the values; checks the values lie in the link's domain.
Link resolveLink(Link link, const Eigen::VectorXd &y, const std::string &metric);

} // namespace mf::map
