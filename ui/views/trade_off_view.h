// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "views/front_view.h"

#include <QPoint>
#include <QPointF>

class QComboBox;
class QCPCurve;
class QCPErrorBars;
class QCPGraph;
class QMouseEvent;

namespace mf::ui {

/// Two metrics against each other (a chooser picks which two when there are more tasks):
/// measured samples, grid points, the predicted front (a line for two tasks, its projection
/// otherwise), base and single-task reference lines, the selected point and its measurement.
/// Hovering shows a point's numbers; a click on a front point selects it.
class TradeOffView : public FrontView {
    Q_OBJECT
public:
    explicit TradeOffView(ProjectDocument *document, QWidget *parent = nullptr);

    QString title() const override;
    void rebuild() override;
    void updateSelection() override;
    QCustomPlot *canvas() const override { return m_plot; }

    /// The project's tasks as the axis choices (a project was opened).
    void resetAxesChoice();
    void setAxes(int xMetric, int yMetric);
    int xMetric() const;
    int yMetric() const;
    /// Where front point `index` is drawn, in the plot's pixels.
    QPoint frontPointPixel(int index) const;

private:
    void addReferenceLine(double value, bool vertical, const QString &label, const QColor &color);
    int nearestFrontPoint(const QPointF &pixel, double maxDistance) const;
    void hover(QMouseEvent *event);
    void press(QMouseEvent *event);

    QComboBox *m_x, *m_y;
    QCustomPlot *m_plot;
    QCPGraph *m_grid = nullptr, *m_samples = nullptr, *m_frontDots = nullptr, *m_selected = nullptr,
             *m_selectedMeasured = nullptr;
    QCPCurve *m_frontLine = nullptr, *m_band = nullptr;
    /// The front's points predicted beyond every measured value (markExtrapolation): a dashed
    /// curve (two tasks) and hollow markers.
    QCPCurve *m_extrapolatedLine = nullptr;
    QCPGraph *m_extrapolatedDots = nullptr;
    /// The legend sits in the dominated corner: left for a maximized x metric, right for a
    /// minimized one (a perplexity's front bends towards the lower left, where it would hide).
    bool m_legendRight = false;
    QCPErrorBars *m_selectedBarsX = nullptr, *m_selectedBarsY = nullptr;
};

} // namespace mf::ui
