// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge_description.h"

#include "merge/merge_inputs.h"

#include <QObject>

namespace mf::ui {

QString describeMergeHtml(const std::string &base, const std::vector<std::string> &models,
                          const std::vector<std::string> &names, const MergeOptions &options)
{
    constexpr std::size_t kShown = 10; // a long list of left-out tensors is cut
    try {
        const MergeInputs inputs(base, models, names, options);
        const std::vector<std::string> lines = describePlan(inputs.merger().plan());
        QString html = QObject::tr("<b>Merge</b>: %1")
                           .arg(QString::fromStdString(lines.front()).toHtmlEscaped());
        for (std::size_t i = 1; i < lines.size() && i <= kShown; ++i)
            html += QStringLiteral("<br>") + QString::fromStdString(lines[i]).toHtmlEscaped();
        if (lines.size() > kShown + 1)
            html += QObject::tr("<br>… and %1 more").arg(lines.size() - kShown - 1);
        return html;
    } catch (const std::exception &e) {
        return QObject::tr("<b>Problem:</b> %1")
            .arg(QString::fromStdString(e.what()).toHtmlEscaped());
    }
}

} // namespace mf::ui
