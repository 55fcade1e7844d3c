// SPDX-License-Identifier: GPL-3.0-or-later
#include "panels/project_panel.h"

#include "dialogs.h"

#include "merge/folder_output.h"
#include "merge_description.h"
#include "project_document.h"
#include "ui_format.h"

#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

#include <filesystem>

namespace mf::ui {

namespace {

QTableWidget *readOnlyTable(const QStringList &header, QWidget *parent)
{
    auto *table = new QTableWidget(0, static_cast<int>(header.size()), parent);
    table->setHorizontalHeaderLabels(header);
    table->horizontalHeader()->setStretchLastSection(true);
    table->verticalHeader()->hide();
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    return table;
}

} // namespace

ProjectPanel::ProjectPanel(ProjectDocument *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
{
    auto *layout = new QVBoxLayout(this);
    m_tasks = readOnlyTable({tr("task"), tr("metric"), tr("evaluator"), tr("checkpoint")}, this);
    m_tasks->setObjectName(QStringLiteral("tasks"));
    layout->addWidget(m_tasks);
    m_inspection = new QLabel(this);
    m_inspection->setObjectName(QStringLiteral("inspection"));
    m_inspection->setWordWrap(true);
    m_inspection->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_inspection);
    auto *surrogatesLabel = new QLabel(
        tr("<b>Surrogates</b> (per task, the model of the smaller leave-one-out error)"), this);
    surrogatesLabel->setWordWrap(true);
    layout->addWidget(surrogatesLabel);
    m_surrogates = readOnlyTable({tr("task"), tr("model"), tr("LOO in 90%"), tr("LOO RMSE"),
                                  tr("quadratic's"), tr("R²")},
                                 this);
    m_surrogates->setObjectName(QStringLiteral("surrogates"));
    layout->addWidget(m_surrogates);
    m_fitLabel = new QLabel(this);
    layout->addWidget(m_fitLabel);

    connect(document, &ProjectDocument::opened, this, &ProjectPanel::projectOpened);
    connect(document, &ProjectDocument::frontChanged, this, &ProjectPanel::updateSurrogates);
    connect(document, &ProjectDocument::fittingChanged, this,
            [this](bool running) { m_fitLabel->setText(running ? tr("fitting…") : QString()); });
    projectOpened();
}

void ProjectPanel::projectOpened()
{
    const bool open = m_document->isOpen();
    const auto &p = m_document->project();
    m_tasks->setRowCount(open ? static_cast<int>(p.tasks.size()) : 0);
    for (int t = 0; open && t < static_cast<int>(p.tasks.size()); ++t) {
        const auto &task = p.tasks[static_cast<std::size_t>(t)];
        m_tasks->setItem(t, 0, new QTableWidgetItem(QString::fromStdString(task.name)));
        m_tasks->setItem(t, 1,
                         new QTableWidgetItem(QString::fromStdString(task.metric) +
                                              directionArrow(task.direction)));
        // A task the project-level command serves says so (one run per merge for all).
        auto *evaluator = new QTableWidgetItem(
            p.sharedEvaluator(task) ? tr("project command")
                                    : QString::fromStdString(task.evaluator.value("kind", "?")));
        if (p.sharedEvaluator(task))
            evaluator->setToolTip(QString::fromStdString(p.evaluator.value("command", "")));
        m_tasks->setItem(t, 2, evaluator);
        m_tasks->setItem(t, 3, new QTableWidgetItem(QString::fromStdString(task.checkpoint)));
    }
    m_tasks->resizeColumnsToContents();
    updateSurrogates();
    m_inspection->setText(open ? tr("inspecting the checkpoints…")
                               : tr("No project open. File ▸ Open project… (Ctrl+O), "
                                    "drop a project file here, or File ▸ Open the example "
                                    "project."));
    ++m_inspectGeneration; // an inspection still running is of the project before
    if (open)
        inspectCheckpoints();
}

void ProjectPanel::inspectCheckpoints()
{
    // Opening checkpoints and planning the merge reads files: on a worker.
    const auto &p = m_document->project();
    std::string base = p.resolve(p.base);
    std::vector<std::string> models, names;
    for (const auto &task : p.tasks) {
        models.push_back(p.resolve(task.checkpoint));
        names.push_back(task.name);
    }
    struct Inspection {
        QString html;
        QStringList differing; ///< tokenizer files that differ between base and tasks
    };
    const int generation = m_inspectGeneration;
    m_background.run(
        [base, models, names, options = p.merge] {
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
        },
        [this, generation](Inspection result) {
            if (generation != m_inspectGeneration)
                return; // another project was opened meanwhile
            m_inspection->setText(result.html);
            if (result.html.startsWith(QStringLiteral("<b>Problem")))
                Q_EMIT logLine(plainText(result.html), true);
            if (!result.differing.isEmpty())
                Q_EMIT tokenizersDiffer(result.differing);
        });
}

void ProjectPanel::updateSurrogates()
{
    const bool fitted = m_document->isOpen() && m_document->hasFront();
    const auto &tasks = m_document->project().tasks;
    m_surrogates->setRowCount(fitted ? static_cast<int>(tasks.size()) : 0);
    for (int t = 0; fitted && t < static_cast<int>(tasks.size()); ++t) {
        const auto &diagnostics =
            m_document->surrogates()[static_cast<std::size_t>(t)].diagnostics();
        m_surrogates->setItem(
            t, 0,
            new QTableWidgetItem(QString::fromStdString(tasks[static_cast<std::size_t>(t)].name)));
        auto *model = new QTableWidgetItem(QString::fromStdString(map::modelName(diagnostics)));
        model->setToolTip(QString::fromStdString(diagnostics.note));
        m_surrogates->setItem(t, 1, model);
        // The intervals' leave-one-out check: how many held-out samples their interval held.
        auto *coverage = new QTableWidgetItem(
            diagnostics.looCount > 0
                ? tr("%1 of %2 inside").arg(diagnostics.looInside).arg(diagnostics.looCount)
                : tr("n/a"));
        coverage->setToolTip(
            tr("Each sample held out, predicted by the model fitted without it: how many "
               "fell inside that model's 90% interval. About 90% is calibrated; far fewer means "
               "the intervals are too narrow, all of many, possibly too wide.\n%1")
                .arg(QString::fromStdString(diagnostics.interval)));
        m_surrogates->setItem(t, 2, coverage);
        m_surrogates->setItem(t, 3, numberItem(diagnostics.looRmse));
        m_surrogates->setItem(t, 4, numberItem(diagnostics.looRmseQuadratic));
        m_surrogates->setItem(t, 5, numberItem(diagnostics.r2)); // in-sample: a GP interpolates
    }
    m_fitLabel->setText(m_document->isOpen() && !fitted && !m_document->fitNote().isEmpty()
                            ? m_document->fitNote()
                            : QString());
}

} // namespace mf::ui
