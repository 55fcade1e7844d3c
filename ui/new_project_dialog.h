// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QDialog>

#include "project/project.h"

#include "background.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace mf::ui {

class TestOnBaseRow;

/// The New dialog's example command for a model-folder task: lm-evaluation-harness on the
/// merged folder, its results JSON turned into the task's metric (docs/MODEL_FOLDERS.md).
QString lmEvalCommandTemplate();
/// The same for a project-level command serving every task: one lm_eval run with
/// --tasks {tasks}, every task's metrics printed nested by task (docs/PROJECT.md).
QString lmEvalSharedCommandTemplate();

/// File ▸ New: pick the base and the task checkpoints or model folders (file and folder
/// dialogs, or drag and drop), name
/// the tasks, choose each task's evaluator and metric, the merge method and its parameters.
/// The checkpoints are inspected as they are chosen (on a worker): what merges, what is left
/// out and why, and mismatches, before anything runs. Accepting writes the project file.
class NewProjectDialog : public QDialog {
    Q_OBJECT
public:
    explicit NewProjectDialog(QWidget *parent = nullptr);

    void setBase(const QString &path);
    /// Adds a task row (name from the file or folder name; a folder's command: lm-eval).
    void addTask(const QString &checkpoint);
    /// Sets a task's evaluator: "command" with its template, or "torchscript" with module and
    /// data files.
    void setCommandEvaluator(int row, const QString &command);
    void setTorchScriptEvaluator(int row, const QString &module, const QString &dataFile);
    void setProjectPath(const QString &path);
    QString projectPath() const;
    QTableWidget *tasksTable() const { return m_tasks; }
    /// Coefficient groups: one row each (name, regex, ramp); none: one coefficient per task.
    QTableWidget *groupsTable() const { return m_groups; }
    QComboBox *groupPresets() const { return m_groupPreset; }
    /// Fills the groups table with a preset for the base's HF names (on a worker, then the
    /// inspection runs again): 1 embeddings / halves / head, 2 embeddings / ramp / head,
    /// 0 none. Says why in the inspection line when the base has no numbered layers.
    void applyGroupPreset(int preset);
    QLabel *inspectionLabel() const { return m_inspection; }
    /// "One command for every task" and its command line (a project-level evaluator).
    QCheckBox *sharedCommandBox() const { return m_shared; }
    QLineEdit *sharedCommandLine() const { return m_sharedCommand; }
    /// The merge's tensor filters (regexes on tensor names).
    QLineEdit *includeField() const { return m_include; }
    QLineEdit *excludeField() const { return m_exclude; }

    /// The project the fields describe (paths relative to the project file), not yet saved.
    /// Throws mf::Error naming what is missing.
    project::Project project() const;
    /// Writes the project (atomically); returns its path. Throws mf::Error.
    QString writeProject() const;
    /// "Test on the base": one evaluation of the base with the dialog's evaluators (on a
    /// worker); its metrics or its error appear in testLabel().
    QLabel *testLabel() const;
    QPushButton *testButton() const;

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    void inspect();
    /// Warnings, as HTML lines, for directions against a metric's usual sense (perplexity
    /// maximized, accuracy minimized).
    QString directionWarnings() const;
    void accept() override;
    std::vector<CoefficientGroup> groups() const;
    void setGroups(const std::vector<CoefficientGroup> &groups);

    QLineEdit *m_base, *m_projectPath, *m_sharedCommand, *m_include, *m_exclude;
    QCheckBox *m_shared;
    QTableWidget *m_tasks, *m_groups;
    QComboBox *m_groupPreset;
    QComboBox *m_method;
    QDoubleSpinBox *m_density, *m_drop;
    QSpinBox *m_seed;
    QLabel *m_inspection;
    TestOnBaseRow *m_test;
    int m_inspectGeneration = 0;
    Background m_background; ///< the inspections (waited for when the dialog goes)
};

} // namespace mf::ui
