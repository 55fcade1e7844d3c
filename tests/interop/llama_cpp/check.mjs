// SPDX-License-Identifier: GPL-3.0-or-later
// Reads a GGUF file with the real readers: llama.cpp (through node-llama-cpp's prebuilt CPU
// libraries) and @huggingface/gguf. Used by tests/interop/check_gguf.py.
//
//   node check.mjs REQUEST.json   prints one JSON object on stdout
// It must sit beside a node_modules holding package.json's packages (check_gguf.py puts a copy
// of it beside a link to the cached installation).
//
// REQUEST: {"model": "merged.gguf", "kv_type": "F32", "context": 64,
//           "sequences": [{"tokens": [...], "targets": N}, ...],  per-token log-probabilities
//           "texts": ["...", ...]}                                  llama.cpp's token ids
// OUT:     {"logprobs": [[...], ...], "ids": [[...], ...],
//           "gguf": {"metadata": {key: value or {"array": length}}, "tensors": [...]},
//           "llama": {"vocab_type", "bos", "eos", "train_context"}}
import { readFileSync } from "node:fs";
import { gguf } from "@huggingface/gguf";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const request = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = { logprobs: [], ids: [] };

// The second, independent reader: the file as @huggingface/gguf parses it.
const parsed = await gguf(request.model, { allowLocalFile: true });
const metadata = {};
for (const [key, value] of Object.entries(parsed.metadata))
    metadata[key] = Array.isArray(value) ? { array: value.length, first: value.slice(0, 4) }
        : typeof value === "bigint" ? Number(value) : value;
out.gguf = {
    metadata,
    tensors: parsed.tensorInfos.map((t) => ({
        name: t.name,
        dims: t.shape.map(Number),
        type: t.dtype,
        offset: Number(t.offset),
    })),
};

// llama.cpp: load (CPU only, prebuilt, never downloads or builds), tokenize, score.
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: request.model, gpuLayers: 0 });
out.llama = {
    train_context: model.trainContextSize,
    bos: model.tokens.bos,
    eos: model.tokens.eos,
};
for (const text of request.texts ?? [])
    out.ids.push(Array.from(model.tokenize(text, false)));

if ((request.sequences ?? []).length > 0) {
    const kv = request.kv_type ?? "F32"; // the default F16 cache alone moves log-probs by ~2e-3
    const context = await model.createContext({
        contextSize: request.context ?? 256,
        batchSize: request.context ?? 256,
        sequences: 1,
        flashAttention: false, // its CPU kernel rounds through f16: ~4e-3 on log-probabilities
        experimentalKvCacheKeyType: kv,
        experimentalKvCacheValueType: kv,
    });
    const sequence = context.getSequence();
    for (const { tokens, targets } of request.sequences) {
        await sequence.clearHistory();
        const first = tokens.length - targets; // index of the first scored token
        const input = tokens.slice(0, -1).map((token, i) =>
            i + 1 >= first
                ? [token, { generateNext: {
                    logits: true, // all of them: totalLogitWeight sums over what is returned
                    totalLogitWeight: true,
                } }]
                : token);
        const results = await sequence.controlledEvaluate(input);
        const logprobs = [];
        for (let i = first - 1; i < tokens.length - 1; ++i) {
            const next = results[i]?.next;
            if (!next || !next.logits || next.totalLogitWeight == null)
                throw new Error(`no logits at position ${i}`);
            const max = next.logits.values().next().value; // the map is sorted, highest first
            logprobs.push(next.logits.get(tokens[i + 1]) - max - Math.log(next.totalLogitWeight));
        }
        out.logprobs.push(logprobs);
    }
    await context.dispose();
}
await model.dispose();
await llama.dispose();
process.stdout.write(JSON.stringify(out) + "\n");
