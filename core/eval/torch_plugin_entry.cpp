// SPDX-License-Identifier: GPL-3.0-or-later
// The entry point of libmergefront_torch.so (see torch_plugin.h).
#include "eval/torch_network.h"
#include "eval/lm/plugin_entry.h"
#include "eval/torch_plugin.h"

#include <exception>

extern "C" mf::eval::Evaluator *
mergefront_create_torch_evaluator(const mf::eval::TorchEvaluatorOptions *options,
                                  std::string *device, std::string *error)
{
    try {
        auto *evaluator = new mf::eval::TorchScriptEvaluator(*options);
        *device = evaluator->device();
        return evaluator;
    } catch (const std::exception &e) {
        *error = e.what();
        return nullptr;
    }
}

extern "C" bool mergefront_train_network(mf::eval::Network *network,
                                         const mf::eval::LabelledImages *data,
                                         const mf::eval::TrainOptions *options,
                                         mf::eval::TrainReport *report, std::string *error)
{
    try {
        *report = mf::eval::torchTrainNetwork(*network, *data, *options);
        return true;
    } catch (const std::exception &e) {
        *error = e.what();
        return false;
    }
}

extern "C" bool mergefront_network_module(const mf::eval::Network *network, std::string *bytes,
                                          std::string *error)
{
    try {
        *bytes = mf::eval::torchNetworkModule(*network);
        return true;
    } catch (const std::exception &e) {
        *error = e.what();
        return false;
    }
}

extern "C" bool mergefront_train_language_model(mf::eval::Network *network,
                                                const mf::eval::Gpt2Config *config,
                                                const std::vector<mf::eval::TokenStream> *streams,
                                                const mf::eval::LanguageTrainOptions *options,
                                                mf::eval::LanguageTrainReport *report,
                                                std::string *error)
{
    try {
        *report = mf::eval::torchTrainLanguageModel(*network, *config, *streams, *options);
        return true;
    } catch (const std::exception &e) {
        *error = e.what();
        return false;
    }
}

extern "C" bool mergefront_language_model_module(const mf::eval::Network *network,
                                                 const mf::eval::Gpt2Config *config,
                                                 std::string *bytes, std::string *error)
{
    try {
        *bytes = mf::eval::torchLanguageModelModule(*network, *config);
        return true;
    } catch (const std::exception &e) {
        *error = e.what();
        return false;
    }
}


extern "C" mf::eval::lm::CausalLm *
mergefront_load_causal_lm(const mf::eval::lm::LmConfig *config, const mf::Checkpoint *weights,
                          const mf::eval::lm::CausalLmOptions *options, std::string *error)
{
    try {
        return mf::eval::lm::torchLoadCausalLm(*config, *weights, *options).release();
    } catch (const std::exception &e) {
        *error = e.what();
        return nullptr;
    }
}

extern "C" bool mergefront_train_causal_lm(mf::eval::Network *network,
                                           const mf::eval::lm::LmConfig *config, int context,
                                           const std::vector<mf::eval::TokenStream> *streams,
                                           const mf::eval::LanguageTrainOptions *options,
                                           mf::eval::LanguageTrainReport *report,
                                           std::string *error)
{
    try {
        *report = mf::eval::lm::torchTrainCausalLm(*network, *config, context, *streams, *options);
        return true;
    } catch (const std::exception &e) {
        *error = e.what();
        return false;
    }
}
