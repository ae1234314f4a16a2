# PyTorch CPU peer of bench/llm/bench.ts: forward + backward of a Qwen2-shaped causal LM (the oracle's
# Model from test/oracles/hf_tiny.py, written from the published definition) on random weights, the loss
# being the mean full-vocabulary log-probability of T title tokens after a P-token prompt (what a Flower
# SFT step computes). Mode `full`: gradients of every weight; `lora`: of rank-r adapters on every linear
# layer (base frozen; backward still runs through the whole network).
# usage: OMP_NUM_THREADS=2 /usr/bin/python3 bench/python/llm_step_torch.py '<json shape>' steps warmup threads
# prints one JSON object.
import json, os, sys, time
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'test', 'oracles'))
import hf_tiny  # noqa: E402

shape = json.loads(sys.argv[1])
steps, warmup, threads = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)


class LoraLinear(nn.Module):
    def __init__(self, base, r, scale):
        super().__init__()
        self.base = base
        self.A = nn.Parameter(torch.randn(r, base.in_features) / base.in_features ** 0.5)
        self.B = nn.Parameter(torch.randn(base.out_features, r) * 0.01)
        self.scale = scale

    def forward(self, x):
        return self.base(x) + self.scale * (x @ self.A.t()) @ self.B.t()


c = shape['config']
cfg = hf_tiny.Cfg(arch='qwen2', vocab_size=c['vocab_size'], hidden_size=c['hidden_size'], intermediate_size=c['intermediate_size'],
                  num_hidden_layers=c['num_hidden_layers'], num_attention_heads=c['num_attention_heads'],
                  num_key_value_heads=c['num_key_value_heads'], rms_norm_eps=1e-6, rope_theta=c['rope_theta'], rope_scaling=None,
                  tie_word_embeddings=True, head_dim=c['hidden_size'] // c['num_attention_heads'])
t0 = time.perf_counter()
model = hf_tiny.Model(cfg)
if shape['mode'] == 'lora':
    for p in model.parameters():
        p.requires_grad_(False)
    for layer in model.model.layers:
        for parent, names in ((layer.self_attn, ('q_proj', 'k_proj', 'v_proj', 'o_proj')), (layer.mlp, ('gate_proj', 'up_proj', 'down_proj'))):
            for n in names:
                setattr(parent, n, LoraLinear(getattr(parent, n), shape['r'], 2.0))
params = [p for p in model.parameters() if p.requires_grad]
load_s = time.perf_counter() - t0
B, P, T = shape['B'], shape['P'], shape['T']
g = torch.Generator().manual_seed(1)
ids = torch.randint(0, 151000, (B, P + T - 1), generator=g)  # prompt P tokens + title T-1 tokens: T title states
mask = torch.ones(B, P + T - 1, dtype=torch.long)
labels = torch.cat([ids[:, P:], torch.full((B, 1), 151645)], 1)  # the next token of each state (title, then EOS)
wall, cpu, losses = [], [], []
for i in range(warmup + steps):
    w0, c0 = time.perf_counter(), time.process_time()
    h = model.hidden(ids, mask)[:, P - 1:P - 1 + T]  # title states only (as Flowloop's logProbsAt)
    lp = torch.log_softmax(model.head(h), -1).gather(-1, labels[:, :, None])
    loss = -lp.mean()
    grads = torch.autograd.grad(loss, params)
    del grads
    if i >= warmup:
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        losses.append(loss.item())
blas = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower() and '.so' in l})
print(json.dumps({'engine': f'torch {torch.__version__}', 'blas': ', '.join(blas) or 'none mapped', 'threads': threads, 'loadS': load_s, 'params': sum(p.numel() for p in model.parameters()),
                  'trainable': sum(p.numel() for p in params), 'stepMs': wall, 'cpuMs': cpu, 'loss': losses[-1] if losses else None}))
