// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/project.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace mf::ui {

class TestOnBaseRow;

/// Project ▸ Settings: everything about an existing project but its checkpoints, with the
/// checks File ▸ New makes: each task's metric, direction, coefficient box and evaluator (its
/// JSON object; or the project-level command serving every task), the merge method and its
/// parameters, tensor filters and coefficient groups, MAP's mode, budget and seed, and the
/// runner (here or Slurm). It says, as the fields change, which changes make the evaluations so
/// far describe other merges or evaluations (the cache key changes): those stay in the file and
/// leave the fits. "Test on the base" runs one evaluation of the base with these settings.
class ProjectSettingsDialog : public QDialog {
    Q_OBJECT
public:
    explicit ProjectSettingsDialog(const project::Project &project, QWidget *parent = nullptr);

    /// The project as the fields describe it (its evaluations and everything else as they
    /// were). Throws mf::Error naming the task or field at fault.
    project::Project edited() const;
    /// What the changes do to the evaluations so far, in words ("" when nothing is lost).
    QString impact() const;

    QTableWidget *tasksTable() const { return m_tasks; }
    QComboBox *methodBox() const { return m_method; }
    QDoubleSpinBox *densityBox() const { return m_density; }
    QLineEdit *includeField() const { return m_include; }
    QLineEdit *excludeField() const { return m_exclude; }
    QCheckBox *sharedCommandBox() const { return m_shared; }
    QLineEdit *sharedCommandLine() const { return m_sharedCommand; }
    QComboBox *mapModeBox() const { return m_mapMode; }
    QSpinBox *budgetBox() const { return m_budget; }
    QComboBox *runnerBox() const { return m_runner; }
    QPlainTextEdit *sbatchField() const { return m_sbatch; }
    QLabel *impactLabel() const { return m_impact; }
    /// "Test on the base": one evaluation of the base with the edited settings (on a worker);
    /// its metrics or its error appear in testLabel().
    QLabel *testLabel() const;
    QPushButton *testButton() const;

private:
    void accept() override;
    void updateImpact();

    project::Project m_original;
    QTableWidget *m_tasks, *m_groups;
    QComboBox *m_method, *m_taskOnly, *m_mapMode, *m_acquisition, *m_runner;
    QDoubleSpinBox *m_density, *m_drop;
    QSpinBox *m_seed, *m_budget, *m_mapSeed, *m_maxJobs, *m_retries;
    QLineEdit *m_include, *m_exclude, *m_sharedCommand, *m_workdir, *m_cli;
    QCheckBox *m_shared;
    QDoubleSpinBox *m_sharedTimeout;
    QPlainTextEdit *m_sbatch, *m_setup;
    QLabel *m_impact;
    TestOnBaseRow *m_test;
};

} // namespace mf::ui
