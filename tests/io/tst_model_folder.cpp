// SPDX-License-Identifier: GPL-3.0-or-later
// Model folders in (the layouts save_pretrained writes; bad ones refused with the file named)
// and out (a whole folder, atomic, never over or inside a source; config, tokenizer, card).
#include "testing.h"

#include "fixtures.h"

#include "io/model_folder.h"
#include "merge/folder_output.h"
#include "merge/merge_job.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;
using mftest::TempDir;
using mftest::TestTensor;

namespace {

const std::string kConfig = R"({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
  "n_embd": 2, "torch_dtype": "float32", "vocab_size": 3})";

std::vector<TestTensor> gpt2(double shift, bool withHead = false)
{
    std::vector<TestTensor> tensors = {
        {"transformer.wte.weight", mf::DType::F32, {3, 2}, {0, 1, 2, 3, 4, 5}},
        {"transformer.h.0.mlp.c_fc.weight", mf::DType::F32, {2, 2}, {1, 1, 1, 1}}};
    for (auto &tensor : tensors)
        for (double &v : tensor.values)
            v += shift;
    if (withHead)
        tensors.push_back({"lm_head.weight", mf::DType::F32, {3, 2}, {9, 9, 9, 9, 9, 9}});
    return tensors;
}

/// A model folder: config.json, a tokenizer file, the weights as model.safetensors.
std::string writeFolder(const TempDir &dir, const std::string &name, double shift,
                        const std::string &config = kConfig, bool withHead = false)
{
    const std::string folder = dir.file(name);
    fs::create_directories(folder);
    mftest::writeFile(folder + "/config.json", config);
    mftest::writeFile(folder + "/tokenizer.json", "{\"model\": \"" + name + "\"}");
    mftest::writeFile(folder + "/generation_config.json", "{\"eos_token_id\": 2}\n");
    mftest::writeCheckpoint(folder + "/model.safetensors", gpt2(shift, withHead));
    return folder;
}

mf::MergeRequest request(const std::string &base, const std::vector<std::string> &models,
                         const std::string &out)
{
    mf::MergeRequest r;
    r.basePath = base;
    r.modelPaths = models;
    r.coefficients.assign(models.size(), 0.5);
    r.outPath = out;
    r.sync = false;
    return r;
}

void quiet(const std::string &)
{
}

} // namespace

class TestModelFolder : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void readsEveryLayout();
    void prefersSafetensorsAndSaysSo();
    void refusesBadFolders();
    void tiesAnAbsentHead();
    void readsTheHubCacheLayout();
    void writesACompleteFolder();
    void untiesWhenATaskStoresTheHeadApart();
    void refusesUnsafeOutputs();
    void leavesNothingWhenStopped();
};

void TestModelFolder::readsEveryLayout()
{
    TempDir dir;
    // Sharded safetensors + index, as save_pretrained writes past max_shard_size.
    const std::string sharded = dir.file("sharded");
    fs::create_directories(sharded);
    mftest::writeCheckpoint(sharded + "/model.safetensors", gpt2(0), {}, 30);
    QVERIFY(fs::exists(sharded + "/model.safetensors.index.json"));
    QVERIFY(fs::exists(sharded + "/model-00001-of-00002.safetensors"));
    const mf::Checkpoint a = mf::Checkpoint::open(sharded);
    QCOMPARE(a.tensors().size(), std::size_t(2));
    QCOMPARE(a.folder(), sharded);
    // pytorch_model.bin, and a plain folder with one file of any name.
    const std::string bin = dir.file("bin");
    fs::create_directories(bin);
    mftest::writeCheckpoint(bin + "/pytorch_model.bin", gpt2(0));
    QCOMPARE(mf::Checkpoint::open(bin).format(), std::string("pytorch"));
    const std::string plain = dir.file("plain");
    fs::create_directories(plain);
    mftest::writeCheckpoint(plain + "/merged.safetensors", gpt2(0));
    QCOMPARE(mf::Checkpoint::open(plain).tensors().size(), std::size_t(2));
}

void TestModelFolder::prefersSafetensorsAndSaysSo()
{
    TempDir dir;
    const std::string folder = writeFolder(dir, "m", 0);
    mftest::writeCheckpoint(folder + "/pytorch_model.bin", gpt2(0));
    const mf::Checkpoint checkpoint = mf::Checkpoint::open(folder);
    QCOMPARE(checkpoint.format(), std::string("safetensors"));
    QVERIFY(!checkpoint.notes().empty());
    QVERIFY2(checkpoint.notes().back().find("took model.safetensors; pytorch_model.bin") == 0,
             checkpoint.notes().back().c_str());
}

void TestModelFolder::refusesBadFolders()
{
    TempDir dir;
    struct Case {
        std::string folder;
        std::string expected;
    };
    std::vector<Case> cases;
    auto make = [&](const std::string &name) {
        fs::create_directories(dir.file(name));
        return dir.file(name);
    };
    {
        const std::string f = make("empty");
        mftest::writeFile(f + "/config.json", kConfig);
        cases.push_back({f, "holds no weights"});
    }
    {
        const std::string f = make("missing-shard");
        mftest::writeCheckpoint(f + "/model.safetensors", gpt2(0), {}, 30);
        fs::remove(f + "/model-00002-of-00002.safetensors");
        cases.push_back({f, "model-00002-of-00002.safetensors"});
    }
    {
        const std::string f = make("stray-shard");
        mftest::writeCheckpoint(f + "/model.safetensors", gpt2(0), {}, 30);
        mftest::writeCheckpoint(f + "/model-00003-of-00003.safetensors", gpt2(0));
        cases.push_back({f, "holds the shard model-00003-of-00003.safetensors, which "
                            "model.safetensors.index.json does not name"});
    }
    {
        const std::string f = make("no-index");
        mftest::writeCheckpoint(f + "/model-00001-of-00002.safetensors", gpt2(0));
        cases.push_back({f, "but no model.safetensors.index.json"});
    }
    {
        const std::string f = writeFolder(dir, "disagree", 0);
        auto other = gpt2(0);
        other[1].shape = {4};
        mftest::writeCheckpoint(f + "/pytorch_model.bin", other);
        cases.push_back({f, "two weight sets that disagree: model.safetensors and "
                            "pytorch_model.bin (tensor 'transformer.h.0.mlp.c_fc.weight' is [2, "
                            "2] in one, [4] in the other)"});
    }
    {
        const std::string f = writeFolder(dir, "bad-config", 0, "{\"model_type\": ");
        cases.push_back({f, "config.json is not valid JSON"});
    }
    {
        const std::string f = make("adapter");
        mftest::writeFile(f + "/adapter_config.json", R"({"peft_type": "LORA"})");
        mftest::writeCheckpoint(f + "/adapter_model.safetensors", gpt2(0));
        cases.push_back({f, "is a PEFT adapter (adapter_config.json), not a whole model"});
    }
    {
        // An index whose shards do not hold what it says (a shard of another save).
        const std::string f = make("shards-disagree");
        mftest::writeCheckpoint(f + "/model.safetensors", gpt2(0), {}, 30);
        mftest::writeCheckpoint(f + "/model-00002-of-00002.safetensors",
                                {{"other.weight", mf::DType::F32, {1}, {0}}});
        cases.push_back({f, "tensor 'other.weight' is in shard model-00002-of-00002.safetensors"});
    }
    for (const Case &c : cases) {
        const std::string message = mftest::errorOf([&] { mf::Checkpoint::open(c.folder); });
        QVERIFY2(message.find(c.expected) != std::string::npos,
                 (c.folder + ": " + message).c_str());
    }
}

void TestModelFolder::tiesAnAbsentHead()
{
    TempDir dir;
    const mf::Checkpoint tied = mf::Checkpoint::open(writeFolder(dir, "tied", 0));
    QCOMPARE(tied.tied().at("lm_head.weight"), std::string("transformer.wte.weight"));
    QCOMPARE(tied.findOrTied("lm_head.weight")->name, std::string("transformer.wte.weight"));
    const std::string untiedConfig = R"({"model_type": "llama", "tie_word_embeddings": false})";
    const mf::Checkpoint untied = mf::Checkpoint::open(writeFolder(dir, "untied", 0, untiedConfig));
    QVERIFY(untied.tied().empty());
}

void TestModelFolder::readsTheHubCacheLayout()
{
    // huggingface_hub's cache: snapshots/<revision>/ holds symbolic links into blobs/.
    TempDir dir;
    const std::string source = writeFolder(dir, "download", 0);
    const std::string snapshot = dir.file("models--org--base/snapshots/0123abcd");
    fs::create_directories(snapshot);
    fs::create_directories(dir.file("models--org--base/blobs"));
    for (const auto &entry : fs::directory_iterator(source)) {
        const std::string blob =
            dir.file("models--org--base/blobs/" + entry.path().filename().string());
        fs::rename(entry.path(), blob);
        fs::create_symlink("../../blobs/" + entry.path().filename().string(),
                           snapshot + "/" + entry.path().filename().string());
    }
    const std::string a = writeFolder(dir, "a", 1);
    mf::runMerge(request(snapshot, {a}, dir.file("out")), quiet);
    QVERIFY(!fs::is_symlink(dir.file("out/config.json"))); // copies, not links into a cache
    QCOMPARE(mftest::readFile(dir.file("out/tokenizer.json")),
             mftest::readFile(snapshot + "/tokenizer.json"));
    QCOMPARE(
        mftest::valuesOf(*mf::Checkpoint::open(dir.file("out")).find("transformer.wte.weight")),
        (std::vector<double>{0.5, 1.5, 2.5, 3.5, 4.5, 5.5}));
}

void TestModelFolder::writesACompleteFolder()
{
    TempDir dir;
    const std::string base = writeFolder(dir, "base", 0);
    mftest::writeFile(base + "/training_args.bin", "not a model");
    mftest::writeFile(base + "/README.md", "# the base's own card");
    const std::string a = writeFolder(dir, "a", 1), b = writeFolder(dir, "b", 3);
    std::vector<std::string> log;
    mf::MergeRequest r = request(base, {a, b}, dir.file("out/"));
    r.dtype = mf::DType::BF16;
    r.origin = "mergefront-cli merge (test)";
    const mf::MergeReport report =
        mf::runMerge(r, [&log](const std::string &line) { log.push_back(line); });
    const std::string out = dir.file("out");
    QCOMPARE(report.outputs.back(), out);
    const mf::Checkpoint merged = mf::Checkpoint::open(out);
    // 0.5 * 1 + 0.5 * 3 = 2 added to every base entry, written in bf16; lm_head stays tied.
    QCOMPARE(mftest::valuesOf(*merged.find("transformer.wte.weight")),
             (std::vector<double>{2, 3, 4, 5, 6, 7}));
    QVERIFY(merged.find("transformer.wte.weight")->dtype == mf::DType::BF16);
    QVERIFY(merged.find("lm_head.weight") == nullptr);
    const auto config = nlohmann::ordered_json::parse(mftest::readFile(out + "/config.json"));
    QCOMPARE(config.at("torch_dtype").get<std::string>(), std::string("bfloat16"));
    QCOMPARE(config.at("model_type").get<std::string>(), std::string("gpt2"));
    QCOMPARE(mftest::readFile(out + "/tokenizer.json"), mftest::readFile(base + "/tokenizer.json"));
    QCOMPARE(mftest::readFile(out + "/generation_config.json"),
             mftest::readFile(base + "/generation_config.json"));
    QVERIFY(!fs::exists(out + "/training_args.bin"));
    const std::string card = mftest::readFile(out + "/README.md");
    for (const std::string &word :
         {std::string("task_arithmetic"), mf::Checkpoint::open(a).fingerprint(),
          mf::Checkpoint::open(base).fingerprint(), std::string("mergefront-cli merge (test)"),
          std::string("| task | a |"), std::string("- tokenizer: the base's (tokenizer.json")})
        QVERIFY2(card.find(word) != std::string::npos, word.c_str());
    bool listed = false, tie = false;
    for (const std::string &line : log) {
        listed |= line.find("not copied") != std::string::npos &&
                  line.find("training_args.bin") != std::string::npos;
        tie |= line.find("lm_head.weight is tied to transformer.wte.weight in the base and every "
                         "task") != std::string::npos;
    }
    QVERIFY(listed);
    QVERIFY(tie);
    // Nothing else beside the output: no temporary folder left.
    QCOMPARE(dir.entries(), (std::vector<std::string>{"a", "b", "base", "out"}));

    // The tokenizer of a task, and an empty folder that exists already is fine.
    fs::create_directories(dir.file("out2"));
    mf::MergeRequest fromTask = request(base, {a, b}, dir.file("out2"));
    fromTask.tokenizerFrom = "b";
    mf::runMerge(fromTask, quiet);
    QCOMPARE(mftest::readFile(dir.file("out2/tokenizer.json")),
             mftest::readFile(b + "/tokenizer.json"));
    fromTask.outPath = dir.file("out3");
    fromTask.tokenizerFrom = "c";
    QVERIFY(mftest::errorOf([&] {
                mf::runMerge(fromTask, quiet);
            }).find("--tokenizer-from 'c' is not a task (the tasks: a, b)") != std::string::npos);
}

void TestModelFolder::untiesWhenATaskStoresTheHeadApart()
{
    TempDir dir;
    const std::string base = writeFolder(dir, "base", 0);
    const std::string untied = R"({"model_type": "gpt2", "tie_word_embeddings": false})";
    const std::string a = writeFolder(dir, "a", 1, untied, /*withHead=*/true);
    std::vector<std::string> log;
    mf::MergeRequest r = request(base, {a}, dir.file("out"));
    r.coefficients = {1.0};
    mf::runMerge(r, [&log](const std::string &line) { log.push_back(line); });
    const mf::Checkpoint merged = mf::Checkpoint::open(dir.file("out"));
    // The base's head is its wte (0..5); task a's head is 9: base + 1 * (9 - wte) = 9.
    QCOMPARE(mftest::valuesOf(*merged.find("lm_head.weight")),
             (std::vector<double>{9, 9, 9, 9, 9, 9}));
    QCOMPARE(mftest::valuesOf(*merged.find("transformer.wte.weight")),
             (std::vector<double>{1, 2, 3, 4, 5, 6}));
    const auto config = nlohmann::json::parse(mftest::readFile(dir.file("out/config.json")));
    QCOMPARE(config.at("tie_word_embeddings").get<bool>(), false);
    bool said = false;
    for (const std::string &line : log)
        said |= line.find("stored apart in task 'a'") != std::string::npos;
    QVERIFY(said);
}

void TestModelFolder::refusesUnsafeOutputs()
{
    TempDir dir;
    const std::string base = writeFolder(dir, "base", 0);
    const std::string a = writeFolder(dir, "a", 1);
    fs::create_directories(dir.file("full"));
    mftest::writeFile(dir.file("full/keep.txt"), "mine");
    struct Case {
        std::string out;
        std::string expected;
    };
    for (const Case &c :
         {Case{dir.file("full"), "exists and is not empty; refusing to write into it"},
          Case{base, "exists and is not empty"}, Case{base + "/merged", "inside the source folder"},
          Case{a + "/../a/sub/", "inside the source folder"},
          Case{dir.file("nowhere/deeper/out"), "does not exist"},
          Case{dir.file("notes.txt"), "must end in .safetensors, .pt, .pth or .bin, or name a "
                                      "model folder"}}) {
        const std::string message =
            mftest::errorOf([&] { mf::runMerge(request(base, {a}, c.out), quiet); });
        QVERIFY2(message.find(c.expected) != std::string::npos, (c.out + ": " + message).c_str());
    }
    QCOMPARE(mftest::readFile(dir.file("full/keep.txt")), std::string("mine"));
    QCOMPARE(dir.entries(), (std::vector<std::string>{"a", "base", "full"}));
    QVERIFY(!fs::exists(base + "/merged"));
}

void TestModelFolder::leavesNothingWhenStopped()
{
    TempDir dir;
    const std::string base = writeFolder(dir, "base", 0);
    const std::string a = writeFolder(dir, "a", 1);
    bool threw = false;
    try {
        mf::runMerge(request(base, {a}, dir.file("out")), quiet,
                     [](const mf::Progress &p) { return p.done == 0; });
    } catch (const mf::Cancelled &) {
        threw = true;
    }
    QVERIFY(threw);
    QCOMPARE(dir.entries(), (std::vector<std::string>{"a", "base"}));
}

MF_TEST_MAIN(TestModelFolder, readsEveryLayout, prefersSafetensorsAndSaysSo, refusesBadFolders,
             tiesAnAbsentHead, readsTheHubCacheLayout, writesACompleteFolder,
             untiesWhenATaskStoresTheHeadApart, refusesUnsafeOutputs, leavesNothingWhenStopped)
#ifdef MERGEFRONT_QT_TEST
#include "tst_model_folder.moc"
#endif
