// SPDX-License-Identifier: GPL-3.0-or-later
#include "project_document.h"

#include "map/front.h"
#include "project/export.h"
#include "util/error.h"

#include <cmath>
#include <limits>

namespace mf::ui {

ProjectDocument::ProjectDocument(QObject *parent)
    : QObject(parent)
{
}

// A fit in flight holds its own copy of the project; m_background waits for it to end.
ProjectDocument::~ProjectDocument() = default;

void ProjectDocument::open(const QString &path)
{
    project::Project loaded = project::Project::load(path.toStdString());
    m_project = std::move(loaded);
    m_open = true;
    ++m_projectGeneration;
    ++m_generation; // a fit still running is of the project before: its result is dropped
    m_front.reset();
    m_fitNote.clear();
    m_brushes.clear(); // brushes belong to a project
    m_pinned.clear();
    choose(-1);
    m_manualSelection = false;
    m_preference = map::Preference{};
    const auto n = static_cast<Eigen::Index>(m_project.tasks.size());
    m_preference.weights = Eigen::VectorXd::Ones(n);
    m_preference.floors = Eigen::VectorXd::Constant(n, std::numeric_limits<double>::quiet_NaN());
    restorePreference();
    setDirty(false);
    Q_EMIT opened();
    Q_EMIT selectionChanged();
    refit();
}

void ProjectDocument::setBrush(int metric, double low, double high)
{
    m_brushes[metric] = {std::min(low, high), std::max(low, high)};
    Q_EMIT brushChanged();
}

void ProjectDocument::clearBrush(int metric)
{
    if (m_brushes.erase(metric))
        Q_EMIT brushChanged();
}

void ProjectDocument::clearBrushes()
{
    if (m_brushes.empty())
        return;
    m_brushes.clear();
    Q_EMIT brushChanged();
}

bool ProjectDocument::inBrush(int index) const
{
    if (!m_front || index < 0 || index >= m_front->front.size())
        return false;
    const Eigen::MatrixXd &metrics = m_front->front.metrics;
    for (const auto &[k, range] : m_brushes)
        if (k >= metrics.cols() || !(metrics(index, k) >= range.first) ||
            !(metrics(index, k) <= range.second))
            return false;
    return true;
}

std::vector<int> ProjectDocument::brushedPoints() const
{
    std::vector<int> inside;
    for (int i = 0; m_front && i < m_front->front.size(); ++i)
        if (inBrush(i))
            inside.push_back(i);
    return inside;
}

int ProjectDocument::addBookmark(const QString &name, const std::vector<double> &coefficients)
{
    project::Bookmark bookmark;
    const QString trimmed = name.trimmed();
    bookmark.name = trimmed.isEmpty() ? "bookmark " + std::to_string(m_project.bookmarks.size() + 1)
                                      : trimmed.toStdString();
    bookmark.coefficients = coefficients;
    bookmark.when = project::utcNow();
    m_project.bookmarks.push_back(std::move(bookmark));
    setDirty(true);
    Q_EMIT bookmarksChanged();
    return static_cast<int>(m_project.bookmarks.size()) - 1;
}

void ProjectDocument::removeBookmark(int index)
{
    if (index < 0 || index >= static_cast<int>(m_project.bookmarks.size()))
        return;
    m_project.bookmarks.erase(m_project.bookmarks.begin() + index);
    setDirty(true);
    Q_EMIT bookmarksChanged();
}

void ProjectDocument::renameBookmark(int index, const QString &name)
{
    const QString trimmed = name.trimmed();
    if (index < 0 || index >= static_cast<int>(m_project.bookmarks.size()) || trimmed.isEmpty() ||
        m_project.bookmarks[static_cast<std::size_t>(index)].name == trimmed.toStdString())
        return;
    m_project.bookmarks[static_cast<std::size_t>(index)].name = trimmed.toStdString();
    setDirty(true);
    Q_EMIT bookmarksChanged();
}

Eigen::VectorXd ProjectDocument::predictedAt(const std::vector<double> &coefficients) const
{
    if (!m_front || coefficients.size() != m_project.dimension() || m_front->surrogates.empty())
        return {};
    const Eigen::RowVectorXd row = Eigen::Map<const Eigen::RowVectorXd>(
        coefficients.data(), static_cast<Eigen::Index>(coefficients.size()));
    return map::MetricPredictor(m_front->surrogates)(row).row(0).transpose();
}

void ProjectDocument::restorePreference()
{
    // What the last Save kept; anything malformed (a hand edit) leaves the defaults.
    const nlohmann::json &saved = m_project.preference;
    const auto n = static_cast<std::size_t>(m_project.tasks.size());
    if (!saved.is_object())
        return;
    try {
        map::Preference preference = m_preference;
        const auto weights = saved.at("weights").get<std::vector<double>>();
        const auto &floors = saved.at("floors");
        if (weights.size() != n || !floors.is_array() || floors.size() != n)
            return;
        double sum = 0;
        for (std::size_t t = 0; t < n; ++t) {
            if (!(weights[t] >= 0))
                return;
            sum += weights[t];
            preference.weights[static_cast<Eigen::Index>(t)] = weights[t];
            preference.floors[static_cast<Eigen::Index>(t)] =
                floors[t].is_number() ? floors[t].get<double>()
                                      : std::numeric_limits<double>::quiet_NaN();
        }
        if (sum <= 0)
            return;
        // "floors_on": "mean" (the default, and older files) or "pessimistic".
        preference.floorsOnPessimisticEnd = saved.value("floors_on", "mean") == "pessimistic";
        preference.rule = map::parseRule(saved.at("rule").get<std::string>());
        if (preference.rule == map::Rule::ReferencePoint)
            return; // the window sets no reference point
        m_preference = preference;
    } catch (const std::exception &) {
        // keep the defaults
    }
}

nlohmann::json ProjectDocument::preferenceJson() const
{
    nlohmann::json floors = nlohmann::json::array();
    for (Eigen::Index t = 0; t < m_preference.floors.size(); ++t)
        floors.push_back(std::isnan(m_preference.floors[t])
                             ? nlohmann::json(nullptr)
                             : nlohmann::json(m_preference.floors[t]));
    return {
        {"weights", std::vector<double>(m_preference.weights.data(),
                                        m_preference.weights.data() + m_preference.weights.size())},
        {"rule", map::ruleName(m_preference.rule)},
        {"floors", floors},
        {"floors_on", m_preference.floorsOnPessimisticEnd ? "pessimistic" : "mean"}};
}

void ProjectDocument::save()
{
    m_project.preference = preferenceJson();
    m_project.save();
    setDirty(false);
}

void ProjectDocument::saveAs(const QString &path)
{
    m_project.preference = preferenceJson();
    project::Project copy = m_project;
    copy.moveTo(path.toStdString()); // relative paths still name the same files
    copy.save();
    m_project = std::move(copy);
    setDirty(false);
    Q_EMIT opened();
}

void ProjectDocument::applySettings(const project::Project &edited)
{
    project::Project next = m_project; // evaluations, jobs, chosen points: as they are
    next.tasks = edited.tasks;
    next.evaluator = edited.evaluator;
    next.merge = edited.merge;
    next.map = edited.map;
    next.runner = edited.runner;
    next.preference = preferenceJson();
    next.save(); // atomically; the open project is untouched if this throws
    open(path());
}

QString ProjectDocument::path() const
{
    return QString::fromStdString(m_project.path);
}

QStringList ProjectDocument::taskNames() const
{
    QStringList names;
    for (const auto &task : m_project.tasks)
        names << QString::fromStdString(task.name);
    return names;
}

void ProjectDocument::setDirty(bool dirty)
{
    if (m_dirty == dirty)
        return;
    m_dirty = dirty;
    Q_EMIT dirtyChanged(dirty);
}

void ProjectDocument::refit()
{
    if (!m_open)
        return;
    if (m_fitRunning) {
        m_refitPending = true;
        return;
    }
    startFit();
}

void ProjectDocument::startFit()
{
    m_fitRunning = true;
    m_refitPending = false;
    Q_EMIT fittingChanged(true);
    const int generation = ++m_generation;
    // The worker fits a copy: the GUI thread keeps the project and never waits.
    m_background.run(
        [copy = m_project, generation] {
            FitOutcome outcome;
            outcome.generation = generation;
            try {
                outcome.result = project::fitFront(copy);
            } catch (const std::exception &e) {
                outcome.error = QString::fromStdString(e.what());
            }
            return outcome;
        },
        [this](FitOutcome outcome) { fitFinished(std::move(outcome)); });
}

void ProjectDocument::fitFinished(FitOutcome outcome)
{
    m_fitRunning = false;
    if (outcome.generation == m_generation) {
        if (outcome.result && outcome.result->front.size() > 0) {
            m_front = std::move(outcome.result);
            m_fitNote.clear();
        } else {
            m_front.reset();
            m_fitNote = outcome.error.isEmpty() ? tr("the fit gave an empty front") : outcome.error;
        }
        if (m_manualSelection && m_pinned.empty() && m_front && m_selected >= m_front->front.size())
            m_manualSelection = false;
        Q_EMIT frontChanged();
        reselect();
    }
    if (m_refitPending)
        startFit();
    else
        Q_EMIT fittingChanged(false);
}

void ProjectDocument::setPreference(const map::Preference &preference)
{
    auto same = [](const Eigen::VectorXd &a, const Eigen::VectorXd &b) {
        if (a.size() != b.size())
            return false;
        for (Eigen::Index i = 0; i < a.size(); ++i)
            if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))))
                return false;
        return true;
    };
    const bool changed = preference.rule != m_preference.rule ||
                         preference.floorsOnPessimisticEnd != m_preference.floorsOnPessimisticEnd ||
                         !same(preference.weights, m_preference.weights) ||
                         !same(preference.floors, m_preference.floors);
    m_preference = preference;
    m_manualSelection = false;
    m_pinned.clear();
    if (changed)
        setDirty(true); // saved with the project (File > Save)
    reselect();
}

void ProjectDocument::selectFrontPoint(int index)
{
    if (!m_front || index < 0 || index >= m_front->front.size())
        return;
    m_manualSelection = true;
    m_pinned.clear();
    choose(index);
    m_selectionNote.clear();
    Q_EMIT selectionChanged();
}

bool ProjectDocument::selectCoefficients(const std::vector<double> &coefficients)
{
    if (!m_front || coefficients.size() != m_project.dimension())
        return false;
    m_manualSelection = true;
    m_pinned = coefficients;
    pin();
    m_selectionNote.clear();
    Q_EMIT selectionChanged();
    return true;
}

int ProjectDocument::selectedBookmark() const
{
    for (std::size_t b = 0; !m_pinned.empty() && b < m_project.bookmarks.size(); ++b)
        if (m_project.bookmarks[b].coefficients == m_pinned)
            return static_cast<int>(b);
    return -1;
}

void ProjectDocument::pin()
{
    m_selected = -1; // no front point: the table highlights none
    m_choice = {};
    if (!m_front)
        return;
    const auto n = static_cast<Eigen::Index>(m_pinned.size());
    m_choice.coefficients = Eigen::Map<const Eigen::VectorXd>(m_pinned.data(), n);
    const Eigen::MatrixXd row = m_choice.coefficients.transpose();
    const auto m = static_cast<Eigen::Index>(m_front->surrogates.size());
    m_choice.metrics.resize(m);
    m_choice.stddev.resize(m);
    m_choice.lower.resize(m);
    m_choice.upper.resize(m);
    for (Eigen::Index j = 0; j < m; ++j) {
        const map::Prediction p =
            m_front->surrogates[static_cast<std::size_t>(j)].predictWithUncertainty(
                row, m_front->front.level);
        m_choice.metrics[j] = p.mean[0];
        m_choice.stddev[j] = p.std[0];
        m_choice.lower[j] = p.lower[0];
        m_choice.upper[j] = p.upper[0];
    }
}

void ProjectDocument::choose(int index)
{
    m_selected = index;
    m_choice = {};
    if (!m_front || index < 0 || index >= m_front->front.size())
        return;
    const map::Front &front = m_front->front;
    m_choice.selection.index = index;
    m_choice.coefficients = front.coefficients.row(index).transpose();
    m_choice.metrics = front.metrics.row(index).transpose();
    m_choice.stddev = front.stddev.row(index).transpose();
    m_choice.lower = front.lower.row(index).transpose();
    m_choice.upper = front.upper.row(index).transpose();
}

void ProjectDocument::reselect()
{
    if (!m_front) {
        choose(-1);
        m_selectionNote = m_fitNote;
        Q_EMIT selectionChanged();
        return;
    }
    if (m_manualSelection) {
        if (!m_pinned.empty())
            pin(); // the same coefficients, predicted by the new surrogates
        else
            choose(m_selected); // the same front point, of the new front
        Q_EMIT selectionChanged();
        return;
    }
    try {
        m_choice = map::selectOnSurrogates(m_project.problem(), m_front->surrogates, m_front->front,
                                           m_preference);
        m_selected = m_choice.selection.index;
        m_selectionNote = QString::fromStdString(m_choice.selection.note);
    } catch (const std::exception &e) {
        choose(-1);
        m_selectionNote = QString::fromStdString(e.what());
    }
    Q_EMIT selectionChanged();
}

std::vector<double> ProjectDocument::selectedCoefficients() const
{
    return {m_choice.coefficients.begin(), m_choice.coefficients.end()};
}

const project::EvaluationEntry *
ProjectDocument::measured(const std::vector<double> &coefficients) const
{
    return project::measuredAt(m_project, coefficients);
}

std::vector<double> ProjectDocument::measuredMetrics(const std::vector<double> &coefficients) const
{
    const project::EvaluationEntry *entry = measured(coefficients);
    if (!entry)
        return {};
    std::vector<double> out;
    for (const auto &task : m_project.tasks) {
        const auto it = entry->result.metrics.find(task.name);
        out.push_back(it == entry->result.metrics.end() ? std::numeric_limits<double>::quiet_NaN()
                                                        : it->second);
    }
    return out;
}

std::vector<int> ProjectDocument::openFailures() const
{
    std::vector<int> out;
    const auto &all = m_project.evaluations;
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (!all[i].result.failed)
            continue;
        bool fixed = false;
        for (std::size_t j = i + 1; j < all.size() && !fixed; ++j)
            fixed = !all[j].result.failed &&
                    all[j].result.coefficients == all[i].result.coefficients;
        // A failure repeated later is listed once, as its latest try.
        bool repeated = false;
        for (std::size_t j = i + 1; j < all.size() && !repeated; ++j)
            repeated = all[j].result.failed &&
                       all[j].result.coefficients == all[i].result.coefficients;
        if (!fixed && !repeated)
            out.push_back(static_cast<int>(i));
    }
    return out;
}

void ProjectDocument::addEvaluation(const project::EvaluationEntry &entry)
{
    m_project.evaluations.push_back(entry);
    Q_EMIT evaluationsChanged();
    if (entry.kind == "sample") // the surrogates fit MAP's samples only (not grid or points)
        refit();
}

void ProjectDocument::adoptProject(const project::Project &project)
{
    m_project.evaluations = project.evaluations;
    m_project.chosen = project.chosen;
    m_project.map = project.map;
    m_project.jobs = project.jobs; // cluster jobs still recorded (a detached run leaves them)
    Q_EMIT evaluationsChanged();
    refit();
}

} // namespace mf::ui
