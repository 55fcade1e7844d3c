// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/gguf.h"

#include "io/dtype.h"
#include "io/mapped_file.h"
#include "util/error.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace mf {

namespace {

constexpr std::uint32_t kGgufMagic = 0x46554747; // "GGUF" read as a little-endian u32
constexpr std::uint32_t kGgufVersion = 3;
constexpr std::size_t kMaxDims = 4; // GGML_MAX_DIMS
constexpr std::size_t kQ8Block = 32;

struct TypeInfo {
    GgmlType type;
    const char *name;
    std::uint64_t blockElements;
    std::uint64_t blockBytes;
};

// ggml's type traits (blck_size, type_size) for the types a GGUF of a language model holds.
constexpr TypeInfo kTypes[] = {
    {GgmlType::F32, "F32", 1, 4},       {GgmlType::F16, "F16", 1, 2},
    {GgmlType::Q4_0, "Q4_0", 32, 18},   {GgmlType::Q4_1, "Q4_1", 32, 20},
    {GgmlType::Q5_0, "Q5_0", 32, 22},   {GgmlType::Q5_1, "Q5_1", 32, 24},
    {GgmlType::Q8_0, "Q8_0", 32, 34},   {GgmlType::Q8_1, "Q8_1", 32, 36},
    {GgmlType::Q2_K, "Q2_K", 256, 84},  {GgmlType::Q3_K, "Q3_K", 256, 110},
    {GgmlType::Q4_K, "Q4_K", 256, 144}, {GgmlType::Q5_K, "Q5_K", 256, 176},
    {GgmlType::Q6_K, "Q6_K", 256, 210}, {GgmlType::Q8_K, "Q8_K", 256, 292},
    {GgmlType::I8, "I8", 1, 1},         {GgmlType::I16, "I16", 1, 2},
    {GgmlType::I32, "I32", 1, 4},       {GgmlType::I64, "I64", 1, 8},
    {GgmlType::F64, "F64", 1, 8},       {GgmlType::BF16, "BF16", 1, 2},
};

const TypeInfo *typeInfo(std::uint32_t type)
{
    for (const TypeInfo &info : kTypes)
        if (static_cast<std::uint32_t>(info.type) == type)
            return &info;
    return nullptr;
}

std::uint64_t padded(std::uint64_t size, std::uint64_t alignment)
{
    return (size + alignment - 1) / alignment * alignment;
}

// -- writing --------------------------------------------------------------------------------

class Encoder {
public:
    std::string bytes;
    template<typename T>
    void raw(T value)
    {
        char buffer[sizeof(T)];
        std::memcpy(buffer, &value, sizeof(T));
        bytes.append(buffer, sizeof(T));
    }
    void string(const std::string &text)
    {
        raw<std::uint64_t>(text.size());
        bytes += text;
    }
    void scalar(GgufValueType type, const GgufValue &value)
    {
        switch (type) {
        case GgufValueType::Uint8:
            raw(static_cast<std::uint8_t>(value.integer));
            break;
        case GgufValueType::Int8:
            raw(static_cast<std::int8_t>(value.integer));
            break;
        case GgufValueType::Uint16:
            raw(static_cast<std::uint16_t>(value.integer));
            break;
        case GgufValueType::Int16:
            raw(static_cast<std::int16_t>(value.integer));
            break;
        case GgufValueType::Uint32:
            raw(static_cast<std::uint32_t>(value.integer));
            break;
        case GgufValueType::Int32:
            raw(static_cast<std::int32_t>(value.integer));
            break;
        case GgufValueType::Uint64:
            raw(static_cast<std::uint64_t>(value.integer));
            break;
        case GgufValueType::Int64:
            raw(static_cast<std::int64_t>(value.integer));
            break;
        case GgufValueType::Float32:
            raw(static_cast<float>(value.real));
            break;
        case GgufValueType::Float64:
            raw(value.real);
            break;
        case GgufValueType::Bool:
            raw(static_cast<std::uint8_t>(value.integer ? 1 : 0));
            break;
        case GgufValueType::String:
            string(value.text);
            break;
        case GgufValueType::Array:
            raw(static_cast<std::uint32_t>(value.elementType));
            raw<std::uint64_t>(value.items.size());
            for (const GgufValue &item : value.items)
                scalar(value.elementType, item);
            break;
        }
    }
};

// -- reading --------------------------------------------------------------------------------

class Decoder {
public:
    Decoder(const std::byte *data, std::uint64_t size, const std::string &path)
        : m_data(data)
        , m_size(size)
        , m_path(path)
    {
    }
    std::uint64_t position() const { return m_position; }
    [[noreturn]] void fail(const std::string &what) const
    {
        throw Error(m_path + ": not a valid GGUF file: " + what + " (at byte " +
                    std::to_string(m_position) + ")");
    }
    template<typename T>
    T raw(const char *what)
    {
        if (m_size - m_position < sizeof(T))
            fail(std::string("the file ends inside ") + what);
        T value;
        std::memcpy(&value, m_data + m_position, sizeof(T));
        m_position += sizeof(T);
        return value;
    }
    std::string string(const char *what)
    {
        const auto length = raw<std::uint64_t>(what);
        if (length > m_size - m_position)
            fail(std::string(what) + " is longer than the rest of the file");
        std::string text(reinterpret_cast<const char *>(m_data + m_position),
                         static_cast<std::size_t>(length));
        m_position += length;
        return text;
    }
    GgufValue value(GgufValueType type, const std::string &key, int depth)
    {
        GgufValue v;
        v.type = type;
        switch (type) {
        case GgufValueType::Uint8:
            v.integer = raw<std::uint8_t>(key.c_str());
            break;
        case GgufValueType::Int8:
            v.integer = raw<std::int8_t>(key.c_str());
            break;
        case GgufValueType::Uint16:
            v.integer = raw<std::uint16_t>(key.c_str());
            break;
        case GgufValueType::Int16:
            v.integer = raw<std::int16_t>(key.c_str());
            break;
        case GgufValueType::Uint32:
            v.integer = raw<std::uint32_t>(key.c_str());
            break;
        case GgufValueType::Int32:
            v.integer = raw<std::int32_t>(key.c_str());
            break;
        case GgufValueType::Uint64:
            v.integer = static_cast<std::int64_t>(raw<std::uint64_t>(key.c_str()));
            break;
        case GgufValueType::Int64:
            v.integer = raw<std::int64_t>(key.c_str());
            break;
        case GgufValueType::Float32:
            v.real = raw<float>(key.c_str());
            break;
        case GgufValueType::Float64:
            v.real = raw<double>(key.c_str());
            break;
        case GgufValueType::Bool: {
            const auto b = raw<std::uint8_t>(key.c_str());
            if (b > 1)
                fail("key '" + key + "' holds a bool that is neither 0 nor 1");
            v.integer = b;
            break;
        }
        case GgufValueType::String:
            v.text = string(key.c_str());
            break;
        case GgufValueType::Array: {
            if (depth > 1)
                fail("key '" + key + "' nests arrays too deeply");
            const auto element = raw<std::uint32_t>(key.c_str());
            if (element > static_cast<std::uint32_t>(GgufValueType::Float64))
                fail("key '" + key + "' has arrays of unknown type " + std::to_string(element));
            v.elementType = static_cast<GgufValueType>(element);
            const auto count = raw<std::uint64_t>(key.c_str());
            if (count > m_size - m_position) // every item takes a byte at least
                fail("key '" + key + "' claims " + std::to_string(count) + " items");
            v.items.reserve(static_cast<std::size_t>(count));
            for (std::uint64_t i = 0; i < count; ++i)
                v.items.push_back(value(v.elementType, key, depth + 1));
            break;
        }
        default:
            fail("key '" + key + "' has unknown type " + std::to_string(int(type)));
        }
        return v;
    }

private:
    const std::byte *m_data;
    std::uint64_t m_size;
    std::uint64_t m_position = 0;
    const std::string &m_path;
};

nlohmann::json valueJson(const GgufValue &value)
{
    switch (value.type) {
    case GgufValueType::Float32:
    case GgufValueType::Float64:
        return value.real;
    case GgufValueType::Bool:
        return value.integer != 0;
    case GgufValueType::String:
        return value.text;
    case GgufValueType::Array: {
        if (value.items.size() > 64) // a vocabulary: say what it is, not all of it
            return value.describe();
        nlohmann::json list = nlohmann::json::array();
        for (const GgufValue &item : value.items)
            list.push_back(valueJson(item));
        return list;
    }
    default:
        return value.integer;
    }
}

const char *valueTypeName(GgufValueType type)
{
    switch (type) {
    case GgufValueType::Uint8:
        return "u8";
    case GgufValueType::Int8:
        return "i8";
    case GgufValueType::Uint16:
        return "u16";
    case GgufValueType::Int16:
        return "i16";
    case GgufValueType::Uint32:
        return "u32";
    case GgufValueType::Int32:
        return "i32";
    case GgufValueType::Float32:
        return "f32";
    case GgufValueType::Bool:
        return "bool";
    case GgufValueType::String:
        return "string";
    case GgufValueType::Array:
        return "array";
    case GgufValueType::Uint64:
        return "u64";
    case GgufValueType::Int64:
        return "i64";
    case GgufValueType::Float64:
        return "f64";
    }
    return "?";
}

} // namespace

std::string ggmlTypeName(std::uint32_t type)
{
    const TypeInfo *info = typeInfo(type);
    return info ? info->name : "type " + std::to_string(type);
}

std::pair<std::uint64_t, std::uint64_t> ggmlBlock(std::uint32_t type)
{
    const TypeInfo *info = typeInfo(type);
    return info ? std::make_pair(info->blockElements, info->blockBytes)
                : std::make_pair<std::uint64_t, std::uint64_t>(0, 0);
}

std::uint64_t ggmlRowBytes(GgmlType type, std::uint64_t elements)
{
    const auto [block, bytes] = ggmlBlock(static_cast<std::uint32_t>(type));
    if (block == 0 || elements % block != 0)
        throw Error("internal: a row of " + std::to_string(elements) + " elements of " +
                    ggmlTypeName(static_cast<std::uint32_t>(type)));
    return elements / block * bytes;
}

GgmlType parseGgufWeightType(const std::string &name)
{
    const std::string lower = asciiLower(name);
    if (lower == "f32")
        return GgmlType::F32;
    if (lower == "f16")
        return GgmlType::F16;
    if (lower == "bf16")
        return GgmlType::BF16;
    if (lower == "q8_0")
        return GgmlType::Q8_0;
    throw Error("unknown GGUF weight type '" + name +
                "' (Mergefront writes f32, f16, bf16 and q8_0)");
}

std::string ggufWeightTypeName(GgmlType type)
{
    return asciiLower(ggmlTypeName(static_cast<std::uint32_t>(type)));
}

std::uint32_t ggufFileType(GgmlType type)
{
    switch (type) {
    case GgmlType::F32:
        return 0; // LLAMA_FTYPE_ALL_F32
    case GgmlType::F16:
        return 1; // LLAMA_FTYPE_MOSTLY_F16
    case GgmlType::Q8_0:
        return 7; // LLAMA_FTYPE_MOSTLY_Q8_0
    case GgmlType::BF16:
        return 32; // LLAMA_FTYPE_MOSTLY_BF16
    default:
        throw Error("internal: no file type for " + ggufWeightTypeName(type));
    }
}

void encodeGgmlRow(GgmlType type, const float *values, std::size_t count, void *out)
{
    switch (type) {
    case GgmlType::F32:
        std::memcpy(out, values, count * sizeof(float));
        return;
    case GgmlType::F16:
        convertFromFloat(DType::F16, values, out, count);
        return;
    case GgmlType::BF16:
        convertFromFloat(DType::BF16, values, out, count);
        return;
    case GgmlType::Q8_0: {
        if (count % kQ8Block != 0)
            throw Error("internal: Q8_0 of " + std::to_string(count) + " elements");
        auto *block = static_cast<unsigned char *>(out);
        for (std::size_t b = 0; b < count / kQ8Block; ++b, block += 34) {
            const float *x = values + b * kQ8Block;
            float amax = 0;
            for (std::size_t j = 0; j < kQ8Block; ++j)
                amax = std::max(amax, std::fabs(x[j]));
            const float d = amax / 127.0f;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            const std::uint16_t half = floatToHalf(d);
            std::memcpy(block, &half, 2);
            // roundf(x * id), halves away from zero, without a libm call per value: truncate
            // (|x * id| <= 127, so exact), then step away from zero when the rest is >= 0.5.
            for (std::size_t j = 0; j < kQ8Block; ++j) {
                const float v = x[j] * id;
                const auto t = static_cast<std::int32_t>(v);
                const float rest = v - static_cast<float>(t);
                const std::int32_t q = t + (rest >= 0.5f) - (rest <= -0.5f);
                block[2 + j] = static_cast<unsigned char>(static_cast<std::int8_t>(q));
            }
        }
        return;
    }
    default:
        throw Error("internal: Mergefront does not write " +
                    ggmlTypeName(static_cast<std::uint32_t>(type)));
    }
}

void decodeGgmlRow(GgmlType type, const void *bytes, std::size_t count, float *out)
{
    switch (type) {
    case GgmlType::F32:
        std::memcpy(out, bytes, count * sizeof(float));
        return;
    case GgmlType::F16:
        convertToFloat(DType::F16, bytes, out, count);
        return;
    case GgmlType::BF16:
        convertToFloat(DType::BF16, bytes, out, count);
        return;
    case GgmlType::Q8_0: {
        const auto *block = static_cast<const unsigned char *>(bytes);
        for (std::size_t b = 0; b < count / kQ8Block; ++b, block += 34) {
            std::uint16_t half;
            std::memcpy(&half, block, 2);
            const float d = halfToFloat(half);
            for (std::size_t j = 0; j < kQ8Block; ++j)
                out[b * kQ8Block + j] =
                    d * static_cast<float>(static_cast<std::int8_t>(block[2 + j]));
        }
        return;
    }
    default:
        throw Error("cannot decode " + ggmlTypeName(static_cast<std::uint32_t>(type)) + " tensors");
    }
}

GgufValue GgufValue::u32(std::uint32_t value)
{
    GgufValue v;
    v.type = GgufValueType::Uint32;
    v.integer = value;
    return v;
}

GgufValue GgufValue::i32(std::int32_t value)
{
    GgufValue v;
    v.type = GgufValueType::Int32;
    v.integer = value;
    return v;
}

GgufValue GgufValue::f32(double value)
{
    GgufValue v;
    v.type = GgufValueType::Float32;
    v.real = static_cast<float>(value);
    return v;
}

GgufValue GgufValue::boolean(bool value)
{
    GgufValue v;
    v.type = GgufValueType::Bool;
    v.integer = value ? 1 : 0;
    return v;
}

GgufValue GgufValue::string(std::string value)
{
    GgufValue v;
    v.type = GgufValueType::String;
    v.text = std::move(value);
    return v;
}

GgufValue GgufValue::strings(const std::vector<std::string> &values)
{
    GgufValue v;
    v.type = GgufValueType::Array;
    v.elementType = GgufValueType::String;
    v.items.reserve(values.size());
    for (const std::string &value : values)
        v.items.push_back(string(value));
    return v;
}

GgufValue GgufValue::floats(const std::vector<float> &values)
{
    GgufValue v;
    v.type = GgufValueType::Array;
    v.elementType = GgufValueType::Float32;
    v.items.reserve(values.size());
    for (float value : values)
        v.items.push_back(f32(value));
    return v;
}

GgufValue GgufValue::int32s(const std::vector<std::int32_t> &values)
{
    GgufValue v;
    v.type = GgufValueType::Array;
    v.elementType = GgufValueType::Int32;
    v.items.reserve(values.size());
    for (std::int32_t value : values)
        v.items.push_back(i32(value));
    return v;
}

std::string GgufValue::describe(std::size_t maxChars) const
{
    switch (type) {
    case GgufValueType::Float32:
    case GgufValueType::Float64: {
        std::ostringstream out;
        out << real;
        return out.str();
    }
    case GgufValueType::Bool:
        return integer ? "true" : "false";
    case GgufValueType::String: {
        std::string shown = text.size() > maxChars ? text.substr(0, maxChars) + "..." : text;
        for (char &c : shown)
            if (c == '\n')
                c = ' ';
        return "\"" + shown + "\"" +
               (text.size() > maxChars ? " (" + std::to_string(text.size()) + " chars)" : "");
    }
    case GgufValueType::Array: {
        std::string out = "[" + std::to_string(items.size()) + " " + valueTypeName(elementType);
        std::string shown;
        for (std::size_t i = 0; i < items.size() && shown.size() < maxChars; ++i)
            shown += (i ? ", " : "") + items[i].describe(24);
        out += items.empty() ? "]" : ": " + shown + (shown.size() >= maxChars ? ", ...]" : "]");
        return out;
    }
    default:
        return std::to_string(integer);
    }
}

std::uint64_t GgufTensor::elements() const
{
    std::uint64_t n = 1;
    for (std::uint64_t d : dims)
        n *= d;
    return n;
}

std::uint64_t GgufTensor::byteSize() const
{
    if (dims.empty())
        return 0;
    return ggmlRowBytes(type, dims[0]) * (elements() / dims[0]);
}

GgufLayout layoutGguf(const GgufMetadata &metadata, const std::vector<GgufTensor> &tensors,
                      std::uint32_t alignment)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        throw Error("internal: GGUF alignment must be a power of two");
    GgufMetadata kv = metadata;
    std::set<std::string> keys;
    for (const auto &[key, value] : kv) {
        if (key.empty() || !keys.insert(key).second)
            throw Error("internal: GGUF key '" + key + "' is empty or given twice");
        if (key == "general.alignment" &&
            (value.type != GgufValueType::Uint32 || value.integer != alignment))
            throw Error("internal: general.alignment does not match the layout");
    }
    if (!keys.count("general.alignment") && alignment != 32)
        kv.emplace_back("general.alignment", GgufValue::u32(alignment));
    Encoder header;
    header.raw(kGgufMagic);
    header.raw(kGgufVersion);
    header.raw<std::uint64_t>(tensors.size());
    header.raw<std::uint64_t>(kv.size());
    for (const auto &[key, value] : kv) {
        header.string(key);
        header.raw(static_cast<std::uint32_t>(value.type));
        header.scalar(value.type, value);
    }
    GgufLayout layout;
    std::set<std::string> names;
    std::uint64_t offset = 0;
    std::vector<std::uint64_t> relative;
    for (const GgufTensor &tensor : tensors) {
        if (tensor.name.empty() || !names.insert(tensor.name).second)
            throw Error("internal: GGUF tensor name '" + tensor.name + "' is empty or used twice");
        if (tensor.name.size() >= 64) // GGML_MAX_NAME
            throw Error("GGUF tensor name '" + tensor.name +
                        "' is longer than llama.cpp allows (63)");
        if (tensor.dims.empty() || tensor.dims.size() > kMaxDims)
            throw Error("internal: GGUF tensor '" + tensor.name + "' has " +
                        std::to_string(tensor.dims.size()) + " dims");
        const auto block = ggmlBlock(static_cast<std::uint32_t>(tensor.type)).first;
        if (block == 0 || tensor.dims[0] % block != 0)
            throw Error("internal: GGUF tensor '" + tensor.name + "': rows of " +
                        std::to_string(tensor.dims[0]) + " elements cannot be " +
                        ggmlTypeName(static_cast<std::uint32_t>(tensor.type)));
        header.string(tensor.name);
        header.raw<std::uint32_t>(static_cast<std::uint32_t>(tensor.dims.size()));
        for (std::uint64_t d : tensor.dims)
            header.raw<std::uint64_t>(d);
        header.raw(static_cast<std::uint32_t>(tensor.type));
        header.raw<std::uint64_t>(offset);
        relative.push_back(offset);
        offset += padded(tensor.byteSize(), alignment);
    }
    header.bytes.resize(static_cast<std::size_t>(padded(header.bytes.size(), alignment)), '\0');
    layout.header = std::move(header.bytes);
    for (std::uint64_t r : relative)
        layout.offsets.push_back(layout.header.size() + r);
    layout.fileSize = layout.header.size() + offset;
    return layout;
}

const GgufValue *GgufFile::find(const std::string &key) const
{
    for (const auto &[k, value] : metadata)
        if (k == key)
            return &value;
    return nullptr;
}

bool isGgufFile(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

GgufFile readGguf(const std::string &path)
{
    const MappedFile mapped(path);
    Decoder in(mapped.data(), mapped.size(), path);
    GgufFile file;
    file.path = path;
    file.fileSize = mapped.size();
    if (in.raw<std::uint32_t>("the magic") != kGgufMagic)
        in.fail("it does not start with \"GGUF\"");
    file.version = in.raw<std::uint32_t>("the version");
    if (file.version != 2 && file.version != 3)
        in.fail("version " + std::to_string(file.version) + " (llama.cpp reads 2 and 3)");
    const auto tensorCount = in.raw<std::uint64_t>("the tensor count");
    const auto kvCount = in.raw<std::uint64_t>("the key-value count");
    if (kvCount > mapped.size() || tensorCount > mapped.size())
        in.fail("counts larger than the file");
    std::set<std::string> keys;
    for (std::uint64_t i = 0; i < kvCount; ++i) {
        std::string key = in.string("a key");
        if (!keys.insert(key).second)
            in.fail("key '" + key + "' appears twice");
        const auto type = in.raw<std::uint32_t>(key.c_str());
        if (type > static_cast<std::uint32_t>(GgufValueType::Float64))
            in.fail("key '" + key + "' has unknown type " + std::to_string(type));
        GgufValue value = in.value(static_cast<GgufValueType>(type), key, 0);
        file.metadata.emplace_back(std::move(key), std::move(value));
    }
    if (const GgufValue *alignment = file.find("general.alignment")) {
        if (alignment->type != GgufValueType::Uint32 || alignment->integer == 0 ||
            (alignment->integer & (alignment->integer - 1)) != 0)
            in.fail("general.alignment must be a u32 power of two");
        file.alignment = static_cast<std::uint32_t>(alignment->integer);
    }
    std::set<std::string> names;
    std::uint64_t expected = 0;
    for (std::uint64_t i = 0; i < tensorCount; ++i) {
        GgufTensor tensor;
        tensor.name = in.string("a tensor name");
        if (!names.insert(tensor.name).second)
            in.fail("tensor '" + tensor.name + "' appears twice");
        const auto dims = in.raw<std::uint32_t>("a tensor's dims");
        if (dims == 0 || dims > kMaxDims)
            in.fail("tensor '" + tensor.name + "' has " + std::to_string(dims) + " dims");
        for (std::uint32_t d = 0; d < dims; ++d) {
            const auto size = in.raw<std::uint64_t>("a tensor's dims");
            if (size == 0 || size > (std::uint64_t(1) << 40))
                in.fail("tensor '" + tensor.name + "' has a dimension of " + std::to_string(size));
            tensor.dims.push_back(size);
        }
        const auto type = in.raw<std::uint32_t>("a tensor's type");
        tensor.type = static_cast<GgmlType>(type);
        tensor.offset = in.raw<std::uint64_t>("a tensor's offset");
        const auto block = ggmlBlock(type).first;
        if (block != 0) {
            if (tensor.dims[0] % block != 0)
                in.fail("tensor '" + tensor.name + "': rows of " + std::to_string(tensor.dims[0]) +
                        " elements are not whole " + ggmlTypeName(type) + " blocks");
            if (tensor.offset != expected)
                in.fail("tensor '" + tensor.name + "' has data offset " +
                        std::to_string(tensor.offset) + ", expected " + std::to_string(expected));
            expected += padded(tensor.byteSize(), file.alignment);
        } else {
            expected = tensor.offset; // a type this reader does not size: trust its offset
        }
        file.tensors.push_back(std::move(tensor));
    }
    file.dataOffset = padded(in.position(), file.alignment);
    for (const GgufTensor &tensor : file.tensors) {
        const std::uint64_t size =
            ggmlBlock(static_cast<std::uint32_t>(tensor.type)).first ? tensor.byteSize() : 0;
        if (tensor.offset % file.alignment != 0)
            in.fail("tensor '" + tensor.name + "' is not aligned");
        if (file.dataOffset + tensor.offset + size > file.fileSize)
            throw Error(path + ": not a valid GGUF file: tensor '" + tensor.name +
                        "' ends past the end of the file (truncated?)");
    }
    return file;
}

std::string describeGgufText(const GgufFile &file)
{
    std::ostringstream out;
    std::uint64_t parameters = 0, bytes = 0;
    std::map<std::string, std::size_t> types;
    for (const GgufTensor &tensor : file.tensors) {
        parameters += tensor.elements();
        bytes += ggmlBlock(static_cast<std::uint32_t>(tensor.type)).first ? tensor.byteSize() : 0;
        ++types[ggmlTypeName(static_cast<std::uint32_t>(tensor.type))];
    }
    out << "format: GGUF version " << file.version << " (alignment " << file.alignment << ")\n";
    out << "file: " << file.path << " (" << formatBytes(file.fileSize) << ")\n";
    out << "tensors: " << file.tensors.size() << ", " << parameters << " parameters, "
        << formatBytes(bytes) << " (";
    bool first = true;
    for (const auto &[name, count] : types) {
        out << (first ? "" : ", ") << count << " " << name;
        first = false;
    }
    out << ")\n";
    out << "metadata (" << file.metadata.size() << " keys):\n";
    for (const auto &[key, value] : file.metadata)
        out << "  " << key << " = " << value.describe() << "\n";
    out << "tensors (name, type, dims as ggml's ne[], offset):\n";
    for (const GgufTensor &tensor : file.tensors) {
        out << "  " << tensor.name << "  " << ggmlTypeName(static_cast<std::uint32_t>(tensor.type))
            << "  [";
        for (std::size_t d = 0; d < tensor.dims.size(); ++d)
            out << (d ? ", " : "") << tensor.dims[d];
        out << "]  @" << tensor.offset << "\n";
    }
    return out.str();
}

std::string describeGgufJson(const GgufFile &file)
{
    nlohmann::ordered_json out;
    out["format"] = "gguf";
    out["file"] = file.path;
    out["version"] = file.version;
    out["alignment"] = file.alignment;
    nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
    for (const auto &[key, value] : file.metadata)
        metadata[key] = valueJson(value);
    out["metadata"] = metadata;
    nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
    std::uint64_t parameters = 0, bytes = 0;
    for (const GgufTensor &tensor : file.tensors) {
        const bool sized = ggmlBlock(static_cast<std::uint32_t>(tensor.type)).first != 0;
        tensors.push_back({{"name", tensor.name},
                           {"type", ggmlTypeName(static_cast<std::uint32_t>(tensor.type))},
                           {"dims", tensor.dims},
                           {"offset", tensor.offset},
                           {"bytes", sized ? nlohmann::ordered_json(tensor.byteSize())
                                           : nlohmann::ordered_json(nullptr)}});
        parameters += tensor.elements();
        bytes += sized ? tensor.byteSize() : 0;
    }
    out["tensors"] = tensors;
    out["parameters"] = parameters;
    out["bytes"] = bytes;
    return out.dump(2) + "\n";
}

} // namespace mf
