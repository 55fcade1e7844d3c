// SPDX-License-Identifier: GPL-3.0-or-later
#include "map/problem.h"

#include "util/error.h"

#include <cmath>

namespace mf::map {

const char *linkName(Link link)
{
    switch (link) {
    case Link::Auto:
        return "auto";
    case Link::Identity:
        return "identity";
    case Link::Logit:
        return "logit";
    case Link::Log:
        return "log";
    }
    return "?";
}

Link parseLink(const std::string &name)
{
    for (Link link : {Link::Auto, Link::Identity, Link::Logit, Link::Log})
        if (name == linkName(link))
            return link;
    throw Error("unknown link '" + name + "' (expected auto, identity, logit or log)");
}

void Problem::validate() const
{
    const int n = dimension();
    if (n < 1)
        throw Error("the problem has no coefficients");
    if (metrics.empty())
        throw Error("the problem has no metrics");
    if (lower.size() != n || upper.size() != n)
        throw Error("the coefficient box needs one bound pair per coefficient");
    for (int i = 0; i < n; ++i)
        if (!std::isfinite(lower[i]) || !std::isfinite(upper[i]) || !(lower[i] < upper[i]))
            throw Error("the box of coefficient '" + coefficients[static_cast<std::size_t>(i)] +
                        "' is empty or not finite");
}

Eigen::MatrixXd toObjectives(const Problem &problem, const Eigen::MatrixXd &metrics)
{
    Eigen::MatrixXd objectives = metrics;
    for (int m = 0; m < problem.metricCount(); ++m)
        if (problem.metrics[static_cast<std::size_t>(m)].direction == Direction::Minimize)
            objectives.col(m) *= -1;
    return objectives;
}

Eigen::VectorXd toObjectives(const Problem &problem, const Eigen::VectorXd &metrics)
{
    Eigen::VectorXd objectives = metrics;
    for (int m = 0; m < problem.metricCount(); ++m)
        if (problem.metrics[static_cast<std::size_t>(m)].direction == Direction::Minimize)
            objectives[m] *= -1;
    return objectives;
}

} // namespace mf::map
