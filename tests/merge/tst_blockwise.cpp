// SPDX-License-Identifier: GPL-3.0-or-later
// Block-wise merging (METHOD.md section 12, docs/RECIPES.md): coefficient groups on HF-style
// names assigned by hand, a layer ramp's coefficients by hand, overlaps and orphans refused
// with the names, merges equal to hand-computed values, one group equal to a task-wise merge
// bit for bit, and recipes: replayed bit for bit, refused when a source changed.
#include "testing.h"

#include "fixtures.h"

#include "io/checkpoint.h"
#include "merge/groups.h"
#include "merge/merge_job.h"
#include "merge/recipe.h"
#include "util/atomic_file.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>

using mftest::TempDir;

class TestBlockwise : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void readsLayerIndices();
    void assignsHfNamesByHand();
    void presetsForTransformers();
    void rampByHand();
    void refusesOverlapsAndOrphans();
    void mergesEachGroupWithItsCoefficients();
    void oneGroupIsTaskWise();
    void recipeReplaysBitForBit();
    void recipeRefusesChangedSources();
    void recipeErrorsNameTheKey();
};

namespace {

/// GPT-2's names (GPT2LMHeadModel's state dict, 4 layers, head tied and not stored).
std::vector<std::string> gpt2Names(int layers = 4)
{
    std::vector<std::string> names{"transformer.wte.weight", "transformer.wpe.weight"};
    for (int l = 0; l < layers; ++l)
        for (const char *part : {"ln_1.weight", "ln_1.bias", "attn.c_attn.weight",
                                 "attn.c_attn.bias", "attn.c_proj.weight", "mlp.c_fc.weight"})
            names.push_back("transformer.h." + std::to_string(l) + "." + part);
    names.push_back("transformer.ln_f.weight");
    names.push_back("transformer.ln_f.bias");
    return names;
}

/// Llama's names (LlamaForCausalLM), 2 layers.
std::vector<std::string> llamaNames()
{
    return {"model.embed_tokens.weight",
            "model.layers.0.self_attn.q_proj.weight",
            "model.layers.0.mlp.down_proj.weight",
            "model.layers.0.input_layernorm.weight",
            "model.layers.1.self_attn.q_proj.weight",
            "model.layers.1.mlp.down_proj.weight",
            "model.layers.1.input_layernorm.weight",
            "model.norm.weight",
            "lm_head.weight"};
}

/// The group name of each name (as assigned), "" where not in a group.
std::map<std::string, std::string> groupOf(const std::vector<std::string> &names,
                                           const std::vector<mf::CoefficientGroup> &groups)
{
    const std::vector<mf::GroupMember> members = mf::assignGroups(names, groups);
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i < names.size(); ++i)
        out[names[i]] =
            members[i].group < 0 ? "" : groups[static_cast<std::size_t>(members[i].group)].name;
    return out;
}

/// A small GPT-2-shaped model: every tensor of gpt2Names(2) with `value` everywhere but an
/// integer buffer; written as safetensors.
void writeGpt2(const std::string &path, double value, const std::string &changed = "")
{
    std::vector<mftest::TestTensor> tensors;
    for (const std::string &name : gpt2Names(2))
        tensors.push_back({name, mf::DType::F32, {3}, std::vector<double>(3, value)});
    if (!changed.empty())
        for (auto &t : tensors)
            if (t.name == changed)
                t.values[1] += 0.5;
    tensors.push_back({"transformer.h.0.attn.bias", mf::DType::I64, {1}, {1}});
    mftest::writeCheckpoint(path, tensors);
}

std::vector<mf::CoefficientGroup> gpt2Groups()
{
    return {{"embeddings", "^transformer\\.w[tp]e\\.", false},
            {"blocks", "^transformer\\.h\\.", true},
            {"rest", "", false}};
}

mf::MergeRequest gpt2Request(const TempDir &dir)
{
    writeGpt2(dir.file("base.safetensors"), 0);
    writeGpt2(dir.file("a.safetensors"), 1);
    writeGpt2(dir.file("b.safetensors"), 2);
    mf::MergeRequest request;
    request.basePath = dir.file("base.safetensors");
    request.modelPaths = {dir.file("a.safetensors"), dir.file("b.safetensors")};
    request.options.groups = gpt2Groups();
    // Columns: embeddings, blocks:first, blocks:last, rest.
    request.coefficients = {0.1, 0.2, 0.6, 0.3, /* b: */ 0.05, 0.4, 0.0, 0.25};
    request.threads = 2;
    request.sync = false;
    return request;
}

void quiet(const std::string &)
{
}

} // namespace

void TestBlockwise::readsLayerIndices()
{
    QCOMPARE(mf::layerIndex("transformer.h.3.attn.c_attn.weight"), 3);
    QCOMPARE(mf::layerIndex("model.layers.12.mlp.down_proj.weight"), 12);
    QCOMPARE(mf::layerIndex("backbone.0.weight"), 0);
    QCOMPARE(mf::layerIndex("encoder.block.7"), 7);
    QCOMPARE(mf::layerIndex("transformer.wte.weight"), -1);
    QCOMPARE(mf::layerIndex("h1.weight"), -1); // digits inside a word are not a layer
    QCOMPARE(mf::layerIndex("0.weight"), -1);  // nor a leading index without a stack
}

void TestBlockwise::assignsHfNamesByHand()
{
    const std::vector<mf::CoefficientGroup> groups = {
        {"embeddings", "^transformer\\.w[tp]e\\.", false},
        {"lower", "^transformer\\.h\\.[01]\\.", false},
        {"upper", "^transformer\\.h\\.[23]\\.", false},
        {"rest", "", false}};
    const auto of = groupOf(gpt2Names(), groups);
    QCOMPARE(of.at("transformer.wte.weight"), std::string("embeddings"));
    QCOMPARE(of.at("transformer.wpe.weight"), std::string("embeddings"));
    QCOMPARE(of.at("transformer.h.0.ln_1.weight"), std::string("lower"));
    QCOMPARE(of.at("transformer.h.1.attn.c_attn.bias"), std::string("lower"));
    QCOMPARE(of.at("transformer.h.2.mlp.c_fc.weight"), std::string("upper"));
    QCOMPARE(of.at("transformer.h.3.attn.c_proj.weight"), std::string("upper"));
    QCOMPARE(of.at("transformer.ln_f.weight"), std::string("rest"));
    QCOMPARE(of.at("transformer.ln_f.bias"), std::string("rest"));
    // Columns, task by task in the coefficient matrix.
    QCOMPARE(mf::groupColumns(groups),
             (std::vector<std::string>{"embeddings", "lower", "upper", "rest"}));
    QCOMPARE(mf::groupColumns(gpt2Groups()),
             (std::vector<std::string>{"embeddings", "blocks:first", "blocks:last", "rest"}));
    QCOMPARE(mf::groupColumns({}), (std::vector<std::string>{""}));
    const std::vector<mf::GroupMember> members = mf::assignGroups(gpt2Names(), gpt2Groups());
    QCOMPARE(members[0].column, 0); // wte: embeddings
    QCOMPARE(members[2].column, 1); // h.0: the ramp's first column
    QVERIFY(members[2].ramp);
    QCOMPARE(members.back().column, 3); // ln_f.bias: rest, after the ramp's two
}

void TestBlockwise::presetsForTransformers()
{
    // GPT-2, 4 layers: embeddings / layers 0-1 / layers 2-3 / the rest (ln_f).
    const std::vector<mf::CoefficientGroup> halves = mf::transformerGroups(gpt2Names());
    QCOMPARE(halves.size(), std::size_t(4));
    const auto of = groupOf(gpt2Names(), halves);
    QCOMPARE(of.at("transformer.wte.weight"), std::string("embeddings"));
    QCOMPARE(of.at("transformer.h.1.mlp.c_fc.weight"), std::string("first half"));
    QCOMPARE(of.at("transformer.h.2.ln_1.bias"), std::string("second half"));
    QCOMPARE(of.at("transformer.ln_f.weight"), std::string("head"));
    // Llama, 2 layers, head stored: lm_head and model.norm are "head".
    const auto llama = groupOf(llamaNames(), mf::transformerGroups(llamaNames()));
    QCOMPARE(llama.at("model.embed_tokens.weight"), std::string("embeddings"));
    QCOMPARE(llama.at("model.layers.0.mlp.down_proj.weight"), std::string("first half"));
    QCOMPARE(llama.at("model.layers.1.input_layernorm.weight"), std::string("second half"));
    QCOMPARE(llama.at("lm_head.weight"), std::string("head"));
    QCOMPARE(llama.at("model.norm.weight"), std::string("head"));
    // The ramp preset: one ramp over every layer.
    const std::vector<mf::CoefficientGroup> ramp = mf::transformerGroups(gpt2Names(), true);
    QCOMPARE(ramp[1].name, std::string("layers"));
    QVERIFY(ramp[1].ramp);
    QCOMPARE(groupOf(gpt2Names(), ramp).at("transformer.h.3.attn.c_attn.bias"),
             std::string("layers"));
    // Names without layers have nothing to offer.
    QVERIFY(mftest::errorOf([] {
                mf::transformerGroups({"encoder.weight", "head.weight"});
            }).find("fewer than two numbered layers") != std::string::npos);
}

void TestBlockwise::rampByHand()
{
    // Layers 0..3, first 0.2, last 0.8: 0.2, 0.4, 0.6, 0.8 per layer (task a);
    // task b from 1.0 down to 0.0: 1, 2/3, 1/3, 0.
    const std::vector<std::string> names = {"m.h.0.w", "m.h.1.w", "m.h.2.w", "m.h.3.w"};
    const std::vector<mf::CoefficientGroup> groups = {{"blocks", "\\.h\\.", true}};
    const std::vector<mf::GroupMember> members = mf::assignGroups(names, groups);
    const std::vector<double> matrix = {0.2, 0.8, 1.0, 0.0};
    const double wantA[] = {0.2, 0.4, 0.6, 0.8};
    const double wantB[] = {1.0, 2.0 / 3, 1.0 / 3, 0.0};
    for (std::size_t l = 0; l < 4; ++l) {
        double c[2];
        mf::memberCoefficients(members[l], matrix.data(), 2, 2, c);
        QVERIFY2(std::fabs(c[0] - wantA[l]) < 1e-15, std::to_string(c[0]).c_str());
        QVERIFY2(std::fabs(c[1] - wantB[l]) < 1e-15, std::to_string(c[1]).c_str());
    }
    // A ramp over layers 2..6 of its own (another group takes 0-1): position 0 at layer 2.
    const std::vector<std::string> more = {"m.h.0.w", "m.h.1.w", "m.h.2.w", "m.h.4.w", "m.h.6.w"};
    const std::vector<mf::GroupMember> split = mf::assignGroups(
        more, {{"low", "\\.h\\.[01]\\.", false}, {"high", "\\.h\\.[2-9]\\.", true}});
    QCOMPARE(split[2].position, 0.0);
    QCOMPARE(split[3].position, 0.5);
    QCOMPARE(split[4].position, 1.0);
    QCOMPARE(split[2].column, 1);
    // One layer only: the first value throughout.
    const auto single = mf::assignGroups({"m.h.5.a", "m.h.5.b"}, {{"r", "\\.h\\.", true}});
    QCOMPARE(single[1].position, 0.0);
}

void TestBlockwise::refusesOverlapsAndOrphans()
{
    const std::vector<std::string> names = gpt2Names(2);
    std::string e = mftest::errorOf([&] {
        mf::assignGroups(names, {{"all blocks", "\\.h\\.", false},
                                 {"first", "\\.h\\.0\\.", false},
                                 {"rest", "", false}});
    });
    QVERIFY2(e.find("overlap") != std::string::npos &&
                 e.find("transformer.h.0.ln_1.weight (all blocks, first)") != std::string::npos,
             e.c_str());
    e = mftest::errorOf([&] { mf::assignGroups(names, {{"blocks", "\\.h\\.", false}}); });
    QVERIFY2(e.find("miss 4 merged tensor(s)") != std::string::npos &&
                 e.find("transformer.wte.weight") != std::string::npos &&
                 e.find("transformer.ln_f.bias") != std::string::npos,
             e.c_str());
    e = mftest::errorOf([&] { mf::assignGroups(names, {{"ramp", "^transformer\\.", true}}); });
    QVERIFY2(e.find("without a layer index") != std::string::npos &&
                 e.find("transformer.wte.weight (ramp)") != std::string::npos,
             e.c_str());
    e = mftest::errorOf([&] {
        mf::assignGroups(names, {{"attention", "\\.attn\\.", false},
                                 {"typo", "\\.atn\\.", false},
                                 {"rest", "", false}});
    });
    QVERIFY2(e.find("'typo' holds no merged tensor") != std::string::npos, e.c_str());
    // Settings errors, before any tensor is looked at.
    e = mftest::errorOf([] { mf::validateGroups({{"a", "(", false}}); });
    QVERIFY2(e.find("group 'a': invalid regex '('") != std::string::npos, e.c_str());
    e = mftest::errorOf([] { mf::validateGroups({{"a", "x", false}, {"a", "y", false}}); });
    QVERIFY2(e.find("two coefficient groups are named 'a'") != std::string::npos, e.c_str());
    e = mftest::errorOf([] { mf::validateGroups({{"r1", "", false}, {"r2", "", false}}); });
    QVERIFY2(e.find("more than one group takes the rest") != std::string::npos, e.c_str());
    e = mftest::errorOf([] { mf::validateGroups({{"r", "", true}}); });
    QVERIFY2(e.find("ramp without a regex") != std::string::npos, e.c_str());
    // And through a merge: nothing written.
    TempDir dir;
    mf::MergeRequest request = gpt2Request(dir);
    request.options.groups = {{"blocks", "\\.h\\.", false}};
    request.coefficients = {0.5, 0.5};
    request.outPath = dir.file("out.safetensors");
    e = mftest::errorOf([&] { mf::runMerge(request, quiet); });
    QVERIFY2(e.find("coefficient groups miss") != std::string::npos, e.c_str());
    QVERIFY(!std::filesystem::exists(request.outPath));
    // A coefficient matrix of the wrong size names the shape expected.
    request = gpt2Request(dir);
    request.coefficients = {0.5, 0.5};
    request.outPath = dir.file("out.safetensors");
    e = mftest::errorOf([&] { mf::runMerge(request, quiet); });
    QVERIFY2(e.find("2 models and 4 group columns; give 8, task by task") != std::string::npos,
             e.c_str());
}

void TestBlockwise::mergesEachGroupWithItsCoefficients()
{
    // base 0, a 1, b 2 everywhere: a merged tensor is c_a + 2 c_b with its group's c.
    TempDir dir;
    mf::MergeRequest request = gpt2Request(dir);
    request.outPath = dir.file("out.safetensors");
    const mf::MergeReport report = mf::runMerge(request, quiet);
    QCOMPARE(report.mergedTensors, std::uint64_t(gpt2Names(2).size()));
    const mf::Checkpoint out = mf::Checkpoint::open(request.outPath);
    auto value = [&](const std::string &name) {
        return mftest::valuesOf(*out.find(name))[0];
    };
    auto near = [](double a, double b) {
        return std::fabs(a - b) < 1e-6;
    };
    QVERIFY(near(value("transformer.wte.weight"), 0.1 + 2 * 0.05));
    QVERIFY(near(value("transformer.h.0.attn.c_attn.weight"), 0.2 + 2 * 0.4)); // first layer
    QVERIFY(near(value("transformer.h.1.mlp.c_fc.weight"), 0.6 + 2 * 0.0));    // last layer
    QVERIFY(near(value("transformer.ln_f.bias"), 0.3 + 2 * 0.25));
    const double buffer = mftest::valuesOf(*out.find("transformer.h.0.attn.bias"))[0];
    QCOMPARE(buffer, 1.0); // copied
    // The provenance says the groups and each task's row.
    const auto models = nlohmann::json::parse(out.metadata().at("mergefront.models"));
    QCOMPARE(models[1]["coefficients"].get<std::vector<double>>(),
             (std::vector<double>{0.05, 0.4, 0.0, 0.25}));
    QVERIFY(out.metadata().at("mergefront.groups").find("blocks") != std::string::npos);
    // The plan says which tensors each group holds.
    bool said = false;
    mf::planMergeOnly(request, [&](const std::string &line) {
        said = said || line.find("group 'blocks': 12 tensors (36 parameters), a ramp from "
                                 "layer 0 to 1") != std::string::npos;
    });
    QVERIFY(said);
}

void TestBlockwise::oneGroupIsTaskWise()
{
    // One group over everything with the task coefficients = the task-wise merge, bit for bit,
    // for TIES too (its trimming and election do not depend on the coefficients).
    TempDir dir;
    for (const mf::MergeMethod method : {mf::MergeMethod::TaskArithmetic, mf::MergeMethod::Ties}) {
        mf::MergeRequest request = gpt2Request(dir);
        request.options.method = method;
        request.options.groups.clear();
        request.coefficients = {0.7, 0.2};
        request.outPath = dir.file("taskwise.safetensors");
        mf::runMerge(request, quiet);
        request.options.groups = {{"all", ".", false}};
        request.outPath = dir.file("onegroup.safetensors");
        mf::runMerge(request, quiet);
        const mf::Checkpoint a = mf::Checkpoint::open(dir.file("taskwise.safetensors"));
        const mf::Checkpoint b = mf::Checkpoint::open(dir.file("onegroup.safetensors"));
        for (const mf::TensorRef &t : a.tensors())
            QCOMPARE(mftest::valuesOf(*b.find(t.name)), mftest::valuesOf(t));
    }
}

void TestBlockwise::recipeReplaysBitForBit()
{
    TempDir dir;
    for (const std::string out : {"merged.safetensors", "merged/"}) {
        mf::MergeRequest request = gpt2Request(dir);
        request.options.method = mf::MergeMethod::DareTies;
        request.options.seed = 7;
        request.options.density = 0.6;
        request.outPath = dir.file(out);
        const mf::MergeReport report = mf::runMerge(request, quiet);
        mf::writeFileAtomically(dir.file("recipe.json"), mf::recipeJson(request, report).dump(2));
        mf::MergeRequest replay = mf::readRecipe(dir.file("recipe.json"));
        QCOMPARE(replay.coefficients, request.coefficients);
        QVERIFY(replay.options.groups == request.options.groups);
        QCOMPARE(replay.expectedFingerprints, report.fingerprints);
        replay.outPath = dir.file("replayed-" + out);
        replay.sync = false;
        const mf::MergeReport again = mf::runMerge(replay, quiet);
        // Every weight file byte for byte (the folder's model card says how each was made).
        const std::string first = report.outputs.front(), second = again.outputs.front();
        QVERIFY2(mftest::readFile(first) == mftest::readFile(second),
                 (first + " " + second).c_str());
    }
}

void TestBlockwise::recipeRefusesChangedSources()
{
    TempDir dir;
    mf::MergeRequest request = gpt2Request(dir);
    request.outPath = dir.file("merged.safetensors");
    const mf::MergeReport report = mf::runMerge(request, quiet);
    mf::writeFileAtomically(dir.file("recipe.json"), mf::recipeJson(request, report).dump(2));
    // Task b retrained (one value differs), the base untouched.
    writeGpt2(dir.file("b.safetensors"), 2, "transformer.h.1.mlp.c_fc.weight");
    mf::MergeRequest replay = mf::readRecipe(dir.file("recipe.json"));
    replay.outPath = dir.file("replayed.safetensors");
    const std::string e = mftest::errorOf([&] { mf::runMerge(replay, quiet); });
    QVERIFY2(e.find("1 source(s) changed") != std::string::npos &&
                 e.find("task 'b' (" + dir.file("b.safetensors")) != std::string::npos &&
                 e.find("the recipe says " + report.fingerprints[2]) != std::string::npos,
             e.c_str());
    QVERIFY(!std::filesystem::exists(replay.outPath));
}

void TestBlockwise::recipeErrorsNameTheKey()
{
    TempDir dir;
    mf::MergeRequest request = gpt2Request(dir);
    request.outPath = dir.file("merged.safetensors");
    const mf::MergeReport report = mf::runMerge(request, quiet);
    const nlohmann::ordered_json recipe = mf::recipeJson(request, report);
    auto errorWith = [&](const std::function<void(nlohmann::ordered_json &)> &edit) {
        nlohmann::ordered_json copy = recipe;
        edit(copy);
        mftest::writeFile(dir.file("bad.json"), copy.dump());
        return mftest::errorOf([&] { mf::readRecipe(dir.file("bad.json")); });
    };
    std::string e = errorWith([](auto &r) { r["coefficients"][1].erase(0); });
    QVERIFY2(e.find("recipe " + dir.file("bad.json") +
                    ": coefficient row 2 has 3 values for 4 group column(s)") != std::string::npos,
             e.c_str());
    e = errorWith([](auto &r) { r["models"][0].erase("fingerprint"); });
    QVERIFY2(e.find("model 1 has no \"fingerprint\"") != std::string::npos, e.c_str());
    e = errorWith([](auto &r) { r["groups"][1]["include"] = "("; });
    QVERIFY2(e.find("group 'blocks': invalid regex") != std::string::npos, e.c_str());
    e = errorWith([](auto &r) { r["recipe"] = 99; });
    QVERIFY2(e.find("newer Mergefront") != std::string::npos, e.c_str());
    e = errorWith([](auto &r) { r["method"] = "slerp"; });
    QVERIFY2(e.find("unknown merge method 'slerp'") != std::string::npos, e.c_str());
    mftest::writeFile(dir.file("bad.json"), "{\"recipe\": 1,");
    e = mftest::errorOf([&] { mf::readRecipe(dir.file("bad.json")); });
    QVERIFY2(e.find("not valid JSON") != std::string::npos, e.c_str());
    // Relative source paths are read against the recipe's folder.
    nlohmann::ordered_json relative = recipe;
    relative["base"]["path"] = "base.safetensors";
    mftest::writeFile(dir.file("relative.json"), relative.dump());
    QCOMPARE(mf::readRecipe(dir.file("relative.json")).basePath, dir.file("base.safetensors"));
}

MF_TEST_MAIN(TestBlockwise, readsLayerIndices, assignsHfNamesByHand, presetsForTransformers,
             rampByHand, refusesOverlapsAndOrphans, mergesEachGroupWithItsCoefficients,
             oneGroupIsTaskWise, recipeReplaysBitForBit, recipeRefusesChangedSources,
             recipeErrorsNameTheKey)
#ifdef MERGEFRONT_QT_TEST
#include "tst_blockwise.moc"
#endif
