// SPDX-License-Identifier: GPL-3.0-or-later
#include "front_plot.h"

#include "project_document.h"
#include "qcustomplot_include.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QTabWidget>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace mf::ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QString numbers(const ProjectDocument &document, const std::vector<double> &c,
                const std::vector<double> &metrics, const QString &what)
{
    QString text = QStringLiteral("<b>%1</b><br>").arg(what);
    const auto &tasks = document.project().tasks;
    for (std::size_t t = 0; t < tasks.size(); ++t)
        text += QStringLiteral("c[%1] = %2&nbsp;&nbsp; %1: %3<br>")
                    .arg(QString::fromStdString(tasks[t].name))
                    .arg(c[t], 0, 'f', 3)
                    .arg(t < metrics.size() ? metrics[t] : kNaN, 0, 'f', 4);
    return text;
}

/// Front point i's metric k scaled to the front's range on that metric (parallel coordinates).
double scaledMetric(const map::Front &front, int i, int k)
{
    const double lo = front.metrics.col(k).minCoeff(), hi = front.metrics.col(k).maxCoeff();
    return hi > lo ? (front.metrics(i, k) - lo) / (hi - lo) : 0.5;
}

} // namespace

FrontPlot::FrontPlot(ProjectDocument *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
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
    choice->addStretch();
    layout->addLayout(choice);
    m_tabs = new QTabWidget(this);
    m_scatter = new QCustomPlot(m_tabs);
    m_parallel = new QCustomPlot(m_tabs);
    m_scatter->setObjectName(QStringLiteral("tradeOffPlot"));
    m_parallel->setObjectName(QStringLiteral("parallelPlot"));
    m_tabs->addTab(m_scatter, tr("Trade-off"));
    m_tabs->addTab(m_parallel, tr("Parallel coordinates"));
    layout->addWidget(m_tabs);
    m_scatter->setMouseTracking(true);
    m_scatter->legend->setVisible(true);
    m_scatter->legend->setFont(QFont(font().family(), 8));
    m_scatter->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);

    connect(m_x, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { rebuild(); });
    connect(m_y, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { rebuild(); });
    connect(m_scatter, &QCustomPlot::mouseMove, this, &FrontPlot::hover);
    connect(m_scatter, &QCustomPlot::mousePress, this, &FrontPlot::press);
    connect(document, &ProjectDocument::opened, this, [this] {
        rebuildAxesChoice();
        rebuild();
    });
    connect(document, &ProjectDocument::evaluationsChanged, this, &FrontPlot::rebuild);
    connect(document, &ProjectDocument::frontChanged, this, &FrontPlot::rebuild);
    connect(document, &ProjectDocument::selectionChanged, this, &FrontPlot::updateSelection);
}

void FrontPlot::rebuildAxesChoice()
{
    const QStringList names = m_document->taskNames();
    for (QComboBox *box : {m_x, m_y}) {
        const QSignalBlocker block(box);
        box->clear();
        box->addItems(names);
    }
    m_x->setCurrentIndex(0);
    m_y->setCurrentIndex(names.size() > 1 ? 1 : 0);
    m_x->setEnabled(names.size() > 2);
    m_y->setEnabled(names.size() > 2);
}

void FrontPlot::setAxes(int xMetric, int yMetric)
{
    {
        const QSignalBlocker bx(m_x), by(m_y);
        m_x->setCurrentIndex(xMetric);
        m_y->setCurrentIndex(yMetric);
    }
    rebuild();
}

int FrontPlot::xMetric() const
{
    return std::max(0, m_x->currentIndex());
}

int FrontPlot::yMetric() const
{
    return std::max(0, m_y->currentIndex());
}

void FrontPlot::showParallel(bool parallel)
{
    m_tabs->setCurrentIndex(parallel ? 1 : 0);
}

void FrontPlot::rebuild()
{
    m_scatter->clearPlottables();
    m_scatter->clearItems();
    m_grid = m_samples = m_frontDots = m_selected = m_selectedMeasured = nullptr;
    m_frontLine = nullptr;
    if (!m_document->isOpen()) {
        m_scatter->replot();
        rebuildParallel();
        return;
    }
    const auto &p = m_document->project();
    const int x = xMetric(), y = yMetric();
    const std::string &xName = p.tasks[static_cast<std::size_t>(x)].name;
    const std::string &yName = p.tasks[static_cast<std::size_t>(y)].name;
    m_scatter->xAxis->setLabel(QString::fromStdString(xName + " (" + p.tasks[x].metric + ")"));
    m_scatter->yAxis->setLabel(QString::fromStdString(yName + " (" + p.tasks[y].metric + ")"));

    QVector<double> gx, gy, sx, sy;
    const std::size_t n = p.tasks.size();
    std::vector<double> zero(n, 0.0);
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
        m_grid = m_scatter->addGraph();
        m_grid->setName(tr("grid (ground truth)"));
        m_grid->setLineStyle(QCPGraph::lsNone);
        m_grid->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(170, 170, 170), 3));
        m_grid->setData(gx, gy, false);
    }
    if (m_document->hasFront()) {
        const map::Front &front = m_document->front();
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
        if (n == 2) {
            m_frontLine = new QCPCurve(m_scatter->xAxis, m_scatter->yAxis);
            m_frontLine->setName(tr("predicted front"));
            m_frontLine->setPen(QPen(QColor(230, 120, 20), 2));
            m_frontLine->setData(order, fx, fy);
        } else {
            m_frontDots = m_scatter->addGraph();
            m_frontDots->setName(tr("predicted front (projected)"));
            m_frontDots->setLineStyle(QCPGraph::lsNone);
            m_frontDots->setScatterStyle(
                QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(230, 120, 20, 140), 4));
            m_frontDots->setData(fx, fy, false);
        }
    }
    if (!sx.isEmpty()) {
        m_samples = m_scatter->addGraph();
        m_samples->setName(tr("measured merges"));
        m_samples->setLineStyle(QCPGraph::lsNone);
        m_samples->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle,
                                                   QPen(QColor(30, 90, 200), 1.5), Qt::white, 7));
        m_samples->setData(sx, sy, false);
    }
    // Reference lines: the base (all coefficients 0) and each fine-tuned model (its own
    // coefficient 1) on its own task, where the project measured them.
    auto referenceLine = [&](double value, bool vertical, const QString &label,
                             const QColor &color) {
        auto *line = new QCPItemStraightLine(m_scatter);
        line->setPen(QPen(color, 1, Qt::DashLine));
        line->point1->setCoords(vertical ? value : 0, vertical ? 0 : value);
        line->point2->setCoords(vertical ? value : 1, vertical ? 1 : value);
        auto *text = new QCPItemText(m_scatter);
        text->setText(label);
        text->setColor(color);
        text->setFont(QFont(font().family(), 8));
        text->position->setTypeX(vertical ? QCPItemPosition::ptPlotCoords
                                          : QCPItemPosition::ptAxisRectRatio);
        text->position->setTypeY(vertical ? QCPItemPosition::ptAxisRectRatio
                                          : QCPItemPosition::ptPlotCoords);
        // Vertical lines labelled at the top, horizontal ones just right of the legend (which
        // sits bottom left, in the dominated corner).
        text->position->setCoords(vertical ? value : 0.36, vertical ? 0.02 : value);
        text->setPositionAlignment(vertical ? (Qt::AlignTop | Qt::AlignRight)
                                            : (Qt::AlignBottom | Qt::AlignLeft));
        text->setRotation(vertical ? -90 : 0);
    };
    const std::vector<double> base = m_document->measuredMetrics(zero);
    if (!base.empty()) {
        referenceLine(base[static_cast<std::size_t>(x)], true, tr("base"), QColor(120, 120, 120));
        if (y != x)
            referenceLine(base[static_cast<std::size_t>(y)], false, tr("base"),
                          QColor(120, 120, 120));
    }
    for (int axis : {x, y}) {
        std::vector<double> oneHot(n, 0.0);
        oneHot[static_cast<std::size_t>(axis)] = 1;
        const std::vector<double> single = m_document->measuredMetrics(oneHot);
        if (!single.empty())
            referenceLine(single[static_cast<std::size_t>(axis)], axis == x,
                          tr("%1 alone").arg(QString::fromStdString(p.tasks[axis].name)),
                          QColor(40, 140, 60));
        if (x == y)
            break;
    }
    m_selected = m_scatter->addGraph();
    m_selected->setName(tr("selected (predicted)"));
    m_selected->setLineStyle(QCPGraph::lsNone);
    m_selected->setScatterStyle(QCPScatterStyle(
        QCPScatterStyle::ssDiamond, QPen(QColor(200, 20, 20), 2), QColor(240, 60, 60), 13));
    m_selectedMeasured = m_scatter->addGraph();
    m_selectedMeasured->setName(tr("selected (measured)"));
    m_selectedMeasured->setLineStyle(QCPGraph::lsNone);
    m_selectedMeasured->setScatterStyle(QCPScatterStyle(
        QCPScatterStyle::ssCrossSquare, QPen(QColor(20, 150, 40), 2), Qt::NoBrush, 12));
    const bool nothing = sx.isEmpty() && gx.isEmpty() && !m_document->hasFront();
    m_scatter->legend->setVisible(!nothing);
    if (nothing) {
        // Nothing measured yet: the metrics' own scale (accuracy-like, 0 to 1) and what to do,
        // instead of a default range of nothing.
        m_scatter->xAxis->setRange(-0.02, 1.02);
        m_scatter->yAxis->setRange(-0.02, 1.02);
        auto *hint = new QCPItemText(m_scatter);
        hint->position->setType(QCPItemPosition::ptAxisRectRatio);
        hint->position->setCoords(0.5, 0.45);
        hint->setText(tr("No merge measured yet.\nSample (Ctrl+R) evaluates MAP's first merges;\n"
                         "the front and the single-task references appear as they come in."));
        hint->setColor(QColor(110, 110, 110));
        hint->setFont(QFont(font().family(), 10));
    } else {
        m_scatter->rescaleAxes();
        for (QCPAxis *axis : {m_scatter->xAxis, m_scatter->yAxis}) {
            const QCPRange range = axis->range();
            const double pad = std::max(0.02, range.size() * 0.06);
            axis->setRange(range.lower - pad, range.upper + pad);
        }
    }
    rebuildParallel();
    updateSelection();
}

void FrontPlot::rebuildParallel()
{
    m_parallel->clearPlottables();
    m_parallel->clearItems();
    m_parallelLines = m_parallelSelected = nullptr;
    if (!m_document->isOpen() || !m_document->hasFront()) {
        m_parallel->replot();
        return;
    }
    const map::Front &front = m_document->front();
    const auto m = static_cast<int>(front.metrics.cols());
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    const QStringList names = m_document->taskNames();
    for (int k = 0; k < m; ++k) {
        ticker->addTick(k, names.value(k));
        const double lo = front.metrics.col(k).minCoeff(), hi = front.metrics.col(k).maxCoeff();
        for (const auto &[value, ratio] : {std::pair{hi, 1.03}, std::pair{lo, -0.03}}) {
            auto *label = new QCPItemText(m_parallel);
            label->position->setCoords(k, ratio);
            label->setText(QString::number(value, 'f', 3));
            label->setFont(QFont(font().family(), 8));
        }
        auto *axis = new QCPItemStraightLine(m_parallel);
        axis->point1->setCoords(k, 0);
        axis->point2->setCoords(k, 1);
        axis->setPen(QPen(QColor(80, 80, 80)));
    }
    QVector<double> t, px, py;
    for (int i = 0; i < front.size(); ++i) {
        for (int k = 0; k < m; ++k) {
            t.push_back(static_cast<double>(t.size()));
            px.push_back(k);
            py.push_back(scaledMetric(front, i, k));
        }
        t.push_back(static_cast<double>(t.size())); // a gap between points' lines
        px.push_back(kNaN);
        py.push_back(kNaN);
    }
    m_parallelLines = new QCPCurve(m_parallel->xAxis, m_parallel->yAxis);
    m_parallelLines->setPen(QPen(QColor(230, 120, 20, 60), 1));
    m_parallelLines->setData(t, px, py);
    m_parallelSelected = new QCPCurve(m_parallel->xAxis, m_parallel->yAxis);
    m_parallelSelected->setPen(QPen(QColor(200, 20, 20), 3));
    m_parallel->xAxis->setTicker(ticker);
    m_parallel->xAxis->setRange(-0.3, m - 0.7);
    m_parallel->yAxis->setRange(-0.1, 1.1);
    m_parallel->yAxis->setLabel(tr("metric, scaled to the front's range"));
    m_parallel->replot();
}

void FrontPlot::updateSelection()
{
    if (!m_selected) {
        m_scatter->replot();
        return;
    }
    m_selected->data()->clear();
    m_selectedMeasured->data()->clear();
    if (m_parallelSelected)
        m_parallelSelected->data()->clear();
    const int index = m_document->selectedIndex();
    if (m_document->hasFront() && index >= 0) {
        const map::Front &front = m_document->front();
        const int x = xMetric(), y = yMetric();
        m_selected->addData(front.metrics(index, x), front.metrics(index, y));
        const std::vector<double> measured =
            m_document->measuredMetrics(m_document->selectedCoefficients());
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
    if (m_document->hasFront() && index >= 0) {
        const map::Front &front = m_document->front();
        if (m_parallelSelected) {
            QVector<double> t, px, py;
            for (int k = 0; k < front.metrics.cols(); ++k) {
                t.push_back(k);
                px.push_back(k);
                py.push_back(scaledMetric(front, index, k));
            }
            m_parallelSelected->setData(t, px, py);
        }
    }
    m_scatter->replot();
    m_parallel->replot();
}

QPoint FrontPlot::frontPointPixel(int index) const
{
    const map::Front &front = m_document->front();
    return QPoint(static_cast<int>(
                      std::lround(m_scatter->xAxis->coordToPixel(front.metrics(index, xMetric())))),
                  static_cast<int>(std::lround(
                      m_scatter->yAxis->coordToPixel(front.metrics(index, yMetric())))));
}

int FrontPlot::nearestFrontPoint(const QPointF &pixel, double maxDistance) const
{
    if (!m_document->hasFront())
        return -1;
    const map::Front &front = m_document->front();
    int best = -1;
    double bestDistance = maxDistance;
    for (int i = 0; i < front.size(); ++i) {
        const double dx = m_scatter->xAxis->coordToPixel(front.metrics(i, xMetric())) - pixel.x();
        const double dy = m_scatter->yAxis->coordToPixel(front.metrics(i, yMetric())) - pixel.y();
        const double distance = std::hypot(dx, dy);
        if (distance < bestDistance) {
            bestDistance = distance;
            best = i;
        }
    }
    return best;
}

void FrontPlot::hover(QMouseEvent *event)
{
    const QPointF at = event->position();
    // A measured merge first (its numbers are real), else a front point.
    const auto &p = m_document->project();
    const std::string &xName = p.tasks[static_cast<std::size_t>(xMetric())].name;
    const std::string &yName = p.tasks[static_cast<std::size_t>(yMetric())].name;
    for (const auto &e : p.evaluations) {
        if (e.result.failed || !e.result.metrics.count(xName) || !e.result.metrics.count(yName))
            continue;
        const double dx = m_scatter->xAxis->coordToPixel(e.result.metrics.at(xName)) - at.x();
        const double dy = m_scatter->yAxis->coordToPixel(e.result.metrics.at(yName)) - at.y();
        if (std::hypot(dx, dy) < 6) {
            std::vector<double> metrics;
            for (const auto &task : p.tasks)
                metrics.push_back(e.result.metrics.count(task.name) ? e.result.metrics.at(task.name)
                                                                    : kNaN);
            QToolTip::showText(event->globalPosition().toPoint(),
                               numbers(*m_document, e.result.coefficients, metrics,
                                       tr("measured (%1)").arg(QString::fromStdString(e.kind))),
                               m_scatter);
            return;
        }
    }
    const int index = nearestFrontPoint(at, 8);
    if (index < 0) {
        QToolTip::hideText();
        return;
    }
    const map::Front &front = m_document->front();
    const auto c = front.coefficients.row(index);
    const auto y = front.metrics.row(index);
    QToolTip::showText(event->globalPosition().toPoint(),
                       numbers(*m_document, {c.begin(), c.end()}, {y.begin(), y.end()},
                               tr("predicted front point %1").arg(index)),
                       m_scatter);
}

void FrontPlot::press(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton)
        return;
    const int index = nearestFrontPoint(event->position(), 12);
    if (index >= 0)
        Q_EMIT frontPointClicked(index);
}

bool FrontPlot::savePlot(const QString &path)
{
    QCustomPlot *plot = m_tabs->currentIndex() == 1 ? m_parallel : m_scatter;
    if (path.endsWith(QStringLiteral(".pdf"), Qt::CaseInsensitive))
        return plot->savePdf(path);
    return plot->savePng(path);
}

} // namespace mf::ui
