// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QMainWindow>
#include <QStringList>

#include <functional>

#include <vector>

class QAction;
class QComboBox;
class QDockWidget;
class QDoubleSpinBox;
class QLabel;
class QMenu;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QTableWidget;
class QVBoxLayout;

namespace mf::ui {

class FrontPlot;
class ProjectDocument;
class RunController;

/// The desktop explorer: the plotted front in the middle; docks for the project and its
/// tasks (left), the preference and the selected merge (right), the run controls with
/// progress and log, and the table of front points (bottom). It drives the core through
/// ProjectDocument and RunController; no work runs on the GUI thread.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    ProjectDocument *document() const { return m_document; }
    RunController *runner() const { return m_runner; }
    FrontPlot *plot() const { return m_plot; }
    QSlider *weightSlider(int task) const { return m_weights.at(static_cast<std::size_t>(task)); }
    QComboBox *ruleBox() const { return m_rule; }
    QLabel *selectedLabel() const { return m_selectedLabel; }
    QTableWidget *frontTable() const { return m_frontTable; }

    /// How the question "a run is in progress: cancel it and switch?" is answered (true:
    /// cancel and switch); the default asks with a dialog. For tests and scripted use.
    void setRunSwitchAnswer(std::function<bool(const QString &)> answer)
    {
        m_runSwitchAnswer = std::move(answer);
    }

    /// Opens a project; a bad file is reported in the log and a message, nothing is lost.
    bool openProject(const QString &path);
    /// Opens the example project, building it first (in the background) when missing.
    void openExample();
    /// Exports the selected merge to `path` in the background (the dialog's work), sharded
    /// as the Shards box says (safetensors only).
    void exportTo(const QString &path);
    QComboBox *shardBox() const { return m_shards; }        ///< one file, shards, or a model folder
    QComboBox *tokenizerBox() const { return m_tokenizer; } ///< shown when tokenizers differ
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
    void rebuildPreferencePanel();
    void preferenceChanged();
    void updateSelectionPanel();
    void updateFrontTable();
    void updateSurrogateTable();
    void updateRunState();
    void updateTitle();
    void addRecent(const QString &path);
    void rebuildRecentMenu();
    void log(const QString &line, bool error = false);
    void inspectCheckpoints();
    bool confirmGridCost(int levels);
    /// While a run is in progress: asks whether to cancel it and switch project; true when the
    /// caller may go on (no run, or the run is cancelled).
    bool mayLeaveTheRun(const QString &what);

    ProjectDocument *m_document;
    RunController *m_runner;
    FrontPlot *m_plot;
    QTableWidget *m_tasksTable, *m_surrogateTable, *m_frontTable;
    QLabel *m_inspection, *m_selectedLabel, *m_rateLabel, *m_fitLabel;
    QVBoxLayout *m_weightsLayout;
    std::vector<QSlider *> m_weights;
    std::vector<QDoubleSpinBox *> m_floors;
    QComboBox *m_rule, *m_shards, *m_tokenizer;
    int m_inspectGeneration = 0; ///< a checkpoint inspection of an older project is dropped
    std::function<bool(const QString &)> m_runSwitchAnswer;
    QString m_exampleToOpen; ///< the example built by the running job, opened when it ends
    QPushButton *m_sampleButton, *m_refineButton, *m_gridButton, *m_cancelButton, *m_evaluateButton,
        *m_exportButton;
    QSpinBox *m_gridLevels;
    QProgressBar *m_progress;
    QPlainTextEdit *m_log;
    QMenu *m_recentMenu;
    QAction *m_saveAction, *m_saveAsAction, *m_exportAction, *m_exportPlotAction;
    QStringList m_recent;
    bool m_updatingTable = false;
};

} // namespace mf::ui
