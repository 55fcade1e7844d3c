// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/dtype.h"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <utility>
#include <vector>

namespace mf::map {
class Surrogate;
}

namespace mf::cli {

/// A fitted surrogate as `fit`, `explore`, `status` and `front` print it: metric, model, R²,
/// both leave-one-out errors (null where undefined), samples, parameters.
nlohmann::ordered_json surrogateJson(const map::Surrogate &surrogate);

/// --dtype's names: bf16, f16, f32 (UsageError otherwise).
DType parseOutputDType(const std::string &name);
/// `word` as a shell would need it (quoted only when it must be): command lines in model cards.
std::string shellWord(const std::string &word);

/// Each returns the process exit code; mf::Error -> 1 and UsageError -> 2 are mapped by main.
class Arguments;
/// --out OUT or --out-adapter DIR (a PEFT adapter folder; not both): the output and whether it
/// is an adapter.
std::pair<std::string, bool> outputOrAdapter(const Arguments &args);

int inspectCommand(const std::vector<std::string> &args);
int mergeCommand(const std::vector<std::string> &args);
int fitCommand(const std::vector<std::string> &args);
int qualityCommand(const std::vector<std::string> &args);
int exploreCommand(const std::vector<std::string> &args);
int gridCommand(const std::vector<std::string> &args);
int statusCommand(const std::vector<std::string> &args);
int jobCommand(const std::vector<std::string> &args);
int frontCommand(const std::vector<std::string> &args);
int selectCommand(const std::vector<std::string> &args);
int evaluateCommand(const std::vector<std::string> &args);
int exportCommand(const std::vector<std::string> &args);
int zooCommand(const std::vector<std::string> &args);
int tokenizeCommand(const std::vector<std::string> &args);
int decodeCommand(const std::vector<std::string> &args);
int scoreCommand(const std::vector<std::string> &args);

extern const char *const kInspectUsage;
extern const char *const kMergeUsage;
extern const char *const kFitUsage;
extern const char *const kQualityUsage;
extern const char *const kExploreUsage;
extern const char *const kGridUsage;
extern const char *const kStatusUsage;
extern const char *const kJobUsage;
extern const char *const kFrontUsage;
extern const char *const kSelectUsage;
extern const char *const kEvaluateUsage;
extern const char *const kExportUsage;
extern const char *const kZooUsage;
extern const char *const kTokenizeUsage;
extern const char *const kDecodeUsage;
extern const char *const kScoreUsage;

} // namespace mf::cli
