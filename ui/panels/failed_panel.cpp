// SPDX-License-Identifier: GPL-3.0-or-later
#include "panels/failed_panel.h"

#include "project_document.h"
#include "run_controller.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <set>

namespace mf::ui {

FailedPanel::FailedPanel(ProjectDocument *document, RunController *runner, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
    , m_runner(runner)
{
    auto *layout = new QVBoxLayout(this);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("failedSummary"));
    m_summary->setWordWrap(true);
    layout->addWidget(m_summary);
    m_table = new QTableWidget(0, 5, this);
    m_table->setObjectName(QStringLiteral("failedTable"));
    m_table->setHorizontalHeaderLabels(
        {tr("#"), tr("kind"), tr("when (UTC)"), tr("coefficients"), tr("error")});
    m_table->horizontalHeader()->setSectionResizeMode(4, QHeaderView::Stretch);
    m_table->verticalHeader()->hide();
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setWordWrap(false);
    m_table->setTabKeyNavigation(false);
    layout->addWidget(m_table, 1);
    auto *buttons = new QHBoxLayout;
    m_retrySelected = new QPushButton(tr("Retry selected"), this);
    m_retrySelected->setObjectName(QStringLiteral("retrySelected"));
    m_retryAll = new QPushButton(tr("Retry all"), this);
    m_retryAll->setObjectName(QStringLiteral("retryAll"));
    buttons->addWidget(m_retrySelected);
    buttons->addWidget(m_retryAll);
    buttons->addStretch();
    layout->addLayout(buttons);

    connect(m_retrySelected, &QPushButton::clicked, this, [this] {
        std::set<int> rows;
        for (const QModelIndex &index : m_table->selectionModel()->selectedRows())
            rows.insert(index.row());
        retry(QList<int>(rows.begin(), rows.end()));
    });
    connect(m_retryAll, &QPushButton::clicked, this, [this] { retry(); });
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &FailedPanel::refresh);
    connect(document, &ProjectDocument::opened, this, &FailedPanel::refresh);
    connect(document, &ProjectDocument::evaluationsChanged, this, &FailedPanel::refresh);
    connect(runner, &RunController::started, this, &FailedPanel::refresh);
    connect(runner, &RunController::finished, this, &FailedPanel::refresh);
    refresh();
}

void FailedPanel::refresh()
{
    const std::vector<int> failures =
        m_document->isOpen() ? m_document->openFailures() : std::vector<int>{};
    if (failures != m_rows) {
        const QSignalBlocker block(m_table->selectionModel());
        m_rows = failures;
        m_table->setRowCount(static_cast<int>(m_rows.size()));
        const auto &evaluations = m_document->project().evaluations;
        for (int row = 0; row < static_cast<int>(m_rows.size()); ++row) {
            const auto &e = evaluations[static_cast<std::size_t>(m_rows[static_cast<std::size_t>(row)])];
            QStringList c;
            for (double v : e.result.coefficients)
                c << QString::number(v, 'f', 3);
            const QString error = QString::fromStdString(e.result.error);
            const QStringList cells = {QString::number(m_rows[static_cast<std::size_t>(row)] + 1),
                                       QString::fromStdString(e.kind),
                                       QString::fromStdString(e.when),
                                       c.join(QStringLiteral(", ")), error};
            for (int column = 0; column < cells.size(); ++column) {
                auto *item = new QTableWidgetItem(cells[column]);
                item->setToolTip(column == 4 ? error : cells[column]);
                m_table->setItem(row, column, item);
            }
        }
        m_table->resizeColumnsToContents();
        m_table->horizontalHeader()->setSectionResizeMode(4, QHeaderView::Stretch);
        Q_EMIT countChanged(static_cast<int>(m_rows.size()));
    }
    m_summary->setText(
        m_rows.empty()
            ? tr("No failed evaluation.")
            : tr("%n failed evaluation(s) not made good since: the fits leave them out. Retry "
                 "runs them again (after fixing the evaluator, or for a passing fault).",
                 nullptr, static_cast<int>(m_rows.size())));
    const bool idle = m_document->isOpen() && !m_runner->busy();
    m_retryAll->setEnabled(idle && !m_rows.empty());
    m_retrySelected->setEnabled(idle && m_table->selectionModel()->hasSelection());
}

void FailedPanel::retry(const QList<int> &rows)
{
    std::vector<std::vector<double>> coefficients;
    std::vector<std::string> kinds;
    const auto &evaluations = m_document->project().evaluations;
    const std::size_t dimension = m_document->project().dimension();
    for (int row = 0; row < static_cast<int>(m_rows.size()); ++row) {
        if (!rows.isEmpty() && !rows.contains(row))
            continue;
        const auto &e = evaluations[static_cast<std::size_t>(m_rows[static_cast<std::size_t>(row)])];
        if (e.result.coefficients.size() != dimension)
            continue; // made under other coefficient groups: not a merge of this project now
        coefficients.push_back(e.result.coefficients);
        kinds.push_back(e.kind);
    }
    if (!coefficients.empty())
        m_runner->retry(coefficients, kinds);
}

} // namespace mf::ui
