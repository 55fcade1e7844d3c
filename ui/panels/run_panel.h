// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace mf::ui {

class ProjectDocument;
class RunController;

/// The bottom dock: what runs (Sample, Refine, the ground-truth grid after its cost is
/// confirmed, Cancel), its progress, rate and ETA, and the log every part of the window
/// writes to.
class RunPanel : public QWidget {
    Q_OBJECT
public:
    RunPanel(ProjectDocument *document, RunController *runner, QWidget *parent = nullptr);

    /// Appends a time-stamped line (red for an error).
    void log(const QString &line, bool error = false);
    /// Asks for the grid (its cost in merges and minutes first), then starts it.
    void requestGrid();
    /// Enables what may start now (a project open, no run in progress).
    void updateState();

    QPushButton *sampleButton() const { return m_sample; }
    QPushButton *refineButton() const { return m_refine; }
    QPushButton *gridButton() const { return m_grid; }
    QPushButton *cancelButton() const { return m_cancel; }
    QLabel *clusterLabel() const { return m_cluster; }

private:
    bool confirmGridCost(int levels);

    ProjectDocument *m_document;
    RunController *m_runner;
    QPushButton *m_sample, *m_refine, *m_grid, *m_cancel;
    QSpinBox *m_gridLevels;
    QProgressBar *m_progress;
    QLabel *m_rate;
    QLabel *m_cluster; ///< a cluster run's jobs: queued, running, their ids
    QPlainTextEdit *m_log;
};

} // namespace mf::ui
