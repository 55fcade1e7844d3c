// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "views/front_view.h"

#include <QPointF>

#include <map>
#include <utility>
#include <vector>

class QCPCurve;
class QCPItemLine;
class QCPItemRect;
class QCPItemText;
class QMouseEvent;

namespace mf::ui {

/// Parallel coordinates: every front point as a line across one axis per metric (each axis
/// scaled to the front's range, its ends labelled), the selected point highlighted with its 90%
/// interval as a bar on every axis. A vertical drag along an axis brushes a range of that
/// metric (ProjectDocument::setBrush: the front table then lists only those points): only the
/// front points inside every brushed range stay coloured (the others fade) and can be clicked;
/// a click on an axis clears its brush. A click on a line selects that
/// front point.
class ParallelView : public FrontView {
    Q_OBJECT
public:
    explicit ParallelView(ProjectDocument *document, QWidget *parent = nullptr);

    QString title() const override;
    void rebuild() override;
    void updateSelection() override;
    QCustomPlot *canvas() const override { return m_plot; }

    /// Where metric `metric`'s axis is drawn at scaled height `ratio` (0 bottom, 1 top), in
    /// the plot's pixels.
    QPoint axisPixel(int metric, double ratio) const;

private:
    void press(QMouseEvent *event);
    void move(QMouseEvent *event);
    void release(QMouseEvent *event);
    /// The axis within a few pixels of `pixel`, or -1.
    int axisNear(const QPointF &pixel) const;
    /// The brushed front point whose line passes nearest `pixel` (within `maxDistance`), or -1.
    int nearestLine(const QPointF &pixel, double maxDistance) const;

    QCustomPlot *m_plot;
    QCPCurve *m_lines = nullptr, *m_faded = nullptr, *m_selected = nullptr;
    std::vector<QCPItemLine *> m_bars; ///< the selection's intervals
    QCPItemRect *m_dragRect = nullptr; ///< the brush being dragged
    int m_dragAxis = -1;
    QPointF m_pressedAt{-1e9, -1e9};
};

} // namespace mf::ui
