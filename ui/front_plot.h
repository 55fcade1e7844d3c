// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QWidget>

class QCustomPlot;
class QComboBox;
class QTabWidget;
class QMouseEvent;
class QCPGraph;
class QCPCurve;

namespace mf::ui {

class ProjectDocument;

/// The front as a person sees it. "Trade-off": two metrics against each other (a chooser
/// picks which two when there are more tasks): measured samples, grid points, the predicted
/// front, base and single-task reference lines, the selected point (and its measurement).
/// "Parallel coordinates": every front point as a line across one axis per metric, the
/// selection highlighted. Hover shows a point's numbers; a click selects a front point.
class FrontPlot : public QWidget {
    Q_OBJECT
public:
    explicit FrontPlot(ProjectDocument *document, QWidget *parent = nullptr);

    void setAxes(int xMetric, int yMetric);
    int xMetric() const;
    int yMetric() const;
    /// Writes the visible plot: PNG, or PDF when `path` ends in .pdf. False on failure.
    bool savePlot(const QString &path);
    /// Where front point `index` is drawn on the trade-off plot, in its widget's pixels.
    QPoint frontPointPixel(int index) const;
    QCustomPlot *tradeOffPlot() const { return m_scatter; }
    QCustomPlot *parallelPlot() const { return m_parallel; }
    void showParallel(bool parallel);

Q_SIGNALS:
    void frontPointClicked(int index);

private:
    void rebuildAxesChoice();
    void rebuild();
    void rebuildParallel();
    void updateSelection();
    int nearestFrontPoint(const QPointF &pixel, double maxDistance) const;
    void hover(QMouseEvent *event);
    void press(QMouseEvent *event);

    ProjectDocument *m_document;
    QTabWidget *m_tabs;
    QComboBox *m_x, *m_y;
    QCustomPlot *m_scatter, *m_parallel;
    QCPGraph *m_grid = nullptr, *m_samples = nullptr, *m_frontDots = nullptr, *m_selected = nullptr,
             *m_selectedMeasured = nullptr;
    QCPCurve *m_frontLine = nullptr, *m_parallelLines = nullptr, *m_parallelSelected = nullptr;
};

} // namespace mf::ui
