// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/adapter.h"

#include "util/error.h"
#include "util/parallel.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

namespace mf {

namespace fs = std::filesystem;

namespace {

constexpr const char *kConfigName = "adapter_config.json";

std::string numberText(double value)
{
    std::ostringstream out;
    out << value;
    return out.str();
}

std::vector<float> floats(const TensorRef &tensor)
{
    std::vector<float> out(static_cast<std::size_t>(tensor.numel()));
    convertToFloat(tensor.dtype, tensor.data, out.data(), out.size());
    return out;
}

/// PEFT's get_pattern_key: the first key with `(.*\.)?(KEY)$` matching the module name.
template<typename Value>
const std::pair<std::string, Value> *
patternFor(const std::vector<std::pair<std::string, Value>> &pattern, const std::string &module,
           const std::string &what)
{
    for (const auto &entry : pattern) {
        try {
            if (std::regex_match(module, std::regex("(.*\\.)?(" + entry.first + ")")))
                return &entry;
        } catch (const std::regex_error &) {
            throw Error(what + ": key '" + entry.first + "' is not a regular expression");
        }
    }
    return nullptr;
}

/// The layer number in a module's name ("model.layers.3.mlp.up_proj" -> 3), as PEFT finds it
/// for layers_to_transform; -1 when there is none.
int layerIndex(const std::string &module)
{
    static const std::regex number(R"(.*\.[^.]*\.(\d+)\.)");
    std::smatch layer;
    return std::regex_search(module, layer, number) ? std::stoi(layer[1].str()) : -1;
}

/// PEFT's check_target_module_exists, for the module names the file holds.
bool targeted(const AdapterConfig &config, const std::string &module)
{
    bool match = true;
    if (!config.targetRegex.empty()) {
        match = config.targetRegex == "all-linear" ||
                std::regex_match(module, std::regex(config.targetRegex));
    } else if (!config.targetModules.empty()) {
        match = false;
        for (const std::string &target : config.targetModules)
            match = match || module == target || endsWith(module, "." + target);
    }
    if (!match || config.layersToTransform.empty())
        return match;
    const int index = layerIndex(module);
    return index >= 0 && std::find(config.layersToTransform.begin(), config.layersToTransform.end(),
                                   index) != config.layersToTransform.end();
}

/// The base folder's config.json (null when there is none or it does not parse: the adapter
/// then binds by shapes alone).
nlohmann::json baseConfig(const Checkpoint &base)
{
    if (base.folder().empty())
        return nullptr;
    std::ifstream in(fs::path(base.folder()) / "config.json");
    if (!in)
        return nullptr;
    return nlohmann::json::parse(in, nullptr, false);
}

/// A string field of that config ("" when absent).
std::string configText(const nlohmann::json &config, const char *key)
{
    if (!config.is_object() || !config.contains(key) || !config[key].is_string())
        return {};
    return config[key].get<std::string>();
}

/// GPT-2's attention and MLP projections are Conv1D, stored [in, out]: PEFT applies their
/// LoRA transposed whatever fan_in_fan_out says (it warns and sets it).
bool isConv1D(const std::string &modelType, const std::string &module)
{
    if (modelType != "gpt2")
        return false;
    for (const char *name : {".c_attn", ".c_proj", ".c_fc", ".q_attn"})
        if (endsWith(module, name))
            return true;
    return false;
}

template<typename Real>
void computeValues(const TensorDelta &d, std::uint64_t start, std::size_t count, Real *out)
{
    const TensorRef &source = d.source;
    if constexpr (sizeof(Real) == 8)
        convertToDouble(source.dtype, source.data + start * dtypeSize(source.dtype), out, count);
    else
        convertToFloat(source.dtype, source.data + start * dtypeSize(source.dtype), out, count);
    if (d.kind == TensorDelta::Kind::Bias) {
        for (std::size_t i = 0; i < count; ++i)
            out[i] += static_cast<Real>(d.scale * d.bias[start + i]);
        return;
    }
    // ΔW row by row: row i's piece [j0, j1) is scale · Σ_k left[i, k] · right[k, j0..j1).
    std::vector<Real> delta;
    std::uint64_t element = start;
    const std::uint64_t end = start + count;
    const std::size_t r = d.rank;
    while (element < end) {
        const std::uint64_t row = element / d.cols;
        const std::uint64_t j0 = element % d.cols;
        const std::uint64_t j1 = std::min<std::uint64_t>(d.cols, j0 + (end - element));
        const std::size_t width = static_cast<std::size_t>(j1 - j0);
        delta.assign(width, Real(0));
        const float *left = d.left.data() + row * r;
        for (std::size_t k = 0; k < r; ++k) {
            const Real l = left[k];
            const float *right = d.right.data() + k * d.cols + j0;
            for (std::size_t j = 0; j < width; ++j)
                delta[j] += l * static_cast<Real>(right[j]);
        }
        Real *values = out + (element - start);
        const auto scale = static_cast<Real>(d.scale);
        if (d.kind == TensorDelta::Kind::LowRank) {
            for (std::size_t j = 0; j < width; ++j)
                values[j] += scale * delta[j];
        } else { // DoRA: m / ‖W + ΔW‖ per output feature, times W + ΔW
            for (std::size_t j = 0; j < width; ++j) {
                const double factor = d.perColumn ? d.factor[j0 + j] : d.factor[row];
                values[j] =
                    static_cast<Real>(factor * static_cast<double>(values[j] + scale * delta[j]));
            }
        }
        element += width;
    }
}

/// DoRA's magnitude / ‖W + ΔW‖, the norm over the input features of each output feature
/// (PEFT's get_weight_norm), in double over the whole tensor, several rows at a time.
std::vector<double> doraFactors(const TensorDelta &d, const std::vector<float> &magnitude)
{
    const std::size_t features = d.perColumn ? d.cols : d.rows;
    std::vector<double> squares(features, 0.0);
    std::mutex mutex;
    const std::uint64_t rowsPerItem =
        std::max<std::uint64_t>(1, 65536 / std::max<std::uint64_t>(1, d.cols));
    const std::size_t items = static_cast<std::size_t>((d.rows + rowsPerItem - 1) / rowsPerItem);
    TensorDelta plain = d;
    plain.kind = TensorDelta::Kind::LowRank;
    parallelFor(items, defaultThreadCount(), [&](std::size_t item, int) {
        const std::uint64_t first = item * rowsPerItem;
        const std::uint64_t rows = std::min<std::uint64_t>(rowsPerItem, d.rows - first);
        std::vector<double> values(static_cast<std::size_t>(rows * d.cols));
        computeValues<double>(plain, first * d.cols, values.size(), values.data());
        std::vector<double> local(d.perColumn ? features : 0, 0.0);
        std::vector<std::pair<std::size_t, double>> rowSums;
        for (std::uint64_t i = 0; i < rows; ++i) {
            double sum = 0;
            for (std::uint64_t j = 0; j < d.cols; ++j) {
                const double v = values[static_cast<std::size_t>(i * d.cols + j)];
                if (d.perColumn)
                    local[static_cast<std::size_t>(j)] += v * v;
                else
                    sum += v * v;
            }
            if (!d.perColumn)
                rowSums.emplace_back(static_cast<std::size_t>(first + i), sum);
        }
        std::lock_guard<std::mutex> lock(mutex);
        for (std::size_t j = 0; j < local.size(); ++j)
            squares[j] += local[j];
        for (const auto &[row, sum] : rowSums)
            squares[row] += sum;
    });
    std::vector<double> factor(features);
    for (std::size_t f = 0; f < features; ++f)
        factor[f] = magnitude[f] / std::sqrt(squares[f]);
    return factor;
}

} // namespace

bool isAdapterPath(const std::string &path)
{
    std::error_code ec;
    if (fs::is_directory(path, ec))
        return fs::is_regular_file(fs::path(path) / kConfigName, ec);
    const fs::path file(path);
    return startsWith(file.filename().string(), "adapter_model") &&
           fs::is_regular_file(file.parent_path() / kConfigName, ec);
}

std::string adapterFolder(const std::string &path)
{
    std::error_code ec;
    return fs::is_directory(path, ec) ? path : fs::path(path).parent_path().string();
}

AdapterConfig readAdapterConfig(const std::string &folder)
{
    const std::string file = (fs::path(folder) / kConfigName).string();
    std::ifstream in(file);
    if (!in)
        throw Error("cannot read " + file);
    nlohmann::ordered_json json;
    try {
        json = nlohmann::ordered_json::parse(in);
    } catch (const nlohmann::json::exception &e) {
        throw Error(file + " is not valid JSON: " + e.what());
    }
    if (!json.is_object())
        throw Error(file + " is not a JSON object");
    AdapterConfig config;
    const auto key = [&](const char *name) -> const nlohmann::ordered_json * {
        const auto it = json.find(name);
        return it == json.end() || it->is_null() ? nullptr : &*it;
    };
    const auto fail = [&](const std::string &name, const char *expected) {
        return Error(file + ": '" + name + "' is not " + expected);
    };
    try {
        config.peftType = key("peft_type") ? key("peft_type")->get<std::string>() : "LORA";
    } catch (const nlohmann::json::exception &) {
        throw fail("peft_type", "a string");
    }
    if (asciiLower(config.peftType) != "lora")
        throw Error(file + ": peft_type '" + config.peftType +
                    "' is not supported; Mergefront reads LoRA adapters (with rsLoRA, DoRA, "
                    "rank/alpha patterns, modules_to_save, lora_bias). Merge it into its base "
                    "with PEFT's merge_and_unload first");
    const auto number = [&](const char *name, double fallback) {
        const auto *value = key(name);
        if (!value)
            return fallback;
        if (!value->is_number())
            throw fail(name, "a number");
        return value->get<double>();
    };
    const auto flag = [&](const char *name) {
        const auto *value = key(name);
        if (!value)
            return false;
        if (!value->is_boolean())
            throw fail(name, "true or false");
        return value->get<bool>();
    };
    const double r = number("r", 8);
    if (r < 1 || r != std::floor(r))
        throw fail("r", "a positive whole number");
    config.r = static_cast<int>(r);
    config.alpha = number("lora_alpha", 8);
    config.rslora = flag("use_rslora");
    config.fanInFanOut = flag("fan_in_fan_out");
    config.dora = flag("use_dora");
    config.loraBias = flag("lora_bias");
    for (const char *name : {"rank_pattern", "alpha_pattern"}) {
        const auto *pattern = key(name);
        if (!pattern)
            continue;
        if (!pattern->is_object())
            throw fail(name, "an object");
        for (const auto &[k, v] : pattern->items()) {
            if (!v.is_number())
                throw fail(std::string(name) + "." + k, "a number");
            if (std::string(name) == "rank_pattern")
                config.rankPattern.emplace_back(k, v.get<int>());
            else
                config.alphaPattern.emplace_back(k, v.get<double>());
        }
    }
    if (const auto *targets = key("target_modules")) {
        if (targets->is_string())
            config.targetRegex = targets->get<std::string>();
        else if (targets->is_array())
            for (const auto &t : *targets) {
                if (!t.is_string())
                    throw fail("target_modules", "a list of names or a regex");
                config.targetModules.push_back(t.get<std::string>());
            }
        else
            throw fail("target_modules", "a list of names or a regex");
    }
    if (const auto *layers = key("layers_to_transform")) {
        if (layers->is_number_integer())
            config.layersToTransform.push_back(layers->get<int>());
        else if (layers->is_array())
            for (const auto &l : *layers) {
                if (!l.is_number_integer())
                    throw fail("layers_to_transform", "a layer number or a list of them");
                config.layersToTransform.push_back(l.get<int>());
            }
        else
            throw fail("layers_to_transform", "a layer number or a list of them");
    }
    if (const auto *saved = key("modules_to_save")) {
        if (!saved->is_array())
            throw fail("modules_to_save", "a list of names");
        for (const auto &m : *saved)
            if (m.is_string())
                config.modulesToSave.push_back(m.get<std::string>());
    }
    if (const auto *base = key("base_model_name_or_path"); base && base->is_string())
        config.baseModel = base->get<std::string>();
    return config;
}

Checkpoint openAdapterWeights(const std::string &path)
{
    const fs::path folder(adapterFolder(path));
    std::string file;
    std::error_code ec;
    if (!fs::is_directory(path, ec))
        file = path;
    else
        for (const char *name : {"adapter_model.safetensors", "adapter_model.bin"})
            if (file.empty() && fs::is_regular_file(folder / name, ec))
                file = (folder / name).string();
    if (file.empty())
        throw Error("adapter folder " + folder.string() +
                    " holds adapter_config.json but no adapter_model.safetensors or "
                    "adapter_model.bin");
    Checkpoint weights = Checkpoint::open(file);
    weights.setSource(file, "peft-lora");
    weights.setFolder(folder.string());
    std::ifstream config(folder / kConfigName, std::ios::binary);
    std::ostringstream text;
    text << config.rdbuf();
    weights.mutableMetadata()["peft.adapter_config"] = text.str();
    return weights;
}

Checkpoint openStored(const std::string &path)
{
    return isAdapterPath(path) ? openAdapterWeights(path) : Checkpoint::open(path);
}

AdapterSummary summarizeAdapter(const Checkpoint &weights, const AdapterConfig &config,
                                const std::string &name)
{
    AdapterSummary summary;
    summary.config = config;
    std::map<std::string, AdapterModule> modules;
    std::vector<std::string> order;
    const auto module = [&](const std::string &moduleName) -> AdapterModule & {
        auto [it, inserted] = modules.try_emplace(moduleName);
        if (inserted) {
            order.push_back(moduleName);
            it->second.module = moduleName;
            it->second.weight = moduleName + ".weight";
        }
        return it->second;
    };
    static const std::regex savedCopy(R"(\.modules_to_save\.[^.]+\.)");
    for (const TensorRef &tensor : weights.tensors()) {
        std::string key = startsWith(tensor.name, kPeftKeyPrefix)
                              ? tensor.name.substr(std::string(kPeftKeyPrefix).size())
                              : tensor.name;
        const auto strip = [&](const char *suffix) {
            if (!endsWith(key, suffix))
                return false;
            key.resize(key.size() - std::string(suffix).size());
            return true;
        };
        if (strip(".lora_A.weight"))
            module(key).a = &tensor;
        else if (strip(".lora_B.weight"))
            module(key).b = &tensor;
        else if (strip(".lora_B.bias"))
            module(key).loraBias = &tensor;
        else if (strip(".lora_embedding_A"))
            module(key).a = &tensor, module(key).embedding = true;
        else if (strip(".lora_embedding_B"))
            module(key).b = &tensor, module(key).embedding = true;
        else if (strip(".lora_magnitude_vector.weight") || strip(".lora_magnitude_vector"))
            module(key).magnitude = &tensor;
        else if (key.find("lora_") != std::string::npos)
            throw Error("adapter " + name + ": tensor '" + tensor.name +
                        "' is no LoRA factor Mergefront knows (lora_A/B, lora_embedding_A/B, "
                        "lora_magnitude_vector)");
        else {
            key = std::regex_replace(key, savedCopy, ".");
            const std::size_t base = key.rfind(".base_layer.");
            if (base != std::string::npos)
                key.erase(base, std::string(".base_layer").size());
            summary.saved.emplace_back(key, &tensor);
            summary.parameters += tensor.numel();
        }
    }
    for (const std::string &moduleName : order) {
        AdapterModule m = modules[moduleName];
        const std::string what = "adapter " + name + ": module '" + moduleName + "'";
        if (!m.a || !m.b)
            throw Error(what + " has " + (m.a ? "lora_A but no lora_B" : "lora_B but no lora_A") +
                        (m.magnitude && !m.a && !m.b ? " (only a DoRA magnitude)" : ""));
        if (m.a->shape.size() != 2 || m.b->shape.size() != 2 || !isFloating(m.a->dtype) ||
            !isFloating(m.b->dtype))
            throw Error(what + ": lora_A " + formatShape(m.a->shape) + " and lora_B " +
                        formatShape(m.b->shape) + " are not floating-point matrices");
        m.rank = static_cast<int>(m.a->shape[0]);
        if (m.b->shape[1] != m.a->shape[0])
            throw Error(what + ": lora_B " + formatShape(m.b->shape) + " does not fit lora_A " +
                        formatShape(m.a->shape) + " (B's columns are the rank, A's rows)");
        const auto *rank = patternFor(config.rankPattern, moduleName, "rank_pattern");
        const int configured = rank ? rank->second : config.r;
        if (configured != m.rank)
            throw Error(what + ": lora_A has rank " + std::to_string(m.rank) + " but " +
                        (rank ? "rank_pattern '" + rank->first + "'" : std::string("r")) +
                        " says " + std::to_string(configured));
        const auto *alpha = patternFor(config.alphaPattern, moduleName, "alpha_pattern");
        m.alpha = alpha ? alpha->second : config.alpha;
        m.scale =
            config.rslora ? m.alpha / std::sqrt(static_cast<double>(m.rank)) : m.alpha / m.rank;
        m.dora = m.magnitude != nullptr;
        if (config.dora && !m.dora)
            throw Error(what + ": use_dora is set but the adapter has no lora_magnitude_vector "
                               "for it");
        m.bias = m.loraBias != nullptr;
        bool selected = false;
        try {
            selected = targeted(config, moduleName);
        } catch (const std::regex_error &) {
            throw Error("adapter " + name + ": target_modules '" + config.targetRegex +
                        "' is not a regular expression");
        }
        if (!selected) {
            summary.ignored.push_back(moduleName); // PEFT builds no LoRA layer there
            continue;
        }
        for (const TensorRef *t : {m.a, m.b, m.magnitude, m.loraBias})
            summary.parameters += t ? t->numel() : 0;
        summary.kinds.insert(moduleName.substr(moduleName.rfind('.') + 1));
        if (const int layer = layerIndex(moduleName); layer >= 0)
            summary.layers.insert(layer);
        summary.modules.push_back(m);
    }
    return summary;
}

std::vector<std::string> describeAdapter(const AdapterSummary &summary)
{
    const AdapterConfig &c = summary.config;
    std::vector<std::string> lines;
    std::map<int, int> ranks;
    std::map<double, int> scales;
    int dora = 0, bias = 0, embedding = 0;
    for (const AdapterModule &m : summary.modules) {
        ++ranks[m.rank];
        ++scales[m.scale];
        dora += m.dora;
        bias += m.bias;
        embedding += m.embedding;
    }
    const std::set<std::string> &kinds = summary.kinds;
    const std::set<int> &layers = summary.layers;
    std::string rankText, scaleText, kindText;
    for (const auto &[rank, count] : ranks)
        rankText += (rankText.empty() ? "" : ", ") + std::to_string(rank) + " (" +
                    std::to_string(count) + (count == 1 ? " module)" : " modules)");
    for (const auto &[scale, count] : scales)
        scaleText += (scaleText.empty() ? "" : ", ") + numberText(scale) + " (" +
                     std::to_string(count) + ")";
    for (const std::string &kind : kinds)
        kindText += (kindText.empty() ? "" : ", ") + kind;
    lines.push_back("PEFT LoRA adapter: " + std::to_string(summary.modules.size()) +
                    " modules adapted, " + std::to_string(summary.parameters) + " parameters");
    lines.push_back("rank: " + (rankText.empty() ? std::string("-") : rankText) + "; lora_alpha " +
                    numberText(c.alpha) + (c.alphaPattern.empty() ? "" : " (with alpha_pattern)") +
                    (c.rankPattern.empty() ? "" : "; rank_pattern") +
                    (c.rslora ? "; rsLoRA (alpha / sqrt r)" : "; alpha / r"));
    lines.push_back("scale: " + (scaleText.empty() ? std::string("-") : scaleText));
    lines.push_back("targets: " + (kindText.empty() ? std::string("-") : kindText) +
                    (layers.empty() ? std::string()
                                    : " in layers " + std::to_string(*layers.begin()) + "-" +
                                          std::to_string(*layers.rbegin()) + " (" +
                                          std::to_string(layers.size()) + " layers)") +
                    (c.fanInFanOut ? "; fan_in_fan_out" : ""));
    std::vector<std::string> also;
    if (dora)
        also.push_back("DoRA on " + std::to_string(dora) + " modules");
    if (bias)
        also.push_back("lora_bias on " + std::to_string(bias) + " modules");
    if (embedding)
        also.push_back("embedding LoRA on " + std::to_string(embedding) + " modules");
    if (!summary.ignored.empty())
        also.push_back(std::to_string(summary.ignored.size()) + " modules in the file but not " +
                       "in target_modules/layers_to_transform, ignored as PEFT does (" +
                       summary.ignored.front() + (summary.ignored.size() > 1 ? ", ...)" : ")"));
    for (const std::string &line : also)
        lines.push_back("also: " + line);
    if (!summary.saved.empty()) {
        std::string saved;
        for (const auto &[name, tensor] : summary.saved)
            saved += (saved.empty() ? "" : ", ") + name + " " + formatShape(tensor->shape);
        lines.push_back("saved whole (modules_to_save): " + saved);
    }
    lines.push_back("expects the base: " +
                    (c.baseModel.empty() ? std::string("(not named)") : c.baseModel));
    return lines;
}

void readValues(const TensorRef &tensor, std::uint64_t start, std::size_t count, float *out)
{
    if (tensor.delta)
        computeValues<float>(*tensor.delta, start, count, out);
    else
        convertToFloat(tensor.dtype, tensor.data + start * dtypeSize(tensor.dtype), out, count);
}

void readValues(const TensorRef &tensor, std::uint64_t start, std::size_t count, double *out)
{
    if (tensor.delta)
        computeValues<double>(*tensor.delta, start, count, out);
    else
        convertToDouble(tensor.dtype, tensor.data + start * dtypeSize(tensor.dtype), out, count);
}

Checkpoint bindAdapter(const std::string &path, const Checkpoint &base)
{
    const std::string folder = adapterFolder(path);
    Checkpoint weights = openAdapterWeights(path);
    const AdapterConfig config = readAdapterConfig(folder);
    const AdapterSummary summary = summarizeAdapter(weights, config, folder);
    const nlohmann::json baseJson = baseConfig(base);
    const std::string modelType = configText(baseJson, "model_type");

    Checkpoint bound;
    bound.setSource(weights.path(), "peft-lora");
    bound.setFolder(folder);
    // Whole tensors the adapter saves take the base tensor's place (or are the task's own).
    std::map<std::string, TensorRef> replaced;
    for (const auto &[name, tensor] : summary.saved) {
        TensorRef ref = *tensor;
        ref.name = name;
        replaced[name] = ref;
    }
    std::map<std::string, const TensorDelta *> deltas;
    std::set<std::string> targets;
    for (const AdapterModule &m : summary.modules) {
        const std::string what = "adapter " + folder + ": module '" + m.module + "'";
        const auto replacement = replaced.find(m.weight);
        const TensorRef *source =
            replacement != replaced.end() ? &replacement->second : base.findOrTied(m.weight);
        if (!source)
            throw Error(what + " is not in the base: " + base.path() + " has no tensor '" +
                        m.weight + "'");
        if (source->shape.size() != 2 || !isFloating(source->dtype))
            throw Error(what + ": the base's " + m.weight + " is " + formatShape(source->shape) +
                        " " + dtypeName(source->dtype) + ", not a floating-point matrix");
        auto delta = std::make_shared<TensorDelta>();
        delta->source = *source;
        delta->rows = static_cast<std::uint64_t>(source->shape[0]);
        delta->cols = static_cast<std::uint64_t>(source->shape[1]);
        delta->rank = static_cast<std::size_t>(m.rank);
        delta->scale = m.scale;
        delta->embedding = m.embedding;
        delta->module = m.module;
        // B A is [B rows, A cols]; stored transposed for embeddings and [in, out] weights.
        const std::int64_t out = m.b->shape[0], in = m.a->shape[1];
        const bool plainFits = source->shape[0] == out && source->shape[1] == in;
        const bool transposedFits = source->shape[0] == in && source->shape[1] == out;
        bool transposed = m.embedding || config.fanInFanOut || isConv1D(modelType, m.module);
        if (transposed ? !transposedFits : !plainFits) {
            if (m.embedding || !(transposed ? plainFits : transposedFits))
                throw Error(what + ": lora_B " + formatShape(m.b->shape) + " x lora_A " +
                            formatShape(m.a->shape) + " gives " + formatShape({out, in}) +
                            (transposed ? " (transposed)" : "") +
                            ", which does not fit the base's " + m.weight + " " +
                            formatShape(source->shape));
            transposed = !transposed; // decided by the base's shape, as the weight is stored
            bound.addNote(what + ": applied " + (transposed ? "transposed" : "untransposed") +
                          ", as the base's " + formatShape(source->shape) +
                          " weight is stored "
                          "(fan_in_fan_out says otherwise)");
        }
        delta->transposed = transposed;
        const std::vector<float> a = floats(*m.a), b = floats(*m.b);
        const std::size_t r = delta->rank;
        if (!transposed) { // left = B [out, r], right = A [r, in]
            delta->left = b;
            delta->right = a;
        } else { // stored [in, out] = (B A)ᵀ = Aᵀ Bᵀ: left = Aᵀ [in, r], right = Bᵀ [r, out]
            delta->left.resize(static_cast<std::size_t>(in) * r);
            delta->right.resize(r * static_cast<std::size_t>(out));
            for (std::size_t k = 0; k < r; ++k) {
                for (std::int64_t i = 0; i < in; ++i)
                    delta->left[static_cast<std::size_t>(i) * r + k] =
                        a[k * static_cast<std::size_t>(in) + static_cast<std::size_t>(i)];
                for (std::int64_t o = 0; o < out; ++o)
                    delta->right[k * static_cast<std::size_t>(out) + static_cast<std::size_t>(o)] =
                        b[static_cast<std::size_t>(o) * r + k];
            }
        }
        if (m.dora) {
            delta->kind = TensorDelta::Kind::Dora;
            delta->perColumn = transposed;
            const std::size_t features =
                static_cast<std::size_t>(transposed ? delta->cols : delta->rows);
            if (m.magnitude->numel() != features)
                throw Error(what + ": lora_magnitude_vector " + formatShape(m.magnitude->shape) +
                            " does not fit the " + std::to_string(features) +
                            " output features of " + m.weight + " " + formatShape(source->shape));
            delta->factor = doraFactors(*delta, floats(*m.magnitude));
        }
        deltas[m.weight] = bound.ownDelta(delta);
        targets.insert(m.weight);
        if (m.bias) {
            const std::string biasName = m.module + ".bias";
            const TensorRef *baseBias = base.find(biasName);
            if (!baseBias)
                throw Error(what + " has a lora_B bias (lora_bias) but the base has no '" +
                            biasName + "'");
            if (baseBias->numel() != m.loraBias->numel())
                throw Error(what + ": lora_B's bias " + formatShape(m.loraBias->shape) +
                            " does not fit the base's " + biasName + " " +
                            formatShape(baseBias->shape));
            auto biasDelta = std::make_shared<TensorDelta>();
            biasDelta->kind = TensorDelta::Kind::Bias;
            biasDelta->source = *baseBias;
            biasDelta->scale = m.scale;
            biasDelta->module = m.module;
            biasDelta->bias = floats(*m.loraBias);
            deltas[biasName] = bound.ownDelta(biasDelta);
        }
    }
    const auto computed = [&](const TensorRef &like, const TensorDelta *delta) {
        TensorRef ref = like;
        ref.data = nullptr;
        ref.delta = delta;
        return ref;
    };
    std::set<std::string> stored;
    for (const TensorRef &tensor : base.tensors()) {
        stored.insert(tensor.name);
        if (const auto d = deltas.find(tensor.name); d != deltas.end()) {
            TensorRef ref = computed(d->second->source, d->second);
            ref.name = tensor.name;
            bound.addTensor(ref);
        } else if (const auto r = replaced.find(tensor.name); r != replaced.end()) {
            bound.addTensor(r->second);
        } else {
            bound.addTensor(tensor);
        }
    }
    // A module the base ties (lm_head on the embeddings) that the adapter changes is stored.
    for (const auto &[name, delta] : deltas)
        if (!stored.count(name)) {
            TensorRef ref = computed(delta->source, delta);
            ref.name = name;
            bound.addTensor(ref);
            stored.insert(name);
        }
    for (const auto &[name, tensor] : replaced)
        if (!stored.count(name)) {
            bound.addTensor(tensor);
            stored.insert(name);
        }
    for (const auto &[name, storedAs] : base.tied())
        if (!stored.count(name) || base.find(name))
            bound.addTie(name, storedAs);

    const std::vector<std::string> lines = describeAdapter(summary);
    for (std::size_t i = 0; i < lines.size(); ++i)
        bound.addNote(i == 0 ? "adapter " + folder + ": " + lines[i] : lines[i]);
    const std::string expected = configText(baseJson, "_name_or_path");
    if (!config.baseModel.empty() && !expected.empty() && config.baseModel != expected)
        bound.addNote("warning: adapter " + folder + " was trained on '" + config.baseModel +
                      "' but the base's config.json says '" + expected +
                      "' (names often differ; the shapes matched)");
    bound.adopt(std::move(weights));
    return bound;
}

Checkpoint openTaskCheckpoint(const std::string &path, const Checkpoint &base)
{
    return isAdapterPath(path) ? bindAdapter(path, base) : Checkpoint::open(path);
}

} // namespace mf
