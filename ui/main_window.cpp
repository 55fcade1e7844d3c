// SPDX-License-Identifier: GPL-3.0-or-later
#include "main_window.h"

#include "front_plot.h"
#include "merge_description.h"
#include "merge/folder_output.h"
#include "new_project_dialog.h"
#include "project_document.h"
#include "run_controller.h"

#include "util/error.h"
#include "zoo/zoo.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QFutureWatcher>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QProgressDialog>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableWidget>
#include <QTime>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <cmath>
#include <filesystem>
#include <limits>
#include <utility>

namespace mf::ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QTableWidgetItem *numberItem(double value, int decimals = 4)
{
    auto *item = new QTableWidgetItem;
    if (std::isfinite(value))
        item->setData(Qt::DisplayRole, QString::number(value, 'f', decimals).toDouble());
    item->setFlags(item->flags() & ~Qt::ItemIsEditable);
    return item;
}

QString exampleFolder()
{
    // ~/.local/share/mergefront/example (AppLocalDataLocation would say mergefront twice).
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) +
           QStringLiteral("/mergefront/example");
}

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
    connect(m_document, &ProjectDocument::frontChanged, this, [this] {
        updateFrontTable();
        updateSurrogateTable();
    });
    connect(m_document, &ProjectDocument::fittingChanged, this,
            [this](bool running) { m_fitLabel->setText(running ? tr("fitting…") : QString()); });
    connect(m_document, &ProjectDocument::selectionChanged, this,
            &MainWindow::updateSelectionPanel);
    connect(m_document, &ProjectDocument::evaluationsChanged, this,
            &MainWindow::updateSelectionPanel);
    connect(m_document, &ProjectDocument::dirtyChanged, this, &MainWindow::updateTitle);
    connect(m_plot, &FrontPlot::frontPointClicked, m_document, &ProjectDocument::selectFrontPoint);
    connect(m_runner, &RunController::started, this, [this](const QString &what) {
        m_progress->setRange(0, 0);
        m_rateLabel->setText(what);
        updateRunState();
    });
    connect(m_runner, &RunController::progress, this,
            [this](int done, int total, int failed, double rate, double eta) {
                m_progress->setRange(0, total);
                m_progress->setValue(done);
                m_rateLabel->setText(tr("%1/%2 evaluated, %3 failed · %4/s · ETA %5 s")
                                         .arg(done)
                                         .arg(total)
                                         .arg(failed)
                                         .arg(rate, 0, 'f', 2)
                                         .arg(eta, 0, 'f', 0));
            });
    connect(m_runner, &RunController::logLine, this, [this](const QString &line) { log(line); });
    connect(m_runner, &RunController::finished, this, [this](bool ok, const QString &message) {
        m_progress->setRange(0, 1);
        m_progress->setValue(ok ? 1 : 0);
        m_rateLabel->setText(ok ? tr("done") : tr("stopped"));
        if (!ok)
            log(message, true);
        statusBar()->showMessage(message, 8000);
        updateRunState();
        // The example is opened once the job that built it has ended (not while it "runs").
        const QString example = std::exchange(m_exampleToOpen, QString());
        if (ok && !example.isEmpty())
            openProject(example);
    });
    connect(m_runner, &RunController::exampleReady, this,
            [this](const QString &path) { m_exampleToOpen = path; });

    QSettings settings;
    m_recent = settings.value(QStringLiteral("recent")).toStringList();
    rebuildRecentMenu();
    projectOpened();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *create = file->addAction(tr("&New project…"), this, [this] {
        NewProjectDialog dialog(this);
        if (dialog.exec() == QDialog::Accepted)
            openProject(dialog.projectPath());
    });
    create->setShortcut(QKeySequence::New);
    QAction *open = file->addAction(tr("&Open project…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open project"), QString(),
                                                          tr("Mergefront projects (*.json)"));
        if (!path.isEmpty())
            openProject(path);
    });
    open->setShortcut(QKeySequence::Open);
    file->addAction(tr("Open the &example project"), this, &MainWindow::openExample);
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
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Save project as"), m_document->path(), tr("Mergefront projects (*.json)"));
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
        const bool folder = m_shards->currentData().toLongLong() < 0;
        const QString path = QFileDialog::getSaveFileName(
            this,
            folder ? tr("Export the selected merge as a model folder (a new name)")
                   : tr("Export the selected merge"),
            QString(),
            folder ? tr("Model folder (a name without extension)")
                   : tr("Checkpoints (*.safetensors *.pt)"));
        if (!path.isEmpty())
            exportTo(path);
    });
    m_exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    m_exportPlotAction = file->addAction(tr("Export &plot…"), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export the plot"), QString(),
                                                          tr("Images (*.png *.pdf)"));
        if (!path.isEmpty() && !m_plot->savePlot(path))
            log(tr("could not write %1").arg(path), true);
    });
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *run = menuBar()->addMenu(tr("&Run"));
    QAction *sample =
        run->addAction(tr("&Sample (initial design)"), m_sampleButton, &QPushButton::click);
    sample->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    QAction *refine =
        run->addAction(tr("&Refine (Bayesian round)"), m_refineButton, &QPushButton::click);
    refine->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    run->addAction(tr("Ground-truth &grid…"), m_gridButton, &QPushButton::click);
    QAction *evaluate =
        run->addAction(tr("&Evaluate this point"), m_evaluateButton, &QPushButton::click);
    evaluate->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    QAction *cancel = run->addAction(tr("&Cancel"), m_runner, &RunController::cancel);
    cancel->setShortcut(QKeySequence(Qt::Key_Escape));

    QMenu *view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget *dock : findChildren<QDockWidget *>())
        view->addAction(dock->toggleViewAction());
    view->addAction(tr("&Parallel coordinates"), this, [this] { m_plot->showParallel(true); });
    view->addAction(tr("&Trade-off plot"), this, [this] { m_plot->showParallel(false); });

    QMenu *help = menuBar()->addMenu(tr("&Help"));
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

    // Left: the project, its tasks, what merges, the surrogates' diagnostics.
    auto *projectPanel = new QWidget;
    auto *projectLayout = new QVBoxLayout(projectPanel);
    m_tasksTable = new QTableWidget(0, 4, projectPanel);
    m_tasksTable->setHorizontalHeaderLabels(
        {tr("task"), tr("metric"), tr("evaluator"), tr("checkpoint")});
    m_tasksTable->horizontalHeader()->setStretchLastSection(true);
    m_tasksTable->verticalHeader()->hide();
    m_tasksTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    projectLayout->addWidget(m_tasksTable);
    m_inspection = new QLabel(projectPanel);
    m_inspection->setWordWrap(true);
    m_inspection->setTextInteractionFlags(Qt::TextSelectableByMouse);
    projectLayout->addWidget(m_inspection);
    projectLayout->addWidget(new QLabel(tr("<b>Surrogates</b> (quadratic per task)")));
    m_surrogateTable = new QTableWidget(0, 3, projectPanel);
    m_surrogateTable->setObjectName(QStringLiteral("surrogates"));
    m_surrogateTable->setHorizontalHeaderLabels({tr("task"), tr("R²"), tr("LOO RMSE")});
    m_surrogateTable->horizontalHeader()->setStretchLastSection(true);
    m_surrogateTable->verticalHeader()->hide();
    m_surrogateTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    projectLayout->addWidget(m_surrogateTable);
    m_fitLabel = new QLabel(projectPanel);
    projectLayout->addWidget(m_fitLabel);
    QDockWidget *projectDock =
        addDock(tr("Project"), QStringLiteral("projectDock"), projectPanel, Qt::LeftDockWidgetArea);

    // Right: preference sliders, rule, floors, the selected merge.
    auto *preferencePanel = new QWidget;
    auto *preferenceLayout = new QVBoxLayout(preferencePanel);
    preferenceLayout->addWidget(new QLabel(tr("<b>Preference</b> (weight per task)")));
    auto *weights = new QWidget(preferencePanel);
    m_weightsLayout = new QVBoxLayout(weights);
    m_weightsLayout->setContentsMargins(0, 0, 0, 0);
    preferenceLayout->addWidget(weights);
    auto *ruleRow = new QFormLayout;
    m_rule = new QComboBox(preferencePanel);
    m_rule->addItem(tr("Chebyshev (reaches every front point)"), QStringLiteral("chebyshev"));
    m_rule->addItem(tr("Weighted sum"), QStringLiteral("weighted"));
    ruleRow->addRow(tr("Rule"), m_rule);
    preferenceLayout->addLayout(ruleRow);
    connect(m_rule, qOverload<int>(&QComboBox::currentIndexChanged), this,
            &MainWindow::preferenceChanged);
    m_selectedLabel = new QLabel(preferencePanel);
    m_selectedLabel->setObjectName(QStringLiteral("selectedPoint"));
    m_selectedLabel->setWordWrap(true);
    m_selectedLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    preferenceLayout->addWidget(m_selectedLabel);
    m_evaluateButton = new QPushButton(tr("Evaluate this point"), preferencePanel);
    m_exportButton = new QPushButton(tr("Export merged model…"), preferencePanel);
    preferenceLayout->addWidget(m_evaluateButton);
    auto *exportRow = new QHBoxLayout;
    m_shards = new QComboBox(preferencePanel);
    m_shards->setObjectName(QStringLiteral("shards"));
    m_shards->addItem(tr("one file"), QVariant::fromValue<qlonglong>(0));
    for (const int gigabytes : {1, 2, 5, 10})
        m_shards->addItem(tr("shards of %1 GB").arg(gigabytes),
                          QVariant::fromValue<qlonglong>(qlonglong(gigabytes) << 30));
    m_shards->addItem(tr("model folder"), QVariant::fromValue<qlonglong>(-1));
    m_shards->setToolTip(
        tr("One file; sharded safetensors with an index, as large checkpoints ship; or a "
           "Hugging Face model folder (weights, config, tokenizer, model card) that "
           "transformers, vLLM and lm-eval load as it is"));
    exportRow->addWidget(m_exportButton, 1);
    exportRow->addWidget(m_shards);
    preferenceLayout->addLayout(exportRow);
    m_tokenizer = new QComboBox(preferencePanel);
    m_tokenizer->setObjectName(QStringLiteral("tokenizer"));
    m_tokenizer->setToolTip(tr("The tasks' tokenizer files differ: the model folder takes "
                               "this one's"));
    m_tokenizer->setVisible(false);
    preferenceLayout->addWidget(m_tokenizer);
    connect(m_shards, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        m_tokenizer->setVisible(m_tokenizer->count() > 1 &&
                                m_shards->currentData().toLongLong() < 0);
    });
    preferenceLayout->addStretch();
    connect(m_evaluateButton, &QPushButton::clicked, this, [this] {
        const std::vector<double> c = m_document->selectedCoefficients();
        if (!c.empty())
            m_runner->evaluatePoint(c);
    });
    connect(m_exportButton, &QPushButton::clicked, this, [this] { m_exportAction->trigger(); });
    QDockWidget *preferenceDock =
        addDock(tr("Preference and selected merge"), QStringLiteral("preferenceDock"),
                preferencePanel, Qt::RightDockWidgetArea);

    // Bottom: run controls, progress and log; the front points.
    auto *runPanel = new QWidget;
    auto *runLayout = new QVBoxLayout(runPanel);
    auto *buttons = new QHBoxLayout;
    m_sampleButton = new QPushButton(tr("Sample"), runPanel);
    m_sampleButton->setToolTip(tr("Evaluate MAP's initial design (P + 1 merges)"));
    m_refineButton = new QPushButton(tr("Refine"), runPanel);
    m_refineButton->setToolTip(
        tr("One Bayesian round: merges near the front where the surrogates are unsure"));
    m_gridButton = new QPushButton(tr("Ground truth grid"), runPanel);
    m_gridLevels = new QSpinBox(runPanel);
    m_gridLevels->setRange(2, 51);
    m_gridLevels->setValue(11);
    m_gridLevels->setSuffix(tr(" levels"));
    m_cancelButton = new QPushButton(tr("Cancel"), runPanel);
    for (QWidget *w : std::initializer_list<QWidget *>{m_sampleButton, m_refineButton, m_gridButton,
                                                       m_gridLevels, m_cancelButton})
        buttons->addWidget(w);
    m_progress = new QProgressBar(runPanel);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    buttons->addWidget(m_progress, 1);
    runLayout->addLayout(buttons);
    m_rateLabel = new QLabel(runPanel);
    runLayout->addWidget(m_rateLabel);
    m_log = new QPlainTextEdit(runPanel);
    m_log->setObjectName(QStringLiteral("log"));
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(5000);
    runLayout->addWidget(m_log);
    connect(m_sampleButton, &QPushButton::clicked, m_runner, &RunController::sample);
    connect(m_refineButton, &QPushButton::clicked, m_runner, &RunController::refine);
    connect(m_gridButton, &QPushButton::clicked, this, [this] {
        if (confirmGridCost(m_gridLevels->value()))
            m_runner->grid(m_gridLevels->value());
    });
    connect(m_cancelButton, &QPushButton::clicked, m_runner, &RunController::cancel);
    QDockWidget *runDock =
        addDock(tr("Run and log"), QStringLiteral("runDock"), runPanel, Qt::BottomDockWidgetArea);

    m_frontTable = new QTableWidget(this);
    m_frontTable->setObjectName(QStringLiteral("frontTable"));
    m_frontTable->setSortingEnabled(true);
    m_frontTable->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_frontTable->setSelectionMode(QAbstractItemView::SingleSelection);
    m_frontTable->verticalHeader()->hide();
    connect(m_frontTable, &QTableWidget::itemSelectionChanged, this, [this] {
        if (m_updatingTable)
            return;
        const auto rows = m_frontTable->selectionModel()->selectedRows();
        if (!rows.isEmpty())
            m_document->selectFrontPoint(
                m_frontTable->item(rows.front().row(), 0)->data(Qt::UserRole).toInt());
    });
    QDockWidget *frontDock = addDock(tr("Front points"), QStringLiteral("frontDock"), m_frontTable,
                                     Qt::BottomDockWidgetArea);
    splitDockWidget(runDock, frontDock, Qt::Horizontal);
    resizeDocks({projectDock, preferenceDock}, {330, 300}, Qt::Horizontal);
    resizeDocks({runDock}, {230}, Qt::Vertical);
}

bool MainWindow::mayLeaveTheRun(const QString &what)
{
    if (!m_runner->busy())
        return true;
    const QString question =
        tr("A run is in progress on %1. Cancel it (its finished evaluations are saved in that "
           "project) and open %2, or stay with the run?")
            .arg(m_document->path(), what);
    const bool leave = m_runSwitchAnswer
                           ? m_runSwitchAnswer(question)
                           : QMessageBox::question(this, tr("A run is in progress"), question,
                                                   QMessageBox::Yes | QMessageBox::No,
                                                   QMessageBox::No) == QMessageBox::Yes;
    if (!leave) {
        log(tr("stayed with the running job; %1 was not opened").arg(what));
        return false;
    }
    m_runner->cancel();
    log(tr("cancelled the running job to open %1").arg(what));
    return true;
}

bool MainWindow::openProject(const QString &path)
{
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

void MainWindow::openExample()
{
    const QString project = exampleFolder() + QStringLiteral("/project.json");
    if (QFileInfo::exists(project)) {
        openProject(project);
        return;
    }
    log(tr("building the example project in %1 (MNIST from %2, Fashion-MNIST from %3)")
            .arg(exampleFolder(), QString::fromStdString(zoo::defaultMnistFolder()),
                 QString::fromStdString(zoo::defaultFashionFolder())));
    // A progress dialog while it trains (seconds to a minute); the window stays usable.
    auto *dialog = new QProgressDialog(tr("Building the example project: training a base network "
                                          "and two fine-tunes on MNIST…"),
                                       tr("Cancel"), 0, 0, this);
    dialog->setWindowTitle(tr("Example project"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setMinimumDuration(0);
    connect(dialog, &QProgressDialog::canceled, m_runner, &RunController::cancel);
    connect(m_runner, &RunController::logLine, dialog,
            [dialog](const QString &line) { dialog->setLabelText(line); });
    connect(m_runner, &RunController::finished, dialog, &QProgressDialog::close);
    dialog->show();
    m_runner->buildExample(exampleFolder());
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
    const qlonglong mode = m_shards->currentData().toLongLong();
    const bool folder = isFolderOutput(path.toStdString());
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
    const QString tokenizerFrom =
        mode < 0 && m_tokenizer->count() > 1 ? m_tokenizer->currentData().toString() : QString();
    m_runner->exportMerge(c, m_document->selectedPredicted(),
                          QString::fromStdString(preference.dump()), path,
                          mode > 0 ? static_cast<std::uint64_t>(mode) : 0, tokenizerFrom);
}

bool MainWindow::saveScreenshot(const QString &path)
{
    return grab().save(path, "PNG");
}

void MainWindow::projectOpened()
{
    const bool open = m_document->isOpen();
    const auto &p = m_document->project();
    m_tasksTable->setRowCount(open ? static_cast<int>(p.tasks.size()) : 0);
    for (int t = 0; open && t < static_cast<int>(p.tasks.size()); ++t) {
        const auto &task = p.tasks[static_cast<std::size_t>(t)];
        m_tasksTable->setItem(t, 0, new QTableWidgetItem(QString::fromStdString(task.name)));
        m_tasksTable->setItem(
            t, 1,
            new QTableWidgetItem(QString::fromStdString(
                task.metric + (task.direction == map::Direction::Maximize ? " ↑" : " ↓"))));
        m_tasksTable->setItem(t, 2,
                              new QTableWidgetItem(QString::fromStdString(
                                  task.evaluator.value("kind", std::string("?")))));
        m_tasksTable->setItem(t, 3, new QTableWidgetItem(QString::fromStdString(task.checkpoint)));
    }
    m_tasksTable->resizeColumnsToContents();
    rebuildPreferencePanel();
    updateFrontTable();
    updateSurrogateTable();
    updateSelectionPanel();
    updateRunState();
    updateTitle();
    m_inspection->setText(open ? tr("inspecting the checkpoints…")
                               : tr("No project open. File ▸ Open project… (Ctrl+O), "
                                    "drop a project file here, or File ▸ Open the example "
                                    "project."));
    if (open)
        inspectCheckpoints();
}

void MainWindow::inspectCheckpoints()
{
    // Opening checkpoints and planning the merge reads files: on a worker.
    const auto &p = m_document->project();
    std::string base = p.resolve(p.base);
    std::vector<std::string> models, names;
    for (const auto &task : p.tasks) {
        models.push_back(p.resolve(task.checkpoint));
        names.push_back(task.name);
    }
    m_tokenizer->clear();
    m_tokenizer->setVisible(false);
    struct Inspection {
        QString html;
        QStringList differing; ///< tokenizer files that differ between base and tasks
    };
    auto *watcher = new QFutureWatcher<Inspection>(this);
    const int generation = ++m_inspectGeneration;
    connect(
        watcher, &QFutureWatcher<Inspection>::finished, this, [this, watcher, generation, names] {
            watcher->deleteLater();
            if (generation != m_inspectGeneration)
                return; // another project was opened meanwhile
            const Inspection result = watcher->result();
            m_inspection->setText(result.html);
            if (result.html.startsWith(QStringLiteral("<b>Problem")))
                log(result.html, true);
            if (!result.differing.isEmpty()) {
                m_tokenizer->addItem(tr("tokenizer of the base"), QString());
                for (const std::string &name : names)
                    m_tokenizer->addItem(tr("tokenizer of %1").arg(QString::fromStdString(name)),
                                         QString::fromStdString(name));
                m_tokenizer->setToolTip(tr("The tasks' tokenizer files differ (%1): the "
                                           "model folder takes the chosen one's")
                                            .arg(result.differing.join(QStringLiteral(", "))));
                m_tokenizer->setVisible(m_shards->currentData().toLongLong() < 0);
            }
        });
    watcher->setFuture(QtConcurrent::run([base, models, names, options = p.merge] {
        Inspection result;
        result.html = describeMergeHtml(base, models, names, options);
        try {
            std::vector<std::string> folders{std::filesystem::is_directory(base) ? base : ""};
            for (const std::string &model : models)
                folders.push_back(std::filesystem::is_directory(model) ? model : "");
            for (const std::string &file : differingTokenizerFiles(folders))
                result.differing << QString::fromStdString(file);
        } catch (const std::exception &) {
            // unreadable tokenizer files: the export says so when it copies them
        }
        return result;
    }));
}

void MainWindow::rebuildPreferencePanel()
{
    while (QLayoutItem *item = m_weightsLayout->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    m_weights.clear();
    m_floors.clear();
    if (!m_document->isOpen())
        return;
    // The document's preference (the project's saved one, or equal weights): shown as it is.
    const map::Preference &current = m_document->preference();
    const double heaviest = current.weights.size() ? current.weights.maxCoeff() : 0;
    {
        const QSignalBlocker block(m_rule);
        const int rule = m_rule->findData(QString::fromLatin1(map::ruleName(current.rule)));
        if (rule >= 0)
            m_rule->setCurrentIndex(rule);
    }
    Eigen::Index index = 0;
    for (const auto &task : m_document->project().tasks) {
        const Eigen::Index t = index++;
        auto *row = new QWidget;
        auto *layout = new QHBoxLayout(row);
        layout->setContentsMargins(0, 0, 0, 0);
        auto *name = new QLabel(QString::fromStdString(task.name), row);
        name->setMinimumWidth(80);
        auto *slider = new QSlider(Qt::Horizontal, row);
        slider->setRange(0, 100);
        // Equal weights sit in the middle; otherwise the heaviest at 100, the rest in proportion.
        const double weight = t < current.weights.size() ? current.weights[t] : 1;
        const bool equal =
            current.weights.size() && current.weights.maxCoeff() == current.weights.minCoeff();
        slider->setValue(
            equal || heaviest <= 0 ? 50 : static_cast<int>(std::lround(100 * weight / heaviest)));
        slider->setToolTip(tr("How much %1 matters").arg(QString::fromStdString(task.name)));
        auto *floor = new QDoubleSpinBox(row);
        floor->setRange(-1e9, 1e9);
        floor->setDecimals(3);
        floor->setSingleStep(0.01);
        floor->setMinimum(task.direction == map::Direction::Maximize ? -0.001 : -1e9);
        floor->setSpecialValueText(tr("no floor"));
        const double floorValue = t < current.floors.size() ? current.floors[t] : kNaN;
        floor->setValue(std::isnan(floorValue) ? floor->minimum() : floorValue);
        floor->setToolTip(tr("Least acceptable %1 (a loss: most acceptable)")
                              .arg(QString::fromStdString(task.name)));
        layout->addWidget(name);
        layout->addWidget(slider, 1);
        layout->addWidget(floor);
        m_weightsLayout->addWidget(row);
        m_weights.push_back(slider);
        m_floors.push_back(floor);
        connect(slider, &QSlider::valueChanged, this, &MainWindow::preferenceChanged);
        connect(floor, qOverload<double>(&QDoubleSpinBox::valueChanged), this,
                &MainWindow::preferenceChanged);
    }
}

void MainWindow::preferenceChanged()
{
    if (!m_document->isOpen())
        return;
    map::Preference preference;
    const auto n = static_cast<Eigen::Index>(m_weights.size());
    preference.weights.resize(n);
    preference.floors.resize(n);
    for (Eigen::Index t = 0; t < n; ++t) {
        preference.weights[t] = m_weights[static_cast<std::size_t>(t)]->value() / 100.0;
        const QDoubleSpinBox *floor = m_floors[static_cast<std::size_t>(t)];
        preference.floors[t] = floor->value() == floor->minimum() ? kNaN : floor->value();
    }
    if (preference.weights.sum() <= 0) {
        statusBar()->showMessage(tr("at least one weight must be above 0"), 4000);
        return;
    }
    preference.rule = map::parseRule(m_rule->currentData().toString().toStdString());
    m_document->setPreference(preference);
}

void MainWindow::updateSelectionPanel()
{
    const std::vector<double> c = m_document->selectedCoefficients();
    m_evaluateButton->setEnabled(!c.empty() && !m_runner->busy());
    m_exportButton->setEnabled(!c.empty() && !m_runner->busy());
    m_exportAction->setEnabled(!c.empty() && !m_runner->busy());
    if (c.empty()) {
        m_selectedLabel->setText(m_document->isOpen()
                                     ? tr("<i>No front yet: %1</i>")
                                           .arg(m_document->fitNote().isEmpty()
                                                    ? tr("run Sample to evaluate a few merges")
                                                    : m_document->fitNote().toHtmlEscaped())
                                     : QString());
        return;
    }
    const Eigen::VectorXd predicted = m_document->selectedPredicted();
    const std::vector<double> measured = m_document->measuredMetrics(c);
    QString html =
        tr("<b>Selected merge</b> (front point %1)<table cellspacing=4>"
           "<tr><th align=left>task</th><th>c</th><th>predicted</th><th>measured</th></tr>")
            .arg(m_document->selectedIndex());
    const auto &tasks = m_document->project().tasks;
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        const QString real = measured.empty() || std::isnan(measured[t])
                                 ? QStringLiteral("–")
                                 : QString::number(measured[t], 'f', 4);
        html += QStringLiteral("<tr><td>%1</td><td align=right>%2</td><td align=right>%3</td>"
                               "<td align=right>%4</td></tr>")
                    .arg(QString::fromStdString(tasks[t].name))
                    .arg(c[t], 0, 'f', 3)
                    .arg(predicted[static_cast<Eigen::Index>(t)], 0, 'f', 4)
                    .arg(real);
    }
    html += QStringLiteral("</table>");
    if (!m_document->selectionNote().isEmpty())
        html += QStringLiteral("<br><i>%1</i>").arg(m_document->selectionNote().toHtmlEscaped());
    m_selectedLabel->setText(html);
    // Keep the table's highlighted row in step with the selection.
    m_updatingTable = true;
    for (int row = 0; row < m_frontTable->rowCount(); ++row)
        if (m_frontTable->item(row, 0) &&
            m_frontTable->item(row, 0)->data(Qt::UserRole).toInt() == m_document->selectedIndex()) {
            m_frontTable->selectRow(row);
            m_frontTable->scrollToItem(m_frontTable->item(row, 0));
            break;
        }
    m_updatingTable = false;
}

void MainWindow::updateFrontTable()
{
    m_updatingTable = true;
    m_frontTable->setSortingEnabled(false);
    m_frontTable->clear();
    const auto &tasks = m_document->project().tasks;
    QStringList header;
    header << tr("#");
    for (const auto &task : tasks)
        header << QStringLiteral("c:%1").arg(QString::fromStdString(task.name));
    for (const auto &task : tasks)
        header << QString::fromStdString(task.name);
    for (const auto &task : tasks)
        header << QStringLiteral("measured:%1").arg(QString::fromStdString(task.name));
    m_frontTable->setColumnCount(static_cast<int>(header.size()));
    m_frontTable->setHorizontalHeaderLabels(header);
    const int rows =
        m_document->isOpen() && m_document->hasFront() ? m_document->front().size() : 0;
    m_frontTable->setRowCount(rows);
    const int n = static_cast<int>(tasks.size());
    for (int i = 0; i < rows; ++i) {
        const map::Front &front = m_document->front();
        auto *index = numberItem(i, 0);
        index->setData(Qt::UserRole, i);
        m_frontTable->setItem(i, 0, index);
        std::vector<double> c(front.coefficients.row(i).begin(), front.coefficients.row(i).end());
        const std::vector<double> measured = m_document->measuredMetrics(c);
        for (int t = 0; t < n; ++t) {
            m_frontTable->setItem(i, 1 + t, numberItem(c[static_cast<std::size_t>(t)], 3));
            m_frontTable->setItem(i, 1 + n + t, numberItem(front.metrics(i, t)));
            m_frontTable->setItem(
                i, 1 + 2 * n + t,
                numberItem(measured.empty() ? kNaN : measured[static_cast<std::size_t>(t)]));
        }
    }
    m_frontTable->setSortingEnabled(true);
    m_frontTable->resizeColumnsToContents();
    m_updatingTable = false;
}

void MainWindow::updateSurrogateTable()
{
    const bool fitted = m_document->isOpen() && m_document->hasFront();
    const auto &tasks = m_document->project().tasks;
    m_surrogateTable->setRowCount(fitted ? static_cast<int>(tasks.size()) : 0);
    for (int t = 0; fitted && t < static_cast<int>(tasks.size()); ++t) {
        const auto &diagnostics =
            m_document->surrogates()[static_cast<std::size_t>(t)].diagnostics();
        m_surrogateTable->setItem(
            t, 0,
            new QTableWidgetItem(QString::fromStdString(tasks[static_cast<std::size_t>(t)].name)));
        m_surrogateTable->setItem(t, 1, numberItem(diagnostics.r2));
        m_surrogateTable->setItem(t, 2, numberItem(diagnostics.looRmse));
    }
    m_fitLabel->setText(m_document->isOpen() && !fitted && !m_document->fitNote().isEmpty()
                            ? m_document->fitNote()
                            : QString());
}

void MainWindow::updateRunState()
{
    const bool open = m_document->isOpen();
    const bool busy = m_runner->busy();
    for (QWidget *w :
         std::initializer_list<QWidget *>{m_sampleButton, m_refineButton, m_gridButton})
        w->setEnabled(open && !busy);
    m_cancelButton->setEnabled(busy);
    m_saveAction->setEnabled(open && !busy);
    m_saveAsAction->setEnabled(open && !busy);
    m_exportPlotAction->setEnabled(open);
    updateSelectionPanel();
}

void MainWindow::updateTitle()
{
    setWindowTitle(m_document->isOpen()
                       ? tr("%1[*] — Mergefront").arg(QFileInfo(m_document->path()).fileName())
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
    const QString stamp = QTime::currentTime().toString(QStringLiteral("HH:mm:ss"));
    m_log->appendHtml(error ? QStringLiteral("<span style='color:#b00020'>%1 %2</span>")
                                  .arg(stamp, line.toHtmlEscaped())
                            : QStringLiteral("%1 %2").arg(stamp, line.toHtmlEscaped()));
}

bool MainWindow::confirmGridCost(int levels)
{
    const auto &p = m_document->project();
    const double merges = std::pow(levels, static_cast<double>(p.tasks.size()));
    std::vector<double> seconds;
    for (const auto &e : p.evaluations)
        if (!e.result.failed)
            seconds.push_back(e.result.seconds);
    std::sort(seconds.begin(), seconds.end());
    const double each = seconds.empty() ? kNaN : seconds[seconds.size() / 2];
    const QString cost = std::isfinite(each) ? tr("about %1 minutes at %2 s per merge")
                                                   .arg(merges * each / 60, 0, 'f', 1)
                                                   .arg(each, 0, 'f', 2)
                                             : tr("time unknown (no evaluation measured yet)");
    return QMessageBox::question(this, tr("Ground-truth grid"),
                                 tr("The grid evaluates %1 merges (%2 levels per task): %3. "
                                    "It can be cancelled; finished evaluations are kept.")
                                     .arg(merges)
                                     .arg(levels)
                                     .arg(cost)) == QMessageBox::Yes;
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_runner->busy()) {
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
    NewProjectDialog dialog(this);
    dialog.setBase(files.takeFirst());
    for (const QString &file : files)
        dialog.addTask(file);
    if (dialog.exec() == QDialog::Accepted)
        openProject(dialog.projectPath());
}

} // namespace mf::ui
