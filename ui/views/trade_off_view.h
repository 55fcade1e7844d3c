// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "views/front_view.h"

#include <QPoint>
#include <QPointF>

#include <utility>
#include <vector>

class QComboBox;
class QLabel;
class QCPColorScale;
class QCPMarginGroup;
class QMenu;
class QToolButton;
class QCPAbstractItem;
class QCPCurve;
class QCPErrorBars;
class QCPGraph;
class QMouseEvent;

namespace mf::ui {

/// Two metrics against each other (a chooser picks which two when there are more tasks):
/// measured samples, grid points, the predicted front (a line for two tasks, its projection
/// otherwise), base and single-task reference lines, the preference's floors and ceilings,
/// the selected point and its measurement. Hovering shows a point's numbers; a click on a
/// front point selects it. The wheel zooms and a drag pans (the view then stays as the user
/// left it while results come in, until "Reset view" or a double click); a right click offers
/// what can be done with the point under it, the view and the legend.
class TradeOffView : public FrontView {
    Q_OBJECT
public:
    /// Where the legend sits: in the dominated corner (automatic), in a chosen one, or hidden.
    enum class Legend { Automatic, TopLeft, TopRight, BottomLeft, BottomRight, Hidden };

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
    /// The metric the projected front is coloured by (three or more tasks), or -1.
    int colourMetric() const;
    QComboBox *colourBox() const { return m_colour; }
    /// Where front point `index` is drawn, in the plot's pixels.
    QPoint frontPointPixel(int index) const;

    /// Back to the range of what is measured and predicted (after a zoom or pan).
    void resetView();
    /// True while the user's zoom or pan holds the view.
    bool userView() const { return m_userView; }
    void setLegend(Legend legend);
    Legend legend() const { return m_legend; }
    /// The right-click menu for the plot's pixel `at` (not shown; the caller pops it up or, in
    /// a test, triggers its actions). Owned by the caller.
    QMenu *contextMenu(const QPoint &at);

private:
    /// Draws a dashed line at `value` with its label; returns the items (to remove later).
    std::vector<QCPAbstractItem *> addReferenceLine(double value, bool vertical,
                                                    const QString &label, const QColor &color);
    void placeLegend();
    void updateFloorLines();
    int nearestMeasured(const QPointF &pixel, double maxDistance) const;
    void release(QMouseEvent *event);
    int nearestFrontPoint(const QPointF &pixel, double maxDistance) const;
    void hover(QMouseEvent *event);
    void press(QMouseEvent *event);

    QComboBox *m_x, *m_y, *m_colour;
    QLabel *m_colourLabel;
    QCPColorScale *m_colourScale = nullptr;
    QCPMarginGroup *m_margins;
    QToolButton *m_reset;
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
    std::vector<QCPAbstractItem *> m_floorItems; ///< the preference's floor / ceiling lines
    QCPGraph *m_failed = nullptr;  ///< failed evaluations where the surrogates put them
    std::vector<int> m_failedShown; ///< their indices into the project's evaluations
    std::vector<std::pair<double, double>> m_failedAt; ///< and where they are drawn
    std::vector<int> m_bookmarkShown; ///< bookmarks drawn (indices into the project's)
    std::vector<std::pair<double, double>> m_bookmarkAt; ///< and where (their prediction)
    bool m_userView = false;    ///< the user zoomed or panned: rebuilds keep the range
    bool m_settingRange = false; ///< ranges set by rebuild(), not by the user
    Legend m_legend = Legend::Automatic;
    QPointF m_pressedAt{-1e9, -1e9}; ///< where the left button went down (a click, not a drag)
};

} // namespace mf::ui
