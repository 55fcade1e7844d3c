// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge_description.h"

#include "merge/merge_inputs.h"

#include <QObject>

namespace mf::ui {

std::string nothingToMerge()
{
    return "nothing to merge: the base and the tasks share no floating tensor of the same "
           "shape (a different architecture?); the inspection lists what is left out and why";
}

QString describeMergeHtml(const std::string &base, const std::vector<std::string> &models,
                          const std::vector<std::string> &names, const MergeOptions &options)
{
    constexpr std::size_t kShown = 10; // a long list of left-out tensors is cut
    try {
        const MergeInputs inputs(base, models, names, options);
        const MergePlan &plan = inputs.merger().plan();
        std::vector<std::string> lines, groupLines;
        for (const std::string &line : describePlan(plan))
            (line.rfind("group '", 0) == 0 ? groupLines : lines).push_back(line);
        QString html = QObject::tr("<b>Merge</b>: %1")
                           .arg(QString::fromStdString(lines.front()).toHtmlEscaped());
        if (plan.mergedTensors == 0)
            html = QObject::tr("<b>Problem:</b> %1<br>")
                       .arg(QString::fromStdString(nothingToMerge()).toHtmlEscaped()) +
                   html;
        if (models.size() == 1)
            html = QObject::tr("<b>Problem:</b> one task: a front trades one task against "
                               "another; add the other task's checkpoint<br>") +
                   html;
        for (std::size_t i = 1; i < lines.size() && i <= kShown; ++i)
            html += QStringLiteral("<br>") + QString::fromStdString(lines[i]).toHtmlEscaped();
        if (lines.size() > kShown + 1)
            html += QObject::tr("<br>… and %1 more").arg(lines.size() - kShown - 1);
        // A LoRA adapter among the tasks: what it adapts, its ranks and targets, and a base it
        // was not trained on (the scales and the rest are in `inspect`).
        for (std::size_t t = 0; t < inputs.models().size(); ++t) {
            if (inputs.models()[t].format() != "peft-lora")
                continue;
            QString text;
            for (const std::string &note : inputs.models()[t].notes())
                if (note.rfind("adapter ", 0) == 0 || note.rfind("rank: ", 0) == 0 ||
                    note.rfind("targets: ", 0) == 0 || note.rfind("warning", 0) == 0)
                    text += (text.isEmpty() ? QString() : QStringLiteral("; ")) +
                            QString::fromStdString(note).toHtmlEscaped();
            html += QObject::tr("<br><b>Task '%1'</b>: %2")
                        .arg(QString::fromStdString(t < names.size() ? names[t] : ""), text);
        }
        // Which tensors land in which group: the count, then the first few names.
        for (std::size_t g = 0; g < groupLines.size(); ++g) {
            std::vector<std::string> members;
            for (const TensorPlan &tensor : plan.tensors)
                if (tensor.merged && tensor.duplicateOf < 0 &&
                    tensor.group.group == static_cast<int>(g))
                    members.push_back(tensor.name);
            QString list;
            for (std::size_t k = 0; k < members.size() && k < 4; ++k)
                list += (k ? QStringLiteral(", ") : QString()) +
                        QString::fromStdString(members[k]).toHtmlEscaped();
            if (members.size() > 4)
                list += QObject::tr(", … (%1 more)").arg(members.size() - 4);
            html += QStringLiteral("<br><b>%1</b><br><small>&nbsp;&nbsp;%2</small>")
                        .arg(QString::fromStdString(groupLines[g]).toHtmlEscaped(), list);
        }
        return html;
    } catch (const std::exception &e) {
        return QObject::tr("<b>Problem:</b> %1")
            .arg(QString::fromStdString(e.what()).toHtmlEscaped());
    }
}

} // namespace mf::ui
