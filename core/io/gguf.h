// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// GGUF version 3, the file format of llama.cpp (ggml's gguf.cpp is the reader that matters):
//   "GGUF" | u32 version | u64 tensor count | u64 key-value count | key-values | tensor infos |
//   padding to general.alignment | tensor data, each tensor at a multiple of the alignment.
// Strings are u64 length + UTF-8 bytes; a tensor's dims are ggml's ne[] (the innermost, i.e.
// PyTorch's last, dimension first). Little-endian throughout.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mf {

/// ggml's tensor types (ggml.h's enum ggml_type, by number).
enum class GgmlType : std::uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    BF16 = 30,
};

/// "F32", "Q8_0", ...; "type N" for a number this table does not know.
std::string ggmlTypeName(std::uint32_t type);
/// Elements per block and bytes per block (1 and the element size for plain types); {0, 0} for
/// a type this table does not know.
std::pair<std::uint64_t, std::uint64_t> ggmlBlock(std::uint32_t type);
/// Bytes of a row of `elements` elements (a multiple of the block size).
std::uint64_t ggmlRowBytes(GgmlType type, std::uint64_t elements);

/// The types Mergefront writes: --gguf-type f32|f16|bf16|q8_0. Throws mf::Error naming the others.
GgmlType parseGgufWeightType(const std::string &name);
/// "f32", "f16", "bf16", "q8_0" (the --gguf-type spelling).
std::string ggufWeightTypeName(GgmlType type);
/// llama.cpp's general.file_type (enum llama_ftype) for a file whose weights are mostly `type`.
std::uint32_t ggufFileType(GgmlType type);

/// Converts `count` floats to `type` (F32, F16, BF16; Q8_0 with count a multiple of 32) into
/// `out` (ggmlRowBytes(type, count) bytes). Q8_0 is ggml's reference quantizer
/// (quantize_row_q8_0_ref): per block of 32, d = amax / 127 stored as f16, q = round(x / d),
/// rounding half away from zero.
void encodeGgmlRow(GgmlType type, const float *values, std::size_t count, void *out);
/// The inverse (for reading and tests): F32, F16, BF16, Q8_0.
void decodeGgmlRow(GgmlType type, const void *bytes, std::size_t count, float *out);

/// gguf_type: the value types of the key-value section.
enum class GgufValueType : std::uint32_t {
    Uint8 = 0,
    Int8 = 1,
    Uint16 = 2,
    Int16 = 3,
    Uint32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    Uint64 = 10,
    Int64 = 11,
    Float64 = 12,
};

/// One metadata value. Integers (any width) live in `integer`, floats in `real`; an array's
/// items all have `elementType` (arrays of arrays are read but never written).
struct GgufValue {
    GgufValueType type = GgufValueType::String;
    GgufValueType elementType = GgufValueType::Uint8;
    std::int64_t integer = 0;
    double real = 0;
    std::string text;
    std::vector<GgufValue> items;

    static GgufValue u32(std::uint32_t value);
    static GgufValue i32(std::int32_t value);
    static GgufValue f32(double value);
    static GgufValue boolean(bool value);
    static GgufValue string(std::string value);
    static GgufValue strings(const std::vector<std::string> &values);
    static GgufValue floats(const std::vector<float> &values);
    static GgufValue int32s(const std::vector<std::int32_t> &values);

    /// A short rendering: numbers, a quoted string (cut after `maxChars`), "[N strings: a, b,
    /// ...]" for arrays.
    std::string describe(std::size_t maxChars = 80) const;
};

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

/// A tensor as the file describes it.
struct GgufTensor {
    std::string name;
    std::vector<std::uint64_t> dims; ///< ggml's ne[]: dims[0] is the row length
    GgmlType type = GgmlType::F32;
    std::uint64_t offset = 0; ///< from the start of the data section (read files)
    std::uint64_t elements() const;
    std::uint64_t byteSize() const; ///< rows * ggmlRowBytes(type, dims[0])
};

/// The layout of a file to write: its header bytes and where each tensor's data goes.
struct GgufLayout {
    std::string header;                 ///< magic .. tensor infos, padded to the alignment
    std::vector<std::uint64_t> offsets; ///< absolute file offset of each tensor's data
    std::uint64_t fileSize = 0;
};

/// Lays out a GGUF v3 file: `metadata` as given (general.alignment is added when absent and
/// must be a u32 power of two when present), then the tensor infos in the order given, each
/// tensor's data at the running sum of the sizes before it, each padded to the alignment.
/// Throws mf::Error on a duplicate key or tensor name, a row length that is not a multiple of
/// the type's block, or an empty name.
GgufLayout layoutGguf(const GgufMetadata &metadata, const std::vector<GgufTensor> &tensors,
                      std::uint32_t alignment = 32);

/// A GGUF file read back (header only; tensor data stays on disk).
struct GgufFile {
    std::string path;
    std::uint32_t version = 0;
    GgufMetadata metadata;
    std::vector<GgufTensor> tensors;
    std::uint32_t alignment = 32;
    std::uint64_t dataOffset = 0; ///< where the data section starts
    std::uint64_t fileSize = 0;
    const GgufValue *find(const std::string &key) const;
};

/// True when the file starts with the GGUF magic (never throws).
bool isGgufFile(const std::string &path);

/// Reads and checks a GGUF file's header the way gguf.cpp does: magic, version 2 or 3, sizes
/// that fit the file, keys and tensor names unique, dims positive, offsets aligned, in
/// bounds and not overlapping. Throws mf::Error naming the file and what is wrong.
GgufFile readGguf(const std::string &path);

/// `inspect` of a GGUF file: the metadata (long arrays summarized) and the tensor table.
std::string describeGgufText(const GgufFile &file);
/// `inspect --json`: {"format": "gguf", "version", "alignment", "metadata": {key: value|summary},
/// "tensors": [{"name", "type", "dims", "offset", "bytes"}], "parameters", "bytes"}.
std::string describeGgufJson(const GgufFile &file);

} // namespace mf
