// SPDX-License-Identifier: GPL-3.0-or-later
#include "panels/bookmarks_panel.h"

#include "project_document.h"
#include "run_controller.h"
#include "ui_format.h"

#include <QApplication>
#include <QClipboard>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

namespace mf::ui {

namespace {

enum Column { Name, Coefficients, FirstMetric };

} // namespace

BookmarksPanel::BookmarksPanel(ProjectDocument *document, RunController *runner, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
    , m_runner(runner)
{
    auto *layout = new QVBoxLayout(this);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("bookmarksSummary"));
    m_summary->setWordWrap(true);
    layout->addWidget(m_summary);
    m_table = new QTableWidget(0, 0, this);
    m_table->setObjectName(QStringLiteral("bookmarksTable"));
    m_table->verticalHeader()->hide();
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    m_table->setWordWrap(false);
    m_table->setTabKeyNavigation(false);
    layout->addWidget(m_table, 1);
    auto *buttons = new QHBoxLayout;
    m_add = new QPushButton(tr("Bookmark the selection"), this);
    m_select = new QPushButton(tr("Select"), this);
    m_evaluate = new QPushButton(tr("Evaluate"), this);
    m_copy = new QPushButton(tr("Copy coefficients"), this);
    m_remove = new QPushButton(tr("Remove"), this);
    for (QPushButton *button : {m_add, m_select, m_evaluate, m_copy, m_remove})
        buttons->addWidget(button);
    buttons->addStretch();
    layout->addLayout(buttons);
    m_add->setToolTip(tr("Mark the selected merge to come back to (saved with the project)"));
    m_select->setToolTip(tr("Make the bookmark the selected merge (then File ▸ Export writes it)"));
    m_evaluate->setToolTip(tr("Measure the bookmarked merge with the project's evaluators"));

    connect(m_add, &QPushButton::clicked, this,
            [this] { m_document->addBookmark(QString(), m_document->selectedCoefficients()); });
    const auto bookmarked = [this](const auto &use) {
        const int b = currentBookmark();
        if (b >= 0)
            use(m_document->bookmarks()[static_cast<std::size_t>(b)]);
    };
    connect(m_select, &QPushButton::clicked, this, [this, bookmarked] {
        bookmarked(
            [this](const project::Bookmark &b) { m_document->selectCoefficients(b.coefficients); });
    });
    connect(m_evaluate, &QPushButton::clicked, this, [this, bookmarked] {
        bookmarked([this](const project::Bookmark &b) { m_runner->evaluatePoint(b.coefficients); });
    });
    connect(m_copy, &QPushButton::clicked, this, [bookmarked] {
        bookmarked([](const project::Bookmark &b) {
            QApplication::clipboard()->setText(coefficientsText(b.coefficients));
        });
    });
    connect(m_remove, &QPushButton::clicked, this,
            [this] { m_document->removeBookmark(currentBookmark()); });
    connect(m_table, &QTableWidget::itemChanged, this, [this](QTableWidgetItem *item) {
        if (!m_filling && item->column() == Name)
            m_document->renameBookmark(item->row(), item->text());
    });
    connect(m_table, &QTableWidget::cellDoubleClicked, this, [this](int row, int column) {
        if (column != Name && row >= 0 && row < static_cast<int>(m_document->bookmarks().size()))
            m_document->selectCoefficients(
                m_document->bookmarks()[static_cast<std::size_t>(row)].coefficients);
    });
    // A row chosen, a selection moved (every slider step), a run started or ended: only what
    // the buttons may do changes; the table is refilled when bookmarks, front or evaluations do.
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &BookmarksPanel::updateButtons);
    connect(document, &ProjectDocument::selectionChanged, this, &BookmarksPanel::updateButtons);
    connect(runner, &RunController::started, this, &BookmarksPanel::updateButtons);
    connect(runner, &RunController::finished, this, &BookmarksPanel::updateButtons);
    // Another project's bookmarks are not new: none of them becomes the current row.
    connect(document, &ProjectDocument::opened, this,
            [this] { m_shown = m_document->bookmarks().size(); });
    for (auto signal : {&ProjectDocument::opened, &ProjectDocument::bookmarksChanged,
                        &ProjectDocument::frontChanged, &ProjectDocument::evaluationsChanged})
        connect(document, signal, this, &BookmarksPanel::refresh);
    refresh();
}

int BookmarksPanel::currentBookmark() const
{
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    const int row = rows.isEmpty() ? -1 : rows.front().row();
    return row >= 0 && row < static_cast<int>(m_document->bookmarks().size()) ? row : -1;
}

void BookmarksPanel::refresh()
{
    const bool open = m_document->isOpen();
    const auto &bookmarks = open ? m_document->bookmarks() : std::vector<project::Bookmark>{};
    const auto &tasks = m_document->project().tasks;
    {
        m_filling = true;
        const QSignalBlocker block(m_table->selectionModel());
        // A new bookmark is the current row (its buttons ready); else the row stays.
        const int keep =
            bookmarks.size() > m_shown ? static_cast<int>(bookmarks.size()) - 1 : currentBookmark();
        m_shown = bookmarks.size();
        QStringList headers = {tr("name"), tr("coefficients")};
        for (const auto &task : tasks)
            headers << tr("%1%2 predicted")
                           .arg(QString::fromStdString(task.name), directionArrow(task.direction));
        for (const auto &task : tasks)
            headers << tr("measured:%1").arg(QString::fromStdString(task.name));
        m_table->setColumnCount(open ? static_cast<int>(headers.size()) : 0);
        m_table->setHorizontalHeaderLabels(headers);
        m_table->setRowCount(static_cast<int>(bookmarks.size()));
        const std::size_t dimension = m_document->project().dimension();
        for (int row = 0; row < static_cast<int>(bookmarks.size()); ++row) {
            const project::Bookmark &b = bookmarks[static_cast<std::size_t>(row)];
            const Eigen::VectorXd predicted = m_document->predictedAt(b.coefficients);
            const std::vector<double> measured = m_document->measuredMetrics(b.coefficients);
            auto *name = new QTableWidgetItem(QString::fromStdString(b.name));
            name->setToolTip(
                tr("marked %1 (double-click to rename)").arg(QString::fromStdString(b.when)));
            m_table->setItem(row, Name, name);
            auto *coefficients = new QTableWidgetItem(coefficientsText(b.coefficients));
            coefficients->setFlags(coefficients->flags() & ~Qt::ItemIsEditable);
            if (b.coefficients.size() != dimension)
                coefficients->setToolTip(tr("made under other coefficient groups: not a merge "
                                            "of this project as it is set up now"));
            m_table->setItem(row, Coefficients, coefficients);
            for (std::size_t t = 0; t < tasks.size(); ++t) {
                const auto k = static_cast<Eigen::Index>(t);
                QString p =
                    predicted.size() > k ? QString::number(predicted[k], 'f', 4) : QString();
                QString m = !measured.empty() && std::isfinite(measured[t])
                                ? QString::number(measured[t], 'f', 4)
                                : QString();
                for (const auto &[column, text] :
                     {std::pair{FirstMetric + static_cast<int>(t), p},
                      std::pair{FirstMetric + static_cast<int>(tasks.size() + t), m}}) {
                    auto *item = new QTableWidgetItem(text);
                    item->setFlags(item->flags() & ~Qt::ItemIsEditable);
                    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
                    m_table->setItem(row, column, item);
                }
            }
        }
        if (keep >= 0 && keep < m_table->rowCount())
            m_table->selectRow(keep);
        else if (m_document->selectedBookmark() >= 0)
            m_table->selectRow(m_document->selectedBookmark());
        m_table->resizeColumnsToContents();
        m_filling = false;
    }
    m_summary->setText(
        !open ? QString()
        : bookmarks.empty()
            ? tr("No bookmark. Right-click a front point or a measured merge on the plot, or "
                 "press \"Bookmark the selection\", to mark a merge to come back to.")
            : tr("%n bookmark(s), saved with the project. Select one to export it; double-click "
                 "a name to rename it.",
                 nullptr, static_cast<int>(bookmarks.size())));
    updateButtons();
    Q_EMIT countChanged(static_cast<int>(bookmarks.size()));
}

void BookmarksPanel::updateButtons()
{
    const bool open = m_document->isOpen();
    const int current = open ? currentBookmark() : -1;
    const auto &bookmarks = m_document->bookmarks();
    const bool fits =
        current >= 0 && bookmarks[static_cast<std::size_t>(current)].coefficients.size() ==
                            m_document->project().dimension();
    m_add->setEnabled(open && !m_document->selectedCoefficients().empty());
    m_select->setEnabled(fits && m_document->hasFront());
    m_evaluate->setEnabled(fits && !m_runner->busy());
    m_copy->setEnabled(current >= 0);
    m_remove->setEnabled(current >= 0);
}

} // namespace mf::ui
