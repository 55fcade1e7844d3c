// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "eval/job_runner.h"
#include "project/project.h"

#include "background.h"

#include <QWidget>

#include <functional>

class QLabel;
class QPushButton;

namespace mf::ui {

/// "Test on the base" (File ▸ New, Project ▸ Settings): a button that runs one evaluation of
/// the base alone (every coefficient 0) with the project the dialog's fields describe, on a
/// worker, recording nothing, and a label with its metrics or its error. `project` builds that
/// project (it may throw mf::Error: the label then says what is wrong with the fields).
class TestOnBaseRow : public QWidget {
    Q_OBJECT
public:
    TestOnBaseRow(std::function<project::Project()> project, const QString &tooltip,
                  QWidget *parent = nullptr);
    ~TestOnBaseRow() override;

    void run();
    QPushButton *button() const { return m_button; }
    QLabel *label() const { return m_label; }

private:
    std::function<project::Project()> m_project;
    QPushButton *m_button;
    QLabel *m_label;
    eval::CancelToken m_cancel = eval::makeCancelToken();
    Background m_background; ///< last: waited for first, after m_cancel is set
};

} // namespace mf::ui
