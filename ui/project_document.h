// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "map/selection.h"
#include "project/project.h"
#include "project/session.h"

#include "background.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace mf::ui {

/// The open project as the window sees it: the project itself, its fitted surrogates and
/// predicted front (fitted on a worker thread: the GUI thread never waits on a fit), the
/// user's preference and the selected front point. No numerics of its own: fitting is
/// project::fitFront, selection is map::selectPoint, as in the CLI.
class ProjectDocument : public QObject {
    Q_OBJECT
public:
    explicit ProjectDocument(QObject *parent = nullptr);
    ~ProjectDocument() override;

    /// Opens a project; throws mf::Error (naming the file and key) and keeps the old one.
    void open(const QString &path);
    /// Saves to the project's path, or to a new one (later saves go there). Throws mf::Error.
    void save();
    void saveAs(const QString &path);
    /// Project ▸ Settings: takes `edited`'s settings (tasks' metrics, directions, boxes and
    /// evaluators, the project-level evaluator, merge, MAP, runner; not its evaluations, which
    /// stay as they are), saves the project (the preference with it) and opens it again: the
    /// fit then leaves out what other settings measured. Throws mf::Error; nothing changes then.
    void applySettings(const project::Project &edited);

    bool isOpen() const { return m_open; }
    bool isDirty() const { return m_dirty; }
    QString path() const;
    const project::Project &project() const { return m_project; }
    QStringList taskNames() const;
    int taskCount() const { return static_cast<int>(m_project.tasks.size()); }

    // --- the fitted front -------------------------------------------------------------
    bool hasFront() const { return m_front.has_value(); }
    bool fitting() const { return m_fitRunning; }
    const map::Front &front() const { return m_front->front; }
    const std::vector<map::Surrogate> &surrogates() const { return m_front->surrogates; }
    /// Why there is no front yet (too few evaluations, a failed fit), or "".
    QString fitNote() const { return m_fitNote; }
    /// Whether the front is provisional, why, and what would fix it (map::assessTrust).
    const map::Trust &trust() const { return m_front->trust; }
    /// Refits on a worker; frontChanged() follows. Calls while a fit runs are coalesced.
    void refit();

    // --- preference and selection -----------------------------------------------------
    const map::Preference &preference() const { return m_preference; }
    /// Re-selects for this preference: optimized on the surrogates from the front point the
    /// rule picks (map::selectOnSurrogates), so the selection moves smoothly.
    void setPreference(const map::Preference &preference);
    /// Selects a front point by hand (a click); the preference stays as it was.
    void selectFrontPoint(int index);
    /// The preference as the project saves it and a sidecar records it: weights, rule, floors
    /// (null where none).
    nlohmann::json preferenceJson() const;
    /// True when the selection was picked on the plot or the table (not by the preference).
    bool pickedByHand() const { return m_manualSelection; }
    /// The front point selected by hand, or the one the preference's optimization started
    /// from (the table highlights it); -1 when nothing is selected.
    int selectedIndex() const { return m_selected; }
    /// The selection's coefficients, predicted metrics, their std and 90% intervals (empty when
    /// nothing is selected; NaN std and bounds where not estimable).
    std::vector<double> selectedCoefficients() const;
    Eigen::VectorXd selectedPredicted() const { return m_choice.metrics; }
    Eigen::VectorXd selectedStd() const { return m_choice.stddev; }
    Eigen::VectorXd selectedLower() const { return m_choice.lower; }
    Eigen::VectorXd selectedUpper() const { return m_choice.upper; }
    /// The selection note (e.g. "no front point meets every floor"), or "".
    QString selectionNote() const { return m_selectionNote; }
    /// A successful evaluation of exactly these coefficients, if any.
    const project::EvaluationEntry *measured(const std::vector<double> &coefficients) const;
    /// Its metrics in task order (NaN where a task's is missing), or empty when not measured.
    std::vector<double> measuredMetrics(const std::vector<double> &coefficients) const;
    /// The failed evaluations no later evaluation of the same coefficients has made good, as
    /// indices into project().evaluations, oldest first (what a retry would run again).
    std::vector<int> openFailures() const;

    // --- the brush: ranges of metrics that filter the front (parallel coordinates) ----
    /// Brushes metric `metric` to [low, high] in its own units: the front table then lists
    /// only the points inside every brushed range, and every view sets them apart. Kept through
    /// refits until cleared or another project is opened.
    void setBrush(int metric, double low, double high);
    void clearBrush(int metric);
    void clearBrushes();
    const std::map<int, std::pair<double, double>> &brushes() const { return m_brushes; }
    /// Whether front point `index` lies inside every brushed range (true when none is).
    bool inBrush(int index) const;
    /// The front points inside every brushed range (every point when nothing is brushed).
    std::vector<int> brushedPoints() const;

    // --- bookmarks: merges marked to come back to (saved with the project) --------------
    const std::vector<project::Bookmark> &bookmarks() const { return m_project.bookmarks; }
    /// Marks `coefficients` as `name` (a blank name becomes "bookmark N"); the project is then
    /// modified. Returns the bookmark's index.
    int addBookmark(const QString &name, const std::vector<double> &coefficients);
    void removeBookmark(int index);
    void renameBookmark(int index, const QString &name);
    /// Selects a merge by its coefficients (a bookmark): predicted by the surrogates, kept
    /// through refits (its predictions follow them) until another selection. Needs a front and
    /// coefficients of this project's length; else nothing changes and false is returned.
    bool selectCoefficients(const std::vector<double> &coefficients);
    /// The bookmark selected (by selectCoefficients with its coefficients), or -1.
    int selectedBookmark() const;
    /// What the surrogates predict at `coefficients`, one metric per task; empty without a
    /// front or for coefficients of other settings (another length).
    Eigen::VectorXd predictedAt(const std::vector<double> &coefficients) const;

    // --- changes made by runs (RunController) -----------------------------------------
    /// Counts open(): a run tags what it reports with the generation it started on, and what
    /// comes back for another one is dropped (it is saved in its own project's file).
    int projectGeneration() const { return m_projectGeneration; }
    /// One evaluation a run just recorded (and saved in its own copy): shown at once.
    void addEvaluation(const project::EvaluationEntry &entry);
    /// The run's copy of the project when it ends (it saved every evaluation already).
    void adoptProject(const project::Project &project);

Q_SIGNALS:
    void opened();             ///< a (new) project is loaded
    void evaluationsChanged(); ///< evaluations were added
    void frontChanged();       ///< a fit finished (or failed: see fitNote())
    void fittingChanged(bool running);
    void selectionChanged();
    void dirtyChanged(bool dirty);
    void brushChanged();     ///< a brushed range was set or cleared
    void bookmarksChanged(); ///< a bookmark was added or removed

private:
    struct FitOutcome {
        std::optional<project::FrontResult> result;
        QString error;
        int generation = 0;
    };
    void setDirty(bool dirty);
    void restorePreference(); ///< from the project's saved "preference"
    void startFit();
    void fitFinished(FitOutcome outcome);
    void reselect();
    void choose(int index); ///< the front point itself (a click)
    void pin();             ///< m_pinned, as the surrogates predict it now

    project::Project m_project;
    bool m_open = false;
    bool m_dirty = false;
    std::optional<project::FrontResult> m_front;
    QString m_fitNote;
    bool m_fitRunning = false;
    bool m_refitPending = false;
    int m_generation = 0; ///< of fits: a fit of an older state is not shown
    int m_projectGeneration = 0;
    map::Preference m_preference;
    int m_selected = -1;
    map::SurrogateSelection m_choice; ///< what is selected (empty vectors: nothing)
    bool m_manualSelection = false;
    std::vector<double> m_pinned; ///< selected by coefficients (a bookmark), or empty
    QString m_selectionNote;
    std::map<int, std::pair<double, double>> m_brushes; ///< metric -> [low, high], its units
    Background m_background; ///< the fits (last: it waits for a fit in flight first)
};

} // namespace mf::ui
