// SPDX-License-Identifier: GPL-3.0-or-later
#include "front_plot.h"

#include "project_document.h"
#include "qcustomplot_include.h"
#include "views/parallel_view.h"
#include "views/trade_off_view.h"

#include <QLabel>
#include <QTabWidget>
#include <QVBoxLayout>

namespace mf::ui {

FrontPlot::FrontPlot(ProjectDocument *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_provisional = new QLabel(this);
    m_provisional->setObjectName(QStringLiteral("provisionalBanner"));
    m_provisional->setWordWrap(true);
    m_provisional->setStyleSheet(QStringLiteral("QLabel { background: #fff1dc; color: #7a3e00; "
                                                "border: 1px solid #e8b070; padding: 4px; }"));
    m_provisional->hide();
    layout->addWidget(m_provisional);
    m_tabs = new QTabWidget(this);
    layout->addWidget(m_tabs);
    m_tradeOff = new TradeOffView(document, m_tabs);
    m_parallel = new ParallelView(document, m_tabs);
    addView(m_tradeOff);
    addView(m_parallel);

    connect(document, &ProjectDocument::opened, this, [this] {
        m_tradeOff->resetAxesChoice();
        rebuild();
    });
    connect(document, &ProjectDocument::evaluationsChanged, this, &FrontPlot::rebuild);
    connect(document, &ProjectDocument::frontChanged, this, &FrontPlot::rebuild);
    connect(document, &ProjectDocument::brushChanged, this, &FrontPlot::rebuild);
    connect(document, &ProjectDocument::bookmarksChanged, this, &FrontPlot::rebuild);
    connect(document, &ProjectDocument::selectionChanged, this, &FrontPlot::updateSelection);
}

void FrontPlot::addView(FrontView *view)
{
    m_views.push_back(view);
    m_tabs->addTab(view, view->title());
    connect(view, &FrontView::frontPointClicked, this, &FrontPlot::frontPointClicked);
    connect(view, &FrontView::evaluateRequested, this, &FrontPlot::evaluateRequested);
    connect(view, &FrontView::exportRequested, this, &FrontPlot::exportRequested);
    connect(view, &FrontView::retryRequested, this, &FrontPlot::retryRequested);
}

void FrontPlot::rebuild()
{
    for (FrontView *view : m_views)
        view->rebuild();
    // A front on surrogates not yet good enough says so, with the reason and the fix.
    const bool provisional =
        m_document->isOpen() && m_document->hasFront() && m_document->trust().provisional;
    if (provisional)
        m_provisional->setText(
            tr("<b>Provisional front</b>: %1. The band shows how far the predictions may be off.")
                .arg(QString::fromStdString(m_document->trust().summary())
                         .remove(QStringLiteral("provisional: "))
                         .toHtmlEscaped()));
    m_provisional->setVisible(provisional);
}

void FrontPlot::updateSelection()
{
    for (FrontView *view : m_views)
        view->updateSelection();
}

QCustomPlot *FrontPlot::tradeOffPlot() const
{
    return m_tradeOff->canvas();
}

QCustomPlot *FrontPlot::parallelPlot() const
{
    return m_parallel->canvas();
}

void FrontPlot::setAxes(int xMetric, int yMetric)
{
    m_tradeOff->setAxes(xMetric, yMetric);
}

QPoint FrontPlot::frontPointPixel(int index) const
{
    return m_tradeOff->frontPointPixel(index);
}

void FrontPlot::showParallel(bool parallel)
{
    m_tabs->setCurrentWidget(parallel ? static_cast<QWidget *>(m_parallel) : m_tradeOff);
}

bool FrontPlot::savePlot(const QString &path)
{
    auto *view = qobject_cast<FrontView *>(m_tabs->currentWidget());
    QCustomPlot *plot = view ? view->canvas() : tradeOffPlot();
    if (path.endsWith(QStringLiteral(".pdf"), Qt::CaseInsensitive))
        return plot->savePdf(path);
    return plot->savePng(path);
}

} // namespace mf::ui
