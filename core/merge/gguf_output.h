// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A merged language model written as one GGUF file that llama.cpp (and so Ollama and LM Studio)
// loads as it is. The mapping is llama.cpp's own converter's (convert_hf_to_gguf.py and
// gguf-py): the architecture's hyperparameters from config.json, tensors renamed to ggml's
// names, Q/K rows of Llama-style models permuted into ggml's rotary layout, GPT-2's Conv1D
// weights transposed, norms and biases kept F32, the tokenizer from tokenizer.json and
// tokenizer_config.json. docs/GGUF.md says it all in one place.
#include "io/checkpoint_writer.h"
#include "io/gguf.h"
#include "merge/merger.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mf {

/// True when `path` names a GGUF output (it ends in .gguf, any case).
bool isGgufOutput(const std::string &path);

/// The architectures Mergefront writes as GGUF, by config.json's model_type, for messages.
const std::vector<std::string> &ggufModelTypes();

/// Where one of the merge's tensors goes in the GGUF file, and how.
struct GgufTensorPlan {
    enum class Layout {
        AsIs,         ///< rows as they are
        PermuteHeads, ///< llama's Q/K: within each of `heads` heads, rows reordered for ggml's rope
        Transpose,    ///< GPT-2's Conv1D [in, out] -> [out, in]
        Generated,    ///< not from the merge: `values` (rope_freqs)
    };
    std::string source; ///< the merge's tensor name ("" when generated)
    GgufTensor tensor;  ///< GGUF name, dims (ggml order), type
    Layout layout = Layout::AsIs;
    int heads = 0;
    std::vector<float> values; ///< Generated
};

/// The whole file, decided before anything is written.
struct GgufPlan {
    std::string architecture;
    GgmlType weightType = GgmlType::F16;
    GgufMetadata metadata;
    std::vector<GgufTensorPlan> tensors;
    std::vector<std::string> lines; ///< what was mapped, kept or left out, in words
    GgufLayout layout;
    std::uint64_t fileSize() const { return layout.fileSize; }
};

/// Plans the GGUF file of a merge whose output tensors are `outputs` (Merger::outputTensors with
/// duplicates omitted): config.json from `configFolder`, tokenizer files from
/// `tokenizerFolder`; `weightType` for 2-D weights (F32, F16, BF16, Q8_0); `untied`: the plan's
/// untied names (a head the merge unties is written); `extra`: string keys added as they are
/// (Mergefront's provenance), `name`: general.name. Throws mf::Error, naming the file, key or
/// tensor: an architecture or tokenizer with no GGUF mapping (with the supported list), a tensor
/// the mapping does not know, a vocabulary larger than the embedding.
GgufPlan planGguf(const std::string &configFolder, const std::string &tokenizerFolder,
                  const std::vector<OutputTensor> &outputs, const std::vector<std::string> &untied,
                  GgmlType weightType, const std::string &name, const Metadata &extra);

/// Merges into the planned file: each tensor is merged, laid out, converted or quantized and
/// written row block by row block on `threads` threads (never a whole model in memory), to a
/// temporary file renamed into place by commit(). Returns the path written.
std::string writeGguf(const Merger &merger, const GgufPlan &plan, const std::string &path,
                      const std::vector<double> &coefficients, int threads, bool sync,
                      const ProgressCallback &progress = {});

} // namespace mf
