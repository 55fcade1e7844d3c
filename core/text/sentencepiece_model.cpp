// SPDX-License-Identifier: GPL-3.0-or-later
#include "text/sentencepiece_model.h"

#include "text/decoders.h"
#include "text/model.h"
#include "util/error.h"
#include "util/plugin.h"

#include <dlfcn.h>

namespace mf::text {

#ifdef MERGEFRONT_SENTENCEPIECE_PLUGIN_BUILD_PATH

bool haveSentencePiece()
{
    return true;
}

Tokenizer::Parts sentencePieceParts(const std::string &modelFile)
{
    using Open = bool (*)(const char *, Model **, Decoder **, std::string *);
    void *plugin =
        openPlugin({"libmergefront_sentencepiece.so", "MERGEFRONT_SENTENCEPIECE_PLUGIN",
                    MERGEFRONT_SENTENCEPIECE_PLUGIN_BUILD_PATH, "mergefront_open_sentencepiece",
                    "the SentencePiece plugin (libmergefront_sentencepiece.so)",
                    "it is built beside mergefront-cli when libsentencepiece-dev is "
                    "installed; or set MERGEFRONT_SENTENCEPIECE_PLUGIN"});
    const auto open = reinterpret_cast<Open>(::dlsym(plugin, "mergefront_open_sentencepiece"));
    Model *model = nullptr;
    Decoder *decoder = nullptr;
    std::string error;
    if (!open(modelFile.c_str(), &model, &decoder, &error))
        throw Error(error);
    Tokenizer::Parts parts;
    parts.model.reset(model);
    parts.decoder.reset(decoder);
    return parts;
}

#else

bool haveSentencePiece()
{
    return false;
}

Tokenizer::Parts sentencePieceParts(const std::string &modelFile)
{
    throw Error(modelFile +
                ": this build of Mergefront reads no SentencePiece models (it was built without "
                "Debian's libsentencepiece-dev); a tokenizer.json beside it would do");
}

#endif

} // namespace mf::text
