// SPDX-License-Identifier: GPL-3.0-or-later
// The reference for Mergefront's tokenizer tests: Hugging Face's JavaScript port
// (@huggingface/tokenizers) encodes and decodes a corpus with a folder's tokenizer.json.
//   node reference_tokenize.mjs TOKENIZERS_JS TOKENIZER_JSON CONFIG_JSON CORPUS_JSON OUT_JSON
// TOKENIZERS_JS: the unpacked package (its dist/tokenizers.mjs); CONFIG_JSON may be "-".
// OUT_JSON gets, per corpus text: {"plain": ids without special tokens, "special": ids with
// them, "tokens": the tokens of plain, "decoded": decode(special), "decoded_skip":
// decode(special, skip_special_tokens)} (decodes are null for an empty id list).
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [jsDir, tokenizerFile, configFile, corpusFile, outFile] = process.argv.slice(2);
const { Tokenizer } = await import(pathToFileURL(`${jsDir}/dist/tokenizers.mjs`).href);
const tokenizerJson = JSON.parse(readFileSync(tokenizerFile, "utf8"));
const config = configFile === "-" ? {} : JSON.parse(readFileSync(configFile, "utf8"));
const tokenizer = new Tokenizer(tokenizerJson, config);
const corpus = JSON.parse(readFileSync(corpusFile, "utf8"));
const decode = (ids, skip) =>
  ids.length === 0 ? null : tokenizer.decode(ids, { skip_special_tokens: skip });
const results = corpus.map((text) => {
  const plain = tokenizer.encode(text, { add_special_tokens: false });
  const special = tokenizer.encode(text, { add_special_tokens: true });
  return {
    plain: plain.ids,
    special: special.ids,
    tokens: plain.tokens,
    decoded: decode(special.ids, false),
    decoded_skip: decode(special.ids, true),
  };
});
writeFileSync(outFile, JSON.stringify(results));
