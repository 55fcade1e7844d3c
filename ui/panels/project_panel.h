// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "background.h"

#include <QStringList>
#include <QWidget>

class QLabel;
class QTableWidget;

namespace mf::ui {

class ProjectDocument;

/// The left dock: the open project's tasks (metric and its direction, evaluator, checkpoint),
/// what merges (the checkpoints inspected on a worker: merged, left-out and carried tensors,
/// with reasons), and the surrogates' diagnostics (R², leave-one-out RMSE) or why there is no
/// fit yet.
class ProjectPanel : public QWidget {
    Q_OBJECT
public:
    explicit ProjectPanel(ProjectDocument *document, QWidget *parent = nullptr);

    QTableWidget *surrogateTable() const { return m_surrogates; }
    QLabel *inspection() const { return m_inspection; }

Q_SIGNALS:
    /// A line for the log (a problem found by the inspection is an error).
    void logLine(const QString &line, bool error);
    /// The inspection found tokenizer files that differ between the base and the tasks.
    void tokenizersDiffer(const QStringList &files);

private:
    void projectOpened();
    void inspectCheckpoints();
    void updateSurrogates();

    ProjectDocument *m_document;
    QTableWidget *m_tasks, *m_surrogates;
    QLabel *m_inspection, *m_fitLabel;
    int m_inspectGeneration = 0; ///< a checkpoint inspection of an older project is dropped
    Background m_background;     ///< the inspections
};

} // namespace mf::ui
