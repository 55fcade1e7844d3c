// SPDX-License-Identifier: GPL-3.0-or-later
#include "eval/torch_plugin.h"

#include "eval/language_model.h"
#include "eval/lm/causal_lm.h"
#include "eval/lm/parameters.h"
#include "eval/network.h"
#include "util/error.h"
#include "util/plugin.h"

#include <dlfcn.h>

#include <vector>

namespace mf::eval {

namespace {

using Factory = Evaluator *(*)(const TorchEvaluatorOptions *, std::string *, std::string *);
using Trainer = bool (*)(Network *, const LabelledImages *, const TrainOptions *, TrainReport *,
                         std::string *);
using ModuleWriter = bool (*)(const Network *, std::string *, std::string *);
using LanguageTrainer = bool (*)(Network *, const Gpt2Config *, const std::vector<TokenStream> *,
                                 const LanguageTrainOptions *, LanguageTrainReport *,
                                 std::string *);
using LanguageModuleWriter = bool (*)(const Network *, const Gpt2Config *, std::string *,
                                      std::string *);

/// The plugin's handle, opened once.
void *pluginHandle()
{
    return openPlugin({"libmergefront_torch.so", "MERGEFRONT_TORCH_PLUGIN",
#ifdef MERGEFRONT_TORCH_PLUGIN_BUILD_PATH
                       MERGEFRONT_TORCH_PLUGIN_BUILD_PATH,
#else
                       "",
#endif
                       "mergefront_create_torch_evaluator",
                       "the TorchScript evaluator plugin (libmergefront_torch.so)",
                       "build with MERGEFRONT_WITH_TORCH=ON, or set MERGEFRONT_TORCH_PLUGIN"});
}

template<typename Function>
Function pluginFunction(const char *name)
{
    void *symbol = ::dlsym(pluginHandle(), name);
    if (!symbol)
        throw Error(std::string("the TorchScript plugin (libmergefront_torch.so) has no ") + name +
                    ": it is older than this program, rebuild it");
    return reinterpret_cast<Function>(symbol);
}

} // namespace

std::unique_ptr<Evaluator> createTorchScriptEvaluator(const TorchEvaluatorOptions &options,
                                                      std::string &device)
{
    const auto factory = pluginFunction<Factory>("mergefront_create_torch_evaluator");
    std::string error;
    Evaluator *evaluator = factory(&options, &device, &error);
    if (!evaluator)
        throw Error(error);
    return std::unique_ptr<Evaluator>(evaluator);
}

TrainReport trainNetwork(Network &network, const LabelledImages &data, const TrainOptions &options)
{
    const auto train = pluginFunction<Trainer>("mergefront_train_network");
    TrainReport report;
    std::string error;
    if (!train(&network, &data, &options, &report, &error))
        throw Error(error);
    return report;
}

std::string networkModule(const Network &network)
{
    const auto write = pluginFunction<ModuleWriter>("mergefront_network_module");
    std::string bytes, error;
    if (!write(&network, &bytes, &error))
        throw Error(error);
    return bytes;
}

LanguageTrainReport trainLanguageModel(Network &network, const Gpt2Config &config,
                                       const std::vector<TokenStream> &streams,
                                       const LanguageTrainOptions &options)
{
    const auto train = pluginFunction<LanguageTrainer>("mergefront_train_language_model");
    LanguageTrainReport report;
    std::string error;
    if (!train(&network, &config, &streams, &options, &report, &error))
        throw Error(error);
    return report;
}

std::string languageModelModule(const Network &network, const Gpt2Config &config)
{
    const auto write = pluginFunction<LanguageModuleWriter>("mergefront_language_model_module");
    std::string bytes, error;
    if (!write(&network, &config, &bytes, &error))
        throw Error(error);
    return bytes;
}

} // namespace mf::eval

namespace mf::eval::lm {

std::unique_ptr<CausalLm> loadCausalLm(const LmConfig &config, const Checkpoint &weights,
                                       const CausalLmOptions &options)
{
    using Loader =
        CausalLm *(*)(const LmConfig *, const Checkpoint *, const CausalLmOptions *, std::string *);
    const auto load = pluginFunction<Loader>("mergefront_load_causal_lm");
    std::string error;
    CausalLm *model = load(&config, &weights, &options, &error);
    if (!model)
        throw Error(error);
    return std::unique_ptr<CausalLm>(model);
}

LanguageTrainReport trainCausalLm(Network &network, const LmConfig &config, int context,
                                  const std::vector<TokenStream> &streams,
                                  const LanguageTrainOptions &options)
{
    using Trainer = bool (*)(Network *, const LmConfig *, int, const std::vector<TokenStream> *,
                             const LanguageTrainOptions *, LanguageTrainReport *, std::string *);
    const auto train = pluginFunction<Trainer>("mergefront_train_causal_lm");
    LanguageTrainReport report;
    std::string error;
    if (!train(&network, &config, context, &streams, &options, &report, &error))
        throw Error(error);
    return report;
}

} // namespace mf::eval::lm
