// SPDX-License-Identifier: GPL-3.0-or-later
// The reference side of the tokenizer benchmark: tokenizers.js (@huggingface/tokenizers) loads
// a tokenizer.json and encodes each document without special tokens; JSON on stdout with the
// same fields as mergefront-bench-tokenizer.
//   node reference_tokenize_bench.mjs TOKENIZERS_JS FOLDER DOCUMENTS.json [REPEAT]
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [jsDir, folder, documentsFile, repeatText] = process.argv.slice(2);
const repeat = Number(repeatText ?? 3);
const { Tokenizer } = await import(pathToFileURL(`${jsDir}/dist/tokenizers.mjs`).href);
const documents = JSON.parse(readFileSync(documentsFile, "utf8"));
const load = () => {
  const json = JSON.parse(readFileSync(`${folder}/tokenizer.json`, "utf8"));
  let config = {};
  try {
    config = JSON.parse(readFileSync(`${folder}/tokenizer_config.json`, "utf8"));
  } catch {}
  return new Tokenizer(json, config);
};
let best = Infinity, bestLoad = Infinity, tokens = 0, tokenizer;
for (let r = 0; r < repeat; ++r) {
  let start = process.hrtime.bigint();
  tokenizer = load(); // a cold cache every run, as on the C++ side
  bestLoad = Math.min(bestLoad, Number(process.hrtime.bigint() - start) / 1e9);
  start = process.hrtime.bigint();
  tokens = 0;
  for (const document of documents) tokens += tokenizer.encode(document, { add_special_tokens: false }).ids.length;
  best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
}
console.log(JSON.stringify({ load_s: bestLoad, encode_s: best, tokens, tokens_per_s: tokens / best }));
