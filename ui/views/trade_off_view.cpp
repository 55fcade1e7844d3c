// SPDX-License-Identifier: GPL-3.0-or-later
#include "views/trade_off_view.h"

#include "project_document.h"
#include "map/front.h"
#include "qcustomplot_include.h"
#include "ui_format.h"

#include <QActionGroup>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace mf::ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QString numbers(const ProjectDocument &document, const std::vector<double> &c,
                const std::vector<double> &metrics, const QString &what,
                const std::vector<double> &stddev = {})
{
    QString text = QStringLiteral("<b>%1</b><br>").arg(what);
    const auto &tasks = document.project().tasks;
    const std::size_t columns = document.project().columns().size();
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        QString row; // one number per task, or the task's row of the matrix (block-wise)
        for (std::size_t g = 0; g < columns && t * columns + g < c.size(); ++g)
            row += (g ? QStringLiteral(", ") : QString()) +
                   QString::number(c[t * columns + g], 'f', 3);
        text += QStringLiteral("c[%1] = %2&nbsp;&nbsp; %1: %3<br>")
                    .arg(QString::fromStdString(tasks[t].name))
                    .arg(columns > 1 ? QStringLiteral("(") + row + QStringLiteral(")") : row)
                    .arg(plusMinus(t < metrics.size() ? metrics[t] : kNaN,
                                   t < stddev.size() ? stddev[t] : kNaN));
    }
    return text;
}

} // namespace

TradeOffView::TradeOffView(ProjectDocument *document, QWidget *parent)
    : FrontView(document, parent)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *choice = new QHBoxLayout;
    m_x = new QComboBox(this);
    m_y = new QComboBox(this);
    m_x->setObjectName(QStringLiteral("xMetric"));
    m_y->setObjectName(QStringLiteral("yMetric"));
    choice->addWidget(new QLabel(tr("x:"), this));
    choice->addWidget(m_x);
    choice->addWidget(new QLabel(tr("y:"), this));
    choice->addWidget(m_y);
    // Three or more tasks: the projection coloured by a third metric.
    m_colourLabel = new QLabel(tr("colour:"), this);
    m_colour = new QComboBox(this);
    m_colour->setObjectName(QStringLiteral("colourMetric"));
    m_colour->setToolTip(tr("Colour the projected front by another task's metric (three or more "
                            "tasks)"));
    choice->addWidget(m_colourLabel);
    choice->addWidget(m_colour);
    choice->addStretch();
    auto *reset = m_reset = new QToolButton(this);
    reset->setObjectName(QStringLiteral("resetView"));
    reset->setText(tr("Reset view"));
    reset->setToolTip(tr("Back to everything measured and predicted (the wheel zooms, a drag "
                         "pans, a double click resets too)"));
    reset->setEnabled(false);
    choice->addWidget(reset);
    layout->addLayout(choice);
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("tradeOffPlot"));
    layout->addWidget(m_plot);
    m_plot->setMouseTracking(true);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_margins = new QCPMarginGroup(m_plot); // the plot and a colour scale beside it line up
    m_plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, m_margins);
    m_plot->setContextMenuPolicy(Qt::CustomContextMenu);
    m_plot->legend->setVisible(true);
    m_plot->legend->setFont(QFont(font().family(), 8));
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);

    connect(m_colour, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { rebuild(); });
    connect(m_x, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        m_userView = false;
        rebuild();
    });
    connect(m_y, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        m_userView = false;
        rebuild();
    });
    connect(m_plot, &QCustomPlot::mouseMove, this, &TradeOffView::hover);
    connect(m_plot, &QCustomPlot::mousePress, this, &TradeOffView::press);
    connect(m_plot, &QCustomPlot::mouseRelease, this, &TradeOffView::release);
    connect(m_plot, &QCustomPlot::mouseDoubleClick, this, [this] { resetView(); });
    connect(reset, &QToolButton::clicked, this, &TradeOffView::resetView);
    // A range that changes outside rebuild() is the user's zoom or pan: it holds until reset.
    for (QCPAxis *axis : {m_plot->xAxis, m_plot->yAxis})
        connect(axis, qOverload<const QCPRange &>(&QCPAxis::rangeChanged), this, [this] {
            if (m_settingRange)
                return;
            m_userView = true;
            m_reset->setEnabled(true);
        });
    connect(m_plot, &QWidget::customContextMenuRequested, this, [this](const QPoint &at) {
        QMenu *menu = contextMenu(at);
        menu->setAttribute(Qt::WA_DeleteOnClose);
        menu->popup(m_plot->mapToGlobal(at));
    });
}

QString TradeOffView::title() const
{
    return tr("Trade-off");
}

void TradeOffView::resetAxesChoice()
{
    const QStringList names = document()->taskNames();
    for (QComboBox *box : {m_x, m_y}) {
        const QSignalBlocker block(box);
        box->clear();
        box->addItems(names);
    }
    m_x->setCurrentIndex(0);
    m_y->setCurrentIndex(names.size() > 1 ? 1 : 0);
    m_x->setEnabled(names.size() > 2);
    m_y->setEnabled(names.size() > 2);
    {
        const QSignalBlocker block(m_colour);
        m_colour->clear();
        m_colour->addItem(tr("none"), -1);
        for (int t = 0; t < names.size(); ++t)
            m_colour->addItem(names[t], t);
        // Three tasks or more: the third one's metric by default.
        m_colour->setCurrentIndex(names.size() > 2 ? 3 : 0);
    }
    m_colour->setVisible(names.size() > 2);
    m_colourLabel->setVisible(names.size() > 2);
    m_userView = false; // another project: its own range
}

int TradeOffView::colourMetric() const
{
    const int metric = m_colour->currentData().toInt();
    return m_colour->isVisibleTo(this) && metric != xMetric() && metric != yMetric() ? metric : -1;
}

void TradeOffView::setAxes(int xMetric, int yMetric)
{
    {
        const QSignalBlocker bx(m_x), by(m_y);
        m_x->setCurrentIndex(xMetric);
        m_y->setCurrentIndex(yMetric);
    }
    rebuild();
}

int TradeOffView::xMetric() const
{
    return std::max(0, m_x->currentIndex());
}

int TradeOffView::yMetric() const
{
    return std::max(0, m_y->currentIndex());
}

std::vector<QCPAbstractItem *> TradeOffView::addReferenceLine(double value, bool vertical,
                                                             const QString &label,
                                                             const QColor &color)
{
    auto *line = new QCPItemStraightLine(m_plot);
    line->setPen(QPen(color, 1, Qt::DashLine));
    line->point1->setCoords(vertical ? value : 0, vertical ? 0 : value);
    line->point2->setCoords(vertical ? value : 1, vertical ? 1 : value);
    auto *text = new QCPItemText(m_plot);
    text->setText(label);
    text->setColor(color);
    text->setFont(QFont(font().family(), 8));
    text->position->setTypeX(vertical ? QCPItemPosition::ptPlotCoords
                                      : QCPItemPosition::ptAxisRectRatio);
    text->position->setTypeY(vertical ? QCPItemPosition::ptAxisRectRatio
                                      : QCPItemPosition::ptPlotCoords);
    // Vertical lines labelled at the top, horizontal ones just beside the legend (which sits in
    // the dominated corner).
    const double beside = m_legendRight ? 0.64 : 0.36;
    text->position->setCoords(vertical ? value : beside, vertical ? 0.02 : value);
    text->setPositionAlignment(
        vertical ? (Qt::AlignTop | Qt::AlignRight)
                 : (Qt::AlignBottom | (m_legendRight ? Qt::AlignRight : Qt::AlignLeft)));
    text->setRotation(vertical ? -90 : 0);
    return {line, text};
}

void TradeOffView::rebuild()
{
    // The user's zoom or pan, kept through the rebuild.
    const QCPRange userX = m_plot->xAxis->range(), userY = m_plot->yAxis->range();
    m_settingRange = true;
    m_floorItems.clear(); // clearItems deletes them
    m_plot->clearPlottables();
    m_plot->clearItems();
    if (m_colourScale) { // the colour scale of the last drawing, if any
        m_plot->plotLayout()->remove(m_colourScale);
        m_plot->plotLayout()->simplify();
        m_colourScale = nullptr;
    }
    m_grid = m_samples = m_frontDots = m_selected = m_selectedMeasured = m_failed = nullptr;
    m_failedAt.clear();
    m_frontLine = m_band = m_extrapolatedLine = nullptr;
    m_extrapolatedDots = nullptr;
    m_selectedBarsX = m_selectedBarsY = nullptr;
    if (!document()->isOpen()) {
        m_settingRange = false;
        m_plot->replot();
        return;
    }
    const auto &p = document()->project();
    const int x = xMetric(), y = yMetric();
    const std::string &xName = p.tasks[static_cast<std::size_t>(x)].name;
    const std::string &yName = p.tasks[static_cast<std::size_t>(y)].name;
    placeLegend();
    m_plot->xAxis->setLabel(QString::fromStdString(xName) + QStringLiteral(" (") +
                            metricWithArrow(p.tasks[x].metric, p.tasks[x].direction) +
                            QStringLiteral(")"));
    m_plot->yAxis->setLabel(QString::fromStdString(yName) + QStringLiteral(" (") +
                            metricWithArrow(p.tasks[y].metric, p.tasks[y].direction) +
                            QStringLiteral(")"));

    QVector<double> gx, gy, sx, sy;
    const std::size_t n = p.tasks.size();
    for (const auto &e : p.evaluations) {
        if (e.result.failed)
            continue;
        const auto ix = e.result.metrics.find(xName), iy = e.result.metrics.find(yName);
        if (ix == e.result.metrics.end() || iy == e.result.metrics.end())
            continue;
        (e.kind == "grid" ? gx : sx).push_back(ix->second);
        (e.kind == "grid" ? gy : sy).push_back(iy->second);
    }
    if (!gx.isEmpty()) {
        m_grid = m_plot->addGraph();
        m_grid->setName(tr("grid (ground truth)"));
        m_grid->setLineStyle(QCPGraph::lsNone);
        m_grid->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(170, 170, 170), 3));
        m_grid->setData(gx, gy, false);
    }
    if (document()->hasFront()) {
        const map::Front &front = document()->front();
        QVector<double> fx, fy, order;
        std::vector<int> index(static_cast<std::size_t>(front.size()));
        std::iota(index.begin(), index.end(), 0);
        std::sort(index.begin(), index.end(),
                  [&](int a, int b) { return front.metrics(a, x) < front.metrics(b, x); });
        for (int i : index) {
            fx.push_back(front.metrics(i, x));
            fy.push_back(front.metrics(i, y));
            order.push_back(static_cast<double>(order.size()));
        }
        // Each metric's optimistic and pessimistic 90% bound (upper / lower for a maximized
        // metric, the other way round for a minimized one).
        auto bound = [&](int i, int k, bool optimistic) {
            const bool maximize =
                p.tasks[static_cast<std::size_t>(k)].direction == map::Direction::Maximize;
            return optimistic == maximize ? front.upper(i, k) : front.lower(i, k);
        };
        if (n == 2) {
            // The band: the optimistic bounds along the front, back along the pessimistic ones.
            QVector<double> bt, bx, by;
            bool finite = true;
            for (bool optimistic : {true, false})
                for (std::size_t k = 0; k < index.size(); ++k) {
                    const int i = index[optimistic ? k : index.size() - 1 - k];
                    bt.push_back(static_cast<double>(bt.size()));
                    bx.push_back(bound(i, x, optimistic));
                    by.push_back(bound(i, y, optimistic));
                    finite = finite && std::isfinite(bx.back()) && std::isfinite(by.back());
                }
            if (finite && !bt.isEmpty()) {
                bt.push_back(static_cast<double>(bt.size())); // closed
                bx.push_back(bx.front());
                by.push_back(by.front());
                m_band = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
                m_band->setName(tr("90% band (model error included)"));
                m_band->setPen(QPen(QColor(230, 120, 20, 90), 1, Qt::DotLine));
                m_band->setBrush(QColor(230, 120, 20, 45));
                m_band->setData(bt, bx, by);
            }
            // Solid where the predictions lie within what was measured, dashed (joined to its
            // neighbour) where one goes beyond every measured value: an extrapolated end.
            QVector<double> ix(fx), iy(fy), ex, ey;
            bool any = false;
            for (std::size_t k = 0; k < index.size(); ++k) {
                const auto beyond = [&](std::size_t j) {
                    return j < index.size() && front.isExtrapolated(index[j]);
                };
                const bool near = beyond(k) || beyond(k + 1) || (k > 0 && beyond(k - 1));
                ex.push_back(near ? fx[static_cast<int>(k)] : kNaN);
                ey.push_back(near ? fy[static_cast<int>(k)] : kNaN);
                if (beyond(k)) {
                    ix[static_cast<int>(k)] = iy[static_cast<int>(k)] = kNaN;
                    any = true;
                }
            }
            m_frontLine = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
            m_frontLine->setName(tr("predicted front"));
            m_frontLine->setPen(QPen(QColor(230, 120, 20), 2));
            m_frontLine->setData(order, any ? ix : fx, any ? iy : fy);
            if (any) {
                m_extrapolatedLine = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
                m_extrapolatedLine->setName(tr("extrapolated: beyond every measured value"));
                m_extrapolatedLine->setPen(QPen(QColor(230, 120, 20), 1.5, Qt::DashLine));
                m_extrapolatedLine->setScatterStyle(QCPScatterStyle(
                    QCPScatterStyle::ssCircle, QPen(QColor(230, 120, 20), 1), Qt::white, 5));
                m_extrapolatedLine->setScatterSkip(
                    std::max(0, static_cast<int>(index.size()) / 80));
                m_extrapolatedLine->setData(order, ex, ey);
            }
        } else {
            m_frontDots = m_plot->addGraph();
            m_frontDots->setName(tr("predicted front (projected), 90% bars"));
            m_frontDots->setLineStyle(QCPGraph::lsNone);
            m_frontDots->setScatterStyle(
                QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(230, 120, 20, 140), 4));
            m_frontDots->setData(fx, fy, true); // sorted by x above: the bars follow the order
            const int c = colourMetric();
            if (c >= 0) {
                // Coloured by metric c: ten bins of its range over the front, a colour scale
                // beside the plot (better values in warmer colours, whatever the direction).
                const double lo = front.metrics.col(c).minCoeff();
                const double hi = front.metrics.col(c).maxCoeff();
                const bool maximize =
                    p.tasks[static_cast<std::size_t>(c)].direction == map::Direction::Maximize;
                QCPColorGradient gradient(QCPColorGradient::gpThermal);
                if (!maximize)
                    gradient = gradient.inverted();
                constexpr int kBins = 10;
                QVector<double> bx[kBins], by[kBins];
                for (int i : index) {
                    const double v = front.metrics(i, c);
                    const int bin = hi > lo ? std::min(kBins - 1, static_cast<int>(
                                                                      kBins * (v - lo) / (hi - lo)))
                                            : 0;
                    bx[bin].push_back(front.metrics(i, x));
                    by[bin].push_back(front.metrics(i, y));
                }
                m_frontDots->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssNone));
                m_frontDots->setName(tr("predicted front (projected), coloured by %1")
                                         .arg(QString::fromStdString(p.tasks[c].name)));
                for (int b = 0; b < kBins; ++b) {
                    if (bx[b].isEmpty())
                        continue;
                    QCPGraph *binGraph = m_plot->addGraph();
                    binGraph->setName(QStringLiteral("front, colour bin"));
                    binGraph->removeFromLegend();
                    binGraph->setLineStyle(QCPGraph::lsNone);
                    binGraph->setScatterStyle(QCPScatterStyle(
                        QCPScatterStyle::ssDisc, QColor(gradient.color((b + 0.5) / kBins,
                                                                       QCPRange(0, 1))),
                        5));
                    binGraph->setData(bx[b], by[b], false);
                }
                m_colourScale = new QCPColorScale(m_plot);
                m_colourScale->setObjectName(QStringLiteral("colourScale"));
                m_plot->plotLayout()->addElement(0, 1, m_colourScale);
                m_colourScale->setGradient(gradient);
                m_colourScale->setDataRange(QCPRange(lo, hi > lo ? hi : lo + 1e-9));
                m_colourScale->axis()->setLabel(
                    QString::fromStdString(p.tasks[c].name) + QStringLiteral(" (") +
                    metricWithArrow(p.tasks[c].metric, p.tasks[c].direction) +
                    QStringLiteral(")"));
                m_colourScale->setMarginGroup(QCP::msBottom | QCP::msTop, m_margins);
            }
            QVector<double> ex, ey;
            for (int i : index)
                if (front.isExtrapolated(i)) {
                    ex.push_back(front.metrics(i, x));
                    ey.push_back(front.metrics(i, y));
                }
            if (!ex.isEmpty()) {
                m_extrapolatedDots = m_plot->addGraph();
                m_extrapolatedDots->setName(tr("extrapolated: beyond every measured value"));
                m_extrapolatedDots->setLineStyle(QCPGraph::lsNone);
                m_extrapolatedDots->setScatterStyle(QCPScatterStyle(
                    QCPScatterStyle::ssCircle, QPen(QColor(230, 120, 20), 1.2), Qt::white, 6));
                m_extrapolatedDots->setData(ex, ey, false);
            }
            // Bars on about 60 points spread along the front (on every point they would
            // hide it).
            const std::size_t stride = std::max<std::size_t>(1, index.size() / 60);
            for (int axis : {x, y}) {
                QVector<double> below, above;
                for (std::size_t k = 0; k < index.size(); ++k) {
                    const int i = index[k];
                    const double v = front.metrics(i, axis);
                    const bool shown = k % stride == 0;
                    below.push_back(shown && std::isfinite(front.lower(i, axis))
                                        ? v - front.lower(i, axis)
                                        : 0);
                    above.push_back(shown && std::isfinite(front.upper(i, axis))
                                        ? front.upper(i, axis) - v
                                        : 0);
                }
                auto *bars = new QCPErrorBars(m_plot->xAxis, m_plot->yAxis);
                bars->removeFromLegend();
                bars->setDataPlottable(m_frontDots);
                bars->setErrorType(axis == x ? QCPErrorBars::etKeyError
                                             : QCPErrorBars::etValueError);
                bars->setPen(QPen(QColor(230, 120, 20, 45), 1));
                bars->setWhiskerWidth(0);
                bars->setData(below, above);
            }
        }
    }
    // The points a brush in parallel coordinates keeps, ringed (the table lists only them).
    if (document()->hasFront() && !document()->brushes().empty()) {
        const map::Front &front = document()->front();
        const std::vector<int> inside = document()->brushedPoints();
        QVector<double> bx, by;
        for (int i : inside) {
            bx.push_back(front.metrics(i, x));
            by.push_back(front.metrics(i, y));
        }
        QCPGraph *brushed = m_plot->addGraph();
        brushed->setName(
            tr("in the brushed ranges (%1 of %2)").arg(inside.size()).arg(front.size()));
        brushed->setLineStyle(QCPGraph::lsNone);
        brushed->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle,
                                                 QPen(QColor(30, 90, 200), 1.5), Qt::NoBrush, 9));
        brushed->setData(bx, by, false);
    }
    // Bookmarks: a star where the surrogates put each (its measured values in the tooltip of
    // the table), with its name.
    m_bookmarkShown.clear();
    m_bookmarkAt.clear();
    if (document()->hasFront() && !document()->bookmarks().empty()) {
        QVector<double> bx, by;
        for (std::size_t b = 0; b < document()->bookmarks().size(); ++b) {
            const project::Bookmark &bookmark = document()->bookmarks()[b];
            const Eigen::VectorXd at = document()->predictedAt(bookmark.coefficients);
            if (at.size() <= std::max(x, y))
                continue; // made under other coefficient groups
            bx.push_back(at[x]);
            by.push_back(at[y]);
            m_bookmarkShown.push_back(static_cast<int>(b));
            m_bookmarkAt.push_back({at[x], at[y]});
            auto *label = new QCPItemText(m_plot);
            label->setObjectName(QStringLiteral("bookmarkLabel"));
            label->position->setCoords(at[x], at[y]);
            // Beside the star, on the side with room (the right half's names go left).
            const bool left = m_plot->xAxis->coordToPixel(at[x]) >
                              m_plot->axisRect()->left() + m_plot->axisRect()->width() / 2;
            label->setPositionAlignment((left ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignBottom);
            label->setPadding(left ? QMargins(0, 0, 6, 2) : QMargins(6, 0, 0, 2));
            label->setText(QString::fromStdString(bookmark.name));
            label->setColor(QColor(20, 110, 60));
            label->setFont(QFont(font().family(), 8));
            label->setClipToAxisRect(true);
        }
        if (!bx.isEmpty()) {
            QCPGraph *stars = m_plot->addGraph();
            stars->setName(tr("bookmarks (predicted)"));
            stars->setLineStyle(QCPGraph::lsNone);
            stars->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssStar,
                                                   QPen(QColor(20, 110, 60), 2), Qt::NoBrush, 11));
            stars->setData(bx, by, false);
        }
    }
    // Failed evaluations have no metrics: each is drawn where the surrogates put its
    // coefficients (a red cross), once a front exists; hovering shows its error.
    m_failedShown.clear();
    if (document()->hasFront()) {
        const std::vector<int> failures = document()->openFailures();
        const std::size_t dimension = p.dimension();
        Eigen::MatrixXd rows(static_cast<Eigen::Index>(failures.size()),
                             static_cast<Eigen::Index>(dimension));
        Eigen::Index count = 0;
        for (int i : failures) {
            const auto &c = p.evaluations[static_cast<std::size_t>(i)].result.coefficients;
            if (c.size() != dimension)
                continue; // made under other coefficient groups
            for (std::size_t k = 0; k < dimension; ++k)
                rows(count, static_cast<Eigen::Index>(k)) = c[k];
            m_failedShown.push_back(i);
            ++count;
        }
        if (count > 0) {
            const Eigen::MatrixXd predicted =
                map::MetricPredictor(document()->surrogates())(rows.topRows(count));
            QVector<double> fx, fy;
            for (Eigen::Index r = 0; r < count; ++r) {
                fx.push_back(predicted(r, x));
                fy.push_back(predicted(r, y));
                m_failedAt.push_back({predicted(r, x), predicted(r, y)});
            }
            m_failed = m_plot->addGraph();
            m_failed->setName(tr("failed (where the surrogates put it)"));
            m_failed->setLineStyle(QCPGraph::lsNone);
            m_failed->setScatterStyle(
                QCPScatterStyle(QCPScatterStyle::ssCross, QPen(QColor(200, 0, 30), 2), Qt::NoBrush, 9));
            m_failed->setData(fx, fy, false);
        }
    }
    if (!sx.isEmpty()) {
        m_samples = m_plot->addGraph();
        m_samples->setName(tr("measured merges"));
        m_samples->setLineStyle(QCPGraph::lsNone);
        m_samples->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle,
                                                   QPen(QColor(30, 90, 200), 1.5), Qt::white, 7));
        m_samples->setData(sx, sy, false);
    }
    // Reference lines: the base (all coefficients 0) and each fine-tuned model (its own
    // coefficient 1) on its own task, where the project measured them.
    // Block-wise: a fine-tuned model is its task's whole row at 1.
    const std::size_t columns = p.columns().size();
    const std::vector<double> base =
        document()->measuredMetrics(std::vector<double>(n * columns, 0.0));
    if (!base.empty()) {
        addReferenceLine(base[static_cast<std::size_t>(x)], true, tr("base"),
                         QColor(120, 120, 120));
        if (y != x)
            addReferenceLine(base[static_cast<std::size_t>(y)], false, tr("base"),
                             QColor(120, 120, 120));
    }
    for (int axis : {x, y}) {
        std::vector<double> oneHot(n * columns, 0.0);
        for (std::size_t g = 0; g < columns; ++g)
            oneHot[static_cast<std::size_t>(axis) * columns + g] = 1;
        const std::vector<double> single = document()->measuredMetrics(oneHot);
        if (!single.empty())
            addReferenceLine(single[static_cast<std::size_t>(axis)], axis == x,
                             tr("%1 alone").arg(QString::fromStdString(p.tasks[axis].name)),
                             QColor(40, 140, 60));
        if (x == y)
            break;
    }
    m_selected = m_plot->addGraph();
    m_selected->setName(tr("selected (predicted)"));
    m_selected->setLineStyle(QCPGraph::lsNone);
    m_selected->setScatterStyle(QCPScatterStyle(
        QCPScatterStyle::ssDiamond, QPen(QColor(200, 20, 20), 2), QColor(240, 60, 60), 13));
    for (QCPErrorBars **bars : {&m_selectedBarsX, &m_selectedBarsY}) {
        *bars = new QCPErrorBars(m_plot->xAxis, m_plot->yAxis);
        (*bars)->removeFromLegend();
        (*bars)->setDataPlottable(m_selected);
        (*bars)->setErrorType(bars == &m_selectedBarsX ? QCPErrorBars::etKeyError
                                                       : QCPErrorBars::etValueError);
        (*bars)->setPen(QPen(QColor(200, 20, 20), 1.5));
        (*bars)->setWhiskerWidth(8);
    }
    m_selectedMeasured = m_plot->addGraph();
    m_selectedMeasured->setName(tr("selected (measured)"));
    m_selectedMeasured->setLineStyle(QCPGraph::lsNone);
    m_selectedMeasured->setScatterStyle(QCPScatterStyle(
        QCPScatterStyle::ssCrossSquare, QPen(QColor(20, 150, 40), 2), Qt::NoBrush, 12));
    const bool nothing = sx.isEmpty() && gx.isEmpty() && !document()->hasFront();
    m_plot->legend->setVisible(!nothing && m_legend != Legend::Hidden);
    if (nothing) {
        // Nothing measured yet: the metrics' own scale (accuracy-like, 0 to 1) and what to do,
        // instead of a default range of nothing.
        m_plot->xAxis->setRange(-0.02, 1.02);
        m_plot->yAxis->setRange(-0.02, 1.02);
        auto *hint = new QCPItemText(m_plot);
        hint->position->setType(QCPItemPosition::ptAxisRectRatio);
        hint->position->setCoords(0.5, 0.45);
        // Short lines: the plot is about 400 px wide in a 1024 px window.
        hint->setText(tr("No merge measured yet.\nSample (Ctrl+R) evaluates\nMAP's first "
                         "merges; the front\nand the single-task references\nappear as "
                         "they come in."));
        hint->setColor(QColor(110, 110, 110));
        hint->setFont(QFont(font().family(), 10));
    } else {
        // The range of what was measured and predicted; the 90% band and bars join it only
        // while they are not far wider (at most half as much again): a provisional front's
        // band can span the whole metric and would squeeze the points into a corner.
        std::vector<QCPAbstractPlottable *> uncertainty;
        for (int i = 0; i < m_plot->plottableCount(); ++i) {
            QCPAbstractPlottable *plottable = m_plot->plottable(i);
            if (plottable->visible() &&
                (plottable == m_band || qobject_cast<QCPErrorBars *>(plottable)))
                uncertainty.push_back(plottable);
        }
        m_plot->rescaleAxes(true);
        const QCPRange xData = m_plot->xAxis->range(), yData = m_plot->yAxis->range();
        for (QCPAbstractPlottable *plottable : uncertainty)
            plottable->setVisible(false);
        m_plot->rescaleAxes(true);
        const QCPRange xPoints = m_plot->xAxis->range(), yPoints = m_plot->yAxis->range();
        for (QCPAbstractPlottable *plottable : uncertainty)
            plottable->setVisible(true);
        const auto choose = [](const QCPRange &all, const QCPRange &points) {
            return points.size() > 0 && all.size() > 1.5 * points.size() ? points : all;
        };
        m_plot->xAxis->setRange(choose(xData, xPoints));
        m_plot->yAxis->setRange(choose(yData, yPoints));
        for (QCPAxis *axis : {m_plot->xAxis, m_plot->yAxis}) {
            const QCPRange range = axis->range();
            const double pad = std::max(0.02, range.size() * 0.06);
            axis->setRange(range.lower - pad, range.upper + pad);
        }
        if (m_userView) { // new results do not undo the user's zoom
            m_plot->xAxis->setRange(userX);
            m_plot->yAxis->setRange(userY);
        }
    }
    if (nothing)
        m_userView = false;
    m_reset->setEnabled(m_userView);
    m_settingRange = false;
    updateSelection();
}

void TradeOffView::resetView()
{
    m_userView = false;
    rebuild();
}

void TradeOffView::setLegend(Legend legend)
{
    m_legend = legend;
    rebuild(); // the reference lines' labels move with it
}

void TradeOffView::placeLegend()
{
    // Automatic: in the corner no good merge reaches (worst x, worst y).
    const auto &tasks = document()->project().tasks;
    const bool xMinimized =
        tasks[static_cast<std::size_t>(xMetric())].direction == map::Direction::Minimize;
    const bool yMinimized =
        tasks[static_cast<std::size_t>(yMetric())].direction == map::Direction::Minimize;
    bool right = xMinimized, top = yMinimized;
    switch (m_legend) {
    case Legend::TopLeft:
        right = false, top = true;
        break;
    case Legend::TopRight:
        right = true, top = true;
        break;
    case Legend::BottomLeft:
        right = false, top = false;
        break;
    case Legend::BottomRight:
        right = true, top = false;
        break;
    case Legend::Automatic:
    case Legend::Hidden:
        break;
    }
    m_legendRight = right;
    m_plot->axisRect()->insetLayout()->setInsetAlignment(
        0, (top ? Qt::AlignTop : Qt::AlignBottom) | (right ? Qt::AlignRight : Qt::AlignLeft));
}

void TradeOffView::updateFloorLines()
{
    for (QCPAbstractItem *item : m_floorItems)
        m_plot->removeItem(item);
    m_floorItems.clear();
    if (!document()->isOpen())
        return;
    const map::Preference &preference = document()->preference();
    const auto &tasks = document()->project().tasks;
    const int x = xMetric(), y = yMetric();
    for (int axis : {x, y}) {
        if (axis >= preference.floors.size() || std::isnan(preference.floors[axis]))
            continue;
        const double value = preference.floors[axis];
        const bool maximize =
            tasks[static_cast<std::size_t>(axis)].direction == map::Direction::Maximize;
        // On the pessimistic end, the bound that must meet it is named.
        const QString label =
            (preference.floorsOnPessimisticEnd
                 ? (maximize ? tr("90% lower bound ≥ %1") : tr("90% upper bound ≤ %1"))
                 : (maximize ? tr("floor ≥ %1") : tr("ceiling ≤ %1")))
                .arg(value, 0, 'g', 4);
        for (QCPAbstractItem *item :
             addReferenceLine(value, axis == x, label, QColor(190, 30, 120))) {
            m_floorItems.push_back(item);
            if (auto *line = qobject_cast<QCPItemStraightLine *>(item))
                line->setPen(QPen(QColor(190, 30, 120), 1.5, Qt::DashDotLine));
        }
        if (x == y)
            break;
    }
}

void TradeOffView::updateSelection()
{
    updateFloorLines(); // the preference's floors move with it
    if (!m_selected) {
        m_plot->replot();
        return;
    }
    m_selected->data()->clear();
    m_selectedMeasured->data()->clear();
    m_selectedBarsX->data()->clear();
    m_selectedBarsY->data()->clear();
    const Eigen::VectorXd predicted = document()->selectedPredicted();
    if (document()->hasFront() && predicted.size() > 0) {
        const int x = xMetric(), y = yMetric();
        m_selected->addData(predicted[x], predicted[y]);
        // Its 90% interval on both axes (none where it is not estimable).
        const Eigen::VectorXd lower = document()->selectedLower(),
                              upper = document()->selectedUpper();
        auto gap = [](double a, double b) {
            return std::isfinite(a - b) ? a - b : 0.0;
        };
        m_selectedBarsX->addData(gap(predicted[x], lower[x]), gap(upper[x], predicted[x]));
        m_selectedBarsY->addData(gap(predicted[y], lower[y]), gap(upper[y], predicted[y]));
        const std::vector<double> measured =
            document()->measuredMetrics(document()->selectedCoefficients());
        if (!measured.empty())
            m_selectedMeasured->addData(measured[static_cast<std::size_t>(x)],
                                        measured[static_cast<std::size_t>(y)]);
    }
    // Legend entries only for what is drawn.
    for (QCPGraph *graph : {m_selected, m_selectedMeasured}) {
        if (graph->data()->isEmpty())
            graph->removeFromLegend();
        else
            graph->addToLegend();
    }
    m_plot->replot();
}

QPoint TradeOffView::frontPointPixel(int index) const
{
    const map::Front &front = document()->front();
    return QPoint(
        static_cast<int>(std::lround(m_plot->xAxis->coordToPixel(front.metrics(index, xMetric())))),
        static_cast<int>(
            std::lround(m_plot->yAxis->coordToPixel(front.metrics(index, yMetric())))));
}

int TradeOffView::nearestFrontPoint(const QPointF &pixel, double maxDistance) const
{
    if (!document()->hasFront())
        return -1;
    const map::Front &front = document()->front();
    int best = -1;
    double bestDistance = maxDistance;
    for (int i = 0; i < front.size(); ++i) {
        const double dx = m_plot->xAxis->coordToPixel(front.metrics(i, xMetric())) - pixel.x();
        const double dy = m_plot->yAxis->coordToPixel(front.metrics(i, yMetric())) - pixel.y();
        const double distance = std::hypot(dx, dy);
        if (distance < bestDistance) {
            bestDistance = distance;
            best = i;
        }
    }
    return best;
}

void TradeOffView::hover(QMouseEvent *event)
{
    if (!document()->isOpen())
        return;
    const QPointF at = event->position();
    // A measured merge first (its numbers are real), else a front point.
    const auto &p = document()->project();
    const std::string &xName = p.tasks[static_cast<std::size_t>(xMetric())].name;
    const std::string &yName = p.tasks[static_cast<std::size_t>(yMetric())].name;
    for (const auto &e : p.evaluations) {
        if (e.result.failed || !e.result.metrics.count(xName) || !e.result.metrics.count(yName))
            continue;
        const double dx = m_plot->xAxis->coordToPixel(e.result.metrics.at(xName)) - at.x();
        const double dy = m_plot->yAxis->coordToPixel(e.result.metrics.at(yName)) - at.y();
        if (std::hypot(dx, dy) < 6) {
            std::vector<double> metrics;
            for (const auto &task : p.tasks)
                metrics.push_back(e.result.metrics.count(task.name) ? e.result.metrics.at(task.name)
                                                                    : kNaN);
            QToolTip::showText(event->globalPosition().toPoint(),
                               numbers(*document(), e.result.coefficients, metrics,
                                       tr("measured (%1)").arg(QString::fromStdString(e.kind))),
                               m_plot);
            return;
        }
    }
    for (std::size_t k = 0; k < m_failedAt.size(); ++k) {
        const double dx = m_plot->xAxis->coordToPixel(m_failedAt[k].first) - at.x();
        const double dy = m_plot->yAxis->coordToPixel(m_failedAt[k].second) - at.y();
        if (std::hypot(dx, dy) < 6) {
            const auto &e = p.evaluations[static_cast<std::size_t>(m_failedShown[k])];
            QStringList c;
            for (double v : e.result.coefficients)
                c << QString::number(v, 'f', 3);
            QToolTip::showText(
                event->globalPosition().toPoint(),
                tr("<b>failed evaluation %1</b> (%2), drawn where the surrogates put it<br>"
                   "coefficients %3<br>%4")
                    .arg(m_failedShown[k] + 1)
                    .arg(QString::fromStdString(e.kind), c.join(QStringLiteral(", ")),
                         QString::fromStdString(e.result.error).toHtmlEscaped()),
                m_plot);
            return;
        }
    }
    const int index = nearestFrontPoint(at, 8);
    if (index < 0) {
        QToolTip::hideText();
        return;
    }
    const map::Front &front = document()->front();
    const auto c = front.coefficients.row(index);
    const auto y = front.metrics.row(index);
    const auto sd = front.stddev.row(index);
    QString text = numbers(*document(), {c.begin(), c.end()}, {y.begin(), y.end()},
                           tr("predicted front point %1").arg(index), {sd.begin(), sd.end()});
    if (front.isExtrapolated(index)) {
        QStringList beyond;
        for (int t = 0; t < front.extrapolated.cols(); ++t)
            if (front.extrapolated(index, t))
                beyond << QString::fromStdString(p.tasks[static_cast<std::size_t>(t)].name);
        text += tr("<i>extrapolated: %1 beyond every measured value</i>")
                    .arg(beyond.join(QStringLiteral(", ")));
    }
    QToolTip::showText(event->globalPosition().toPoint(), text, m_plot);
}

void TradeOffView::press(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton)
        m_pressedAt = event->position();
}

void TradeOffView::release(QMouseEvent *event)
{
    // A click selects the front point under it; a drag pans and selects nothing.
    if (event->button() != Qt::LeftButton)
        return;
    const QPointF pressed = std::exchange(m_pressedAt, QPointF(-1e9, -1e9));
    if (QLineF(pressed, event->position()).length() > 4)
        return;
    const int index = nearestFrontPoint(event->position(), 12);
    if (index >= 0)
        Q_EMIT frontPointClicked(index);
}

int TradeOffView::nearestMeasured(const QPointF &pixel, double maxDistance) const
{
    const auto &p = document()->project();
    const std::string &xName = p.tasks[static_cast<std::size_t>(xMetric())].name;
    const std::string &yName = p.tasks[static_cast<std::size_t>(yMetric())].name;
    int best = -1;
    double bestDistance = maxDistance;
    for (std::size_t i = 0; i < p.evaluations.size(); ++i) {
        const auto &e = p.evaluations[i];
        if (e.result.failed || !e.result.metrics.count(xName) || !e.result.metrics.count(yName))
            continue;
        const double distance =
            std::hypot(m_plot->xAxis->coordToPixel(e.result.metrics.at(xName)) - pixel.x(),
                       m_plot->yAxis->coordToPixel(e.result.metrics.at(yName)) - pixel.y());
        if (distance < bestDistance) {
            bestDistance = distance;
            best = static_cast<int>(i);
        }
    }
    return best;
}

QMenu *TradeOffView::contextMenu(const QPoint &at)
{
    auto *menu = new QMenu(m_plot);
    const auto copyAction = [this, menu](const std::vector<double> &c) {
        menu->addAction(tr("Copy its coefficients"), this,
                        [c] { QApplication::clipboard()->setText(coefficientsText(c)); });
    };
    int failed = -1;
    for (std::size_t k = 0; k < m_failedAt.size() && failed < 0; ++k)
        if (std::hypot(m_plot->xAxis->coordToPixel(m_failedAt[k].first) - at.x(),
                       m_plot->yAxis->coordToPixel(m_failedAt[k].second) - at.y()) < 6)
            failed = m_failedShown[k];
    int bookmark = -1;
    for (std::size_t k = 0; k < m_bookmarkAt.size() && failed < 0 && bookmark < 0; ++k)
        if (std::hypot(m_plot->xAxis->coordToPixel(m_bookmarkAt[k].first) - at.x(),
                       m_plot->yAxis->coordToPixel(m_bookmarkAt[k].second) - at.y()) < 7)
            bookmark = m_bookmarkShown[k];
    const bool other = failed >= 0 || bookmark >= 0;
    const int measured = document()->isOpen() && !other ? nearestMeasured(at, 6) : -1;
    const int point =
        document()->isOpen() && measured < 0 && !other ? nearestFrontPoint(at, 12) : -1;
    const auto bookmarkAction = [this, menu](const std::vector<double> &c) {
        menu->addAction(tr("Bookmark this merge"), this,
                        [this, c] { document()->addBookmark(QString(), c); });
    };
    if (bookmark >= 0) {
        const std::vector<double> c =
            document()->bookmarks()[static_cast<std::size_t>(bookmark)].coefficients;
        menu->addSection(
            tr("Bookmark '%1'")
                .arg(QString::fromStdString(
                    document()->bookmarks()[static_cast<std::size_t>(bookmark)].name)));
        menu->addAction(tr("Select it"), this, [this, c] { document()->selectCoefficients(c); });
        copyAction(c);
        menu->addAction(tr("Evaluate this merge"), this, [this, c] {
            if (document()->selectCoefficients(c))
                Q_EMIT evaluateRequested();
        });
        menu->addAction(tr("Export this merge…"), this, [this, c] {
            if (document()->selectCoefficients(c))
                Q_EMIT exportRequested();
        });
        menu->addAction(tr("Remove the bookmark"), this,
                        [this, bookmark] { document()->removeBookmark(bookmark); });
        menu->addSeparator();
    } else if (failed >= 0) {
        const auto &e = document()->project().evaluations[static_cast<std::size_t>(failed)];
        menu->addSection(tr("Failed evaluation %1 (%2)")
                             .arg(failed + 1)
                             .arg(QString::fromStdString(e.kind)));
        menu->addAction(tr("Retry this evaluation"), this,
                        [this, failed] { Q_EMIT retryRequested(failed); });
        copyAction(e.result.coefficients);
        menu->addSeparator();
    } else if (measured >= 0) {
        const auto &e = document()->project().evaluations[static_cast<std::size_t>(measured)];
        menu->addSection(tr("Measured merge (%1)").arg(QString::fromStdString(e.kind)));
        copyAction(e.result.coefficients);
        if (e.result.coefficients.size() == document()->project().dimension())
            bookmarkAction(e.result.coefficients);
        menu->addSeparator();
    } else if (point >= 0) {
        const map::Front &front = document()->front();
        const auto row = front.coefficients.row(point);
        menu->addSection(tr("Front point %1").arg(point));
        menu->addAction(tr("Select it"), this, [this, point] { Q_EMIT frontPointClicked(point); });
        copyAction({row.begin(), row.end()});
        menu->addAction(tr("Evaluate this merge"), this, [this, point] {
            Q_EMIT frontPointClicked(point);
            Q_EMIT evaluateRequested();
        });
        menu->addAction(tr("Export this merge…"), this, [this, point] {
            Q_EMIT frontPointClicked(point);
            Q_EMIT exportRequested();
        });
        bookmarkAction({row.begin(), row.end()});
        menu->addSeparator();
    }
    QAction *reset = menu->addAction(tr("Reset view"), this, &TradeOffView::resetView);
    reset->setEnabled(m_userView);
    QMenu *legend = menu->addMenu(tr("Legend"));
    auto *placements = new QActionGroup(legend);
    for (const auto &[text, where] : {std::pair{tr("Automatic (the dominated corner)"),
                                                Legend::Automatic},
                                      std::pair{tr("Top left"), Legend::TopLeft},
                                      std::pair{tr("Top right"), Legend::TopRight},
                                      std::pair{tr("Bottom left"), Legend::BottomLeft},
                                      std::pair{tr("Bottom right"), Legend::BottomRight},
                                      std::pair{tr("Hidden"), Legend::Hidden}}) {
        QAction *action = legend->addAction(text, this, [this, where = where] { setLegend(where); });
        action->setCheckable(true);
        action->setChecked(m_legend == where);
        placements->addAction(action);
    }
    return menu;
}

} // namespace mf::ui
