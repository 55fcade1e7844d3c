// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/pickle.h"

#include "util/error.h"

#include <cstring>
#include <memory>
#include <unordered_map>

namespace mf {

namespace {

struct PyObject;
using PyRef = std::shared_ptr<PyObject>;

/// The few Python values a state-dict pickle builds.
struct PyObject {
    enum class Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor };
    Kind kind = Kind::None;
    std::int64_t integer = 0;
    double real = 0;
    std::string text;         ///< Str value; Global "module.name"; Storage key
    std::vector<PyRef> items; ///< Tuple/List elements; Dict as key, value, key, value...
    DType dtype = DType::F32; ///< Storage dtype
    PickledTensor tensor;     ///< Tensor description

    explicit PyObject(Kind k)
        : kind(k)
    {
    }
    ~PyObject()
    {
        // Iterative teardown: a hostile pickle may nest containers millions deep.
        std::vector<PyRef> pending = std::move(items);
        while (!pending.empty()) {
            PyRef next = std::move(pending.back());
            pending.pop_back();
            if (next && next.use_count() == 1) {
                for (auto &child : next->items)
                    pending.push_back(std::move(child));
                next->items.clear();
            }
        }
    }
};

PyRef make(PyObject::Kind kind)
{
    return std::make_shared<PyObject>(kind);
}

struct StorageClass {
    const char *name;
    DType dtype;
};

constexpr StorageClass kStorages[] = {
    {"torch.FloatStorage", DType::F32}, {"torch.DoubleStorage", DType::F64},
    {"torch.HalfStorage", DType::F16},  {"torch.BFloat16Storage", DType::BF16},
    {"torch.LongStorage", DType::I64},  {"torch.IntStorage", DType::I32},
    {"torch.ShortStorage", DType::I16}, {"torch.CharStorage", DType::I8},
    {"torch.ByteStorage", DType::U8},   {"torch.BoolStorage", DType::Bool},
};

constexpr const char *kCallables[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
};

bool isStorageClass(const std::string &name, DType *dtype = nullptr)
{
    for (const auto &storage : kStorages)
        if (name == storage.name) {
            if (dtype)
                *dtype = storage.dtype;
            return true;
        }
    return false;
}

bool validUtf8(const std::string &text)
{
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        const int extra = c < 0x80         ? 0
                          : (c >> 5) == 6  ? 1
                          : (c >> 4) == 14 ? 2
                          : (c >> 3) == 30 ? 3
                                           : -1;
        if (extra < 0 || i + static_cast<std::size_t>(extra) >= text.size())
            return false;
        for (int k = 1; k <= extra; ++k)
            if ((static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]) >> 6) != 2)
                return false;
        i += static_cast<std::size_t>(extra) + 1;
    }
    return true;
}

class Unpickler {
public:
    Unpickler(const std::byte *data, std::size_t size, const std::string &file)
        : m_data(reinterpret_cast<const unsigned char *>(data))
        , m_size(size)
        , m_file(file)
    {
    }
    Unpickler(const Unpickler &) = delete;
    Unpickler &operator=(const Unpickler &) = delete;
    ~Unpickler()
    {
        // A hostile pickle can build reference cycles (a list appended to itself through the
        // memo): emptying every list and dict still alive breaks them, so nothing leaks.
        for (const std::weak_ptr<PyObject> &made : m_mutable)
            if (const PyRef object = made.lock())
                object->items.clear();
    }

    PyRef run()
    {
        while (true) {
            const std::size_t at = m_pos;
            const unsigned char op = take(1)[0];
            switch (op) {
            case 0x80:
                take(1);
                break; // PROTO
            case 0x95:
                take(8);
                break; // FRAME
            case '.':
                return popValue(at);
            case '(':
                m_marks.push_back(m_stack.size());
                break;
            case ')':
                push(make(PyObject::Kind::Tuple));
                break;
            case 't':
                push(tupleOf(popMark(at)));
                break;
            case 0x85:
                push(tupleOf(popN(1, at)));
                break;
            case 0x86:
                push(tupleOf(popN(2, at)));
                break;
            case 0x87:
                push(tupleOf(popN(3, at)));
                break;
            case ']':
                push(makeMutable(PyObject::Kind::List));
                break;
            case '}':
                push(makeMutable(PyObject::Kind::Dict));
                break;
            case 'a': {
                PyRef value = popValue(at);
                append(top(at), {value}, at);
                break;
            }
            case 'e': {
                auto values = popMark(at);
                append(top(at), values, at);
                break;
            }
            case 's': {
                auto pair = popN(2, at);
                setItems(top(at), pair, at);
                break;
            }
            case 'u': {
                auto pairs = popMark(at);
                setItems(top(at), pairs, at);
                break;
            }
            case 'q':
                m_memo[take(1)[0]] = top(at);
                break;
            case 'r':
                m_memo[readLe(take(4), 4)] = top(at);
                break;
            case 0x94:
                m_memo[m_memo.size()] = top(at);
                break; // MEMOIZE
            case 'h':
                push(memo(take(1)[0], at));
                break;
            case 'j':
                push(memo(readLe(take(4), 4), at));
                break;
            case 'J':
                push(integer(static_cast<std::int32_t>(readLe(take(4), 4))));
                break;
            case 'K':
                push(integer(take(1)[0]));
                break;
            case 'M':
                push(integer(static_cast<std::int64_t>(readLe(take(2), 2))));
                break;
            case 0x8a:
                push(long1(at));
                break;
            case 'G':
                push(binfloat());
                break;
            case 'N':
                push(make(PyObject::Kind::None));
                break;
            case 0x88:
                push(boolean(true));
                break;
            case 0x89:
                push(boolean(false));
                break;
            case 'X':
                push(string(readLe(take(4), 4), at));
                break;
            case 0x8c:
                push(string(take(1)[0], at));
                break;
            case 0x8d:
                push(string(readLe(take(8), 8), at));
                break;
            case 'c': {
                const std::string module = readLine(at);
                const std::string name = readLine(at);
                push(global(module + "." + name, at));
                break;
            }
            case 0x93: { // STACK_GLOBAL
                auto parts = popN(2, at);
                if (parts[0]->kind != PyObject::Kind::Str || parts[1]->kind != PyObject::Kind::Str)
                    fail(at, "STACK_GLOBAL needs two strings");
                push(global(parts[0]->text + "." + parts[1]->text, at));
                break;
            }
            case 'R': {
                PyRef args = popValue(at);
                PyRef callable = popValue(at);
                push(reduce(callable, args, at));
                break;
            }
            case 'b': {
                popValue(at); // state: OrderedDict's _metadata, ignored
                const PyRef target = top(at);
                if (target->kind != PyObject::Kind::Dict && target->kind != PyObject::Kind::Tensor)
                    fail(at, "BUILD on something that is not a dict or tensor");
                break;
            }
            case 'Q':
                push(persistentLoad(popValue(at), at));
                break;
            default: {
                char buffer[96];
                std::snprintf(buffer, sizeof buffer,
                              "pickle opcode 0x%02x is not allowed in a state dict", op);
                fail(at, buffer);
            }
            }
        }
    }

private:
    [[noreturn]] void fail(std::size_t at, const std::string &what) const
    {
        throw Error(m_file + ": " + what + " (byte " + std::to_string(at) +
                    " of the pickle); refusing to load, nothing was executed");
    }

    const unsigned char *take(std::size_t count)
    {
        if (count > m_size - m_pos)
            throw Error(m_file + ": the pickle ends early (truncated or damaged archive)");
        const unsigned char *p = m_data + m_pos;
        m_pos += count;
        return p;
    }

    static std::uint64_t readLe(const unsigned char *p, int bytes)
    {
        std::uint64_t value = 0;
        for (int i = bytes - 1; i >= 0; --i)
            value = (value << 8) | p[i];
        return value;
    }

    std::string readLine(std::size_t at)
    {
        const void *newline = std::memchr(m_data + m_pos, '\n', m_size - m_pos);
        if (!newline)
            fail(at, "unterminated GLOBAL name");
        const std::size_t length = static_cast<std::size_t>(
            static_cast<const unsigned char *>(newline) - (m_data + m_pos));
        std::string line(reinterpret_cast<const char *>(take(length)), length);
        take(1);
        return line;
    }

    void push(PyRef value) { m_stack.push_back(std::move(value)); }

    PyRef top(std::size_t at) const
    {
        if (m_stack.size() <= (m_marks.empty() ? 0 : m_marks.back()))
            fail(at, "stack underflow");
        return m_stack.back();
    }

    PyRef popValue(std::size_t at)
    {
        PyRef value = top(at);
        m_stack.pop_back();
        return value;
    }

    std::vector<PyRef> popN(std::size_t count, std::size_t at)
    {
        const std::size_t floor = m_marks.empty() ? 0 : m_marks.back();
        if (m_stack.size() < floor + count)
            fail(at, "stack underflow");
        std::vector<PyRef> values(m_stack.end() - static_cast<std::ptrdiff_t>(count),
                                  m_stack.end());
        m_stack.resize(m_stack.size() - count);
        return values;
    }

    std::vector<PyRef> popMark(std::size_t at)
    {
        if (m_marks.empty())
            fail(at, "no MARK on the stack");
        const std::size_t mark = m_marks.back();
        m_marks.pop_back();
        std::vector<PyRef> values(m_stack.begin() + static_cast<std::ptrdiff_t>(mark),
                                  m_stack.end());
        m_stack.resize(mark);
        return values;
    }

    PyRef memo(std::uint64_t key, std::size_t at) const
    {
        const auto it = m_memo.find(key);
        if (it == m_memo.end())
            fail(at, "memo key " + std::to_string(key) + " used before it was set");
        return it->second;
    }

    static PyRef tupleOf(std::vector<PyRef> values)
    {
        PyRef tuple = make(PyObject::Kind::Tuple);
        tuple->items = std::move(values);
        return tuple;
    }

    static PyRef integer(std::int64_t value)
    {
        PyRef object = make(PyObject::Kind::Int);
        object->integer = value;
        return object;
    }

    static PyRef boolean(bool value)
    {
        PyRef object = make(PyObject::Kind::Bool);
        object->integer = value;
        return object;
    }

    PyRef long1(std::size_t at)
    {
        const unsigned length = take(1)[0];
        if (length > 8)
            fail(at, "integer wider than 64 bits");
        const unsigned char *bytes = take(length);
        std::uint64_t value = readLe(bytes, static_cast<int>(length));
        if (length > 0 && length < 8 && (bytes[length - 1] & 0x80))
            value |= ~0ULL << (8 * length); // sign-extend
        return integer(static_cast<std::int64_t>(value));
    }

    PyRef binfloat()
    {
        const unsigned char *bytes = take(8);
        std::uint64_t bits = 0;
        for (int i = 0; i < 8; ++i)
            bits = (bits << 8) | bytes[i]; // big-endian
        PyRef object = make(PyObject::Kind::Float);
        std::memcpy(&object->real, &bits, sizeof bits);
        return object;
    }

    PyRef string(std::uint64_t length, std::size_t at)
    {
        if (length > m_size - m_pos)
            fail(at, "string longer than the pickle");
        PyRef object = make(PyObject::Kind::Str);
        object->text.assign(reinterpret_cast<const char *>(take(length)), length);
        if (!validUtf8(object->text))
            fail(at, "string that is not valid UTF-8");
        return object;
    }

    PyRef global(const std::string &name, std::size_t at) const
    {
        bool allowed = isStorageClass(name);
        for (const char *callable : kCallables)
            allowed = allowed || name == callable;
        if (!allowed)
            fail(at, "it refers to '" + name + "', which a state dict never needs");
        PyRef object = make(PyObject::Kind::Global);
        object->text = name;
        return object;
    }

    void append(const PyRef &list, const std::vector<PyRef> &values, std::size_t at) const
    {
        if (list->kind != PyObject::Kind::List)
            fail(at, "APPEND to something that is not a list");
        list->items.insert(list->items.end(), values.begin(), values.end());
    }

    void setItems(const PyRef &dict, const std::vector<PyRef> &pairs, std::size_t at) const
    {
        if (dict->kind != PyObject::Kind::Dict)
            fail(at, "SETITEM on something that is not a dict");
        if (pairs.size() % 2)
            fail(at, "SETITEMS with an odd number of values");
        dict->items.insert(dict->items.end(), pairs.begin(), pairs.end());
    }

    std::int64_t intArg(const PyRef &value, const char *what, std::size_t at) const
    {
        if (value->kind != PyObject::Kind::Int && value->kind != PyObject::Kind::Bool)
            fail(at, std::string("tensor ") + what + " is not an integer");
        return value->integer;
    }

    std::vector<std::int64_t> intTuple(const PyRef &value, const char *what, std::size_t at) const
    {
        if (value->kind != PyObject::Kind::Tuple)
            fail(at, std::string("tensor ") + what + " is not a tuple");
        std::vector<std::int64_t> result;
        for (const auto &item : value->items)
            result.push_back(intArg(item, what, at));
        return result;
    }

    PyRef reduce(const PyRef &callable, const PyRef &args, std::size_t at)
    {
        if (callable->kind != PyObject::Kind::Global || args->kind != PyObject::Kind::Tuple)
            fail(at, "REDUCE of something other than an allowed class");
        const std::string &name = callable->text;
        const auto &a = args->items;
        if (name == "collections.OrderedDict") {
            if (!a.empty())
                fail(at, "OrderedDict built from arguments");
            return makeMutable(PyObject::Kind::Dict);
        }
        if (name == "torch._utils._rebuild_tensor_v2") {
            if (a.size() < 6 || a.size() > 7 || a[0]->kind != PyObject::Kind::Storage)
                fail(at, "_rebuild_tensor_v2 with unexpected arguments");
            PyRef tensor = make(PyObject::Kind::Tensor);
            PickledTensor &t = tensor->tensor;
            t.storageKey = a[0]->text;
            t.dtype = a[0]->dtype;
            t.storageNumel = static_cast<std::uint64_t>(a[0]->integer);
            const std::int64_t offset = intArg(a[1], "storage offset", at);
            if (offset < 0)
                fail(at, "negative storage offset");
            t.offset = static_cast<std::uint64_t>(offset);
            t.shape = intTuple(a[2], "size", at);
            t.stride = intTuple(a[3], "stride", at);
            if (t.shape.size() != t.stride.size())
                fail(at, "tensor size and stride of different lengths");
            return tensor;
        }
        // _rebuild_parameter(data, requires_grad, hooks[, state]): the tensor itself.
        if (a.empty() || a[0]->kind != PyObject::Kind::Tensor)
            fail(at, name + " without a tensor");
        return a[0];
    }

    PyRef persistentLoad(const PyRef &id, std::size_t at) const
    {
        // ('storage', <storage class>, key, location, numel)
        const auto &a = id->items;
        if (id->kind != PyObject::Kind::Tuple || a.size() != 5 ||
            a[0]->kind != PyObject::Kind::Str || a[0]->text != "storage" ||
            a[1]->kind != PyObject::Kind::Global || a[2]->kind != PyObject::Kind::Str ||
            a[4]->kind != PyObject::Kind::Int)
            fail(at, "persistent id that is not a tensor storage");
        PyRef storage = make(PyObject::Kind::Storage);
        if (!isStorageClass(a[1]->text, &storage->dtype))
            fail(at, "storage of class '" + a[1]->text + "'");
        if (a[4]->integer < 0)
            fail(at, "storage with a negative size");
        storage->text = a[2]->text;
        storage->integer = a[4]->integer;
        return storage;
    }

    /// A list or dict: the only objects a pickle can change after making them (APPEND,
    /// SETITEM), so the only ones through which it can build a reference cycle.
    PyRef makeMutable(PyObject::Kind kind)
    {
        PyRef object = make(kind);
        m_mutable.push_back(object);
        return object;
    }

    const unsigned char *m_data;
    std::size_t m_size;
    std::size_t m_pos = 0;
    const std::string &m_file;
    std::vector<PyRef> m_stack;
    std::vector<std::size_t> m_marks;
    std::unordered_map<std::uint64_t, PyRef> m_memo;
    std::vector<std::weak_ptr<PyObject>> m_mutable; ///< every list and dict, for ~Unpickler
};

bool holdsTensors(const PyObject &dict)
{
    for (std::size_t i = 1; i < dict.items.size(); i += 2)
        if (dict.items[i]->kind == PyObject::Kind::Tensor)
            return true;
    return false;
}

} // namespace

std::vector<PickledTensor> readStateDictPickle(const std::byte *data, std::size_t size,
                                               const std::string &fileName)
{
    Unpickler unpickler(data, size, fileName);
    PyRef root = unpickler.run();
    if (root->kind != PyObject::Kind::Dict)
        throw Error(fileName + " does not hold a dict of tensors (a state dict)");
    if (!holdsTensors(*root)) {
        // {"state_dict": {...}} (Lightning) or {"model": {...}}: unwrap one level.
        for (std::size_t i = 0; i + 1 < root->items.size(); i += 2) {
            const auto &key = root->items[i];
            const auto &value = root->items[i + 1];
            if (key->kind == PyObject::Kind::Str &&
                (key->text == "state_dict" || key->text == "model" || key->text == "module") &&
                value->kind == PyObject::Kind::Dict && holdsTensors(*value)) {
                root = value;
                break;
            }
        }
    }
    std::vector<PickledTensor> tensors;
    for (std::size_t i = 0; i + 1 < root->items.size(); i += 2) {
        const auto &key = root->items[i];
        const auto &value = root->items[i + 1];
        if (key->kind != PyObject::Kind::Str)
            throw Error(fileName + ": state dict key is not a string");
        if (value->kind != PyObject::Kind::Tensor)
            throw Error(fileName + ": state dict entry '" + key->text + "' is not a tensor");
        PickledTensor tensor = value->tensor;
        tensor.name = key->text;
        tensors.push_back(std::move(tensor));
    }
    return tensors;
}

namespace {

void putLe(std::string &out, std::uint64_t value, int bytes)
{
    for (int i = 0; i < bytes; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void putInt(std::string &out, std::int64_t value)
{
    if (value >= 0 && value < 256) {
        out.push_back('K');
        out.push_back(static_cast<char>(value));
    } else if (value >= 0 && value < 65536) {
        out.push_back('M');
        putLe(out, static_cast<std::uint64_t>(value), 2);
    } else if (value >= INT32_MIN && value <= INT32_MAX) {
        out.push_back('J');
        putLe(out, static_cast<std::uint64_t>(value), 4);
    } else {
        out.push_back(static_cast<char>(0x8a)); // LONG1, 8 bytes two's complement
        out.push_back(8);
        putLe(out, static_cast<std::uint64_t>(value), 8);
    }
}

void putString(std::string &out, const std::string &text)
{
    out.push_back('X');
    putLe(out, text.size(), 4);
    out += text;
}

void putIntTuple(std::string &out, const std::vector<std::int64_t> &values)
{
    if (values.empty()) {
        out.push_back(')');
        return;
    }
    if (values.size() > 3)
        out.push_back('(');
    for (std::int64_t v : values)
        putInt(out, v);
    static const char tupleOps[] = {0, '\x85', '\x86', '\x87'};
    out.push_back(values.size() <= 3 ? tupleOps[values.size()] : 't');
}

const char *storageClassName(DType dtype)
{
    for (const auto &storage : kStorages)
        if (storage.dtype == dtype)
            return storage.name + 6; // without "torch."
    return "FloatStorage";
}

} // namespace

std::string writeStateDictPickle(const std::vector<PickledTensor> &tensors)
{
    std::string out = "\x80\x02";
    out += "ccollections\nOrderedDict\n)R(";
    for (const auto &t : tensors) {
        putString(out, t.name);
        out += "ctorch._utils\n_rebuild_tensor_v2\n((";
        putString(out, "storage");
        out += std::string("ctorch\n") + storageClassName(t.dtype) + "\n";
        putString(out, t.storageKey);
        putString(out, "cpu");
        putInt(out, static_cast<std::int64_t>(t.storageNumel));
        out += "tQ";
        putInt(out, static_cast<std::int64_t>(t.offset));
        putIntTuple(out, t.shape);
        putIntTuple(out, t.stride);
        out += "\x89"
               "ccollections\nOrderedDict\n)Rt"
               "R";
    }
    out += "u.";
    return out;
}

} // namespace mf
