// SPDX-License-Identifier: GPL-3.0-or-later
#include "test_on_base.h"

#include "project/session.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>

namespace mf::ui {

namespace {

/// The outcome as the row shows it: "the base measures: a accuracy 0.52 (1.2 s)", or the
/// error in red.
QString testOnBaseText(const eval::Evaluation &result,
                       const std::vector<project::TaskEntry> &tasks)
{
    if (result.failed)
        return TestOnBaseRow::tr("<span style='color:#b00020'>the base's evaluation failed: %1</span>")
            .arg(QString::fromStdString(result.error).toHtmlEscaped());
    QStringList metrics;
    for (const auto &task : tasks)
        if (const auto it = result.metrics.find(task.name); it != result.metrics.end())
            metrics << QStringLiteral("%1 %2 %3")
                           .arg(QString::fromStdString(task.name),
                                QString::fromStdString(task.metric))
                           .arg(it->second, 0, 'g', 6);
    return TestOnBaseRow::tr("the base measures: %1 (%2 s)")
        .arg(metrics.join(QStringLiteral(", ")).toHtmlEscaped())
        .arg(result.seconds, 0, 'f', 1);
}

} // namespace

TestOnBaseRow::TestOnBaseRow(std::function<project::Project()> project, const QString &tooltip,
                             QWidget *parent)
    : QWidget(parent)
    , m_project(std::move(project))
{
    auto *row = new QHBoxLayout(this);
    row->setContentsMargins(0, 0, 0, 0);
    m_button = new QPushButton(tr("Test on the base"), this);
    m_button->setObjectName(QStringLiteral("testOnBase"));
    m_button->setToolTip(tooltip);
    m_label = new QLabel(this);
    m_label->setObjectName(QStringLiteral("testResult"));
    m_label->setWordWrap(true);
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    row->addWidget(m_button);
    row->addWidget(m_label, 1);
    connect(m_button, &QPushButton::clicked, this, &TestOnBaseRow::run);
}

TestOnBaseRow::~TestOnBaseRow()
{
    *m_cancel = true; // a test still running stops; m_background then waits for it
}

void TestOnBaseRow::run()
{
    project::Project p;
    try {
        p = m_project();
    } catch (const std::exception &e) {
        m_label->setText(QStringLiteral("<span style='color:#b00020'>%1</span>")
                             .arg(QString::fromStdString(e.what()).toHtmlEscaped()));
        return;
    }
    m_button->setEnabled(false);
    m_label->setText(tr("evaluating the base…"));
    m_background.run([p, cancel = m_cancel] { return project::testOnBase(p, cancel); },
                     [this, tasks = p.tasks](const eval::Evaluation &result) {
                         m_button->setEnabled(true);
                         m_label->setText(testOnBaseText(result, tasks));
                     });
}

} // namespace mf::ui
