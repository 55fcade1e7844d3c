# SPDX-License-Identifier: GPL-3.0-or-later
"""Hugging Face model folders written with Python PyTorch exactly as transformers'
save_pretrained lays them out (transformers itself is not packaged by Debian 12; its layout
is): config.json and generation_config.json (json.dumps(indent=2, sort_keys=True) + newline),
tokenizer files, and the weights as model.safetensors, or shards model-0000k-of-0000n.safetensors
with model.safetensors.index.json ({"metadata": {"total_size"}, "weight_map"}, keys sorted),
split in state-dict order at max_shard_size; or, with safe_serialization=False,
pytorch_model.bin / pytorch_model-0000k-of-0000n.bin + pytorch_model.bin.index.json written by
torch.save. Tied weights: safetensors omits lm_head.weight (tie_word_embeddings), a .bin keeps
it as a second name of the word embeddings' storage, as older transformers did.

Used by check_folders.py (the cross-check) and bench/ (the folder benchmark)."""
import collections
import json
import os
import struct

import torch

from safetensors_reader import DTYPES

NAMES = {v: k for k, v in DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    """The safetensors format as the reference writer lays it out: header with __metadata__,
    data ordered by alignment (larger elements first) then name, header padded with spaces."""
    order = sorted(tensors, key=lambda k: (-tensors[k].element_size(), k))
    header = {"__metadata__": metadata or {"format": "pt"}}
    offset = 0
    blobs = []
    for name in order:
        t = tensors[name].contiguous()
        raw = t.flatten().view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def dump_json(path, value):
    with open(path, "w") as f:
        f.write(json.dumps(value, indent=2, sort_keys=True) + "\n")


def split_shards(state_dict, max_shard_size):
    """huggingface_hub's split: in state-dict order, a new shard when the next tensor would
    overflow the current one. Tensors sharing a storage count once."""
    shards, current, size, seen = [], collections.OrderedDict(), 0, set()
    for name, t in state_dict.items():
        key = (t.untyped_storage().data_ptr() if hasattr(t, "untyped_storage") else t.storage().data_ptr())
        bytes_ = 0 if key in seen else t.numel() * t.element_size()
        seen.add(key)
        if current and size + bytes_ > max_shard_size:
            shards.append(current)
            current, size = collections.OrderedDict(), 0
        current[name] = t
        size += bytes_
    shards.append(current)
    return shards


def save_pretrained(folder, state_dict, config, tokenizer_files, generation_config=None,
                    max_shard_size=5_000_000_000, safe_serialization=True, tied=("lm_head.weight",)):
    """Writes a model folder the way PreTrainedModel.save_pretrained does."""
    os.makedirs(folder, exist_ok=True)
    dump_json(os.path.join(folder, "config.json"), config)
    if generation_config is not None:
        dump_json(os.path.join(folder, "generation_config.json"), generation_config)
    for name, content in tokenizer_files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(os.path.join(folder, name), mode) as f:
            f.write(content)
    state = collections.OrderedDict(state_dict)
    if safe_serialization and config.get("tie_word_embeddings", True):
        for name in tied:  # safetensors cannot hold two names of one storage: the tied go
            state.pop(name, None)
    shards = split_shards(state, max_shard_size)
    stem, ext = ("model", "safetensors") if safe_serialization else ("pytorch_model", "bin")
    weight_map, total = {}, 0
    for k, shard in enumerate(shards):
        name = f"{stem}.{ext}" if len(shards) == 1 else f"{stem}-{k + 1:05d}-of-{len(shards):05d}.{ext}"
        path = os.path.join(folder, name)
        if safe_serialization:
            write_safetensors(path, shard, {"format": "pt"})
        else:
            torch.save(shard, path)
        seen = set()
        for tensor_name, t in shard.items():
            weight_map[tensor_name] = name
            key = t.storage().data_ptr()
            if key not in seen:
                total += t.numel() * t.element_size()
            seen.add(key)
    if len(shards) > 1:
        dump_json(os.path.join(folder, f"{stem}.{ext}.index.json"),
                  {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})


def byte_level_vocab():
    """GPT-2's byte-to-unicode table: the 256 byte symbols of its vocab.json."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in sorted(zip(bs, cs))}


def gpt2_tokenizer_files(extra_config=None):
    vocab = byte_level_vocab()
    vocab["<|endoftext|>"] = 256
    tokenizer_config = {"add_prefix_space": False, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                        "model_max_length": 128, "tokenizer_class": "GPT2Tokenizer", "unk_token": "<|endoftext|>"}
    tokenizer_config.update(extra_config or {})
    special = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
    tokenizer_json = {"version": "1.0", "truncation": None, "padding": None,
                      "added_tokens": [{"id": 256, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                                        "rstrip": False, "normalized": True, "special": True}],
                      "normalizer": None, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False,
                                                            "trim_offsets": True, "use_regex": True},
                      "post_processor": None, "decoder": {"type": "ByteLevel"},
                      "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                                "end_of_word_suffix": "", "fuse_unk": False, "vocab": vocab, "merges": []}}
    return {"vocab.json": json.dumps(vocab, ensure_ascii=False), "merges.txt": "#version: 0.2\n",
            "tokenizer_config.json": json.dumps(tokenizer_config, indent=2, sort_keys=True) + "\n",
            "special_tokens_map.json": json.dumps(special, indent=2, sort_keys=True) + "\n",
            "tokenizer.json": json.dumps(tokenizer_json, ensure_ascii=False, indent=2)}


def gpt2_config(layers, width, vocab, positions):
    return {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
            "bos_token_id": 256, "embd_pdrop": 0.1, "eos_token_id": 256, "initializer_range": 0.02,
            "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": positions, "n_embd": width,
            "n_head": 4, "n_inner": None, "n_layer": layers, "n_positions": positions, "resid_pdrop": 0.1,
            "torch_dtype": "bfloat16", "transformers_version": "4.46.3", "use_cache": True, "vocab_size": vocab}


def gpt2_state_dict(generator, layers, width, vocab, positions, dtype, scale=0.02):
    """GPT2LMHeadModel's state dict: Conv1D weights [in, out], lm_head the same tensor as wte."""
    def r(*shape):
        return (torch.randn(*shape, generator=generator) * scale).to(dtype)
    sd = collections.OrderedDict()
    sd["transformer.wte.weight"] = r(vocab, width)
    sd["transformer.wpe.weight"] = r(positions, width)
    for i in range(layers):
        p = f"transformer.h.{i}."
        sd[p + "ln_1.weight"] = (1 + r(width)).to(dtype)
        sd[p + "ln_1.bias"] = r(width)
        sd[p + "attn.c_attn.weight"] = r(width, 3 * width)
        sd[p + "attn.c_attn.bias"] = r(3 * width)
        sd[p + "attn.c_proj.weight"] = r(width, width)
        sd[p + "attn.c_proj.bias"] = r(width)
        sd[p + "ln_2.weight"] = (1 + r(width)).to(dtype)
        sd[p + "ln_2.bias"] = r(width)
        sd[p + "mlp.c_fc.weight"] = r(width, 4 * width)
        sd[p + "mlp.c_fc.bias"] = r(4 * width)
        sd[p + "mlp.c_proj.weight"] = r(4 * width, width)
        sd[p + "mlp.c_proj.bias"] = r(width)
    sd["transformer.ln_f.weight"] = (1 + r(width)).to(dtype)
    sd["transformer.ln_f.bias"] = r(width)
    sd["lm_head.weight"] = sd["transformer.wte.weight"]  # tied: one storage, two names
    return sd


def llama_config(layers, width, vocab):
    return {"architectures": ["LlamaForCausalLM"], "attention_bias": False, "bos_token_id": 1, "eos_token_id": 2,
            "hidden_act": "silu", "hidden_size": width, "intermediate_size": 2 * width, "max_position_embeddings": 256,
            "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": layers, "num_key_value_heads": 2,
            "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
            "transformers_version": "4.46.3", "use_cache": True, "vocab_size": vocab}


def llama_state_dict(generator, layers, width, vocab, dtype, scale=0.02):
    def r(*shape):
        return (torch.randn(*shape, generator=generator) * scale).to(dtype)
    kv = width // 2
    sd = collections.OrderedDict()
    sd["model.embed_tokens.weight"] = r(vocab, width)
    for i in range(layers):
        p = f"model.layers.{i}."
        sd[p + "self_attn.q_proj.weight"] = r(width, width)
        sd[p + "self_attn.k_proj.weight"] = r(kv, width)
        sd[p + "self_attn.v_proj.weight"] = r(kv, width)
        sd[p + "self_attn.o_proj.weight"] = r(width, width)
        sd[p + "mlp.gate_proj.weight"] = r(2 * width, width)
        sd[p + "mlp.up_proj.weight"] = r(2 * width, width)
        sd[p + "mlp.down_proj.weight"] = r(width, 2 * width)
        sd[p + "input_layernorm.weight"] = (1 + r(width)).to(dtype)
        sd[p + "post_attention_layernorm.weight"] = (1 + r(width)).to(dtype)
    sd["model.norm.weight"] = (1 + r(width)).to(dtype)
    sd["lm_head.weight"] = r(vocab, width)
    return sd


def llama_tokenizer_files():
    template = ("{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n"
                "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
    tokenizer_config = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
                        "model_max_length": 256, "tokenizer_class": "LlamaTokenizerFast", "unk_token": "<unk>"}
    tokens = {"<unk>": 0, "<s>": 1, "</s>": 2}
    tokens.update({f"<0x{b:02X}>": 3 + b for b in range(256)})
    tokenizer_json = {"version": "1.0", "added_tokens": [], "normalizer": None, "pre_tokenizer": None,
                      "model": {"type": "BPE", "byte_fallback": True, "vocab": tokens, "merges": []}}
    return {"tokenizer.json": json.dumps(tokenizer_json, indent=2),
            "tokenizer_config.json": json.dumps(tokenizer_config, indent=2, sort_keys=True) + "\n",
            "special_tokens_map.json": json.dumps({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
                                                  indent=2, sort_keys=True) + "\n",
            "chat_template.jinja": template}


def fine_tune(base, generator, step):
    """A fine-tune near the base, as real ones are; tied names stay one storage."""
    out = collections.OrderedDict()
    made = {}
    for name, t in base.items():
        key = t.storage().data_ptr()
        if key in made:
            out[name] = made[key]
            continue
        moved = (t.float() + step * torch.randn(t.shape, generator=generator) * t.float().abs().mean()).to(t.dtype)
        made[key] = moved
        out[name] = moved
    return out
