// SPDX-License-Identifier: GPL-3.0-or-later
// The desktop app on a cluster project, against the private Slurm of tests/cluster: Sample
// submits jobs and the run panel shows them; closing the window leaves them running (the
// answer "leave them"), and opening the project again collects them, re-attaching to those
// still running, without submitting anything twice.
#include <QtTest/QtTest>

#include "cluster.h"
#include "fixtures.h"

#include "main_window.h"
#include "panels/run_panel.h"
#include "project_document.h"
#include "run_controller.h"

#include "project/project.h"

#include <QLabel>

#include <chrono>
#include <memory>
#include <set>

using mf::ui::MainWindow;
using mftest::Cluster;
using mftest::TempDir;

namespace {

constexpr int kHang = 10 * 60 * 1000; // a hang detector, not a speed limit

} // namespace

class TestSlurmGui : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void leavesJobsRunningAndCollectsThemOnReopen();
};

void TestSlurmGui::leavesJobsRunningAndCollectsThemOnReopen()
{
    REQUIRE_CLUSTER();
    TempDir dir;
    mftest::writeCommandProject(dir, "sleep 2; " + mftest::shellQuote(MERGEFRONT_METRIC_TOOL) +
                                         " peaks {checkpoint} {task}");
    auto json = nlohmann::json::parse(mftest::readFile(dir.file("project.json")));
    json["runner"] = {{"kind", "slurm"},
                      {"cli", mftest::shellQuote(MERGEFRONT_CLI)},
                      {"max_jobs", 3},
                      {"poll_seconds", 0.5}};
    mftest::writeFile(dir.file("project.json"), json.dump(2));
    const QString path = QString::fromStdString(dir.file("project.json"));
    const std::set<long> before = mftest::knownJobs();
    {
        auto window = std::make_unique<MainWindow>();
        window->show();
        QVERIFY(window->openProject(path));
        window->runner()->sample(); // 2P = 12 merges (design of 7, then rounds), 3 jobs at a time
        QLabel *jobs = window->runPanel()->clusterLabel();
        QTRY_VERIFY_WITH_TIMEOUT(jobs->isVisible() && jobs->text().contains(QStringLiteral("jobs")),
                                 kHang);
        QVERIFY2(jobs->text().startsWith(QStringLiteral("Slurm: ")), qPrintable(jobs->text()));
        QString question;
        window->setClusterCloseAnswer([&](const QString &q) {
            question = q;
            return true; // leave them running
        });
        const auto closing = std::chrono::steady_clock::now();
        QVERIFY(window->close());
        window.reset(); // joins the controller: it stops watching, cancels nothing
        QVERIFY(question.contains(QStringLiteral("Leave them running")));
        qInfo("closed %.2f s after the close was asked for",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - closing).count());
    }
    const auto left = mf::project::Project::load(dir.file("project.json"));
    QVERIFY(!left.jobs.empty()); // recorded, still theirs to finish
    QVERIFY(left.evaluations.size() < 7);
    {
        // Opened again: the recorded jobs are collected by themselves.
        MainWindow window;
        QSignalSpy finished(window.runner(), &mf::ui::RunController::finished);
        QVERIFY(window.openProject(path));
        QVERIFY(window.runner()->busy());
        QVERIFY(finished.wait(kHang));
        QVERIFY(finished.front().at(0).toBool());
        QVERIFY(window.document()->project().jobs.empty());
        // What the left jobs computed is in; Sample then evaluates only what is missing.
        QSignalSpy again(window.runner(), &mf::ui::RunController::finished);
        window.runner()->sample();
        QVERIFY(again.wait(kHang));
        QVERIFY(again.front().at(0).toBool());
        QCOMPARE(window.document()->project().samples().count(), 12);
    }
    const auto done = mf::project::Project::load(dir.file("project.json"));
    QCOMPARE(done.evaluations.size(), std::size_t(12));
    QVERIFY(done.jobs.empty());
    QCOMPARE(mftest::jobsSince(before), std::size_t(12)); // one job per merge, none twice
}

QTEST_MAIN(TestSlurmGui)
#include "tst_slurm_gui.moc"
