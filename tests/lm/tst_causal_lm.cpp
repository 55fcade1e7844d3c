// SPDX-License-Identifier: GPL-3.0-or-later
// The causal-LM evaluator: every family against the float64 Python reference with real
// tokenizers (tests/interop/check_causal_lm.py), config keys that are refused, bad data
// named by file, line and key, and `merge` + `score` equal to the in-process evaluation.
#include "fixtures.h"
#include "lm_fixtures.h"
#include "testing.h"

#include "../text/reference.h"

#include "eval/language_model.h"
#include "eval/lm/causal_lm_evaluator.h"
#include "eval/lm/config.h"
#include "io/gguf.h"
#include "zoo/text.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

using mftest::TempDir;
using nlohmann::json;

class TestCausalLm : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void matchesPythonReference();
    void refusesWhatItDoesNotCompute();
    void badDataIsNamed();
    void mergeThenScoreEqualsInProcess();
    void deviceMergeEqualsHostMerge();
    void adaptersEvaluateAsTheirMerges();
};

void TestCausalLm::matchesPythonReference()
{
    if (!mftest::havePythonTorch())
        QSKIP("Debian's python3-torch is not installed (./run.sh test installs it)");
    if (!std::filesystem::exists(mftest::tokenizerReferenceDir() +
                                 "/tokenizers/dist/tokenizers.mjs") ||
        std::system("node --version >/dev/null 2>&1") != 0)
        QSKIP("the tokenizer reference is not unpacked (./run.sh data)");
    TempDir dir;
    QCOMPARE(mftest::runBuildAndCheck("check_causal_lm.py", dir.path()), 0);
}

void TestCausalLm::refusesWhatItDoesNotCompute()
{
    TempDir dir;
    struct Case {
        json changes;
        std::string key;
    };
    const std::vector<Case> cases = {
        {{{"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}}}}, "rope_scaling.rope_type"},
        {{{"rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}}}}, "rope_scaling.type"},
        {{{"final_logit_softcapping", 30.0}}, "final_logit_softcapping"},
        {{{"hidden_act", "gelu_pytorch_tanh"}}, "hidden_act"},
        {{{"model_type", "gemma2"}}, "model_type"},
        {{{"quantization_config", {{"quant_method", "gptq"}}}}, "quantization_config"},
        {{{"partial_rotary_factor", 0.5}}, "partial_rotary_factor"},
        {{{"num_key_value_heads", 3}}, "num_key_value_heads"},
    };
    for (const Case &c : cases) {
        const std::string folder = dir.file("refused");
        std::filesystem::remove_all(folder);
        mftest::writeLlama(folder, 1, mf::DType::F32, c.changes);
        const std::string error = mftest::errorOf([&] { mf::eval::lm::readLmConfig(folder); });
        QVERIFY2(error.find("config.json: " + c.key) != std::string::npos, error.c_str());
        mftest::writeFile(dir.file("doc.txt"), "some text to score\n");
        const auto run = mftest::runCli(dir, {"score", folder, "--data", dir.file("doc.txt")});
        QVERIFY2(run.code == 1 && run.err.find(c.key) != std::string::npos,
                 mftest::failureOf(run).c_str());
    }
    // A sliding window is refused only where the evaluated length would need it.
    mftest::writeLlama(dir.file("mistral"), 1, mf::DType::F32,
                       {{"model_type", "mistral"}, {"sliding_window", 16}});
    mftest::writeFile(dir.file("doc.txt"), "some text to score\n");
    auto run = mftest::runCli(
        dir, {"score", dir.file("mistral"), "--data", dir.file("doc.txt"), "--max-length", "32"});
    QVERIFY2(run.code == 1 && run.err.find("sliding_window") != std::string::npos,
             mftest::failureOf(run).c_str());
    run = mftest::runCli(dir, {"score", dir.file("mistral"), "--data", dir.file("doc.txt"),
                               "--max-length", "16", "--json"});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
}

void TestCausalLm::badDataIsNamed()
{
    TempDir dir;
    mftest::writeLlama(dir.file("model"), 1, mf::DType::F32);
    struct Case {
        std::string format, content, expected;
    };
    const std::vector<Case> cases = {
        {"multiple-choice", "{\"context\": \"a\", \"choices\": [\"b\"], \"gold\": 0}\n{oops\n",
         "data.jsonl:2: not a JSON line"},
        {"multiple-choice", "{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"gold\": 2}\n",
         "data.jsonl:1: \"gold\" is 2, outside the 2 choices"},
        {"completion", "{\"prompt\": \"a\"}\n", "data.jsonl:1: no \"completion\" key"},
        {"completion", "", "data.jsonl: no items (an empty data file)"},
        {"text", "{\"text\": 5}\n", "data.jsonl:1: \"text\" is not a string"},
        {"text", "{\"text\": \"\\u00ff\"}\n\"x\"\n", "data.jsonl:2: expected a JSON object"},
    };
    for (const Case &c : cases) {
        mftest::writeFile(dir.file("data.jsonl"), c.content);
        const auto run = mftest::runCli(dir, {"score", dir.file("model"), "--data",
                                              dir.file("data.jsonl"), "--format", c.format});
        QVERIFY2(run.code == 1 && run.err.find(c.expected) != std::string::npos,
                 mftest::failureOf(run).c_str());
    }
    // A model without its tokenizer, and a folder that is no causal LM.
    std::filesystem::copy(dir.file("model"), dir.file("bare"));
    for (const char *name : {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                             "special_tokens_map.json"})
        std::filesystem::remove(dir.file("bare/") + name);
    mftest::writeFile(dir.file("doc.txt"), "text\n");
    auto run = mftest::runCli(dir, {"score", dir.file("bare"), "--data", dir.file("doc.txt")});
    QVERIFY2(run.code == 1 && run.err.find("bare") != std::string::npos,
             mftest::failureOf(run).c_str());
    // Items longer than max_length are truncated from the left, said once.
    mftest::writeFile(dir.file("long.jsonl"),
                      "{\"prompt\": \"" + std::string(300, 'x') + "\", \"completion\": \" y\"}\n");
    run = mftest::runCli(dir, {"score", dir.file("model"), "--data", dir.file("long.jsonl"),
                               "--format", "completion", "--max-length", "64", "--json"});
    QVERIFY2(run.code == 0 && run.err.find("truncated from the left") != std::string::npos,
             mftest::failureOf(run).c_str());
    // A context of only whitespace is read as an empty one (the prefix token before it).
    mftest::writeFile(dir.file("blank.jsonl"),
                      "{\"context\": \"  \", \"choices\": [\"a\", \"b\"], \"gold\": 1}\n");
    run = mftest::runCli(dir, {"score", dir.file("model"), "--data", dir.file("blank.jsonl"),
                               "--format", "multiple-choice", "--json", "--per-token"});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
    QCOMPARE(json::parse(run.out)["requests"][0]["tokens"][0].get<int>(), 256); // <|endoftext|>
    // A task whose vocabulary is not the base's.
    mftest::writeLlama(dir.file("other"), 2, mf::DType::F32, {{"vocab_size", 300}});
    const json project = {
        {"format", "mergefront-project"},
        {"version", 1},
        {"base", dir.file("model")},
        {"tasks",
         {{{"name", "t"},
           {"checkpoint", dir.file("other")},
           {"metric", "perplexity"},
           {"direction", "minimize"},
           {"evaluator", {{"kind", "causal-lm"}, {"data", dir.file("doc.txt")}}}}}},
        {"device", "cpu"}};
    mftest::writeFile(dir.file("project.json"), project.dump());
    run = mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--coef", "0.5"});
    QVERIFY2(run.code == 1 && run.err.find("vocab_size 300") != std::string::npos,
             mftest::failureOf(run).c_str());
}

void TestCausalLm::mergeThenScoreEqualsInProcess()
{
    TempDir dir;
    mftest::writeLlama(dir.file("base"), 1, mf::DType::BF16);
    mftest::writeLlama(dir.file("a"), 2, mf::DType::BF16, json::object(), 0.05);
    mftest::writeLlama(dir.file("b"), 3, mf::DType::BF16, json::object(), 0.05);
    mftest::writeFile(dir.file("a.txt"), "The quick brown fox jumps over the lazy dog. "
                                         "Pack my box with five dozen liquor jugs.\n");
    mftest::writeFile(dir.file("b.jsonl"),
                      "{\"context\": \"Two plus two is\", \"choices\": [\"four\", \"five\"], "
                      "\"gold\": 0}\n{\"context\": \"The sky is\", \"choices\": [\"green\", "
                      "\"blue\"], \"gold\": 1}\n");
    auto task = [&](const std::string &name, const json &evaluator, const std::string &metric) {
        return json{{"name", name},
                    {"checkpoint", dir.file(name)},
                    {"metric", metric},
                    {"direction", metric == "acc" ? "maximize" : "minimize"},
                    {"evaluator", evaluator}};
    };
    const json project = {
        {"format", "mergefront-project"},
        {"version", 1},
        {"base", dir.file("base")},
        {"tasks",
         {task("a", {{"kind", "causal-lm"}, {"data", dir.file("a.txt")}, {"format", "text"}},
               "perplexity"),
          task("b",
               {{"kind", "causal-lm"},
                {"data", dir.file("b.jsonl")},
                {"format", "multiple-choice"},
                {"metric", "acc_norm"}},
               "acc")}},
        {"merge", {{"method", "ties"}, {"density", 0.5}}},
        {"device", "cpu"}};
    mftest::writeFile(dir.file("project.json"), project.dump());
    auto run =
        mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--coef", "0.7,0.4", "--json"});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
    const json inProcess = json::parse(run.out);
    QVERIFY2(run.err.find("memory plan") != std::string::npos, run.err.c_str());

    run = mftest::runCli(dir, {"merge", "--base", dir.file("base"), "--model", dir.file("a"),
                               "--model", dir.file("b"), "--coef", "0.7,0.4", "--method", "ties",
                               "--density", "0.5", "--out", dir.file("merged")});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
    run = mftest::runCli(dir, {"score", dir.file("merged"), "--data", dir.file("a.txt"), "--device",
                               "cpu", "--json"});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
    const double perplexity = json::parse(run.out)["perplexity"].get<double>();
    run = mftest::runCli(dir, {"score", dir.file("merged"), "--data", dir.file("b.jsonl"),
                               "--format", "multiple-choice", "--device", "cpu", "--json"});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
    const double accNorm = json::parse(run.out)["acc_norm"].get<double>();
    const double ours = inProcess["metrics"]["a"].get<double>();
    QVERIFY2(std::fabs(ours - perplexity) <= 1e-9 * perplexity,
             (std::to_string(ours) + " in process, " + std::to_string(perplexity) +
              " from the merged folder")
                 .c_str());
    QCOMPARE(inProcess["metrics"]["b"].get<double>(), accNorm);
    // Not the base's number: the merge reached the live weights.
    run = mftest::runCli(dir, {"score", dir.file("base"), "--data", dir.file("a.txt"), "--json"});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
    QVERIFY(std::fabs(json::parse(run.out)["perplexity"].get<double>() - perplexity) >
            1e-6 * perplexity);
    // status names the evaluator and the model; the export sidecar how "measured" was measured.
    run = mftest::runCli(dir, {"status", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
    const json status = json::parse(run.out);
    QCOMPARE(status["evaluator"].get<std::string>(), std::string("causal-lm"));
    QVERIFY2(status["model"].get<std::string>().rfind("llama, 2 layers", 0) == 0,
             status.dump().c_str());
    run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--budget", "6"});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
    run = mftest::runCli(dir, {"export", dir.file("project.json"), "--coef", "0.7,0.4", "--out",
                               dir.file("chosen") + "/"});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
    const json sidecar = json::parse(mftest::readFile(dir.file("chosen.json")));
    QCOMPARE(sidecar["evaluators"]["b"]["kind"].get<std::string>(), std::string("causal-lm"));
    QCOMPARE(sidecar["evaluators"]["b"]["metric"].get<std::string>(), std::string("acc_norm"));
    QCOMPARE(sidecar["measured"]["a"].get<double>(), ours);
    // The same point as GGUF in the source dtype (bf16): the embedding is the folder's, byte for
    // byte (tst_gguf has llama.cpp read such files).
    run = mftest::runCli(dir, {"export", dir.file("project.json"), "--coef", "0.7,0.4", "--out",
                               dir.file("chosen.gguf")});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
    const mf::GgufFile gguf = mf::readGguf(dir.file("chosen.gguf"));
    const mf::Checkpoint folder = mf::Checkpoint::open(dir.file("chosen"));
    const mf::TensorRef &embedding = *folder.find("model.embed_tokens.weight");
    bool found = false;
    for (const mf::GgufTensor &t : gguf.tensors)
        if (t.name == "token_embd.weight") {
            found = true;
            QCOMPARE(mf::ggmlTypeName(static_cast<std::uint32_t>(t.type)), std::string("BF16"));
            QVERIFY(mftest::readFile(dir.file("chosen.gguf"))
                        .compare(gguf.dataOffset + t.offset, t.byteSize(),
                                 std::string(reinterpret_cast<const char *>(embedding.data),
                                             embedding.byteSize)) == 0);
        }
    QVERIFY(found);
    QVERIFY(json::parse(mftest::readFile(dir.file("chosen.gguf.json")))["gguf_type"].is_null());
    // The same merge again comes from the project's cache; after the data is edited it does not.
    run =
        mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--coef", "0.7,0.4", "--json"});
    QVERIFY2(run.code == 0 && json::parse(run.out)["cached"].get<bool>(),
             mftest::failureOf(run).c_str());
    mftest::writeFile(dir.file("a.txt"), "Another held-out text altogether.\n");
    run =
        mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--coef", "0.7,0.4", "--json"});
    QVERIFY2(run.code == 0 && !json::parse(run.out)["cached"].get<bool>(),
             mftest::failureOf(run).c_str());
    QVERIFY(json::parse(run.out)["metrics"]["a"].get<double>() != ours);
}

void TestCausalLm::deviceMergeEqualsHostMerge()
{
    // The merge through LibTorch (what runs on a GPU), here on the CPU, against the host's
    // streaming kernel: the same weights bit for bit, so the same numbers, for every method.
    TempDir dir;
    mftest::writeLlama(dir.file("base"), 1, mf::DType::BF16);
    mftest::writeLlama(dir.file("a"), 2, mf::DType::BF16, json::object(), 0.05);
    mftest::writeLlama(dir.file("b"), 3, mf::DType::BF16, json::object(), 0.05);
    mftest::writeLlama(dir.file("c"), 4, mf::DType::BF16, json::object(), 0.05);
    mftest::writeFile(dir.file("doc.txt"), "Pack my box with five dozen liquor jugs. The five "
                                           "boxing wizards jump quickly.\n");
    struct Method {
        mf::MergeMethod method;
        bool disjoint;
    };
    for (const Method m :
         {Method{mf::MergeMethod::TaskArithmetic, false}, Method{mf::MergeMethod::Ties, false},
          Method{mf::MergeMethod::Ties, true}, Method{mf::MergeMethod::Dare, false},
          Method{mf::MergeMethod::DareTies, true}}) {
        std::vector<double> results[2];
        for (int device = 0; device < 2; ++device) {
            mf::eval::lm::CausalLmEvaluatorOptions options;
            options.base = dir.file("base");
            options.models = {dir.file("a"), dir.file("b"), dir.file("c")};
            for (const char *name : {"a", "b", "c"}) {
                mf::eval::lm::LmTaskSpec spec;
                spec.name = name;
                spec.data.data = dir.file("doc.txt");
                options.tasks.push_back(spec);
            }
            options.merge.method = m.method;
            options.merge.disjointMean = m.disjoint;
            options.merge.density = 0.4;
            options.merge.dropRate = 0.5;
            options.model.device = "cpu";
            options.mergeOn = device ? "device" : "host";
            mf::eval::lm::CausalLmEvaluator evaluator(options);
            mf::eval::CancelFlag cancel{false};
            for (const std::vector<double> &c :
                 {std::vector<double>{0.7, 0.4, -0.3}, std::vector<double>{1.2, 0.0, 0.9}}) {
                const mf::eval::Evaluation e = evaluator.evaluate(c, cancel);
                QVERIFY2(!e.failed, e.error.c_str());
                results[device].push_back(e.metrics.at("a"));
            }
        }
        QVERIFY2(results[0] == results[1],
                 (std::string(mf::methodName(m.method)) + ": host " +
                  std::to_string(results[0][0]) + " " + std::to_string(results[0][1]) +
                  ", device " + std::to_string(results[1][0]) + " " + std::to_string(results[1][1]))
                     .c_str());
        QVERIFY(results[0][0] != results[0][1]);
    }
}

void TestCausalLm::adaptersEvaluateAsTheirMerges()
{
    // A project whose tasks are LoRA adapters (plain and DoRA, built in Python with PEFT's
    // layout) scores, host and device merge, as the same project over the adapters merged into
    // full checkpoints by PEFT's formulas (tests/interop/check_adapters.py --lm).
    if (!mftest::havePythonTorch())
        QSKIP("Debian's python3-torch is not installed (./run.sh test installs it)");
    TempDir dir;
    const std::string command =
        "/usr/bin/python3 " +
        mftest::shellQuote(MERGEFRONT_SOURCE_DIR "/tests/interop/check_adapters.py") + " " +
        mftest::shellQuote(MERGEFRONT_CLI) + " " + mftest::shellQuote(dir.file("work")) + " --lm";
    QCOMPARE(std::system(command.c_str()), 0);
}

MF_TEST_MAIN(TestCausalLm, matchesPythonReference, refusesWhatItDoesNotCompute, badDataIsNamed,
             mergeThenScoreEqualsInProcess, deviceMergeEqualsHostMerge,
             adaptersEvaluateAsTheirMerges)

#ifdef MERGEFRONT_QT_TEST
#include "tst_causal_lm.moc"
#endif
