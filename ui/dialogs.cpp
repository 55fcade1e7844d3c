// SPDX-License-Identifier: GPL-3.0-or-later
#include "dialogs.h"

#include "util/error.h"

#include <QFileInfo>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QTextDocumentFragment>

#include <regex>
#include <set>

namespace mf::ui {

bool askChoice(QWidget *parent, const QString &title, const QString &question,
               const QString &doIt, const QString &safe, bool defaultToDo)
{
    QMessageBox box(QMessageBox::Question, title, question, QMessageBox::NoButton, parent);
    QPushButton *yes = box.addButton(doIt, QMessageBox::AcceptRole);
    QPushButton *no = box.addButton(safe, QMessageBox::RejectRole);
    box.setDefaultButton(defaultToDo ? yes : no);
    box.setEscapeButton(no);
    box.exec();
    return box.clickedButton() == yes;
}

QString withFilterExtension(const QString &path, const QString &selectedFilter)
{
    if (path.isEmpty() || !QFileInfo(path).suffix().isEmpty())
        return path;
    static const QRegularExpression pattern(QStringLiteral("\\*\\.([A-Za-z0-9_]+)"));
    const QRegularExpressionMatch match = pattern.match(selectedFilter);
    return match.hasMatch() ? path + QLatin1Char('.') + match.captured(1) : path;
}

QString metricDirectionWarning(const QString &task, const QString &metric, bool maximize)
{
    // Metrics whose sense is settled: losses and perplexities go down, accuracies go up.
    static const std::set<QString> lower = {
        QStringLiteral("perplexity"),     QStringLiteral("byte_perplexity"),
        QStringLiteral("word_perplexity"), QStringLiteral("bits_per_byte"),
        QStringLiteral("cross_entropy"),  QStringLiteral("loss"),
        QStringLiteral("nll"),            QStringLiteral("completion_nll"),
        QStringLiteral("completion_bits_per_byte"), QStringLiteral("wer"),
        QStringLiteral("cer"),            QStringLiteral("error")};
    static const std::set<QString> higher = {
        QStringLiteral("accuracy"), QStringLiteral("acc"),         QStringLiteral("acc_norm"),
        QStringLiteral("f1"),       QStringLiteral("exact_match"), QStringLiteral("bleu"),
        QStringLiteral("rouge"),    QStringLiteral("pass@1"),      QStringLiteral("mcc")};
    const QString name = metric.trimmed().toLower();
    if (maximize && lower.count(name))
        return QObject::tr("<b>Warning:</b> task '%1': %2 is lower-is-better, but it is "
                           "maximized (choose minimize)<br>")
            .arg(task.toHtmlEscaped(), name.toHtmlEscaped());
    if (!maximize && higher.count(name))
        return QObject::tr("<b>Warning:</b> task '%1': %2 is higher-is-better, but it is "
                           "minimized (choose maximize)<br>")
            .arg(task.toHtmlEscaped(), name.toHtmlEscaped());
    return QString();
}

void checkHarnessTasks(const std::string &command, const std::vector<std::string> &tasks)
{
    static const std::regex harness(R"(\blm[_-]eval\b)");
    const bool one = command.find("{task}") != std::string::npos;
    if (!std::regex_search(command, harness) ||
        !(one || command.find("{tasks}") != std::string::npos))
        return;
    // Harness task names: letters, digits, '_' and '-' (hellaswag, arc_easy, wmt16-de-en,
    // belebele_eng_Latn); a comma would split the {tasks} list.
    static const std::regex name("[A-Za-z0-9][A-Za-z0-9_-]*");
    for (const std::string &task : tasks)
        if (!std::regex_match(task, name))
            throw Error("task '" + task +
                        "': the lm-eval command passes the task's name to --tasks (" +
                        (one ? "{task}" : "{tasks}") + "), and '" + task +
                        "' is no lm-evaluation-harness task: name the task as the harness does "
                        "(hellaswag, arc_easy, gsm8k, ...)" +
                        (one ? " or write the harness task in place of {task}" : ""));
}

bool succeeds(QWidget *parent, const QString &title, const std::function<void()> &action)
{
    try {
        action();
        return true;
    } catch (const std::exception &e) {
        QMessageBox::warning(parent, title, QString::fromStdString(e.what()));
        return false;
    }
}

QString plainText(const QString &html)
{
    return QTextDocumentFragment::fromHtml(html).toPlainText().simplified();
}

} // namespace mf::ui
