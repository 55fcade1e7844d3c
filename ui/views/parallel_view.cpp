// SPDX-License-Identifier: GPL-3.0-or-later
#include "views/parallel_view.h"

#include "project_document.h"
#include "qcustomplot_include.h"
#include "ui_format.h"

#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace mf::ui {

namespace {

/// A value of metric k scaled to the front's range on that metric.
double scaled(const map::Front &front, int k, double value)
{
    const double lo = front.metrics.col(k).minCoeff(), hi = front.metrics.col(k).maxCoeff();
    return hi > lo ? (value - lo) / (hi - lo) : 0.5;
}

/// The metric value at scaled height `ratio` of metric k's axis (scaled's inverse).
double unscaled(const map::Front &front, int k, double ratio)
{
    const double lo = front.metrics.col(k).minCoeff(), hi = front.metrics.col(k).maxCoeff();
    return hi > lo ? lo + ratio * (hi - lo) : lo;
}

/// Front point i's metric k scaled to the front's range on that metric.
double scaledMetric(const map::Front &front, int i, int k)
{
    return scaled(front, k, front.metrics(i, k));
}

/// Distance from p to the segment a-b.
double segmentDistance(const QPointF &p, const QPointF &a, const QPointF &b)
{
    const QPointF ab = b - a;
    const double length2 = QPointF::dotProduct(ab, ab);
    const double t =
        length2 > 0 ? std::clamp(QPointF::dotProduct(p - a, ab) / length2, 0.0, 1.0) : 0.0;
    const QPointF nearest = a + t * ab;
    return std::hypot(p.x() - nearest.x(), p.y() - nearest.y());
}

constexpr double kGap = std::numeric_limits<double>::quiet_NaN();

} // namespace

ParallelView::ParallelView(ProjectDocument *document, QWidget *parent)
    : FrontView(document, parent)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("parallelPlot"));
    m_plot->setToolTip(tr("Drag along an axis to keep only the front points in that range; click "
                          "an axis to clear its range, a line to select its point"));
    layout->addWidget(m_plot);
    connect(m_plot, &QCustomPlot::mousePress, this, &ParallelView::press);
    connect(m_plot, &QCustomPlot::mouseMove, this, &ParallelView::move);
    connect(m_plot, &QCustomPlot::mouseRelease, this, &ParallelView::release);
}

QString ParallelView::title() const
{
    return tr("Parallel coordinates");
}

void ParallelView::rebuild()
{
    m_plot->clearPlottables();
    m_plot->clearItems();
    m_lines = m_faded = m_selected = nullptr;
    m_dragRect = nullptr;
    m_bars.clear(); // clearItems deleted them
    if (!document()->isOpen() || !document()->hasFront()) {
        // Nothing of another project stays: no axes, no names, a word on what will come.
        m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        m_plot->xAxis->setRange(0, 1);
        m_plot->yAxis->setRange(0, 1);
        m_plot->yAxis->setLabel(QString());
        auto *hint = new QCPItemText(m_plot);
        hint->position->setType(QCPItemPosition::ptAxisRectRatio);
        hint->position->setCoords(0.5, 0.45);
        hint->setText(document()->isOpen()
                          ? tr("No front yet: one axis per task appears once the surrogates "
                               "are fitted.")
                          : tr("No project open."));
        hint->setColor(QColor(110, 110, 110));
        hint->setFont(QFont(font().family(), 10));
        m_plot->replot();
        return;
    }
    const map::Front &front = document()->front();
    const auto m = static_cast<int>(front.metrics.cols());
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    const QStringList names = document()->taskNames();
    for (int k = 0; k < m; ++k) {
        const auto &task = document()->project().tasks[static_cast<std::size_t>(k)];
        ticker->addTick(k, names.value(k) + QStringLiteral("\n") +
                               metricWithArrow(task.metric, task.direction));
        const double lo = front.metrics.col(k).minCoeff(), hi = front.metrics.col(k).maxCoeff();
        for (const auto &[value, ratio] : {std::pair{hi, 1.03}, std::pair{lo, -0.03}}) {
            auto *label = new QCPItemText(m_plot);
            label->position->setCoords(k, ratio);
            label->setText(QString::number(value, 'f', 3));
            label->setFont(QFont(font().family(), 8));
        }
        auto *axis = new QCPItemStraightLine(m_plot);
        axis->point1->setCoords(k, 0);
        axis->point2->setCoords(k, 1);
        axis->setPen(QPen(QColor(80, 80, 80)));
        const auto brush = document()->brushes().find(k);
        if (brush != document()->brushes().end()) {
            auto *rect = new QCPItemRect(m_plot);
            rect->topLeft->setCoords(k - 0.05, scaled(front, k, brush->second.second));
            rect->bottomRight->setCoords(k + 0.05, scaled(front, k, brush->second.first));
            rect->setPen(QPen(QColor(30, 90, 200), 1));
            rect->setBrush(QColor(30, 90, 200, 50));
        }
    }
    // Inside every brushed range: coloured; outside: faded.
    const std::vector<int> inside = document()->brushedPoints();
    std::vector<bool> in(static_cast<std::size_t>(front.size()), false);
    for (int i : inside)
        in[static_cast<std::size_t>(i)] = true;
    QVector<double> t[2], px[2], py[2];
    for (int i = 0; i < front.size(); ++i) {
        const int g = in[static_cast<std::size_t>(i)] ? 0 : 1;
        for (int k = 0; k < m; ++k) {
            t[g].push_back(static_cast<double>(t[g].size()));
            px[g].push_back(k);
            py[g].push_back(scaledMetric(front, i, k));
        }
        t[g].push_back(static_cast<double>(t[g].size())); // a gap between points' lines
        px[g].push_back(kGap);
        py[g].push_back(kGap);
    }
    m_faded = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
    m_faded->setPen(QPen(QColor(150, 150, 150, 30), 1));
    m_faded->setData(t[1], px[1], py[1]);
    m_lines = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
    m_lines->setPen(QPen(QColor(230, 120, 20, 60), 1));
    m_lines->setData(t[0], px[0], py[0]);
    m_selected = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
    m_selected->setPen(QPen(QColor(200, 20, 20), 3));
    if (!document()->brushes().empty()) {
        auto *count = new QCPItemText(m_plot);
        count->setObjectName(QStringLiteral("brushCount"));
        count->position->setType(QCPItemPosition::ptAxisRectRatio);
        count->position->setCoords(0.99, 0.01);
        count->setPositionAlignment(Qt::AlignTop | Qt::AlignRight);
        count->setText(tr("%1 of %2 front points in the brushed ranges (click an axis to clear)")
                           .arg(inside.size())
                           .arg(front.size()));
        count->setColor(QColor(30, 90, 200));
        count->setFont(QFont(font().family(), 8));
    }
    m_plot->xAxis->setTicker(ticker);
    m_plot->xAxis->setRange(-0.3, m - 0.7);
    m_plot->yAxis->setRange(-0.1, 1.1);
    m_plot->yAxis->setLabel(tr("metric, scaled to the front's range"));
    updateSelection();
}

void ParallelView::updateSelection()
{
    if (m_selected) {
        m_selected->data()->clear();
        for (QCPItemLine *bar : m_bars)
            m_plot->removeItem(bar);
        m_bars.clear();
        const Eigen::VectorXd predicted = document()->selectedPredicted();
        if (document()->hasFront() && predicted.size() > 0) {
            const map::Front &front = document()->front();
            const Eigen::VectorXd lower = document()->selectedLower(),
                                  upper = document()->selectedUpper();
            QVector<double> t, px, py;
            for (int k = 0; k < front.metrics.cols(); ++k) {
                t.push_back(k);
                px.push_back(k);
                py.push_back(scaled(front, k, predicted[k]));
                if (!std::isfinite(lower[k]) || !std::isfinite(upper[k]))
                    continue;
                auto *bar = new QCPItemLine(m_plot);
                bar->start->setCoords(k, scaled(front, k, lower[k]));
                bar->end->setCoords(k, scaled(front, k, upper[k]));
                bar->setPen(QPen(QColor(200, 20, 20, 160), 7, Qt::SolidLine, Qt::FlatCap));
                m_bars.push_back(bar);
            }
            m_selected->setData(t, px, py);
        }
    }
    m_plot->replot();
}

QPoint ParallelView::axisPixel(int metric, double ratio) const
{
    return QPoint(static_cast<int>(std::lround(m_plot->xAxis->coordToPixel(metric))),
                  static_cast<int>(std::lround(m_plot->yAxis->coordToPixel(ratio))));
}

int ParallelView::axisNear(const QPointF &pixel) const
{
    if (!m_lines)
        return -1;
    const int m = static_cast<int>(document()->front().metrics.cols());
    const double y = m_plot->yAxis->pixelToCoord(pixel.y());
    if (y < -0.05 || y > 1.05)
        return -1;
    for (int k = 0; k < m; ++k)
        if (std::fabs(m_plot->xAxis->coordToPixel(k) - pixel.x()) <= 6)
            return k;
    return -1;
}

int ParallelView::nearestLine(const QPointF &pixel, double maxDistance) const
{
    if (!m_lines)
        return -1;
    const map::Front &front = document()->front();
    const auto m = static_cast<int>(front.metrics.cols());
    int best = -1;
    double bestDistance = maxDistance;
    for (int i : document()->brushedPoints()) {
        for (int k = 0; k + 1 < m; ++k) {
            const QPointF a(m_plot->xAxis->coordToPixel(k),
                            m_plot->yAxis->coordToPixel(scaledMetric(front, i, k)));
            const QPointF b(m_plot->xAxis->coordToPixel(k + 1),
                            m_plot->yAxis->coordToPixel(scaledMetric(front, i, k + 1)));
            const double distance = segmentDistance(pixel, a, b);
            if (distance < bestDistance) {
                bestDistance = distance;
                best = i;
            }
        }
    }
    return best;
}

void ParallelView::press(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton || !m_lines)
        return;
    m_pressedAt = event->position();
    m_dragAxis = axisNear(event->position());
}

void ParallelView::move(QMouseEvent *event)
{
    if (m_dragAxis < 0 || !(event->buttons() & Qt::LeftButton))
        return;
    if (!m_dragRect) {
        m_dragRect = new QCPItemRect(m_plot);
        m_dragRect->setPen(QPen(QColor(30, 90, 200), 1, Qt::DashLine));
        m_dragRect->setBrush(QColor(30, 90, 200, 30));
    }
    const double from = m_plot->yAxis->pixelToCoord(m_pressedAt.y());
    const double to = m_plot->yAxis->pixelToCoord(event->position().y());
    m_dragRect->topLeft->setCoords(m_dragAxis - 0.05, std::max(from, to));
    m_dragRect->bottomRight->setCoords(m_dragAxis + 0.05, std::min(from, to));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ParallelView::release(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton || !m_lines)
        return;
    const int axis = std::exchange(m_dragAxis, -1);
    const QPointF pressed = std::exchange(m_pressedAt, QPointF(-1e9, -1e9));
    const bool click = std::fabs(pressed.y() - event->position().y()) <= 4 &&
                       std::fabs(pressed.x() - event->position().x()) <= 4;
    if (axis >= 0) {
        if (click) { // a click on an axis clears its brush
            document()->clearBrush(axis);
            return;
        }
        const map::Front &front = document()->front();
        const auto clampRatio = [](double r) { return std::clamp(r, 0.0, 1.0); };
        document()->setBrush(
            axis, unscaled(front, axis, clampRatio(m_plot->yAxis->pixelToCoord(pressed.y()))),
            unscaled(front, axis, clampRatio(m_plot->yAxis->pixelToCoord(event->position().y()))));
        return;
    }
    if (!click)
        return;
    const int index = nearestLine(event->position(), 6);
    if (index >= 0)
        Q_EMIT frontPointClicked(index);
}

} // namespace mf::ui
