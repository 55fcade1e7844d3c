// SPDX-License-Identifier: GPL-3.0-or-later
#include "front_table_model.h"

#include "project_document.h"
#include "ui_format.h"

#include <QColor>
#include <QFont>

#include <cmath>

namespace mf::ui {

FrontTableModel::FrontTableModel(ProjectDocument *document, QObject *parent)
    : QAbstractTableModel(parent)
    , m_document(document)
{
    for (auto signal : {&ProjectDocument::opened, &ProjectDocument::frontChanged,
                        &ProjectDocument::evaluationsChanged})
        connect(document, signal, this, &FrontTableModel::reset);
    reset();
}

void FrontTableModel::reset()
{
    beginResetModel();
    const bool shown = m_document->isOpen() && m_document->hasFront();
    m_tasks = m_document->isOpen() ? m_document->taskCount() : 0;
    m_coefficients = m_document->isOpen() ? static_cast<int>(m_document->project().dimension()) : 0;
    m_rows = shown ? m_document->front().size() : 0;
    m_measured.assign(static_cast<std::size_t>(m_rows), {});
    for (int i = 0; i < m_rows; ++i) {
        const auto row = m_document->front().coefficients.row(i);
        m_measured[static_cast<std::size_t>(i)] =
            m_document->measuredMetrics(std::vector<double>(row.begin(), row.end()));
    }
    endResetModel();
}

int FrontTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : m_rows;
}

int FrontTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() || m_tasks == 0 ? 0 : 1 + m_coefficients + 2 * m_tasks;
}

std::pair<FrontTableModel::Column, int> FrontTableModel::describe(int column) const
{
    if (column == 0)
        return {Column::Index, -1};
    // The coefficients (tasks x group columns), then predicted and measured per task.
    if (column <= m_coefficients)
        return {Column::Coefficient, column - 1};
    const int k = column - 1 - m_coefficients;
    return {static_cast<Column>(2 + k / m_tasks), k % m_tasks};
}

QVariant FrontTableModel::data(const QModelIndex &index, int role) const
{
    // Rows are the front as of the last reset; the document may already hold another (a project
    // opened, a fit dropped) while a view asks before the reset signal reaches this model.
    if (!index.isValid() || index.row() >= m_rows || !m_document->isOpen() ||
        !m_document->hasFront() || index.row() >= m_document->front().size() ||
        m_document->taskCount() != m_tasks ||
        m_document->front().coefficients.cols() != m_coefficients)
        return {};
    const int i = index.row();
    if (role == kFrontIndexRole)
        return i;
    if (role != Qt::DisplayRole && role != Qt::EditRole && role != Qt::TextAlignmentRole &&
        role != Qt::ToolTipRole && role != Qt::FontRole && role != Qt::ForegroundRole)
        return {};
    if (role == Qt::TextAlignmentRole)
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    const auto [column, t] = describe(index.column());
    // A prediction beyond every measured value of its task: an extrapolation, set apart.
    const map::Front &front = m_document->front();
    const bool extrapolated = column == Column::Predicted && front.extrapolated.rows() > i &&
                              front.extrapolated(i, t) != 0;
    if (role == Qt::FontRole || role == Qt::ForegroundRole) {
        if (!extrapolated)
            return {};
        if (role == Qt::ForegroundRole)
            return QColor(190, 90, 0);
        QFont italic;
        italic.setItalic(true);
        return italic;
    }
    if (role == Qt::ToolTipRole) {
        if (column != Column::Predicted)
            return {};
        return tr("predicted %1, std %2 (model error included), 90%: %3")
                   .arg(front.metrics(i, t), 0, 'f', 4)
                   .arg(front.stddev(i, t), 0, 'f', 4)
                   .arg(intervalText(front.lower(i, t), front.upper(i, t))) +
               (extrapolated ? tr("\nextrapolated: better than every measured value of this "
                                  "task, so the surrogate is extrapolating here")
                             : QString());
    }
    double value = 0;
    int decimals = 4;
    switch (column) {
    case Column::Index:
        return role == Qt::EditRole ? QVariant(i) : QVariant(QString::number(i));
    case Column::Coefficient:
        value = m_document->front().coefficients(i, t);
        decimals = 3;
        break;
    case Column::Predicted:
        value = m_document->front().metrics(i, t);
        if (role == Qt::DisplayRole) // sorted by the value (EditRole), shown with its ±
            return plusMinus(value, m_document->front().stddev(i, t), decimals) +
                   (extrapolated ? tr(" (extrapolated)") : QString());
        break;
    case Column::Measured: {
        const std::vector<double> &measured = m_measured[static_cast<std::size_t>(i)];
        if (measured.empty() || !std::isfinite(measured[static_cast<std::size_t>(t)]))
            return {};
        value = measured[static_cast<std::size_t>(t)];
        break;
    }
    }
    return role == Qt::EditRole ? QVariant(value) : QVariant(QString::number(value, 'f', decimals));
}

QVariant FrontTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section >= columnCount() ||
        !m_document->isOpen() || m_document->taskCount() != m_tasks)
        return QAbstractTableModel::headerData(section, orientation, role);
    const auto [column, t] = describe(section);
    if (column == Column::Index)
        return tr("#");
    if (column == Column::Coefficient) // "c:a", block-wise "c:a/embeddings"
        return QStringLiteral("c:%1").arg(QString::fromStdString(
            m_document->project().problem().coefficients[static_cast<std::size_t>(t)]));
    const auto &task = m_document->project().tasks[static_cast<std::size_t>(t)];
    const QString name = QString::fromStdString(task.name);
    const QString arrow = directionArrow(task.direction);
    switch (column) {
    case Column::Predicted:
        return name + arrow + tr(" (± std)");
    default:
        return tr("measured:%1").arg(name);
    }
}

FrontProxyModel::FrontProxyModel(FrontTableModel *source, ProjectDocument *document,
                                 QObject *parent)
    : QSortFilterProxyModel(parent)
    , m_document(document)
{
    setSourceModel(source);
    setSortRole(Qt::EditRole); // numbers, not their text
    connect(document, &ProjectDocument::brushChanged, this, &FrontProxyModel::invalidateRowsFilter);
}

bool FrontProxyModel::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    return sourceParent.isValid() || m_document->brushes().empty() ||
           m_document->inBrush(sourceRow);
}

} // namespace mf::ui
