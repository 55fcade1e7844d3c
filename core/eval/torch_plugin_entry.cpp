// SPDX-License-Identifier: GPL-3.0-or-later
// The entry point of libmergefront_torch.so (see torch_plugin.h).
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
