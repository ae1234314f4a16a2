"""PyTorch oracle for Flowloop's Hugging Face causal-LM backbone (core/llm).

Builds tiny RANDOM models of the Qwen2 and Llama architectures, written here from their published
definitions (Qwen2 / Llama decoder blocks as in Hugging Face transformers' modeling_qwen2.py and
modeling_llama.py: RMSNorm, rotary embeddings in the rotate-half layout with rope_theta and rope_scaling
(llama3), grouped-query attention (q/k/v biases for Qwen2), SwiGLU MLP, tied or untied embeddings), saves
them in the Hugging Face folder layout (config.json, generation_config.json, safetensors — one model
sharded with model.safetensors.index.json, one stored as bf16 — and the Qwen2.5 tokenizer files), exports
the same models to ONNX with torch.onnx, and writes reference outputs for the token rows given in the
input JSON:
  - logits of a LEFT-PADDED batch (attention mask, positions = cumsum(mask) - 1), float32, at every real
    position (row-major per row, [len_b, V]);
  - the same rows run one by one without padding (checked here to equal the padded batch);
  - completion log-probabilities: sum over the completion of log_softmax(logits)[next token].

Usage: python3 hf_tiny.py <input.json> <out_dir> <tokenizer_dir>
input.json: {"rows": [[ids...]...], "score": [{"prompt": [...], "completion": [...]}...]}
No transformers / safetensors package is needed (safetensors are written by hand: 8-byte header length,
JSON header, raw little-endian bytes). Importable: `Model`, `load_folder(path)`, `read_safetensors`,
`write_safetensors` (test/oracles/hf_lora_step.py builds on them).
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(0)


# ---------------------------------------------------------------------------------------------- model
class Cfg:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def inv_freq(cfg):
    d = cfg.head_dim
    inv = 1.0 / (cfg.rope_theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    rs = cfg.rope_scaling
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        factor, low, high, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wl = 2 * math.pi / inv
        scaled = torch.where(wl > low_wl, inv / factor, inv)
        smooth = (old / wl - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wl >= high_wl) & (wl <= low_wl)
        inv = torch.where(medium, smoothed, scaled)
    elif rs and rs.get("rope_type", rs.get("type")) == "linear":
        inv = inv / rs["factor"]
    return inv


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class RMSNorm(torch.nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


class Attention(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, nh, nkv, dh = cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        qkv_bias = cfg.arch == "qwen2"
        self.q_proj = torch.nn.Linear(D, nh * dh, bias=qkv_bias)
        self.k_proj = torch.nn.Linear(D, nkv * dh, bias=qkv_bias)
        self.v_proj = torch.nn.Linear(D, nkv * dh, bias=qkv_bias)
        self.o_proj = torch.nn.Linear(nh * dh, D, bias=False)


class MLP(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, I = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = torch.nn.Linear(D, I, bias=False)
        self.up_proj = torch.nn.Linear(D, I, bias=False)
        self.down_proj = torch.nn.Linear(I, D, bias=False)

    def forward(self, h):
        return self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class DecoderLayer(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class Decoder(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = torch.nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class Model(torch.nn.Module):
    """Qwen2ForCausalLM / LlamaForCausalLM with Hugging Face module names (model.layers.N.self_attn.q_proj, …):
    `state_dict()` has the checkpoint's tensor names, and PEFT-style wrappers can replace the nn.Linear modules."""

    def __init__(self, cfg, init=True):
        super().__init__()
        self.cfg = cfg
        self.model = Decoder(cfg)
        self.lm_head = None if cfg.tie_word_embeddings else torch.nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.register_buffer("inv_freq", inv_freq(cfg), persistent=False)
        if init:  # random weights large enough that logits are O(1) (a 1e-4 tolerance must mean something)
            with torch.no_grad():
                for n, p in self.named_parameters():
                    if "norm" in n:
                        p.copy_(1 + 0.2 * torch.randn_like(p))
                    elif n.endswith("bias"):
                        p.copy_(0.1 * torch.randn_like(p))
                    elif "embed_tokens" in n or n.startswith("lm_head"):
                        p.copy_(0.3 * torch.randn_like(p))
                    else:
                        p.copy_(torch.randn_like(p) / math.sqrt(p.shape[1]))

    def forward(self, input_ids, attention_mask):
        return self.head(self.hidden(input_ids, attention_mask))

    def head(self, x):
        W = self.model.embed_tokens.weight if self.lm_head is None else self.lm_head.weight
        return x @ W.t()

    def hidden(self, input_ids, attention_mask):
        """Final-norm hidden states [B, L, D]."""
        cfg = self.cfg
        B, L = input_ids.shape
        nh, nkv, dh = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        pos = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        freqs = pos.float()[:, :, None] * self.inv_freq[None, None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]  # [B, 1, L, dh]
        ar = torch.arange(L)
        causal = ar[None, :] <= ar[:, None]  # [L(query), L(key)]
        keyok = attention_mask.bool()[:, None, None, :]
        allowed = causal[None, None] & keyok
        allowed = allowed | (ar[None, :] == ar[:, None])[None, None]  # a padding query sees itself
        bias = torch.zeros(B, 1, L, L).masked_fill(~allowed, -1e9)
        x = self.model.embed_tokens(input_ids)
        rep = nh // nkv
        for layer in self.model.layers:
            a = layer.self_attn
            h = layer.input_layernorm(x)
            q = a.q_proj(h).view(B, L, nh, dh).transpose(1, 2)
            k = a.k_proj(h).view(B, L, nkv, dh).transpose(1, 2)
            v = a.v_proj(h).view(B, L, nkv, dh).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k[:, :, None].expand(B, nkv, rep, L, dh).reshape(B, nh, L, dh)  # repeat_kv
            v = v[:, :, None].expand(B, nkv, rep, L, dh).reshape(B, nh, L, dh)
            att = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(dh) + bias, dim=-1)
            o = (att @ v).transpose(1, 2).reshape(B, L, nh * dh)
            x = x + a.o_proj(o)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return self.model.norm(x)

    def hf_state(self):
        """Parameters under Hugging Face names (the module names; a tied head is not stored)."""
        return dict(self.named_parameters())


# ---------------------------------------------------------------------------------------------- files
def tensor_bytes(t, dtype):
    t = t.detach().contiguous()
    if dtype == "BF16":
        return t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
    return t.to(torch.float32).numpy().tobytes()


def write_safetensors(path, tensors, dtype):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        b = tensor_bytes(tensors[name], dtype)
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """{name: float32 tensor} of one safetensors file (F32 / BF16 / F16)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        raw = bytearray(data[b:e])
        if t["dtype"] == "F32":
            x = torch.frombuffer(raw, dtype=torch.float32)
        elif t["dtype"] == "BF16":
            x = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16).to(torch.float32)
        elif t["dtype"] == "F16":
            x = torch.frombuffer(raw, dtype=torch.float16).to(torch.float32)
        else:
            raise ValueError(f"{path}: {name}: dtype {t['dtype']}")
        out[name] = x.reshape(t["shape"]).clone()
    return out


def config_of(config):
    """A Cfg from a config.json dict."""
    arch = "qwen2" if config["architectures"][0] == "Qwen2ForCausalLM" else "llama"
    keys = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "rms_norm_eps", "rope_theta", "rope_scaling", "tie_word_embeddings")
    c = Cfg(arch=arch, **{k: config.get(k) for k in keys})
    c.head_dim = config.get("head_dim") or c.hidden_size // c.num_attention_heads
    return c


def load_folder(path):
    """(config dict, Model) of a Hugging Face folder written here (or by Flowloop): sharded or single safetensors."""
    config = json.load(open(os.path.join(path, "config.json")))
    model = Model(config_of(config), init=False)
    index = os.path.join(path, "model.safetensors.index.json")
    tensors = {}
    if os.path.exists(index):
        for f in sorted(set(json.load(open(index))["weight_map"].values())):
            tensors.update(read_safetensors(os.path.join(path, f)))
    else:
        tensors = read_safetensors(os.path.join(path, "model.safetensors"))
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or [u for u in unexpected if u != "lm_head.weight"]:
        raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
    return config, model.eval()


def qwen25_tokenizer(src, dst):
    """The Qwen2.5 tokenizer files: Qwen3's byte-level BPE (same vocab and merges) without its 4 added tokens
    151665-151668 (<tool_response>, </tool_response>, <think>, </think>), with Qwen2.5-Instruct's special tokens."""
    tj = json.load(open(os.path.join(src, "tokenizer.json")))
    tj["added_tokens"] = [a for a in tj["added_tokens"] if a["id"] <= 151664]
    json.dump(tj, open(os.path.join(dst, "tokenizer.json"), "w"), ensure_ascii=False)
    tc = json.load(open(os.path.join(src, "tokenizer_config.json")))
    tc["added_tokens_decoder"] = {k: v for k, v in tc["added_tokens_decoder"].items() if int(k) <= 151664}
    tc.pop("chat_template", None)
    tc.update({"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "bos_token": None, "model_max_length": 131072})
    json.dump(tc, open(os.path.join(dst, "tokenizer_config.json"), "w"), ensure_ascii=False)


MODELS = {
    # Qwen2: q/k/v biases, GQA 4 heads / 2 kv heads, TIED embeddings, float32, SHARDED (index + 2 shards).
    "qwen2-tied-sharded": dict(arch="qwen2", hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                               num_key_value_heads=2, rope_theta=1000000.0, rope_scaling=None, tie_word_embeddings=True, dtype="F32", shards=2),
    # Qwen2 untied, stored as bf16 (computed in float32 from the bf16 values).
    "qwen2-untied-bf16": dict(arch="qwen2", hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                              num_key_value_heads=1, rope_theta=1000000.0, rope_scaling=None, tie_word_embeddings=False, dtype="BF16", shards=1),
    # Llama: no biases, GQA 8 heads / 2 kv heads (head_dim 8), untied, llama3 rope scaling.
    "llama-untied": dict(arch="llama", hidden_size=64, intermediate_size=112, num_hidden_layers=3, num_attention_heads=8,
                         num_key_value_heads=2, rope_theta=500000.0,
                         rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                       "original_max_position_embeddings": 256},
                         tie_word_embeddings=False, dtype="F32", shards=1),
}


def build(name, spec, out, tok_src, vocab):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    cfg = Cfg(vocab_size=vocab, rms_norm_eps=1e-6, head_dim=spec["hidden_size"] // spec["num_attention_heads"], **spec)
    model = Model(cfg).eval()
    if spec["dtype"] == "BF16":  # the reference computes in float32 from the stored bf16 values
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(torch.bfloat16).to(torch.float32))
    arch = "Qwen2ForCausalLM" if spec["arch"] == "qwen2" else "LlamaForCausalLM"
    config = {
        "architectures": [arch], "model_type": spec["arch"], "vocab_size": vocab, "hidden_size": spec["hidden_size"],
        "intermediate_size": spec["intermediate_size"], "num_hidden_layers": spec["num_hidden_layers"],
        "num_attention_heads": spec["num_attention_heads"], "num_key_value_heads": spec["num_key_value_heads"],
        "hidden_act": "silu", "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "rope_theta": spec["rope_theta"],
        "rope_scaling": spec["rope_scaling"], "tie_word_embeddings": spec["tie_word_embeddings"],
        "torch_dtype": "bfloat16" if spec["dtype"] == "BF16" else "float32", "bos_token_id": 151643, "eos_token_id": 151645,
        "use_cache": True,
    }
    if spec["arch"] == "qwen2":
        config.update({"use_sliding_window": False, "sliding_window": 32768, "max_window_layers": 21, "attention_dropout": 0.0})
    else:
        config.update({"attention_bias": False, "mlp_bias": False, "attention_dropout": 0.0})
    json.dump(config, open(os.path.join(d, "config.json"), "w"), indent=2)
    json.dump({"bos_token_id": 151643, "eos_token_id": [151645, 151643], "pad_token_id": 151643, "do_sample": False},
              open(os.path.join(d, "generation_config.json"), "w"), indent=2)
    qwen25_tokenizer(tok_src, d)
    state = model.hf_state()
    if spec["shards"] == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), state, spec["dtype"])
    else:
        names = sorted(state)
        n = spec["shards"]
        weight_map, total = {}, 0
        for i in range(n):
            part = names[i::n]
            fname = f"model-{i + 1:05d}-of-{n:05d}.safetensors"
            write_safetensors(os.path.join(d, fname), {k: state[k] for k in part}, spec["dtype"])
            for k in part:
                weight_map[k] = fname
                total += state[k].numel() * (2 if spec["dtype"] == "BF16" else 4)
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, open(os.path.join(d, "model.safetensors.index.json"), "w"), indent=2)
    return model


def left_pad(rows, pad):
    L = max(len(r) for r in rows)
    ids = torch.tensor([[pad] * (L - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (L - len(r)) + [1] * len(r) for r in rows])
    return ids, mask


def main():
    inp, out, tok_src = sys.argv[1], sys.argv[2], sys.argv[3]
    spec_in = json.load(open(inp))
    rows, score = spec_in["rows"], spec_in["score"]
    vocab = spec_in.get("vocab", 151936)
    pad = 151643
    os.makedirs(out, exist_ok=True)
    summary = {"torch": torch.__version__, "models": {}}
    for name, spec in MODELS.items():
        model = build(name, spec, out, tok_src, vocab)
        d = os.path.join(out, name)
        with torch.no_grad():
            ids, mask = left_pad(rows, pad)
            logits = model(ids, mask)
            L = ids.shape[1]
            parts, worst = [], 0.0
            for b, r in enumerate(rows):
                mine = logits[b, L - len(r):]
                alone = model(torch.tensor([r]), torch.ones(1, len(r), dtype=torch.long))[0]
                worst = max(worst, (mine - alone).abs().max().item())
                parts.append(mine.contiguous())
            torch.cat(parts).numpy().astype("<f4").tofile(os.path.join(d, "ref_logits.f32"))
            lps = []
            for s in score:
                seq = s["prompt"] + s["completion"]
                lg = model(torch.tensor([seq]), torch.ones(1, len(seq), dtype=torch.long))[0]
                lp = torch.log_softmax(lg.double(), -1)
                P = len(s["prompt"])
                lps.append(sum(lp[P - 1 + t, c].item() for t, c in enumerate(s["completion"])))
            _, back = load_folder(d)  # the saved folder reads back to the same model
            reread = (back(ids, mask) - logits).abs().max().item()
            if reread != 0:
                raise SystemExit(f"{name}: the saved folder reads back with logits off by {reread}")
        # ONNX: the same model, inputs input_ids / attention_mask [B, L] int64, output logits [B, L, V].
        torch.onnx.export(model, (ids, mask), os.path.join(d, "model.onnx"), input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], dynamic_axes={"input_ids": {0: "B", 1: "L"}, "attention_mask": {0: "B", 1: "L"}, "logits": {0: "B", 1: "L"}},
                          opset_version=14)
        summary["models"][name] = {"padded_vs_alone_max_abs": worst, "score_logprobs": lps,
                                   "logits_abs_max": logits.abs().max().item(), "dtype": spec["dtype"]}
        if worst > 1e-4:
            raise SystemExit(f"{name}: padded batch differs from rows alone by {worst}")
    json.dump(summary, open(os.path.join(out, "reference.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
