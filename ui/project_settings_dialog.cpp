// SPDX-License-Identifier: GPL-3.0-or-later
#include "project_settings_dialog.h"

#include "dialogs.h"
#include "new_project_dialog.h"
#include "test_on_base.h"

#include "merge/groups.h"
#include "merge/merge_plan.h"
#include "project/evaluator_backend.h"
#include "util/error.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace mf::ui {

namespace {

enum Column { Name, Checkpoint, Metric, Direction, Lower, Upper, Evaluator, Columns };

QDoubleSpinBox *boxEdge(double value, QWidget *parent)
{
    auto *spin = new QDoubleSpinBox(parent);
    spin->setRange(-100, 100);
    spin->setDecimals(3);
    spin->setSingleStep(0.1);
    spin->setValue(value);
    return spin;
}

QComboBox *choices(const QStringList &items, const QString &current, QWidget *parent)
{
    auto *box = new QComboBox(parent);
    box->addItems(items);
    box->setCurrentText(current);
    return box;
}

} // namespace

ProjectSettingsDialog::ProjectSettingsDialog(const project::Project &project, QWidget *parent)
    : QDialog(parent)
    , m_original(project)
{
    setWindowTitle(tr("Project settings — %1").arg(QFileInfo(QString::fromStdString(project.path))
                                                       .fileName()));
    resize(1040, 720);
    auto *layout = new QVBoxLayout(this);

    // Tasks: checkpoints stay (a new one is a new project); the rest is editable.
    auto *tasksLabel = new QLabel(
        tr("<b>Tasks</b>: metric, direction, coefficient box and evaluator (its JSON object, as "
           "in the project file: docs/PROJECT.md)."),
        this);
    tasksLabel->setWordWrap(true);
    layout->addWidget(tasksLabel);
    m_tasks = new QTableWidget(static_cast<int>(project.tasks.size()), Columns, this);
    m_tasks->setObjectName(QStringLiteral("settingsTasks"));
    m_tasks->setHorizontalHeaderLabels({tr("name"), tr("checkpoint"), tr("metric"),
                                        tr("direction"), tr("lower"), tr("upper"),
                                        tr("evaluator (JSON)")});
    m_tasks->horizontalHeader()->setSectionResizeMode(Evaluator, QHeaderView::Stretch);
    m_tasks->verticalHeader()->hide();
    m_tasks->setTabKeyNavigation(false);
    for (int row = 0; row < static_cast<int>(project.tasks.size()); ++row) {
        const project::TaskEntry &task = project.tasks[static_cast<std::size_t>(row)];
        for (const auto &[column, text] :
             {std::pair{Name, QString::fromStdString(task.name)},
              std::pair{Checkpoint, QString::fromStdString(task.checkpoint)}}) {
            auto *item = new QTableWidgetItem(text);
            item->setFlags(item->flags() & ~Qt::ItemIsEditable);
            m_tasks->setItem(row, column, item);
        }
        m_tasks->setItem(row, Metric, new QTableWidgetItem(QString::fromStdString(task.metric)));
        m_tasks->setCellWidget(
            row, Direction,
            choices({QStringLiteral("maximize"), QStringLiteral("minimize")},
                    task.direction == map::Direction::Minimize ? QStringLiteral("minimize")
                                                               : QStringLiteral("maximize"),
                    m_tasks));
        m_tasks->setCellWidget(row, Lower, boxEdge(task.lower, m_tasks));
        m_tasks->setCellWidget(row, Upper, boxEdge(task.upper, m_tasks));
        m_tasks->setItem(row, Evaluator,
                         new QTableWidgetItem(project.sharedEvaluator(task)
                                                  ? QString()
                                                  : QString::fromStdString(task.evaluator.dump())));
    }
    m_tasks->setWordWrap(false); // one line per task; the cell's tooltip shows it whole
    for (int row = 0; row < m_tasks->rowCount(); ++row)
        m_tasks->item(row, Evaluator)->setToolTip(m_tasks->item(row, Evaluator)->text());
    m_tasks->resizeColumnsToContents();
    m_tasks->resizeRowsToContents();
    m_tasks->horizontalHeader()->setSectionResizeMode(Evaluator, QHeaderView::Stretch);
    // Every task in view up to five; more scroll.
    const int rows = std::min(m_tasks->rowCount(), 5);
    m_tasks->setMinimumHeight(m_tasks->horizontalHeader()->sizeHint().height() +
                              rows * m_tasks->verticalHeader()->defaultSectionSize() + 6);
    layout->addWidget(m_tasks, 1);

    auto *sharedRow = new QHBoxLayout;
    m_shared = new QCheckBox(tr("One command for every task without its own evaluator (runs "
                                "once per merge):"),
                             this);
    m_sharedCommand = new QLineEdit(this);
    m_sharedTimeout = new QDoubleSpinBox(this);
    m_sharedTimeout->setRange(1, 7 * 24 * 3600);
    m_sharedTimeout->setDecimals(0);
    m_sharedTimeout->setSuffix(tr(" s"));
    m_shared->setChecked(project.evaluator.is_object());
    m_sharedCommand->setText(project.evaluator.is_object()
                                 ? QString::fromStdString(project.evaluator.value("command", ""))
                                 : lmEvalSharedCommandTemplate());
    m_sharedTimeout->setValue(project.evaluator.is_object()
                                  ? project.evaluator.value("timeout", 3600.0)
                                  : 3600.0);
    sharedRow->addWidget(m_shared);
    sharedRow->addWidget(m_sharedCommand, 1);
    sharedRow->addWidget(new QLabel(tr("timeout"), this));
    sharedRow->addWidget(m_sharedTimeout);
    layout->addLayout(sharedRow);
    const auto sharedFields = [this] {
        m_sharedCommand->setEnabled(m_shared->isChecked());
        m_sharedTimeout->setEnabled(m_shared->isChecked());
    };
    sharedFields();
    connect(m_shared, &QCheckBox::toggled, this, sharedFields);

    // Merge.
    auto *merge = new QGroupBox(tr("Merge"), this);
    auto *mergeForm = new QFormLayout(merge);
    auto *methodRow = new QHBoxLayout;
    m_method = choices({QStringLiteral("task_arithmetic"), QStringLiteral("ties"),
                        QStringLiteral("dare"), QStringLiteral("dare_ties")},
                       QString::fromLatin1(methodName(project.merge.method)), merge);
    m_density = new QDoubleSpinBox(merge);
    m_density->setRange(0.01, 1);
    m_density->setSingleStep(0.05);
    m_density->setValue(project.merge.density);
    m_drop = new QDoubleSpinBox(merge);
    m_drop->setRange(0, 0.99);
    m_drop->setSingleStep(0.05);
    m_drop->setValue(project.merge.dropRate);
    m_seed = new QSpinBox(merge);
    m_seed->setRange(0, 1 << 30);
    m_seed->setValue(static_cast<int>(project.merge.seed));
    m_taskOnly = choices({QStringLiteral("keep"), QStringLiteral("drop")},
                         project.merge.keepTaskOnly ? QStringLiteral("keep")
                                                    : QStringLiteral("drop"),
                         merge);
    methodRow->addWidget(m_method);
    for (const auto &[label, widget] :
         {std::pair<QString, QWidget *>{tr("density (TIES)"), m_density},
          {tr("drop rate (DARE)"), m_drop},
          {tr("seed"), m_seed},
          {tr("tensors in one task only"), m_taskOnly}}) {
        methodRow->addWidget(new QLabel(label, merge));
        methodRow->addWidget(widget);
    }
    methodRow->addStretch();
    mergeForm->addRow(tr("Method"), methodRow);
    auto *filters = new QHBoxLayout;
    m_include = new QLineEdit(QString::fromStdString(project.merge.include), merge);
    m_include->setPlaceholderText(tr("every tensor"));
    m_exclude = new QLineEdit(QString::fromStdString(project.merge.exclude), merge);
    m_exclude->setPlaceholderText(tr("none"));
    filters->addWidget(m_include, 1);
    filters->addWidget(new QLabel(tr("exclude"), merge));
    filters->addWidget(m_exclude, 1);
    mergeForm->addRow(tr("Merge only"), filters);
    m_groups = new QTableWidget(static_cast<int>(project.merge.groups.size()), 3, merge);
    m_groups->setHorizontalHeaderLabels(
        {tr("group"), tr("tensor names (regex; empty: the rest)"), tr("layer ramp")});
    m_groups->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    m_groups->verticalHeader()->hide();
    m_groups->setTabKeyNavigation(false);
    m_groups->setMaximumHeight(110);
    for (int row = 0; row < static_cast<int>(project.merge.groups.size()); ++row) {
        const CoefficientGroup &group = project.merge.groups[static_cast<std::size_t>(row)];
        m_groups->setItem(row, 0, new QTableWidgetItem(QString::fromStdString(group.name)));
        m_groups->setItem(row, 1, new QTableWidgetItem(QString::fromStdString(group.include)));
        auto *ramp = new QTableWidgetItem;
        ramp->setFlags(Qt::ItemIsUserCheckable | Qt::ItemIsEnabled);
        ramp->setCheckState(group.ramp ? Qt::Checked : Qt::Unchecked);
        m_groups->setItem(row, 2, ramp);
    }
    auto *groupButtons = new QHBoxLayout;
    auto *addGroup = new QPushButton(tr("Add group"), merge);
    auto *removeGroup = new QPushButton(tr("Remove group"), merge);
    groupButtons->addWidget(addGroup);
    groupButtons->addWidget(removeGroup);
    groupButtons->addStretch();
    auto *groupsBox = new QVBoxLayout;
    groupsBox->addWidget(m_groups);
    groupsBox->addLayout(groupButtons);
    mergeForm->addRow(tr("Coefficient groups"), groupsBox);
    layout->addWidget(merge);
    connect(addGroup, &QPushButton::clicked, this, [this] {
        const int row = m_groups->rowCount();
        m_groups->insertRow(row);
        m_groups->setItem(row, 0, new QTableWidgetItem(tr("group%1").arg(row + 1)));
        m_groups->setItem(row, 1, new QTableWidgetItem);
        auto *ramp = new QTableWidgetItem;
        ramp->setFlags(Qt::ItemIsUserCheckable | Qt::ItemIsEnabled);
        ramp->setCheckState(Qt::Unchecked);
        m_groups->setItem(row, 2, ramp);
    });
    connect(removeGroup, &QPushButton::clicked, this, [this] {
        if (m_groups->rowCount() > 0)
            m_groups->removeRow(m_groups->currentRow() >= 0 ? m_groups->currentRow()
                                                            : m_groups->rowCount() - 1);
        updateImpact();
    });

    // MAP and the runner, side by side.
    auto *lower = new QHBoxLayout;
    auto *mapBox = new QGroupBox(tr("MAP"), this);
    auto *mapForm = new QFormLayout(mapBox);
    m_mapMode = choices({QStringLiteral("plain"), QStringLiteral("bayesian"),
                         QStringLiteral("nested")},
                        QString::fromStdString(project.map.mode), mapBox);
    m_budget = new QSpinBox(mapBox);
    m_budget->setRange(0, 100000);
    m_budget->setSpecialValueText(tr("3P (automatic)"));
    m_budget->setValue(project.map.budget);
    m_mapSeed = new QSpinBox(mapBox);
    m_mapSeed->setRange(0, 1 << 30);
    m_mapSeed->setValue(static_cast<int>(project.map.seed));
    m_acquisition = choices({QStringLiteral("ehvi"), QStringLiteral("uncertainty")},
                            QString::fromStdString(project.map.acquisition), mapBox);
    mapForm->addRow(tr("Mode"), m_mapMode);
    mapForm->addRow(tr("Budget (evaluations in all)"), m_budget);
    mapForm->addRow(tr("Seed"), m_mapSeed);
    mapForm->addRow(tr("Acquisition (Bayesian)"), m_acquisition);
    lower->addWidget(mapBox);
    auto *runnerBox = new QGroupBox(tr("Where evaluations run"), this);
    auto *runnerForm = new QFormLayout(runnerBox);
    m_runner = new QComboBox(runnerBox);
    m_runner->addItem(tr("here (local)"), QStringLiteral("local"));
    m_runner->addItem(tr("Slurm jobs"), QStringLiteral("slurm"));
    m_runner->setCurrentIndex(project.runner.slurm() ? 1 : 0);
    m_sbatch = new QPlainTextEdit(runnerBox);
    m_sbatch->setPlaceholderText(tr("sbatch options, one per line (--partition=gpu)"));
    QStringList sbatch;
    for (const std::string &option : project.runner.sbatch)
        sbatch << QString::fromStdString(option);
    m_sbatch->setPlainText(sbatch.join(QLatin1Char('\n')));
    m_sbatch->setMaximumHeight(60);
    m_maxJobs = new QSpinBox(runnerBox);
    m_maxJobs->setRange(1, 10000);
    m_maxJobs->setValue(project.runner.maxJobs);
    m_retries = new QSpinBox(runnerBox);
    m_retries->setRange(0, 100);
    m_retries->setValue(project.runner.retries);
    m_workdir = new QLineEdit(QString::fromStdString(project.runner.workdir), runnerBox);
    m_workdir->setPlaceholderText(tr("PROJECT.slurm/ beside the file"));
    m_cli = new QLineEdit(QString::fromStdString(project.runner.cli), runnerBox);
    m_setup = new QPlainTextEdit(QString::fromStdString(project.runner.setup), runnerBox);
    m_setup->setPlaceholderText(tr("shell lines run on the node first (module load cuda)"));
    m_setup->setMaximumHeight(45);
    runnerForm->addRow(tr("Runner"), m_runner);
    runnerForm->addRow(tr("sbatch options"), m_sbatch);
    runnerForm->addRow(tr("Jobs in flight at most"), m_maxJobs);
    runnerForm->addRow(tr("Resubmissions"), m_retries);
    runnerForm->addRow(tr("Work folder"), m_workdir);
    runnerForm->addRow(tr("CLI on the nodes"), m_cli);
    runnerForm->addRow(tr("Node setup"), m_setup);
    lower->addWidget(runnerBox, 1);
    layout->addLayout(lower);
    const auto slurmFields = [this] {
        const bool slurm = m_runner->currentData().toString() == QLatin1String("slurm");
        for (QWidget *w : std::initializer_list<QWidget *>{m_sbatch, m_maxJobs, m_retries,
                                                           m_workdir, m_cli, m_setup})
            w->setEnabled(slurm);
    };
    slurmFields();
    connect(m_runner, qOverload<int>(&QComboBox::currentIndexChanged), this, slurmFields);

    m_impact = new QLabel(this);
    m_impact->setObjectName(QStringLiteral("settingsImpact"));
    m_impact->setWordWrap(true);
    layout->addWidget(m_impact);
    m_test = new TestOnBaseRow([this] { return edited(); },
                               tr("One evaluation of the base alone (every coefficient 0) with "
                                  "these settings, here; recorded nowhere"),
                               this);
    layout->addWidget(m_test);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Save)->setText(tr("Save settings"));
    connect(buttons, &QDialogButtonBox::accepted, this, &ProjectSettingsDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);

    // The impact follows every field that can change it.
    connect(m_tasks, &QTableWidget::cellChanged, this, &ProjectSettingsDialog::updateImpact);
    connect(m_groups, &QTableWidget::cellChanged, this, &ProjectSettingsDialog::updateImpact);
    for (QComboBox *box : {m_method, m_taskOnly})
        connect(box, qOverload<int>(&QComboBox::currentIndexChanged), this,
                &ProjectSettingsDialog::updateImpact);
    for (QDoubleSpinBox *box : {m_density, m_drop})
        connect(box, qOverload<double>(&QDoubleSpinBox::valueChanged), this,
                &ProjectSettingsDialog::updateImpact);
    connect(m_seed, qOverload<int>(&QSpinBox::valueChanged), this,
            &ProjectSettingsDialog::updateImpact);
    for (QLineEdit *edit : {m_include, m_exclude, m_sharedCommand})
        connect(edit, &QLineEdit::textChanged, this, &ProjectSettingsDialog::updateImpact);
    connect(m_shared, &QCheckBox::toggled, this, &ProjectSettingsDialog::updateImpact);
    for (int row = 0; row < m_tasks->rowCount(); ++row) {
        connect(qobject_cast<QComboBox *>(m_tasks->cellWidget(row, Direction)),
                qOverload<int>(&QComboBox::currentIndexChanged), this,
                &ProjectSettingsDialog::updateImpact);
        for (int column : {Lower, Upper})
            connect(qobject_cast<QDoubleSpinBox *>(m_tasks->cellWidget(row, column)),
                    qOverload<double>(&QDoubleSpinBox::valueChanged), this,
                    &ProjectSettingsDialog::updateImpact);
    }
    updateImpact();
}

project::Project ProjectSettingsDialog::edited() const
{
    project::Project p = m_original;
    for (int row = 0; row < m_tasks->rowCount(); ++row) {
        project::TaskEntry &task = p.tasks[static_cast<std::size_t>(row)];
        const std::string where = "task '" + task.name + "'";
        task.metric = m_tasks->item(row, Metric)->text().trimmed().toStdString();
        if (task.metric.empty())
            throw Error(where + ": give its metric's name");
        task.direction =
            qobject_cast<QComboBox *>(m_tasks->cellWidget(row, Direction))->currentText() ==
                    QStringLiteral("minimize")
                ? map::Direction::Minimize
                : map::Direction::Maximize;
        task.lower = qobject_cast<QDoubleSpinBox *>(m_tasks->cellWidget(row, Lower))->value();
        task.upper = qobject_cast<QDoubleSpinBox *>(m_tasks->cellWidget(row, Upper))->value();
        if (!(task.lower < task.upper))
            throw Error(where + ": the coefficient box [lower, upper] is empty");
        const std::string text = m_tasks->item(row, Evaluator)->text().trimmed().toStdString();
        if (text.empty()) {
            if (!m_shared->isChecked())
                throw Error(where + ": give its evaluator, or one command for every task");
            task.evaluator = nlohmann::json::object();
        } else {
            const auto evaluator = nlohmann::json::parse(text, nullptr, false);
            if (!evaluator.is_object())
                throw Error(where + ": the evaluator is not a JSON object: " + text);
            project::evaluatorBackend(evaluator.value("kind", ""), where); // a known kind
            if (evaluator.value("kind", "") == "command" && evaluator.contains("command") &&
                evaluator["command"].is_string())
                checkHarnessTasks(evaluator["command"].get<std::string>(), {task.name});
            task.evaluator = evaluator;
        }
    }
    p.evaluator = nullptr;
    if (m_shared->isChecked()) {
        const std::string command = m_sharedCommand->text().trimmed().toStdString();
        if (command.empty())
            throw Error("give the command that evaluates every task, or untick \"One command "
                        "for every task\"");
        checkHarnessTasks(command, p.taskNames());
        p.evaluator = {{"kind", "command"},
                       {"command", command},
                       {"timeout", m_sharedTimeout->value()}};
    }
    project::projectBackend(p); // every task's kind, the same for all
    p.merge.method = parseMergeMethod(m_method->currentText().toStdString());
    p.merge.density = m_density->value();
    p.merge.dropRate = m_drop->value();
    p.merge.seed = static_cast<std::uint64_t>(m_seed->value());
    p.merge.keepTaskOnly = m_taskOnly->currentText() == QStringLiteral("keep");
    p.merge.include = m_include->text().toStdString();
    p.merge.exclude = m_exclude->text().toStdString();
    p.merge.groups.clear();
    for (int row = 0; row < m_groups->rowCount(); ++row) {
        CoefficientGroup group;
        group.name = m_groups->item(row, 0) ? m_groups->item(row, 0)->text().trimmed().toStdString()
                                            : std::string();
        group.include =
            m_groups->item(row, 1) ? m_groups->item(row, 1)->text().toStdString() : std::string();
        group.ramp = m_groups->item(row, 2) && m_groups->item(row, 2)->checkState() == Qt::Checked;
        p.merge.groups.push_back(std::move(group));
    }
    validateMergeOptions(p.merge); // density, drop rate, regexes, groups
    p.map.mode = m_mapMode->currentText().toStdString();
    p.map.budget = m_budget->value();
    p.map.seed = static_cast<std::uint64_t>(m_mapSeed->value());
    p.map.acquisition = m_acquisition->currentText().toStdString();
    p.runner.kind = m_runner->currentData().toString().toStdString();
    if (p.runner.slurm()) {
        p.runner.sbatch.clear();
        for (const QString &line : m_sbatch->toPlainText().split(QLatin1Char('\n')))
            if (!line.trimmed().isEmpty())
                p.runner.sbatch.push_back(line.trimmed().toStdString());
        p.runner.maxJobs = m_maxJobs->value();
        p.runner.retries = m_retries->value();
        p.runner.workdir = m_workdir->text().trimmed().toStdString();
        p.runner.cli = m_cli->text().trimmed().toStdString();
        if (p.runner.cli.empty())
            throw Error("runner: give the CLI as the nodes call it (mergefront-cli)");
        p.runner.setup = m_setup->toPlainText().toStdString();
    }
    return p;
}

QString ProjectSettingsDialog::impact() const
{
    project::Project p;
    try {
        p = edited();
    } catch (const std::exception &e) {
        return tr("<span style='color:#b00020'>%1</span>")
            .arg(QString::fromStdString(e.what()).toHtmlEscaped());
    }
    // What the cache key holds (merge settings, metrics, evaluators): a change to any of it
    // makes the evaluations so far describe other merges or other measurements.
    QStringList changes;
    const MergeOptions &a = m_original.merge, &b = p.merge;
    if (a.method != b.method || a.density != b.density || a.dropRate != b.dropRate ||
        a.seed != b.seed || a.keepTaskOnly != b.keepTaskOnly || a.disjointMean != b.disjointMean)
        changes << tr("the merge method or its parameters");
    if (a.include != b.include || a.exclude != b.exclude)
        changes << tr("the tensor filters");
    if (!(a.groups == b.groups))
        changes << tr("the coefficient groups");
    for (std::size_t t = 0; t < p.tasks.size(); ++t) {
        const auto &before = m_original.tasks[t], &after = p.tasks[t];
        if (before.metric != after.metric || before.evaluator != after.evaluator)
            changes << tr("task '%1''s metric or evaluator").arg(QString::fromStdString(after.name));
    }
    if (m_original.evaluator != p.evaluator)
        changes << tr("the project's command");
    int samples = 0;
    for (const auto &e : m_original.evaluations)
        samples += !e.result.failed;
    QString out;
    for (std::size_t t = 0; t < p.tasks.size(); ++t)
        out += metricDirectionWarning(QString::fromStdString(p.tasks[t].name),
                                      QString::fromStdString(p.tasks[t].metric),
                                      p.tasks[t].direction == map::Direction::Maximize);
    if (changes.isEmpty())
        return out + tr("These settings keep the %n evaluation(s) so far in the fits (a box, a "
                        "direction, MAP or the runner changes what comes next, not what was "
                        "measured).",
                        nullptr, samples);
    return out + tr("<b>Changing %1</b> makes the %n evaluation(s) so far describe other merges "
                    "or other measurements: they stay in the file, out of the fits, and the "
                    "front starts again from new evaluations.",
                    nullptr, samples)
                     .arg(changes.join(QStringLiteral(", ")).toHtmlEscaped());
}

void ProjectSettingsDialog::updateImpact()
{
    m_impact->setText(impact());
}

QLabel *ProjectSettingsDialog::testLabel() const
{
    return m_test->label();
}

QPushButton *ProjectSettingsDialog::testButton() const
{
    return m_test->button();
}

void ProjectSettingsDialog::accept()
{
    if (succeeds(this, tr("Cannot use these settings"), [this] { edited(); }))
        QDialog::accept();
}

} // namespace mf::ui
