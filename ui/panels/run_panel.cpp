// SPDX-License-Identifier: GPL-3.0-or-later
#include "panels/run_panel.h"

#include "dialogs.h"

#include "project_document.h"
#include "run_controller.h"
#include "util/text.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTime>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mf::ui {

RunPanel::RunPanel(ProjectDocument *document, RunController *runner, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
    , m_runner(runner)
{
    auto *layout = new QVBoxLayout(this);
    auto *buttons = new QHBoxLayout;
    m_sample = new QPushButton(tr("Sample"), this);
    m_sample->setObjectName(QStringLiteral("sample"));
    m_sample->setToolTip(
        tr("Evaluate enough merges to check the surrogates (2P: MAP's initial design of P + 1, "
           "then Bayesian rounds near the front)"));
    m_refine = new QPushButton(tr("Refine"), this);
    m_refine->setObjectName(QStringLiteral("refine"));
    m_refine->setToolTip(
        tr("One Bayesian round: merges near the front where the surrogates are unsure"));
    m_grid = new QPushButton(tr("Ground truth grid"), this);
    m_grid->setObjectName(QStringLiteral("grid"));
    m_gridLevels = new QSpinBox(this);
    m_gridLevels->setRange(2, 51);
    m_gridLevels->setValue(11);
    m_gridLevels->setSuffix(tr(" levels"));
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setObjectName(QStringLiteral("cancel"));
    for (QWidget *w :
         std::initializer_list<QWidget *>{m_sample, m_refine, m_grid, m_gridLevels, m_cancel})
        buttons->addWidget(w);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    buttons->addWidget(m_progress, 1);
    layout->addLayout(buttons);
    m_rate = new QLabel(this);
    m_rate->setObjectName(QStringLiteral("rate"));
    layout->addWidget(m_rate);
    m_cluster = new QLabel(this);
    m_cluster->setObjectName(QStringLiteral("clusterJobs"));
    m_cluster->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_cluster->setVisible(false);
    layout->addWidget(m_cluster);
    m_log = new QPlainTextEdit(this);
    m_log->setObjectName(QStringLiteral("log"));
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(5000);
    layout->addWidget(m_log);

    connect(m_sample, &QPushButton::clicked, runner, &RunController::sample);
    connect(m_refine, &QPushButton::clicked, runner, &RunController::refine);
    connect(m_grid, &QPushButton::clicked, this, &RunPanel::requestGrid);
    connect(m_cancel, &QPushButton::clicked, runner, &RunController::cancel);

    connect(runner, &RunController::started, this, [this](const QString &what) {
        m_progress->setRange(0, 0);
        m_rate->setText(what);
        updateState();
    });
    connect(runner, &RunController::progress, this,
            [this](int done, int total, int failed, double rate, double eta) {
                m_progress->setRange(0, total);
                m_progress->setValue(done);
                // No ETA before the first evaluation is in (a rate of 0 says nothing yet).
                m_rate->setText(tr("%1/%2 evaluated, %3 failed · %4/s · ETA %5")
                                    .arg(done)
                                    .arg(total)
                                    .arg(failed)
                                    .arg(rate, 0, 'f', 2)
                                    .arg(rate > 0 ? tr("%1 s").arg(eta, 0, 'f', 0) : tr("–")));
            });
    connect(runner, &RunController::workProgress, this,
            [this](const QString &stage, quint64 done, quint64 total, double rate, double eta) {
                if (total == 0)
                    return;
                m_progress->setRange(0, 1000);
                m_progress->setValue(static_cast<int>(1000.0 * static_cast<double>(done) /
                                                      static_cast<double>(total)));
                const auto bytes = [](double n) {
                    return QString::fromStdString(formatBytes(static_cast<std::uint64_t>(n)));
                };
                const QString left = eta >= 0 ? tr("ETA %1 s").arg(eta, 0, 'f', 0) : tr("ETA –");
                m_rate->setText(
                    stage == QLatin1String("merging")
                        ? tr("merging: %1 of %2 written · %3/s · %4")
                              .arg(bytes(static_cast<double>(done)),
                                   bytes(static_cast<double>(total)), bytes(rate), left)
                        : tr("%1: %2% · %3")
                              .arg(stage)
                              .arg(100.0 * static_cast<double>(done) / static_cast<double>(total),
                                   0, 'f', 0)
                              .arg(left));
            });
    connect(runner, &RunController::clusterJobs, this,
            [this](int queued, int running, const QStringList &ids) {
                m_cluster->setText(
                    tr("Slurm: %1 queued, %2 running%3")
                        .arg(queued)
                        .arg(running)
                        .arg(ids.isEmpty() ? QString()
                                           : tr(" · jobs %1").arg(ids.join(QStringLiteral(" ")))));
                m_cluster->setVisible(true);
            });
    connect(runner, &RunController::logLine, this,
            [this](const QString &line, bool error) { log(line, error); });
    // A refused start changes nothing of the run in progress (its progress stays as it is).
    connect(runner, &RunController::refused, this,
            [this](const QString &message) { log(tr("not started: %1").arg(message), true); });
    connect(runner, &RunController::finished, this,
            [this](bool ok, const QString &message, bool cancelled) {
        m_progress->setRange(0, 1);
        m_progress->setValue(ok ? 1 : 0);
        m_rate->setText(ok ? tr("done") : tr("stopped"));
        m_cluster->setVisible(false);
        // Once: a failure in red, a user's Cancel (not an error) and success in black.
        log(message, !ok && !cancelled);
        updateState();
    });
    connect(document, &ProjectDocument::opened, this, &RunPanel::updateState);
    updateState();
}

void RunPanel::updateState()
{
    const bool idle = m_document->isOpen() && !m_runner->busy();
    for (QWidget *w : std::initializer_list<QWidget *>{m_sample, m_refine, m_grid})
        w->setEnabled(idle);
    m_cancel->setEnabled(m_runner->busy());
}

void RunPanel::log(const QString &line, bool error)
{
    const QString stamp = QTime::currentTime().toString(QStringLiteral("HH:mm:ss"));
    m_log->appendHtml(error ? QStringLiteral("<span style='color:#b00020'>%1 %2</span>")
                                  .arg(stamp, line.toHtmlEscaped())
                            : QStringLiteral("%1 %2").arg(stamp, line.toHtmlEscaped()));
}

void RunPanel::requestGrid()
{
    if (confirmGridCost(m_gridLevels->value()))
        m_runner->grid(m_gridLevels->value());
}

bool RunPanel::confirmGridCost(int levels)
{
    const auto &p = m_document->project();
    const double merges = std::pow(levels, static_cast<double>(p.dimension()));
    std::vector<double> seconds;
    for (const auto &e : p.evaluations)
        if (!e.result.failed)
            seconds.push_back(e.result.seconds);
    std::sort(seconds.begin(), seconds.end());
    const double each =
        seconds.empty() ? std::numeric_limits<double>::quiet_NaN() : seconds[seconds.size() / 2];
    const QString cost = std::isfinite(each) ? tr("about %1 minutes at %2 s per merge")
                                                   .arg(merges * each / 60, 0, 'f', 1)
                                                   .arg(each, 0, 'f', 2)
                                             : tr("time unknown (no evaluation measured yet)");
    // A large grid (over 100 merges, or over 10 minutes) is not started by a stray Enter: the
    // default is not to start it.
    const bool large = merges > 100 || (std::isfinite(each) && merges * each > 600);
    return askChoice(this, tr("Ground-truth grid"),
                     tr("The grid evaluates %1 merges (%2 levels per coefficient): %3. "
                        "It can be cancelled; finished evaluations are kept.")
                         .arg(merges)
                         .arg(levels)
                         .arg(cost),
                     tr("Evaluate %1 merges").arg(merges), tr("Do not start"), !large);
}

} // namespace mf::ui
