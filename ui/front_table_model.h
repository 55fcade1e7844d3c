// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>

namespace mf::ui {

class ProjectDocument;

/// The predicted front as a table: one row per front point (in the front's order); columns
/// "#", the coefficients (c:task), the predicted metrics, and the measured ones where that
/// merge was evaluated. Qt::DisplayRole is the rounded text, Qt::EditRole the number (for
/// sorting; empty where nothing was measured), kFrontIndexRole the front point's index.
class FrontTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    static constexpr int kFrontIndexRole = Qt::UserRole;

    explicit FrontTableModel(ProjectDocument *document, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    enum class Column { Index, Coefficient, Predicted, Measured };
    /// What column `column` shows, and for which task.
    std::pair<Column, int> describe(int column) const;
    void reset();

    ProjectDocument *m_document;
    int m_rows = 0, m_tasks = 0, m_coefficients = 0;
    /// Measured metrics per front point (empty vector: not measured), looked up once per reset.
    std::vector<std::vector<double>> m_measured;
};

/// The front table as the window shows it: sorted by the numbers (Qt::EditRole), and only the
/// front points inside the document's brushed ranges (all of them when nothing is brushed).
class FrontProxyModel : public QSortFilterProxyModel {
    Q_OBJECT
public:
    FrontProxyModel(FrontTableModel *source, ProjectDocument *document, QObject *parent = nullptr);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    ProjectDocument *m_document;
};

} // namespace mf::ui
