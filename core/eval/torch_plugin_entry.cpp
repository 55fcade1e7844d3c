// SPDX-License-Identifier: GPL-3.0-or-later
// The entry points of libmergefront_torch.so (see torch_plugin.h): C linkage, no exception
// crosses them; a failure comes back as false (or null) with its message in `error`.
#include "eval/lm/plugin_entry.h"
#include "eval/torch_network.h"
#include "eval/torch_plugin.h"

#include <exception>
#include <memory>

namespace {

/// Runs `work`; an exception becomes false and its message in `error`.
template<typename Work>
bool guarded(std::string *error, Work work)
{
    try {
        work();
        return true;
    } catch (const std::exception &e) {
        *error = e.what();
        return false;
    }
}

} // namespace

extern "C" mf::eval::Evaluator *
mergefront_create_torch_evaluator(const mf::eval::TorchEvaluatorOptions *options,
                                  std::string *device, std::string *error)
{
    mf::eval::TorchScriptEvaluator *evaluator = nullptr;
    guarded(error, [&] {
        auto made = std::make_unique<mf::eval::TorchScriptEvaluator>(*options);
        *device = made->device();
        evaluator = made.release();
    });
    return evaluator;
}

extern "C" bool mergefront_train_network(mf::eval::Network *network,
                                         const mf::eval::LabelledImages *data,
                                         const mf::eval::TrainOptions *options,
                                         mf::eval::TrainReport *report, std::string *error)
{
    return guarded(error,
                   [&] { *report = mf::eval::torchTrainNetwork(*network, *data, *options); });
}

extern "C" bool mergefront_network_module(const mf::eval::Network *network, std::string *bytes,
                                          std::string *error)
{
    return guarded(error, [&] { *bytes = mf::eval::torchNetworkModule(*network); });
}

extern "C" bool mergefront_train_language_model(mf::eval::Network *network,
                                                const mf::eval::Gpt2Config *config,
                                                const std::vector<mf::eval::TokenStream> *streams,
                                                const mf::eval::LanguageTrainOptions *options,
                                                mf::eval::LanguageTrainReport *report,
                                                std::string *error)
{
    return guarded(error, [&] {
        *report = mf::eval::torchTrainLanguageModel(*network, *config, *streams, *options);
    });
}

extern "C" bool mergefront_language_model_module(const mf::eval::Network *network,
                                                 const mf::eval::Gpt2Config *config,
                                                 std::string *bytes, std::string *error)
{
    return guarded(error, [&] { *bytes = mf::eval::torchLanguageModelModule(*network, *config); });
}

extern "C" mf::eval::lm::CausalLm *
mergefront_load_causal_lm(const mf::eval::lm::LmConfig *config, const mf::Checkpoint *weights,
                          const mf::eval::lm::CausalLmOptions *options, std::string *error)
{
    mf::eval::lm::CausalLm *model = nullptr;
    guarded(error, [&] {
        model = mf::eval::lm::torchLoadCausalLm(*config, *weights, *options).release();
    });
    return model;
}

extern "C" bool mergefront_train_causal_lm(mf::eval::Network *network,
                                           const mf::eval::lm::LmConfig *config, int context,
                                           const std::vector<mf::eval::TokenStream> *streams,
                                           const mf::eval::LanguageTrainOptions *options,
                                           mf::eval::LanguageTrainReport *report,
                                           std::string *error)
{
    return guarded(error, [&] {
        *report = mf::eval::lm::torchTrainCausalLm(*network, *config, context, *streams, *options);
    });
}
