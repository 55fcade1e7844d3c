// SPDX-License-Identifier: GPL-3.0-or-later
#include "dialogs.h"

#include <QFileInfo>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QTextDocumentFragment>

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

QString plainText(const QString &html)
{
    return QTextDocumentFragment::fromHtml(html).toPlainText().simplified();
}

} // namespace mf::ui
