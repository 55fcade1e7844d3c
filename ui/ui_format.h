// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "map/problem.h"

#include <QString>
#include <QTableWidgetItem>

#include <cmath>

namespace mf::ui {

/// " ↑" for a metric to maximize, " ↓" for one to minimize (a loss, a perplexity).
inline QString directionArrow(map::Direction direction)
{
    return direction == map::Direction::Maximize ? QStringLiteral(" ↑") : QStringLiteral(" ↓");
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
