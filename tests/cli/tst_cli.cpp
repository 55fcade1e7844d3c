// SPDX-License-Identifier: GPL-3.0-or-later
// mergefront-cli as scripts use it (../shared/docs/CLI.md): exit codes, one clear line on
// stderr, JSON alone on stdout, atomic outputs, no overwriting of inputs.
#include "testing.h"

#include "fixtures.h"

#include <filesystem>

#include "io/checkpoint.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

using mftest::TempDir;

namespace {

using Run = mftest::CliRun;

Run cli(const TempDir &dir, const std::vector<std::string> &args)
{
    return mftest::runCli(dir, args);
}

int lineCount(const std::string &text)
{
    int lines = 0;
    for (char c : text)
        lines += c == '\n';
    return lines;
}

void makeModels(const TempDir &dir)
{
    mftest::writeCheckpoint(dir.file("base.safetensors"), {{"w", mf::DType::F32, {2}, {1, 1}},
                                                           {"head", mf::DType::F32, {2}, {0, 0}}});
    mftest::writeCheckpoint(dir.file("a.safetensors"), {{"w", mf::DType::F32, {2}, {3, 1}},
                                                        {"head", mf::DType::F32, {3}, {1, 1, 1}}});
    mftest::writeCheckpoint(dir.file("b.pt"), {{"w", mf::DType::F32, {2}, {1, 5}},
                                               {"head", mf::DType::F32, {2}, {9, 9}}});
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void inspectPrintsTheContractJson();
    void mergeWritesTheResult();
    void mergeShardsAndInspectReadsTheIndex();
    void userErrorsExitOneWithOneLine();
    void usageErrorsExitTwo();
    void refusesToOverwriteAnInput();
    void dryRunWritesNothing();
    void interruptLeavesNothingBehind();
    void blockwiseMergeWritesAndReplaysItsRecipe();
};

void TestCli::inspectPrintsTheContractJson()
{
    TempDir dir;
    const Run run = cli(dir, {"inspect", mftest::dataPath("state_dict.pt"), "--json"});
    QCOMPARE(run.code, 0);
    QVERIFY(run.err.empty());
    const auto json = nlohmann::json::parse(run.out);
    for (const char *key : {"format", "tensors", "parameters", "bytes", "metadata"})
        QVERIFY2(json.contains(key), key);
    QCOMPARE(json["format"].get<std::string>(), std::string("pytorch"));
    QCOMPARE(json["tensors"][0]["name"].get<std::string>(), std::string("0.weight"));
    QCOMPARE(json["tensors"][0]["dtype"].get<std::string>(), std::string("F32"));
    QCOMPARE(json["tensors"][0]["shape"].get<std::vector<int>>(), (std::vector<int>{3, 4}));
    QCOMPARE(json["tensors"][6]["dtype"].get<std::string>(), std::string("I64"));
    QCOMPARE(json["parameters"].get<int>(), 12 + 3 + 4 * 3 + 1 + 10);

    const Run text = cli(dir, {"inspect", mftest::dataPath("python_written.safetensors")});
    QCOMPARE(text.code, 0);
    QVERIFY(text.out.find("BF16") != std::string::npos);
}

void TestCli::mergeWritesTheResult()
{
    TempDir dir;
    makeModels(dir);
    const Run run = cli(dir, {"merge", "--base", dir.file("base.safetensors"), "--model",
                              dir.file("a.safetensors"), "--model", dir.file("b.pt"), "--coef",
                              "0.5,0.25", "--out", dir.file("out.pt"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto report = nlohmann::json::parse(run.out);
    QCOMPARE(report["plan"]["merged_tensors"].get<int>(), 1);
    QCOMPARE(report["plan"]["copied"][0]["name"].get<std::string>(), std::string("head"));
    // The plan and the memory estimate are said on stderr before the merge.
    QVERIFY(run.err.find("left out (copied from the base): head: shape [3] in task 'a'") !=
            std::string::npos);
    QVERIFY(run.err.find("memory: reads") != std::string::npos);
    const auto out = mf::Checkpoint::open(dir.file("out.pt"));
    QCOMPARE(mftest::valuesOf(*out.find("w")), (std::vector<double>{2, 2}));
    QCOMPARE(mftest::valuesOf(*out.find("head")), (std::vector<double>{0, 0}));
    QCOMPARE(dir.entries(),
             (std::vector<std::string>{"a.safetensors", "b.pt", "base.safetensors", "out.pt"}));
}

void TestCli::mergeShardsAndInspectReadsTheIndex()
{
    TempDir dir;
    std::vector<mftest::TestTensor> tensors;
    for (int i = 0; i < 4; ++i)
        tensors.push_back(
            {"t" + std::to_string(i), mf::DType::F32, {64}, std::vector<double>(64, i)});
    mftest::writeCheckpoint(dir.file("base.safetensors"), tensors);
    for (auto &t : tensors)
        for (double &v : t.values)
            v += 2;
    mftest::writeCheckpoint(dir.file("task.safetensors"), tensors);
    const Run run = cli(dir, {"merge", "--base", dir.file("base.safetensors"), "--model",
                              dir.file("task.safetensors"), "--coef", "0.5", "--out",
                              dir.file("merged.safetensors"), "--shard-size", "600B", "--quiet"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QVERIFY(run.err.empty());
    const Run inspect = cli(dir, {"inspect", dir.file("merged.safetensors.index.json"), "--json"});
    QCOMPARE(inspect.code, 0);
    const auto json = nlohmann::json::parse(inspect.out);
    QCOMPARE(json["tensors"].size(), std::size_t(4));
    QCOMPARE(json["files"].size(), std::size_t(2));
    const auto merged = mf::Checkpoint::open(dir.file("merged.safetensors.index.json"));
    QCOMPARE(mftest::valuesOf(*merged.find("t3")), std::vector<double>(64, 4));
}

void TestCli::userErrorsExitOneWithOneLine()
{
    TempDir dir;
    makeModels(dir);
    mftest::writeFile(dir.file("broken.safetensors"), "garbage!");
    std::filesystem::create_directories(dir.file("empty"));
    mftest::writeFile(dir.file("empty/config.json"), "{}");
    struct Case {
        std::vector<std::string> args;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {{"inspect", dir.file("missing.safetensors")}, "missing.safetensors: no such file"},
        {{"inspect", dir.file("broken.safetensors")}, "broken.safetensors"},
        {{"inspect", mftest::dataPath("malicious.pt")}, "'posix.system'"},
        {{"merge", "--base", dir.file("base.safetensors"), "--model",
          dir.file("broken.safetensors"), "--coef", "1", "--out", dir.file("o.safetensors")},
         "broken.safetensors"},
        {{"merge", "--base", dir.file("base.safetensors"), "--model", dir.file("a.safetensors"),
          "--coef", "1", "--out", dir.file("o.txt")},
         "must end in .safetensors, .pt, .pth or .bin"},
        {{"merge", "--base", dir.file("base.safetensors"), "--model", dir.file("a.safetensors"),
          "--coef", "1", "--method", "slerp", "--out", dir.file("o.safetensors")},
         "unknown merge method 'slerp'"},
        {{"merge", "--base", dir.file("base.safetensors"), "--model", dir.file("a.safetensors"),
          "--coef", "1", "--out", dir.file("o.pt"), "--shard-size", "1GB"},
         "--shard-size needs a .safetensors output"},
        // Model folders: one without weights, an output folder in use, a file output with a
        // folder's option.
        {{"inspect", dir.file("empty")}, "holds no weights"},
        {{"merge", "--base", dir.file("base.safetensors"), "--model", dir.file("a.safetensors"),
          "--coef", "1", "--out", dir.path()},
         "exists and is not empty; refusing to write into it"},
        {{"merge", "--base", dir.file("base.safetensors"), "--model", dir.file("a.safetensors"),
          "--coef", "1", "--out", dir.file("o.safetensors"), "--tokenizer-from", "a"},
         "--tokenizer-from needs a model folder output"},
    };
    for (const Case &c : cases) {
        const Run run = cli(dir, c.args);
        const std::string context = c.expected + " / " + run.err;
        QVERIFY2(run.code == 1, context.c_str());
        QVERIFY2(run.out.empty(), context.c_str());
        QVERIFY2(lineCount(run.err) == 1, context.c_str());
        QVERIFY2(run.err.find("error: ") != std::string::npos, context.c_str());
        QVERIFY2(run.err.find(c.expected) != std::string::npos, context.c_str());
    }
    QCOMPARE(dir.entries(), (std::vector<std::string>{"a.safetensors", "b.pt", "base.safetensors",
                                                      "broken.safetensors", "empty"}));
}

void TestCli::usageErrorsExitTwo()
{
    TempDir dir;
    makeModels(dir);
    const std::vector<std::vector<std::string>> cases = {
        {},
        {"frobnicate"},
        {"inspect"},
        {"inspect", "a", "b"},
        {"inspect", "x.safetensors", "--colour"},
        {"merge", "--base", dir.file("base.safetensors"), "--model", dir.file("a.safetensors"),
         "--out", dir.file("o.pt")},
        {"merge", "--base", dir.file("base.safetensors"), "--model", dir.file("a.safetensors"),
         "--coef", "1,2", "--out", dir.file("o.pt")},
        {"merge", "--base", dir.file("base.safetensors"), "--model", dir.file("a.safetensors"),
         "--coef", "one", "--out", dir.file("o.pt")},
        {"merge", "--base", dir.file("base.safetensors"), "--model", dir.file("a.safetensors"),
         "--coef", "1", "--threads", "-1", "--out", dir.file("o.pt")},
    };
    for (const auto &args : cases) {
        const Run run = cli(dir, args);
        QVERIFY2(run.code == 2, run.err.c_str());
        QVERIFY(run.err.find("usage:") != std::string::npos);
    }
    const Run help = cli(dir, {"merge", "--help"});
    QCOMPARE(help.code, 0);
    QVERIFY(help.out.find("--density") != std::string::npos);
}

void TestCli::refusesToOverwriteAnInput()
{
    TempDir dir;
    makeModels(dir);
    const std::string before = mftest::readFile(dir.file("a.safetensors"));
    const Run run =
        cli(dir, {"merge", "--base", dir.file("base.safetensors"), "--model",
                  dir.file("a.safetensors"), "--coef", "1", "--out", dir.file("a.safetensors")});
    QCOMPARE(run.code, 1);
    QVERIFY2(run.err.find("would overwrite the input") != std::string::npos, run.err.c_str());
    QVERIFY(mftest::readFile(dir.file("a.safetensors")) == before);
}

void TestCli::dryRunWritesNothing()
{
    TempDir dir;
    makeModels(dir);
    const Run run = cli(dir, {"merge", "--base", dir.file("base.safetensors"), "--model",
                              dir.file("a.safetensors"), "--model", dir.file("b.pt"), "--coef",
                              "1,1", "--out", dir.file("o.safetensors"), "--dry-run", "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto json = nlohmann::json::parse(run.out);
    QCOMPARE(json["estimate"]["output_bytes"].get<int>(), 16);
    QVERIFY(json["estimate"]["working_bytes"].get<std::uint64_t>() > 0);
    QCOMPARE(dir.entries(),
             (std::vector<std::string>{"a.safetensors", "b.pt", "base.safetensors"}));
}

void TestCli::interruptLeavesNothingBehind()
{
    // A merge long enough to be interrupted (TIES over 3 x 12M parameters on one thread).
    TempDir dir;
    const std::size_t n = 12'000'000;
    std::vector<double> values(n);
    for (std::size_t i = 0; i < n; ++i)
        values[i] = static_cast<double>(static_cast<float>((i * 2654435761u) % 1000) * 1e-3f);
    mftest::writeCheckpoint(dir.file("base.safetensors"),
                            {{"w", mf::DType::F32, {static_cast<std::int64_t>(n)}, values}});
    for (double &v : values)
        v = static_cast<float>(v * 1.5);
    mftest::writeCheckpoint(dir.file("a.safetensors"),
                            {{"w", mf::DType::F32, {static_cast<std::int64_t>(n)}, values}});
    mftest::writeCheckpoint(dir.file("b.safetensors"),
                            {{"w", mf::DType::F32, {static_cast<std::int64_t>(n)}, values}});

    const std::string errFile = dir.path() + "/.stderr";
    const pid_t pid = ::fork();
    if (pid == 0) {
        std::freopen(errFile.c_str(), "w", stderr);
        std::freopen("/dev/null", "w", stdout);
        ::execl(MERGEFRONT_CLI, MERGEFRONT_CLI, "merge", "--base",
                dir.file("base.safetensors").c_str(), "--model", dir.file("a.safetensors").c_str(),
                "--model", dir.file("b.safetensors").c_str(), "--coef", "0.5,0.5", "--method",
                "ties", "--threads", "1", "--out", dir.file("out.safetensors").c_str(),
                static_cast<char *>(nullptr));
        std::_Exit(127);
    }
    QVERIFY(pid > 0);
    // Interrupt once the plan is printed, i.e. while preparing or merging.
    for (int i = 0; i < 3000 && mftest::readFile(errFile).find("memory:") == std::string::npos; ++i)
        ::usleep(10000);
    ::kill(pid, SIGINT);
    int status = 0;
    ::waitpid(pid, &status, 0);
    QVERIFY(WIFEXITED(status));
    const int code = WEXITSTATUS(status);
    std::remove(errFile.c_str());
    if (code == 130) {
        QCOMPARE(dir.entries(),
                 (std::vector<std::string>{"a.safetensors", "b.safetensors", "base.safetensors"}));
    } else {
        // The merge won the race: then it must be complete.
        QCOMPARE(code, 0);
        QCOMPARE(mf::Checkpoint::open(dir.file("out.safetensors")).tensors().size(),
                 std::size_t(1));
        QCOMPARE(dir.entries().size(), std::size_t(4));
        QSKIP("the merge finished before the interrupt arrived");
    }
}

void TestCli::blockwiseMergeWritesAndReplaysItsRecipe()
{
    // Two groups over GPT-2-style names; base 0, a 1, b 2 everywhere: a tensor of group g
    // is C[a][g] + 2 C[b][g].
    TempDir dir;
    for (const auto &[file, v] : std::vector<std::pair<std::string, double>>{
             {"base.safetensors", 0}, {"a.safetensors", 1}, {"b.safetensors", 2}})
        mftest::writeCheckpoint(dir.file(file),
                                {{"transformer.wte.weight", mf::DType::F32, {2}, {v, v}},
                                 {"transformer.h.0.mlp.c_fc.weight", mf::DType::F32, {2}, {v, v}},
                                 {"transformer.h.1.mlp.c_fc.weight", mf::DType::F32, {2}, {v, v}}});
    const std::vector<std::string> merge = {"merge",
                                            "--base",
                                            dir.file("base.safetensors"),
                                            "--model",
                                            dir.file("a.safetensors"),
                                            "--model",
                                            dir.file("b.safetensors"),
                                            "--group",
                                            "emb=^transformer\\.wte\\.",
                                            "--group",
                                            "blocks=ramp:\\.h\\.",
                                            "--coef",
                                            "0.5,0.2,0.6,0.1,0.3,0"};
    std::vector<std::string> args = merge;
    for (const std::string &a : {std::string("--out"), dir.file("out.safetensors"),
                                 std::string("--recipe-out"), dir.file("out.recipe.json")})
        args.push_back(a);
    Run run = cli(dir, args);
    QVERIFY2(run.code == 0, run.err.c_str());
    QVERIFY2(run.err.find("group 'blocks': 2 tensors (4 parameters), a ramp from layer 0 to 1") !=
                 std::string::npos,
             run.err.c_str());
    const auto out = mf::Checkpoint::open(dir.file("out.safetensors"));
    const std::vector<double> emb = mftest::valuesOf(*out.find("transformer.wte.weight"));
    const std::vector<double> first =
        mftest::valuesOf(*out.find("transformer.h.0.mlp.c_fc.weight"));
    const std::vector<double> last = mftest::valuesOf(*out.find("transformer.h.1.mlp.c_fc.weight"));
    QVERIFY(std::fabs(emb[0] - (0.5 + 2 * 0.1)) < 1e-6);
    QVERIFY(std::fabs(first[0] - (0.2 + 2 * 0.3)) < 1e-6);
    QVERIFY(std::fabs(last[0] - (0.6 + 2 * 0.0)) < 1e-6);
    const auto recipe = nlohmann::json::parse(mftest::readFile(dir.file("out.recipe.json")));
    QCOMPARE(recipe["columns"], nlohmann::json({"emb", "blocks:first", "blocks:last"}));
    QCOMPARE(recipe["coefficients"][1], nlohmann::json({0.1, 0.3, 0.0}));
    run = cli(dir, {"merge", "--recipe", dir.file("out.recipe.json"), "--out",
                    dir.file("again.safetensors")});
    QVERIFY2(run.code == 0, run.err.c_str());
    QVERIFY(mftest::readFile(dir.file("again.safetensors")) ==
            mftest::readFile(dir.file("out.safetensors")));
    // Usage: --recipe-out with --dry-run; a group without '='; a --coef of the wrong shape.
    args = merge;
    for (const char *a : {"--out", "x.safetensors", "--recipe-out", "r.json", "--dry-run"})
        args.push_back(a);
    QCOMPARE(cli(dir, args).code, 2);
    run = cli(dir, {"merge", "--base", dir.file("base.safetensors"), "--model",
                    dir.file("a.safetensors"), "--group", "emb", "--coef", "1", "--out",
                    dir.file("x.safetensors")});
    QCOMPARE(run.code, 2);
    QVERIFY2(run.err.find("--group takes NAME=REGEX") != std::string::npos, run.err.c_str());
    QVERIFY(!std::filesystem::exists(dir.file("x.safetensors")));
}

MF_TEST_MAIN(TestCli, inspectPrintsTheContractJson, mergeWritesTheResult,
             mergeShardsAndInspectReadsTheIndex, userErrorsExitOneWithOneLine, usageErrorsExitTwo,
             refusesToOverwriteAnInput, dryRunWritesNothing, interruptLeavesNothingBehind,
             blockwiseMergeWritesAndReplaysItsRecipe)
#ifdef MERGEFRONT_QT_TEST
#include "tst_cli.moc"
#endif
