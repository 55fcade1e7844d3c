// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QWidget>

class QLabel;
class QPushButton;
class QTableWidget;

namespace mf::ui {

class ProjectDocument;
class RunController;

/// The failed evaluations no later one made good (ProjectDocument::openFailures): when, kind,
/// coefficients and the error as recorded, with Retry for the selected ones or all of them.
/// A retry runs them again as the kind they failed as; the failures stay in the file.
class FailedPanel : public QWidget {
    Q_OBJECT
public:
    FailedPanel(ProjectDocument *document, RunController *runner, QWidget *parent = nullptr);

    QTableWidget *table() const { return m_table; }
    QPushButton *retrySelectedButton() const { return m_retrySelected; }
    QPushButton *retryAllButton() const { return m_retryAll; }
    /// Retries the rows given (table rows), or every row when empty.
    void retry(const QList<int> &rows = {});
    /// Fills the table from the document and enables what may start.
    void refresh();

Q_SIGNALS:
    /// The number of open failures changed (the dock's title shows it).
    void countChanged(int failures);

private:
    ProjectDocument *m_document;
    RunController *m_runner;
    QLabel *m_summary;
    QTableWidget *m_table;
    QPushButton *m_retrySelected, *m_retryAll;
    std::vector<int> m_rows; ///< table row -> index into the project's evaluations
};

} // namespace mf::ui
