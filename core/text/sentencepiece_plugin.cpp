// SPDX-License-Identifier: GPL-3.0-or-later
// The SentencePiece plugin (libmergefront_sentencepiece.so), opened on the first tokenizer.model:
// Debian's libsentencepiece carries its own copy of protobuf, which would bind to LibTorch's
// libprotobuf (and crash it at start-up) if both sat in the process's global scope. Loaded
// RTLD_LOCAL, each keeps its own.
#include "text/decoders.h"
#include "text/model.h"
#include "text/sentencepiece_model.h"
#include "util/error.h"

#include <sentencepiece_processor.h>

#include <unordered_map>

namespace mf::text {
namespace {

class SentencePieceModel final : public Model {
public:
    explicit SentencePieceModel(const std::string &file)
        : m_file(file)
    {
        const auto status = m_processor.Load(file);
        if (!status.ok())
            throw Error(file + ": not a SentencePiece model: " + status.ToString());
        const int size = m_processor.GetPieceSize();
        m_pieces.reserve(static_cast<std::size_t>(size));
        for (int id = 0; id < size; ++id) {
            m_pieces.push_back(m_processor.IdToPiece(id));
            m_ids.emplace(m_pieces.back(), static_cast<std::uint32_t>(id));
        }
    }
    void tokenize(std::string_view piece, std::vector<std::uint32_t> &ids) const override
    {
        std::vector<int> encoded;
        const auto status = m_processor.Encode(piece, &encoded);
        if (!status.ok())
            throw Error(m_file + ": SentencePiece could not encode: " + status.ToString());
        for (int id : encoded)
            ids.push_back(static_cast<std::uint32_t>(id));
    }
    std::optional<std::uint32_t> tokenToId(std::string_view token) const override
    {
        const auto it = m_ids.find(std::string(token));
        if (it == m_ids.end())
            return std::nullopt;
        return it->second;
    }
    const std::string *idToToken(std::uint32_t id) const override
    {
        return id < m_pieces.size() ? &m_pieces[id] : nullptr;
    }
    std::uint32_t vocabularySize() const override
    {
        return static_cast<std::uint32_t>(m_pieces.size());
    }
    const sentencepiece::SentencePieceProcessor &processor() const { return m_processor; }

private:
    std::string m_file;
    sentencepiece::SentencePieceProcessor m_processor;
    std::vector<std::string> m_pieces;
    std::unordered_map<std::string, std::uint32_t> m_ids;
};

/// Runs of the model's pieces decoded by SentencePiece; other tokens (added ones) as they are.
class SentencePieceDecoder final : public Decoder {
public:
    explicit SentencePieceDecoder(const SentencePieceModel &model)
        : m_model(model)
    {
    }
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        std::vector<std::string> out, run;
        const auto flush = [&] {
            if (run.empty())
                return;
            std::string text;
            const auto status = m_model.processor().Decode(run, &text);
            if (!status.ok())
                throw Error("SentencePiece could not decode: " + status.ToString());
            out.push_back(std::move(text));
            run.clear();
        };
        for (std::string &token : tokens) {
            if (m_model.tokenToId(token)) {
                run.push_back(std::move(token));
            } else {
                flush();
                out.push_back(std::move(token));
            }
        }
        flush();
        return out;
    }

private:
    const SentencePieceModel &m_model;
};

} // namespace

} // namespace mf::text

extern "C" bool mergefront_open_sentencepiece(const char *file, mf::text::Model **model,
                                              mf::text::Decoder **decoder, std::string *error)
{
    try {
        auto opened = std::make_unique<mf::text::SentencePieceModel>(file);
        *decoder = new mf::text::SentencePieceDecoder(*opened);
        *model = opened.release();
        return true;
    } catch (const std::exception &e) {
        *error = e.what();
        return false;
    }
}
