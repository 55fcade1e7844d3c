// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QWidget>

#include <vector>

class QCustomPlot;
class QLabel;
class QTabWidget;

namespace mf::ui {

class FrontView;
class ProjectDocument;
class TradeOffView;

/// The front as a person sees it: one tab per FrontView (views/): the trade-off plot and
/// parallel coordinates today. FrontPlot owns the views, tells each when the document changed
/// and passes a clicked front point on; what each draws is the view's business.
class FrontPlot : public QWidget {
    Q_OBJECT
public:
    explicit FrontPlot(ProjectDocument *document, QWidget *parent = nullptr);

    const std::vector<FrontView *> &views() const { return m_views; }
    TradeOffView *tradeOff() const { return m_tradeOff; }
    QCustomPlot *tradeOffPlot() const;
    QCustomPlot *parallelPlot() const;
    void setAxes(int xMetric, int yMetric);
    /// Where front point `index` is drawn on the trade-off plot, in its widget's pixels.
    QPoint frontPointPixel(int index) const;
    void showParallel(bool parallel);
    /// Writes the visible view: PNG, or PDF when `path` ends in .pdf. False on failure.
    bool savePlot(const QString &path);

Q_SIGNALS:
    void frontPointClicked(int index);
    void evaluateRequested(); ///< a view's context menu: evaluate the selected merge
    void exportRequested();   ///< ... export it
    void retryRequested(int evaluation); ///< ... run a failed evaluation again

private:
    void addView(FrontView *view);
    void rebuild();
    void updateSelection();

    ProjectDocument *m_document;
    QLabel *m_provisional;
    QTabWidget *m_tabs;
    std::vector<FrontView *> m_views;
    TradeOffView *m_tradeOff;
    FrontView *m_parallel;
};

} // namespace mf::ui
