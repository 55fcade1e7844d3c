// SPDX-License-Identifier: GPL-3.0-or-later
#include "views/parallel_view.h"

#include "project_document.h"
#include "ui_format.h"
#include "qcustomplot_include.h"

#include <QVBoxLayout>

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

/// Front point i's metric k scaled to the front's range on that metric.
double scaledMetric(const map::Front &front, int i, int k)
{
    return scaled(front, k, front.metrics(i, k));
}

} // namespace

ParallelView::ParallelView(ProjectDocument *document, QWidget *parent)
    : FrontView(document, parent)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("parallelPlot"));
    layout->addWidget(m_plot);
}

QString ParallelView::title() const
{
    return tr("Parallel coordinates");
}

void ParallelView::rebuild()
{
    m_plot->clearPlottables();
    m_plot->clearItems();
    m_lines = m_selected = nullptr;
    m_bars.clear(); // clearItems deleted them
    if (!document()->isOpen() || !document()->hasFront()) {
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
    }
    constexpr double kGap = std::numeric_limits<double>::quiet_NaN();
    QVector<double> t, px, py;
    for (int i = 0; i < front.size(); ++i) {
        for (int k = 0; k < m; ++k) {
            t.push_back(static_cast<double>(t.size()));
            px.push_back(k);
            py.push_back(scaledMetric(front, i, k));
        }
        t.push_back(static_cast<double>(t.size())); // a gap between points' lines
        px.push_back(kGap);
        py.push_back(kGap);
    }
    m_lines = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
    m_lines->setPen(QPen(QColor(230, 120, 20, 60), 1));
    m_lines->setData(t, px, py);
    m_selected = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
    m_selected->setPen(QPen(QColor(200, 20, 20), 3));
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

} // namespace mf::ui
