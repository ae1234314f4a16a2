"""PyTorch reference of one Flower training step on a Hugging Face causal LM, with LoRA or full fine-tuning.

Independent of Flowloop's code paths: every row runs ALONE (no padding, positions 0..n-1) through the
model of test/oracles/hf_tiny.py (the published Qwen2 / Llama block, Hugging Face module names), LoRA is injected as PEFT does
(each targeted nn.Linear wrapped: base(x) + lora_B(lora_A(x)) * lora_alpha / r; dropout 0 here), and the
Flower loss (docs/methods.md §A4, §A6) is written out literally:
  L_SFT = - Σ_rows w_row Σ_t log π(target_t | prompt, target_<t) / (number of target tokens)
  L_GFN = mean over all pairs 0 <= m < n <= k of every sampled path of
          (log F(s_m) + Σ_{t=m}^{n-1} log π(y_t|s_t) - log F(s_n))²,   log F(s_t) = log_r[t] - log π(⊤|s_t)
  L = θ·L_SFT + (1-θ)·L_GFN    (only the terms present when a batch lacks one)
with log π the log-softmax over the FULL vocabulary. Gradients by autograd.

It also merges the adapter into the base weights (W + (alpha/r)·B·A, PEFT's merge_and_unload) and writes the
merged model's logits, checking here that they equal the unmerged adapted model's.

Usage: python3 hf_lora_step.py <input.json> <output.json>
input.json:
  {"model": <HF model folder>, "adapter": <PEFT adapter folder> | null (null = full fine-tuning),
   "theta": θ, "terminal": <token id of ⊤>,
   "rows": [{"prompt": [ids], "sft": [title ids incl. ⊤] | null, "weight": w, "gfn": {"input": [ids], "logR": [k+1 floats]} | null}],
   "grads": [names to report in full-FT mode (HF names)],
   "logits": [[ids], ...]  (rows whose logits the merged model reports)}
output.json: {"loss", "sft", "gfn", "grads": {name: [flat row-major]}, "merge_vs_adapter_max_abs"}, and
<output.json>.logits.f32: the merged model's logits of the "logits" rows, [len, V] each, concatenated, float32 LE.
No transformers / peft / safetensors package is needed.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_tiny import load_folder, read_safetensors  # noqa: E402  (the architecture, with Hugging Face module names)

torch.set_default_dtype(torch.float32)


class LoraLinear(torch.nn.Module):
    """PEFT's LoRA Linear (dropout 0): base(x) + lora_B(lora_A(x)) * scaling."""

    def __init__(self, base, A, B, scaling):
        super().__init__()
        self.base = base
        self.lora_A = torch.nn.Parameter(A.clone())
        self.lora_B = torch.nn.Parameter(B.clone())
        self.scaling = scaling

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.t()) @ self.lora_B.t() * self.scaling


def inject(model, adapter_dir):
    """Wrap every adapted nn.Linear (found by its Hugging Face module path) in a LoraLinear, as PEFT does."""
    cfg = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    assert cfg["peft_type"] == "LORA", cfg
    tensors = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    scaling = cfg["lora_alpha"] / cfg["r"]
    params = {}
    for name in sorted(tensors):
        if not name.endswith(".lora_A.weight"):
            continue
        mod = name[len("base_model.model."):-len(".lora_A.weight")]
        A, B = tensors[name], tensors[name.replace("lora_A", "lora_B")]
        parent_name, _, attr = mod.rpartition(".")
        parent = model.get_submodule(parent_name)
        base = getattr(parent, attr)
        assert isinstance(base, torch.nn.Linear), (mod, type(base))
        assert A.shape == (cfg["r"], base.in_features) and B.shape == (base.out_features, cfg["r"]), (name, A.shape, B.shape)
        lin = LoraLinear(base, A, B, scaling)
        setattr(parent, attr, lin)
        params[name] = lin.lora_A
        params[name.replace("lora_A", "lora_B")] = lin.lora_B
    return params, scaling


def merge(model):
    """merge_and_unload: replace every LoraLinear by its base with W + scaling·B·A."""
    for name, m in list(model.named_modules()):
        if isinstance(m, LoraLinear):
            with torch.no_grad():
                m.base.weight += m.scaling * (m.lora_B @ m.lora_A)
            parent_name, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent_name), attr, m.base)


def row_logprobs(model, prompt, tokens):
    """Full-vocabulary log-softmax at states s_0..s_k (s_t = prompt + tokens[:t]), float64 for the loss."""
    seq = prompt + tokens
    logits = model(torch.tensor([seq]), torch.ones(1, len(seq), dtype=torch.long))[0]
    P = len(prompt)
    return torch.log_softmax(logits[P - 1:P + len(tokens)], dim=-1)  # [k+1, V]


def flower_loss(model, rows, theta, terminal):
    sft_sum, sft_count, have_sft = 0.0, 0, False
    gfn_sum, gfn_pairs, have_gfn = 0.0, 0, False
    for r in rows:
        if r.get("sft"):
            have_sft = True
            tgt = r["sft"]
            lp = row_logprobs(model, r["prompt"], tgt[:-1])
            w = r.get("weight", 1.0)
            for t, y in enumerate(tgt):
                sft_sum = sft_sum - w * lp[t, y]
                sft_count += 1
        if r.get("gfn") and theta < 1:
            have_gfn = True
            path, logR = r["gfn"]["input"], r["gfn"]["logR"]
            k = len(path)
            lp = row_logprobs(model, r["prompt"], path)
            logF = [logR[t] - lp[t, terminal] for t in range(k + 1)]
            for m in range(k):
                for n in range(m + 1, k + 1):
                    res = logF[m] - logF[n]
                    for t in range(m, n):
                        res = res + lp[t, path[t]]
                    gfn_sum = gfn_sum + res * res
                    gfn_pairs += 1
    sft = sft_sum / max(sft_count, 1) if have_sft else None
    gfn = gfn_sum / max(gfn_pairs, 1) if have_gfn else None
    if sft is not None and gfn is not None:
        total = theta * sft + (1 - theta) * gfn
    else:
        total = sft if sft is not None else gfn
    return total, sft, gfn


def main():
    spec = json.load(open(sys.argv[1]))
    _, model = load_folder(spec["model"])
    for p in model.parameters():
        p.requires_grad_(spec.get("adapter") is None)
    out = {"torch": torch.__version__}
    if spec.get("adapter"):
        params, scaling = inject(model, spec["adapter"])
    else:
        state = dict(model.named_parameters())
        params = {n: state[n] for n in spec.get("grads", [])}
    total, sft, gfn = flower_loss(model, spec["rows"], spec["theta"], spec["terminal"])
    total.backward()
    out.update(loss=float(total), sft=None if sft is None else float(sft), gfn=None if gfn is None else float(gfn))
    out["grads"] = {n: p.grad.detach().reshape(-1).tolist() for n, p in params.items()}
    if spec.get("logits"):
        with torch.no_grad():
            before = [model(torch.tensor([s]), torch.ones(1, len(s), dtype=torch.long))[0] for s in spec["logits"]]
            if spec.get("adapter"):
                merge(model)
            after = [model(torch.tensor([s]), torch.ones(1, len(s), dtype=torch.long))[0] for s in spec["logits"]]
        out["merge_vs_adapter_max_abs"] = max(float((a - b).abs().max()) for a, b in zip(before, after))
        torch.cat([a.reshape(-1) for a in after]).numpy().astype("<f4").tofile(sys.argv[2] + ".logits.f32")
        if out["merge_vs_adapter_max_abs"] > 1e-4:
            raise SystemExit(f"merged model differs from the adapted one by {out['merge_vs_adapter_max_abs']}")
    json.dump(out, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
