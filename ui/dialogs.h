// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QString>

#include <functional>
#include <string>
#include <vector>

class QWidget;

namespace mf::ui {

/// Asks "A or B?" with buttons named for what they do ("Cancel the run and open", "Stay with
/// the run"), not Yes / No. `safe` is the default button (Enter, Escape) unless `defaultToDo`;
/// true when the user chose `doIt`.
bool askChoice(QWidget *parent, const QString &title, const QString &question,
               const QString &doIt, const QString &safe, bool defaultToDo = false);

/// A file name chosen in a save dialog, with the chosen filter's extension added when the
/// name has none ("merged" under "safetensors (*.safetensors)" becomes "merged.safetensors").
/// A name with an extension, or a filter without one ("Folder (...)"), is left as it is.
QString withFilterExtension(const QString &path, const QString &selectedFilter);

/// A warning, as an HTML line, when a metric's direction contradicts its usual sense
/// (perplexity maximized, accuracy minimized); "" otherwise.
QString metricDirectionWarning(const QString &task, const QString &metric, bool maximize);

/// Throws mf::Error when an lm-evaluation-harness command cannot run as written: it passes the
/// project's task names to `--tasks` ({task}, or {tasks} for every task of `tasks`) and one of
/// them is no harness task's name (a folder's name such as "Llama-3.1-math": a dot, a space).
/// A command that is not lm_eval's, or names its harness tasks itself, passes.
void checkHarnessTasks(const std::string &command, const std::vector<std::string> &tasks);

/// Runs `action` (a dialog's Create / Save); true when it succeeded, else a warning box titled
/// `title` shows its error and the dialog stays open.
bool succeeds(QWidget *parent, const QString &title, const std::function<void()> &action);

/// The plain text of a rich-text message (for the log, which shows text as it is).
QString plainText(const QString &html);

} // namespace mf::ui
