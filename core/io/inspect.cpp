// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/inspect.h"

#include "util/text.h"

#include <nlohmann/json.hpp>

#include <map>
#include <sstream>

namespace mf {

std::string describeCheckpointJson(const Checkpoint &checkpoint)
{
    nlohmann::ordered_json out;
    out["format"] = checkpoint.format();
    nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
    for (const TensorRef &tensor : checkpoint.tensors())
        tensors.push_back(
            {{"name", tensor.name}, {"dtype", dtypeName(tensor.dtype)}, {"shape", tensor.shape}});
    out["tensors"] = std::move(tensors);
    out["parameters"] = checkpoint.parameterCount();
    out["bytes"] = checkpoint.byteSize();
    out["metadata"] = checkpoint.metadata();
    out["files"] = checkpoint.files();
    out["fingerprint"] = checkpoint.fingerprint();
    if (!checkpoint.folder().empty())
        out["folder"] = checkpoint.folder();
    out["tied"] = checkpoint.tied();
    out["notes"] = checkpoint.notes();
    return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string describeCheckpointText(const Checkpoint &checkpoint)
{
    std::ostringstream out;
    out << checkpoint.path() << "\n";
    out << "  format:      " << checkpoint.format() << "\n";
    out << "  tensors:     " << checkpoint.tensors().size() << "\n";
    out << "  parameters:  " << checkpoint.parameterCount() << "\n";
    out << "  bytes:       " << checkpoint.byteSize() << " (" << formatBytes(checkpoint.byteSize())
        << ")\n";
    out << "  fingerprint: " << checkpoint.fingerprint() << "\n";
    if (!checkpoint.folder().empty())
        out << "  folder:      " << checkpoint.folder() << "\n";
    for (const auto &[name, storedAs] : checkpoint.tied())
        out << "  tied:        " << name << " = " << storedAs << "\n";
    for (const std::string &note : checkpoint.notes())
        out << "  note:        " << note << "\n";
    std::map<std::string, std::pair<std::size_t, std::uint64_t>> byType;
    for (const TensorRef &tensor : checkpoint.tensors()) {
        auto &entry = byType[dtypeName(tensor.dtype)];
        ++entry.first;
        entry.second += tensor.numel();
    }
    out << "  dtypes:     ";
    for (const auto &[name, counts] : byType)
        out << " " << name << " x" << counts.first << " (" << counts.second << " parameters)";
    out << "\n";
    if (!checkpoint.metadata().empty()) {
        out << "  metadata:\n";
        for (const auto &[key, value] : checkpoint.metadata())
            out << "    " << key << " = " << value << "\n";
    }
    out << "  tensors:\n";
    for (const TensorRef &tensor : checkpoint.tensors())
        out << "    " << tensor.name << "  " << dtypeName(tensor.dtype) << "  "
            << formatShape(tensor.shape) << "\n";
    return out.str();
}

std::string describeAdapterText(const AdapterSummary &summary, const Checkpoint &weights)
{
    std::string out = weights.folder() + "\n";
    for (const std::string &line : describeAdapter(summary))
        out += "  " + line + "\n";
    return out + describeCheckpointText(weights);
}

std::string describeAdapterJson(const AdapterSummary &summary, const Checkpoint &weights)
{
    nlohmann::ordered_json out = nlohmann::ordered_json::parse(describeCheckpointJson(weights));
    const AdapterConfig &c = summary.config;
    std::map<std::string, int> ranks;
    nlohmann::ordered_json modules = nlohmann::ordered_json::array();
    for (const AdapterModule &m : summary.modules) {
        ++ranks[std::to_string(m.rank)];
        modules.push_back({{"module", m.module},
                           {"rank", m.rank},
                           {"alpha", m.alpha},
                           {"scale", m.scale},
                           {"embedding", m.embedding},
                           {"dora", m.dora},
                           {"bias", m.bias}});
    }
    nlohmann::ordered_json saved = nlohmann::ordered_json::array();
    for (const auto &[name, tensor] : summary.saved)
        saved.push_back(name);
    out["adapter"] = {{"peft_type", c.peftType},
                      {"modules", summary.modules.size()},
                      {"parameters", summary.parameters},
                      {"ranks", ranks},
                      {"lora_alpha", c.alpha},
                      {"use_rslora", c.rslora},
                      {"use_dora", c.dora},
                      {"lora_bias", c.loraBias},
                      {"fan_in_fan_out", c.fanInFanOut},
                      {"targets", summary.kinds},
                      {"layers", summary.layers},
                      {"modules_to_save", saved},
                      {"base_model_name_or_path", c.baseModel},
                      {"adapted", modules}};
    return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

} // namespace mf
