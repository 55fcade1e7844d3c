// SPDX-License-Identifier: GPL-3.0-or-later
#include "new_project_dialog.h"

#include "dialogs.h"
#include "test_on_base.h"

#include "merge_description.h"
#include "project/evaluator_backend.h"
#include "eval/lm/config.h"
#include "io/checkpoint.h"
#include "map/surrogate.h"
#include "map/trust.h"
#include "merge/groups.h"
#include "merge/merge_inputs.h"
#include "project/project.h"
#include "util/atomic_file.h"
#include "util/error.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include <set>

namespace mf::ui {

namespace {

enum Column { Name, Checkpoint, Evaluator, Setting, Metric, Direction, Columns };

QString browseButtonText()
{
    return QObject::tr("Browse…");
}

} // namespace

QString lmEvalCommandTemplate()
{
    // docs/MODEL_FOLDERS.md explains it: lm_eval runs the harness task named as the project's
    // task ({task}) and writes <scratch>/<model>/results_*.json; the last line printed holds
    // that task's numbers ("acc", "acc_norm", ...), of which the task's metric is taken.
    return QStringLiteral(
        "lm_eval --model hf --model_args pretrained={checkpoint},dtype=auto --tasks {task} "
        "--batch_size auto --output_path {scratch} >&2 && python3 -c \"import glob, json, sys; "
        "f = sorted(glob.glob(sys.argv[1] + '/*/results_*.json'))[-1]; "
        "r = json.load(open(f))['results'][sys.argv[2]]; "
        "print(json.dumps({k.split(',')[0]: v for k, v in r.items() "
        "if isinstance(v, (int, float))}))\" {scratch} {task}");
}

QString lmEvalSharedCommandTemplate()
{
    // One lm_eval run for every task ({tasks}: their names, comma-separated, as the harness
    // names them), its results printed as one object nested by task (docs/PROJECT.md).
    return QStringLiteral(
        "lm_eval --model hf --model_args pretrained={checkpoint},dtype=auto --tasks {tasks} "
        "--batch_size auto --output_path {scratch} >&2 && python3 -c \"import glob, json, sys; "
        "f = sorted(glob.glob(sys.argv[1] + '/*/results_*.json'))[-1]; "
        "r = json.load(open(f))['results']; "
        "print(json.dumps({t: {k.split(',')[0]: v for k, v in m.items() "
        "if isinstance(v, (int, float))} for t, m in r.items()}))\" {scratch}");
}

NewProjectDialog::NewProjectDialog(QWidget *parent)
    : QDialog(parent)
{
    setWindowTitle(tr("New project"));
    setAcceptDrops(true);
    resize(980, 560);
    auto *layout = new QVBoxLayout(this);
    auto *form = new QFormLayout;
    auto fileRow = [this](QLineEdit *&edit, const QString &filter, bool save,
                          bool folders = false) {
        auto *row = new QWidget(this);
        auto *h = new QHBoxLayout(row);
        h->setContentsMargins(0, 0, 0, 0);
        edit = new QLineEdit(row);
        auto *browse = new QPushButton(browseButtonText(), row);
        h->addWidget(edit, 1);
        h->addWidget(browse);
        QLineEdit *target = edit;
        if (folders) {
            auto *folder = new QPushButton(tr("Model folder…"), row);
            folder->setToolTip(tr("A Hugging Face model folder (config.json + weights)"));
            h->addWidget(folder);
            connect(folder, &QPushButton::clicked, this, [this, target] {
                const QString path = QFileDialog::getExistingDirectory(this, tr("Model folder"));
                if (!path.isEmpty())
                    target->setText(path);
            });
        }
        connect(browse, &QPushButton::clicked, this, [this, target, filter, save] {
            const QString path =
                save ? QFileDialog::getSaveFileName(this, QString(), QString(), filter)
                     : QFileDialog::getOpenFileName(this, QString(), QString(), filter);
            if (!path.isEmpty())
                target->setText(path);
        });
        return row;
    };
    const QString checkpoints = tr("Checkpoints (*.safetensors *.json *.pt *.pth *.bin)");
    form->addRow(tr("Project file"), fileRow(m_projectPath, tr("Projects (*.json)"), true));
    form->addRow(tr("Base checkpoint"), fileRow(m_base, checkpoints, false, true));
    layout->addLayout(form);
    connect(m_base, &QLineEdit::textChanged, this, &NewProjectDialog::inspect);

    QString evaluators;
    for (const project::EvaluatorBackend &backend : project::evaluatorBackends())
        evaluators += tr(" Evaluator <i>%1</i>: %2 (setting: %3).")
                          .arg(QString::fromStdString(backend.kind),
                               QString::fromStdString(backend.summary).toHtmlEscaped(),
                               QString::fromStdString(backend.setting).toHtmlEscaped());
    auto *tasksLabel = new QLabel(
        tr("<b>Tasks</b>: one fine-tuned checkpoint or Hugging Face model folder each (Add…, or "
           "drop files and folders here); with a model folder base, a command gets a complete "
           "model folder (example: lm-evaluation-harness).") +
        evaluators);
    tasksLabel->setWordWrap(true);
    layout->addWidget(tasksLabel);
    m_tasks = new QTableWidget(0, Columns, this);
    m_tasks->setHorizontalHeaderLabels({tr("name"), tr("checkpoint"), tr("evaluator"),
                                        tr("command, module;data, or data;format"), tr("metric"),
                                        tr("direction")});
    m_tasks->horizontalHeader()->setSectionResizeMode(Setting, QHeaderView::Stretch);
    m_tasks->verticalHeader()->hide();
    m_tasks->setTabKeyNavigation(false); // Tab leaves the table; arrows move between cells
    layout->addWidget(m_tasks, 1);
    auto *taskButtons = new QHBoxLayout;
    auto *add = new QPushButton(tr("Add tasks…"), this);
    auto *addFolder = new QPushButton(tr("Add model or adapter folder…"), this);
    auto *remove = new QPushButton(tr("Remove task"), this);
    taskButtons->addWidget(add);
    taskButtons->addWidget(addFolder);
    taskButtons->addWidget(remove);
    taskButtons->addStretch();
    layout->addLayout(taskButtons);
    // One command for every task: run once per merge (lm-evaluation-harness loads the model
    // once for all its tasks), instead of one per task.
    auto *sharedRow = new QHBoxLayout;
    m_shared = new QCheckBox(tr("One command for every task (runs once per merge):"), this);
    m_shared->setObjectName(QStringLiteral("sharedCommand"));
    m_shared->setToolTip(tr("A project-level command evaluator: {checkpoint}, {tasks} (every "
                            "task's name, comma-separated) and {scratch} are substituted; it "
                            "prints one JSON object holding every task's metric, nested by task "
                            "name ({\"hellaswag\": {\"acc\": 0.5}, ...}) or flat. The tasks' "
                            "own evaluator columns are then not used."));
    m_sharedCommand = new QLineEdit(this);
    m_sharedCommand->setObjectName(QStringLiteral("sharedCommandLine"));
    m_sharedCommand->setPlaceholderText(tr("command printing every task's metric as JSON"));
    m_sharedCommand->setEnabled(false);
    sharedRow->addWidget(m_shared);
    sharedRow->addWidget(m_sharedCommand, 1);
    layout->addLayout(sharedRow);
    connect(m_shared, &QCheckBox::toggled, this, [this](bool on) {
        m_sharedCommand->setEnabled(on);
        if (on && m_sharedCommand->text().trimmed().isEmpty())
            m_sharedCommand->setText(lmEvalSharedCommandTemplate());
        for (int row = 0; row < m_tasks->rowCount(); ++row) {
            m_tasks->cellWidget(row, Evaluator)->setEnabled(!on);
            if (QTableWidgetItem *setting = m_tasks->item(row, Setting))
                setting->setFlags(on ? setting->flags() & ~Qt::ItemIsEnabled
                                     : setting->flags() | Qt::ItemIsEnabled);
        }
    });
    connect(add, &QPushButton::clicked, this, [this, checkpoints] {
        for (const QString &path :
             QFileDialog::getOpenFileNames(this, tr("Task checkpoints"), QString(), checkpoints))
            addTask(path);
    });
    connect(addFolder, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getExistingDirectory(
            this, tr("Task model folder (config.json + weights), or a PEFT LoRA adapter folder"));
        if (!path.isEmpty())
            addTask(path);
    });
    connect(remove, &QPushButton::clicked, this, [this] {
        if (m_tasks->currentRow() >= 0) {
            m_tasks->removeRow(m_tasks->currentRow());
            inspect();
        }
    });
    connect(m_tasks, &QTableWidget::cellChanged, this, [this](int, int column) {
        if (column == Checkpoint || column == Name || column == Metric)
            inspect();
    });

    auto *merge = new QHBoxLayout;
    m_method = new QComboBox(this);
    for (const char *method : {"task_arithmetic", "ties", "dare", "dare_ties"})
        m_method->addItem(QString::fromLatin1(method));
    m_density = new QDoubleSpinBox(this);
    m_density->setRange(0.01, 1);
    m_density->setSingleStep(0.05);
    m_density->setValue(0.2);
    m_drop = new QDoubleSpinBox(this);
    m_drop->setRange(0, 0.99);
    m_drop->setSingleStep(0.05);
    m_drop->setValue(0.9);
    m_seed = new QSpinBox(this);
    m_seed->setRange(0, 1 << 30);
    merge->addWidget(new QLabel(tr("Merge method"), this));
    merge->addWidget(m_method);
    merge->addWidget(new QLabel(tr("density (TIES)"), this));
    merge->addWidget(m_density);
    merge->addWidget(new QLabel(tr("drop rate (DARE)"), this));
    merge->addWidget(m_drop);
    merge->addWidget(new QLabel(tr("seed"), this));
    merge->addWidget(m_seed);
    merge->addStretch();
    layout->addLayout(merge);
    // Which tensors merge (regexes on tensor names, as `merge --include/--exclude`): the
    // inspection's advice on mismatched shapes points here.
    auto *filters = new QHBoxLayout;
    m_include = new QLineEdit(this);
    m_include->setObjectName(QStringLiteral("include"));
    m_include->setPlaceholderText(tr("every tensor"));
    m_exclude = new QLineEdit(this);
    m_exclude->setObjectName(QStringLiteral("exclude"));
    m_exclude->setPlaceholderText(tr("none"));
    for (QLineEdit *edit : {m_include, m_exclude}) {
        edit->setToolTip(tr("A regular expression on tensor names (ECMAScript), e.g. "
                            "^model\\.layers\\. ; tensors left out keep the base's values"));
        connect(edit, &QLineEdit::editingFinished, this, &NewProjectDialog::inspect);
    }
    filters->addWidget(new QLabel(tr("Merge only tensors matching"), this));
    filters->addWidget(m_include, 1);
    filters->addWidget(new QLabel(tr("Exclude tensors matching"), this));
    filters->addWidget(m_exclude, 1);
    layout->addLayout(filters);

    // Block-wise: coefficient groups (docs/PROJECT.md merge.groups), with presets for HF names.
    auto *groupsRow = new QHBoxLayout;
    m_groupPreset = new QComboBox(this);
    m_groupPreset->addItems({tr("none: one coefficient per task"),
                             tr("embeddings / first half / second half / head"),
                             tr("embeddings / layer ramp / head"), tr("custom (edit below)")});
    auto *addGroup = new QPushButton(tr("Add group"), this);
    auto *removeGroup = new QPushButton(tr("Remove group"), this);
    groupsRow->addWidget(new QLabel(tr("Coefficient groups"), this));
    groupsRow->addWidget(m_groupPreset);
    groupsRow->addWidget(addGroup);
    groupsRow->addWidget(removeGroup);
    groupsRow->addStretch();
    layout->addLayout(groupsRow);
    m_groups = new QTableWidget(0, 3, this);
    m_groups->setObjectName(QStringLiteral("groups"));
    m_groups->setHorizontalHeaderLabels(
        {tr("group"), tr("tensor names (regex; empty: the rest)"), tr("layer ramp")});
    m_groups->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    m_groups->verticalHeader()->hide();
    m_groups->setTabKeyNavigation(false);
    m_groups->setMaximumHeight(130);
    m_groups->setToolTip(tr("Each merged tensor belongs to exactly one group; a merge is then one "
                            "coefficient per task and group (a ramp: a first and a last value "
                            "per task, interpolated over the layer index)."));
    layout->addWidget(m_groups);
    connect(m_groupPreset, qOverload<int>(&QComboBox::activated), this,
            &NewProjectDialog::applyGroupPreset);
    connect(addGroup, &QPushButton::clicked, this, [this] {
        std::vector<CoefficientGroup> now = groups();
        now.push_back({"group " + std::to_string(now.size() + 1), "", false});
        setGroups(now);
        m_groupPreset->setCurrentIndex(3);
        inspect();
    });
    connect(removeGroup, &QPushButton::clicked, this, [this] {
        if (m_groups->rowCount() == 0)
            return;
        m_groups->removeRow(m_groups->currentRow() >= 0 ? m_groups->currentRow()
                                                        : m_groups->rowCount() - 1);
        m_groupPreset->setCurrentIndex(m_groups->rowCount() ? 3 : 0);
        inspect();
    });
    connect(m_groups, &QTableWidget::itemChanged, this, [this] {
        m_groupPreset->setCurrentIndex(m_groups->rowCount() ? 3 : 0);
        inspect();
    });

    m_inspection = new QLabel(tr("Choose the base and the task checkpoints."), this);
    m_inspection->setObjectName(QStringLiteral("inspection"));
    m_inspection->setWordWrap(true);
    m_inspection->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_inspection);
    // "Does the evaluator work?" before the project exists: one evaluation of the base.
    m_test = new TestOnBaseRow([this] { return project(); },
                               tr("One evaluation of the base alone (every coefficient 0) with "
                                  "these evaluators, here; nothing is written"),
                               this);
    layout->addWidget(m_test);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Create project"));
    connect(buttons, &QDialogButtonBox::accepted, this, &NewProjectDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
}

void NewProjectDialog::setBase(const QString &path)
{
    m_base->setText(path);
}

void NewProjectDialog::setProjectPath(const QString &path)
{
    m_projectPath->setText(path);
}

QString NewProjectDialog::projectPath() const
{
    return m_projectPath->text();
}

void NewProjectDialog::addTask(const QString &checkpoint)
{
    const QSignalBlocker block(m_tasks);
    const int row = m_tasks->rowCount();
    m_tasks->insertRow(row);
    const QFileInfo info(checkpoint);
    // A folder keeps its whole name ("Llama-3.1-math"); a file loses its extension.
    QString name = info.isDir() ? QDir(checkpoint).dirName() : info.completeBaseName();
    if (name.endsWith(QStringLiteral(".safetensors")))
        name.chop(12);
    m_tasks->setItem(row, Name, new QTableWidgetItem(name));
    m_tasks->setItem(row, Checkpoint, new QTableWidgetItem(checkpoint));
    auto *evaluator = new QComboBox(m_tasks);
    for (const project::EvaluatorBackend &backend : project::evaluatorBackends()) {
        evaluator->addItem(QString::fromStdString(backend.kind));
        evaluator->setItemData(
            evaluator->count() - 1,
            QString::fromStdString(backend.summary + " (setting: " + backend.setting + ")"),
            Qt::ToolTipRole);
    }
    m_tasks->setCellWidget(row, Evaluator, evaluator);
    auto *direction = new QComboBox(m_tasks);
    direction->addItems({QStringLiteral("maximize"), QStringLiteral("minimize")});
    m_tasks->setCellWidget(row, Direction, direction);
    connect(direction, &QComboBox::currentTextChanged, this, [this] { inspect(); });
    // A Llama / Mistral / Qwen / GPT-2 folder is scored in process (causal-lm): the user names
    // each task's held-out data in place of DATA. Other folders get lm-evaluation-harness.
    if (eval::lm::isLanguageModelFolder(checkpoint.toStdString())) {
        evaluator->setCurrentText(QStringLiteral("causal-lm"));
        m_tasks->setItem(row, Setting, new QTableWidgetItem(QStringLiteral("DATA;text")));
        m_tasks->setItem(row, Metric, new QTableWidgetItem(QStringLiteral("perplexity")));
        direction->setCurrentText(QStringLiteral("minimize"));
    } else {
        m_tasks->setItem(row, Setting,
                         new QTableWidgetItem(info.isDir()
                                                  ? lmEvalCommandTemplate()
                                                  : QStringLiteral("python3 eval.py {checkpoint} "
                                                                   "--task {task}")));
        m_tasks->setItem(row, Metric,
                         new QTableWidgetItem(info.isDir() ? QStringLiteral("acc")
                                                           : QStringLiteral("accuracy")));
    }
    if (m_shared->isChecked()) { // the project-level command serves it
        evaluator->setEnabled(false);
        m_tasks->item(row, Setting)->setFlags(m_tasks->item(row, Setting)->flags() &
                                              ~Qt::ItemIsEnabled);
    }
    inspect();
}

void NewProjectDialog::setCommandEvaluator(int row, const QString &command)
{
    qobject_cast<QComboBox *>(m_tasks->cellWidget(row, Evaluator))
        ->setCurrentText(QStringLiteral("command"));
    m_tasks->item(row, Setting)->setText(command);
}

void NewProjectDialog::setTorchScriptEvaluator(int row, const QString &module,
                                               const QString &dataFile)
{
    qobject_cast<QComboBox *>(m_tasks->cellWidget(row, Evaluator))
        ->setCurrentText(QStringLiteral("torchscript"));
    m_tasks->item(row, Setting)->setText(module + QLatin1Char(';') + dataFile);
}

void NewProjectDialog::inspect()
{
    const std::string base = m_base->text().toStdString();
    std::vector<std::string> models, names;
    for (int row = 0; row < m_tasks->rowCount(); ++row) {
        models.push_back(m_tasks->item(row, Checkpoint)->text().toStdString());
        names.push_back(m_tasks->item(row, Name)->text().toStdString());
    }
    if (base.empty() || models.empty()) {
        m_inspection->setText(tr("Choose the base and the task checkpoints."));
        return;
    }
    m_inspection->setText(tr("inspecting…"));
    const int generation = ++m_inspectGeneration;
    MergeOptions options;
    options.groups = groups();
    options.include = m_include->text().toStdString();
    options.exclude = m_exclude->text().toStdString();
    // Reading headers and planning on a worker: large checkpoints never freeze the dialog.
    m_background.run(
        [base, models, names, options] { return describeMergeHtml(base, models, names, options); },
        [this, generation, tasks = models.size(),
         columns = groupColumns(options.groups).size()](QString html) {
            if (generation != m_inspectGeneration)
                return;
            // The core's advice names the CLI's flags; here they are the fields above.
            html.replace(QStringLiteral("use --exclude '"),
                         QStringLiteral("put this in <i>Exclude tensors matching</i>: '"))
                .replace(QStringLiteral("with --include"),
                         QStringLiteral("with <i>Merge only tensors matching</i>"))
                .replace(QStringLiteral("matched by --exclude"),
                         QStringLiteral("matched by <i>Exclude tensors matching</i>"));
            // What MAP will cost in this many coefficients, before the project exists.
            const int d = static_cast<int>(tasks * columns);
            const QString coefficients = columns > 1
                                             ? tr("%1 coefficients (%2 tasks × %3 group columns)")
                                                   .arg(d)
                                                   .arg(tasks)
                                                   .arg(columns)
                                             : tr("%n coefficient(s), one per task", nullptr, d);
            m_inspection->setText(
                directionWarnings() + html +
                tr("<br><b>Budget</b>: %1: a full quadratic per task has %2 parameters; "
                   "MAP fits it from %3 evaluations and trusts the front from %4.")
                    .arg(coefficients)
                    .arg(map::Surrogate::fullParameterCount(d))
                    .arg(map::Surrogate::fullParameterCount(d) + 1)
                    .arg(map::trustedSampleCount(d)));
        });
}

QString NewProjectDialog::directionWarnings() const
{
    QString out;
    for (int row = 0; row < m_tasks->rowCount(); ++row) {
        const QTableWidgetItem *metric = m_tasks->item(row, Metric);
        const auto *direction = qobject_cast<QComboBox *>(m_tasks->cellWidget(row, Direction));
        if (!metric || !direction)
            continue;
        out += metricDirectionWarning(
            m_tasks->item(row, Name) ? m_tasks->item(row, Name)->text() : QString(),
            metric->text(), direction->currentText() == QStringLiteral("maximize"));
    }
    return out;
}

std::vector<CoefficientGroup> NewProjectDialog::groups() const
{
    std::vector<CoefficientGroup> out;
    for (int row = 0; row < m_groups->rowCount(); ++row) {
        CoefficientGroup group;
        group.name = m_groups->item(row, 0) ? m_groups->item(row, 0)->text().trimmed().toStdString()
                                            : std::string();
        group.include =
            m_groups->item(row, 1) ? m_groups->item(row, 1)->text().toStdString() : std::string();
        group.ramp = m_groups->item(row, 2) && m_groups->item(row, 2)->checkState() == Qt::Checked;
        out.push_back(std::move(group));
    }
    return out;
}

void NewProjectDialog::setGroups(const std::vector<CoefficientGroup> &groups)
{
    const QSignalBlocker block(m_groups);
    m_groups->setRowCount(0);
    for (const CoefficientGroup &group : groups) {
        const int row = m_groups->rowCount();
        m_groups->insertRow(row);
        m_groups->setItem(row, 0, new QTableWidgetItem(QString::fromStdString(group.name)));
        m_groups->setItem(row, 1, new QTableWidgetItem(QString::fromStdString(group.include)));
        auto *ramp = new QTableWidgetItem;
        ramp->setFlags(Qt::ItemIsUserCheckable | Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        ramp->setCheckState(group.ramp ? Qt::Checked : Qt::Unchecked);
        m_groups->setItem(row, 2, ramp);
    }
}

void NewProjectDialog::applyGroupPreset(int preset)
{
    m_groupPreset->setCurrentIndex(preset);
    if (preset == 0 || preset == 3) {
        if (preset == 0)
            setGroups({});
        inspect();
        return;
    }
    const std::string base = m_base->text().toStdString();
    if (base.empty()) {
        m_inspection->setText(tr("Choose the base first: the presets are built from its tensor "
                                 "names."));
        return;
    }
    const bool ramp = preset == 2;
    const int generation = ++m_inspectGeneration;
    struct Preset {
        std::vector<CoefficientGroup> groups;
        QString problem;
    };
    // The base's floating tensor names, read on a worker (headers only).
    m_background.run(
        [base, ramp] {
            Preset out;
            try {
                std::vector<std::string> names;
                const mf::Checkpoint checkpoint = mf::Checkpoint::open(base);
                for (const TensorRef &tensor : checkpoint.tensors())
                    if (isFloating(tensor.dtype))
                        names.push_back(tensor.name);
                out.groups = transformerGroups(names, ramp);
            } catch (const std::exception &e) {
                out.problem = QString::fromStdString(e.what());
            }
            return out;
        },
        [this, generation](const Preset &found) {
            if (generation != m_inspectGeneration)
                return;
            if (!found.problem.isEmpty()) {
                m_groupPreset->setCurrentIndex(m_groups->rowCount() ? 3 : 0);
                m_inspection->setText(
                    tr("<b>No preset:</b> %1").arg(found.problem.toHtmlEscaped()));
                return;
            }
            setGroups(found.groups);
            inspect();
        });
}

project::Project NewProjectDialog::project() const
{
    const QString projectPath = m_projectPath->text();
    if (projectPath.isEmpty())
        throw Error("choose where to save the project file");
    if (m_base->text().isEmpty())
        throw Error("choose the base checkpoint");
    if (m_tasks->rowCount() == 0)
        throw Error("add at least two task checkpoints");
    if (m_tasks->rowCount() == 1)
        throw Error("a project needs at least two tasks: its front trades one task against "
                    "another (add the other task's checkpoint)");
    const QDir folder = QFileInfo(projectPath).absoluteDir();
    auto relative = [&](const QString &path) {
        return folder.relativeFilePath(QFileInfo(path).absoluteFilePath()).toStdString();
    };
    project::Project p;
    p.path = projectPath.toStdString();
    p.base = relative(m_base->text());
    for (int row = 0; row < m_tasks->rowCount(); ++row) {
        project::TaskEntry task;
        task.name = m_tasks->item(row, Name)->text().trimmed().toStdString();
        if (task.name.empty())
            throw Error("task " + std::to_string(row + 1) + " has no name");
        const QString kind =
            qobject_cast<QComboBox *>(m_tasks->cellWidget(row, Evaluator))->currentText();
        const QString setting = m_tasks->item(row, Setting)->text();
        if (!m_shared->isChecked() && kind == QStringLiteral("command"))
            checkHarnessTasks(setting.toStdString(), {task.name});
        if (!m_shared->isChecked()) // else the project-level command serves it
            task.evaluator =
                project::evaluatorBackend(kind.toStdString(), "task '" + task.name + "'")
                    .fromSetting(task.name, setting.toStdString(), [&](const std::string &path) {
                        return relative(QString::fromStdString(path));
                    });
        task.checkpoint = relative(m_tasks->item(row, Checkpoint)->text());
        task.metric = m_tasks->item(row, Metric)->text().trimmed().toStdString();
        task.direction =
            qobject_cast<QComboBox *>(m_tasks->cellWidget(row, Direction))->currentText() ==
                    QStringLiteral("minimize")
                ? map::Direction::Minimize
                : map::Direction::Maximize;
        p.tasks.push_back(std::move(task));
    }
    p.merge.method = parseMergeMethod(m_method->currentText().toStdString());
    p.merge.density = m_density->value();
    p.merge.dropRate = m_drop->value();
    p.merge.seed = static_cast<std::uint64_t>(m_seed->value());
    p.merge.groups = groups();
    p.merge.include = m_include->text().toStdString();
    p.merge.exclude = m_exclude->text().toStdString();
    validateGroups(p.merge.groups);
    validateMergeOptions(p.merge); // a regex that does not compile is named here
    if (m_shared->isChecked()) {
        const std::string command = m_sharedCommand->text().trimmed().toStdString();
        if (command.empty())
            throw Error("give the command that evaluates every task, or untick \"One command "
                        "for every task\"");
        checkHarnessTasks(command, p.taskNames());
        p.evaluator = {{"kind", "command"}, {"command", command}, {"timeout", 3600}};
    }
    // Nothing to merge is no project: say why before anything is written.
    std::vector<std::string> models, names;
    for (const project::TaskEntry &task : p.tasks) {
        models.push_back(
            m_tasks->item(static_cast<int>(models.size()), Checkpoint)->text().toStdString());
        names.push_back(task.name);
    }
    const MergeInputs inputs(m_base->text().toStdString(), models, names, p.merge);
    if (inputs.merger().plan().mergedTensors == 0)
        throw Error(nothingToMerge());
    return p;
}

QLabel *NewProjectDialog::testLabel() const
{
    return m_test->label();
}

QPushButton *NewProjectDialog::testButton() const
{
    return m_test->button();
}

QString NewProjectDialog::writeProject() const
{
    project().saveNew();
    return m_projectPath->text();
}

void NewProjectDialog::accept()
{
    if (succeeds(this, tr("Cannot create the project"), [this] { writeProject(); }))
        QDialog::accept();
}

void NewProjectDialog::dragEnterEvent(QDragEnterEvent *event)
{
    if (event->mimeData()->hasUrls())
        event->acceptProposedAction();
}

void NewProjectDialog::dropEvent(QDropEvent *event)
{
    // The first checkpoint dropped on an empty dialog is the base; the rest are tasks.
    for (const QUrl &url : event->mimeData()->urls()) {
        if (!url.isLocalFile())
            continue;
        if (m_base->text().isEmpty())
            setBase(url.toLocalFile());
        else
            addTask(url.toLocalFile());
    }
}

} // namespace mf::ui
