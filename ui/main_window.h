// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "run_controller.h"

#include <QMainWindow>
#include <QStringList>

#include <functional>

class QAction;
class QComboBox;
class QDockWidget;
class QLabel;
class QMenu;
class QSlider;
class QTableView;

namespace mf::ui {

class BookmarksPanel;
class FailedPanel;
class FrontPlot;
class FrontTableModel;
class ProjectDocument;
class ProjectPanel;
class ProjectSettingsDialog;
class RunPanel;
class SelectionPanel;

/// The desktop explorer: the plotted front (FrontPlot) in the middle; docks for the project
/// (ProjectPanel, left), the preference and the selected merge (SelectionPanel, right), the
/// run controls and log (RunPanel) and the sortable table of front points (FrontTableModel,
/// bottom). The window itself owns menus, docks, opening and switching projects (a run stays
/// with its project), export, recent files and drag and drop. It drives the core through
/// ProjectDocument and RunController; no work runs on the GUI thread.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    ProjectDocument *document() const { return m_document; }
    RunController *runner() const { return m_runner; }
    FrontPlot *plot() const { return m_plot; }
    ProjectPanel *projectPanel() const { return m_projectPanel; }
    SelectionPanel *selectionPanel() const { return m_selectionPanel; }
    RunPanel *runPanel() const { return m_runPanel; }
    FailedPanel *failedPanel() const { return m_failedPanel; }
    BookmarksPanel *bookmarksPanel() const { return m_bookmarksPanel; }
    QTableView *frontTable() const { return m_frontTable; }
    // Shortcuts into the panels (tests and scripted use).
    QSlider *weightSlider(int task) const;
    QComboBox *ruleBox() const;
    QLabel *selectedLabel() const;
    QComboBox *shardBox() const;     ///< one file, shards, or a model folder
    QComboBox *tokenizerBox() const; ///< shown when tokenizers differ

    /// How the question "a run is in progress: cancel it and switch?" is answered (true:
    /// cancel and switch); the default asks with a dialog. For tests and scripted use.
    void setRunSwitchAnswer(std::function<bool(const QString &)> answer)
    {
        m_runSwitchAnswer = std::move(answer);
    }

    /// How "leave the cluster jobs running, or cancel them?" is answered when the window closes
    /// during a cluster run (true: leave them); the default asks with a dialog.
    void setClusterCloseAnswer(std::function<bool(const QString &)> answer)
    {
        m_clusterCloseAnswer = std::move(answer);
    }

    /// What to do with unsaved changes (the preference, ceilings, the selection) before the
    /// project is closed, replaced by another or by a new one.
    enum class UnsavedChoice { Save, Discard, Cancel };
    /// How "save the changes?" is answered; the default asks with a Save / Discard / Cancel
    /// dialog. For tests and scripted use.
    void setUnsavedAnswer(std::function<UnsavedChoice(const QString &)> answer)
    {
        m_unsavedAnswer = std::move(answer);
    }
    /// How "a run is in progress: close and cancel it?" is answered when the window closes
    /// during a local run (true: cancel and close); the default asks with a dialog.
    void setRunCloseAnswer(std::function<bool(const QString &)> answer)
    {
        m_runCloseAnswer = std::move(answer);
    }

    /// How Project ▸ Settings is answered: the function fills in the dialog and returns true
    /// to save (false: cancel); the default shows it. For tests and scripted use.
    void setSettingsAnswer(std::function<bool(ProjectSettingsDialog &)> answer)
    {
        m_settingsAnswer = std::move(answer);
    }
    /// Project ▸ Settings: edits the open project's settings (not during a run).
    void editSettings();

    /// Opens a project; a bad file is reported in the log and a message, nothing is lost.
    bool openProject(const QString &path);
    /// What the window opens when started without a project: the image example (built first
    /// when MNIST is here), else the first-start dialog (firstStart()).
    void startWithoutProject();
    /// The first-start dialog: build the text example, fetch MNIST and build the image
    /// example, or choose an MNIST folder.
    void firstStart();
    /// How the first-start dialog is answered (the choice; `folder` for MnistFolder); the
    /// default shows it. For tests and scripted use.
    void setFirstStartAnswer(std::function<int(QString &folder)> answer)
    {
        m_firstStartAnswer = std::move(answer);
    }

    /// Opens an example project, building it first (in the background) when missing.
    void openExample(RunController::Example example = RunController::Example::Images);
    /// Exports the selected merge to `path` in the background (the dialog's work), as the
    /// selection panel's Shards box says (one file, safetensors shards, a model folder).
    void exportTo(const QString &path);
    /// Renders the window to a PNG.
    bool saveScreenshot(const QString &path);

protected:
    void closeEvent(QCloseEvent *event) override;
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    void buildActions();
    void buildDocks();
    QDockWidget *addDock(const QString &title, const QString &name, QWidget *content,
                         Qt::DockWidgetArea area);
    void projectOpened();
    /// Keeps the table's highlighted row on the document's selection.
    void followSelectionInTable();
    void updateRunState();
    void updateTitle();
    void addRecent(const QString &path);
    void rebuildRecentMenu();
    void log(const QString &line, bool error = false);
    /// While a run is in progress: asks whether to cancel it and switch project; true when the
    /// caller may go on (no run, or the run is cancelled).
    bool mayLeaveTheRun(const QString &what);
    /// True when the open project has no unsaved changes, or they were saved or discarded as
    /// the user chose; false (nothing changes) on Cancel or a failed save. `what`: "closing",
    /// "opening X", "creating a new project".
    bool mayDropChanges(const QString &what);

    ProjectDocument *m_document;
    RunController *m_runner;
    FrontPlot *m_plot;
    ProjectPanel *m_projectPanel;
    SelectionPanel *m_selectionPanel;
    RunPanel *m_runPanel;
    FailedPanel *m_failedPanel;
    BookmarksPanel *m_bookmarksPanel;
    FrontTableModel *m_frontModel;
    QTableView *m_frontTable;
    std::function<bool(const QString &)> m_runSwitchAnswer, m_clusterCloseAnswer, m_runCloseAnswer;
    std::function<UnsavedChoice(const QString &)> m_unsavedAnswer;
    std::function<bool(ProjectSettingsDialog &)> m_settingsAnswer;
    std::function<int(QString &)> m_firstStartAnswer;
    bool m_buildAfterFetch = false; ///< the running job fetches MNIST for the image example
    bool m_changesSettled = false; ///< asked already for this switch (File ▸ New, then open)
    QString m_exampleToOpen;       ///< the example built by the running job, opened when it ends
    QMenu *m_recentMenu;
    QAction *m_saveAction, *m_saveAsAction, *m_exportAction, *m_exportPlotAction,
        *m_settingsAction;
    QStringList m_recent;
    bool m_updatingTable = false;
};

} // namespace mf::ui
