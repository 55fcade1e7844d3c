// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "map/problem.h"

#include <QString>
#include <QStringList>
#include <QTableWidgetItem>

#include <cmath>
#include <vector>

namespace mf::ui {

/// " ↑" for a metric to maximize, " ↓" for one to minimize (a loss, a perplexity).
inline QString directionArrow(map::Direction direction)
{
    return direction == map::Direction::Maximize ? QStringLiteral(" ↑") : QStringLiteral(" ↓");
}

/// A task's metric with its direction: "accuracy ↑", "perplexity ↓".
inline QString metricWithArrow(const std::string &metric, map::Direction direction)
{
    return QString::fromStdString(metric) + directionArrow(direction);
}

/// "0.9521 ± 0.0040", or the number alone when its std is not known.
inline QString plusMinus(double mean, double std, int decimals = 4)
{
    if (!std::isfinite(std))
        return QString::number(mean, 'f', decimals);
    return QStringLiteral("%1 ± %2").arg(mean, 0, 'f', decimals).arg(std, 0, 'f', decimals);
}

/// Coefficients as `mergefront-cli evaluate --coef` and `export --coef` take them: "0.5,0.25".
inline QString coefficientsText(const std::vector<double> &coefficients)
{
    QStringList numbers;
    for (double v : coefficients)
        numbers << QString::number(v, 'g', 6);
    return numbers.join(QLatin1Char(','));
}

/// "0.9450 to 0.9580" (a 90% interval), or "unknown".
inline QString intervalText(double lower, double upper, int decimals = 4)
{
    if (!std::isfinite(lower) || !std::isfinite(upper))
        return QStringLiteral("unknown");
    return QStringLiteral("%1 to %2").arg(lower, 0, 'f', decimals).arg(upper, 0, 'f', decimals);
}

/// A read-only table cell holding a number (rounded, sortable as a number); empty for NaN.
inline QTableWidgetItem *numberItem(double value, int decimals = 4)
{
    auto *item = new QTableWidgetItem;
    if (std::isfinite(value))
        item->setData(Qt::DisplayRole, QString::number(value, 'f', decimals).toDouble());
    item->setFlags(item->flags() & ~Qt::ItemIsEditable);
    return item;
}

} // namespace mf::ui
