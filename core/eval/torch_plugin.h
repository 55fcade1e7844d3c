// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "eval/torchscript_evaluator.h"

#include <memory>
#include <string>

namespace mf::eval {

/// The TorchScript evaluator lives in a plugin (libmergefront_torch.so) loaded on first use,
/// so that commands which never evaluate in process (inspect, merge, fit, ...) do not pay
/// LibTorch's start-up (about a second here). Looked up, in order: $MERGEFRONT_TORCH_PLUGIN,
/// beside the executable, ../lib/mergefront/ from it, and the build tree.
/// Throws mf::Error when the plugin cannot be found or loaded (with dlerror's reason), and
/// whatever the evaluator's constructor throws.
std::unique_ptr<Evaluator> createTorchScriptEvaluator(const TorchEvaluatorOptions &options,
                                                      std::string &device);

} // namespace mf::eval

/// The plugin's entry point (C linkage, found with dlsym): builds the evaluator; on failure
/// returns null and sets `error`.
extern "C" mf::eval::Evaluator *
mergefront_create_torch_evaluator(const mf::eval::TorchEvaluatorOptions *options,
                                  std::string *device, std::string *error);
