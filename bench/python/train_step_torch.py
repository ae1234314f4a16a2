# PyTorch CPU peer of bench/trainStep: the same two models, sizes and losses as bench/trainStep/steps.ts
# (configs in bench/trainStep/configs.json), one Adam training step timed per batch.
#   policy: core/models/policy.ts TransformerPolicy (history-free) -> token CE + SubTB (core/flower/subtb.ts)
#   sasrec: core/models/sasrec.ts (docs/methods.md §C) -> BCE next item vs one negative + L2 weight decay
# usage: OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/python/train_step_torch.py <policy|sasrec> [steps] [warmup] [threads]
# Each timed step includes creating its batch, as ours does. Prints one JSON object.
import json, math, os, resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

model_name = sys.argv[1] if len(sys.argv) > 1 else 'policy'
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 3
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
torch.set_num_threads(threads)
torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
CFG = json.load(open(os.path.join(HERE, '..', 'trainStep', 'configs.json')))[model_name]


def blas_library():
    """The BLAS shared object this process mapped (reference netlib vs OpenBLAS decides torch's speed here)."""
    try:
        libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower() and '.so' in l})
        return ', '.join(libs) or 'none mapped'
    except OSError:
        return 'unknown'


class Policy(nn.Module):
    """TransformerPolicy of core/models/policy.ts with maxHistory 0: pre-LN blocks, fused qkv, ReLU FFN, untied head."""
    def __init__(self, c):
        super().__init__()
        self.c = c
        D, V, T = c['dModel'], c['vocab'], c['T']
        self.tok = nn.Embedding(V, D); self.pos = nn.Parameter(torch.randn(T, D) * 0.02)
        nn.init.normal_(self.tok.weight, 0, 0.02)
        self.layers = nn.ModuleList([nn.ModuleDict(dict(ln1=nn.LayerNorm(D), qkv=nn.Linear(D, 3 * D), o=nn.Linear(D, D),
                                                        ln2=nn.LayerNorm(D), f1=nn.Linear(D, c['ffn']), f2=nn.Linear(c['ffn'], D)))
                                     for _ in range(c['layers'])])
        self.lnf = nn.LayerNorm(D)
        self.head = nn.Linear(D, V)
        self.register_buffer('mask', torch.triu(torch.full((T, T), -1e9), diagonal=1))

    def loss(self, batch):
        toks, tgt, logR = batch
        c = self.c; B, T = toks.shape; D = c['dModel']; nh = c['heads']; dh = D // nh; p = c['dropout']
        x = F.dropout((self.tok(toks) + self.pos).view(B * T, D), p, True)
        mask = self.mask.expand(B, 1, T, T)  # the model adds a [B,1,L,L] padding+causal mask
        for l in self.layers:
            qkv = l['qkv'](l['ln1'](x)).view(B, T, 3, nh, dh).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            att = torch.softmax(q @ k.transpose(-1, -2) * (1.0 / math.sqrt(dh)) + mask, -1)
            ctx = (att @ v).permute(0, 2, 1, 3).reshape(B * T, D)
            x = x + F.dropout(l['o'](ctx), p, True)
            x = x + F.dropout(l['f2'](F.relu(l['f1'](l['ln2'](x)))), p, True)
        logp = F.log_softmax(self.head(self.lnf(x)), -1)
        tok_lp = logp.gather(1, tgt.view(-1, 1)).view(B, T)
        term_lp = logp[:, c['terminal']].view(B, T)
        ce = -tok_lp.mean()
        # SubTB over all state pairs (core/flower/subtb.ts subtbLossTensor with every state valid)
        C = torch.cat([torch.zeros(B, 1), torch.cumsum(tok_lp, 1)[:, :-1]], 1)
        Dv = logR - term_lp - C
        dev = Dv - Dv.mean(1, keepdim=True)
        pairs = B * T * (T - 1) / 2
        subtb = (T * dev.square().sum(1)).sum() / pairs
        return ce + subtb

    def make_batch(self, g):
        c = self.c; B, T, V = c['batch'], c['T'], c['vocab']
        rows = torch.randint(3, V, (B, T - 1), generator=g)
        toks = torch.cat([torch.ones(B, 1, dtype=torch.long), rows], 1)  # BOS + title tokens
        tgt = torch.cat([rows, torch.full((B, 1), c['terminal'], dtype=torch.long)], 1)
        return toks, tgt, -10 * torch.rand(B, T, generator=g)


class SASRec(nn.Module):
    """docs/methods.md §C (core/models/sasrec.ts) with dropout on embeddings, attention weights and FFN output."""
    def __init__(self, c):
        super().__init__()
        self.c = c
        H, N, L = c['hidden'], c['items'], c['L']
        self.E = nn.Embedding(N + 1, H); self.P = nn.Embedding(L, H)
        nn.init.normal_(self.E.weight, 0, 0.01); nn.init.normal_(self.P.weight, 0, 1)
        self.ln1, self.ln2, self.ln3, self.lnff = nn.LayerNorm(H), nn.LayerNorm(H), nn.LayerNorm(H), nn.LayerNorm(H)
        self.q, self.k, self.v, self.w1, self.w2 = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
        self.fc = nn.Linear(H, N)
        self.register_buffer('causal', torch.tril(torch.ones(L, L)))

    def loss(self, batch):
        seq, lens, pos, neg = batch
        c = self.c; B, L = seq.shape; H = c['hidden']; p = c['dropout']
        m = (seq != c['items']).float().unsqueeze(-1)
        x = F.dropout(self.E(seq) + self.P.weight, p, True) * m
        q = self.ln1(x)
        A = (self.q(q) @ self.k(x).transpose(1, 2)) / math.sqrt(H)
        allowed = torch.sign(torch.abs(x.sum(-1))).unsqueeze(1) * self.causal
        A = A * allowed + (1 - allowed) * (-(2 ** 32) + 1)
        A = torch.softmax(A, -1) * torch.sign(torch.abs(q.sum(-1))).unsqueeze(-1)
        h = F.dropout(A, p, True) @ self.v(x) + q
        h2 = self.ln2(h)
        f = F.dropout(self.w2(F.relu(self.w1(h2))), p, True)
        f = self.ln3(self.lnff(f + h2) * m)
        rep = f[torch.arange(B), lens - 1]
        logit = lambda ids: (rep * self.fc.weight[ids]).sum(-1) + self.fc.bias[ids]
        return (F.softplus(-logit(pos)) + F.softplus(logit(neg))).mean()

    def make_batch(self, g):
        """Rows of the pool (kept padded, as the reference keeps its padded sequences in a DataFrame), one
        uniform negative per row (never the positive)."""
        c = self.c; B, N = c['batch'], c['items']
        idx = torch.randint(0, self.pool_seq.shape[0], (B,), generator=g)
        pos = self.pool_next[idx]
        neg = (pos + torch.randint(1, N, (B,), generator=g)) % N
        return self.pool_seq[idx], self.pool_len[idx], pos, neg

    def make_pool(self, g):
        """The fixed pool of synthetic training rows (histories of 1..L items left-aligned and padded with
        the pad id, their lengths, the next item), built once, untimed."""
        c = self.c; L, N, P = c['L'], c['items'], c['pool']
        self.pool_len = torch.randint(1, L + 1, (P,), generator=g)
        ids = torch.randint(0, N, (P, L), generator=g)
        self.pool_seq = torch.where(torch.arange(L).unsqueeze(0) < self.pool_len.unsqueeze(1), ids, torch.full_like(ids, N))
        self.pool_next = torch.randint(0, N, (P,), generator=g)


def main():
    if CFG['kind'] == 'policy':
        model = Policy(CFG)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-8)
    else:
        model = SASRec(CFG)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=CFG['weightDecay'])
    model.train()
    g = torch.Generator().manual_seed(1)
    times, cpu, losses = [], [], []
    if CFG['kind'] == 'sasrec':
        model.make_pool(g)
    for i in range(warmup + steps):
        # timed from batch creation to the loss read back, as bench/trainStep/steps.ts times ours
        t0 = time.perf_counter()
        c0 = time.process_time()
        batch = model.make_batch(g)
        opt.zero_grad(set_to_none=True)
        loss = model.loss(batch)
        loss.backward()
        opt.step()
        lv = loss.item()
        dt = (time.perf_counter() - t0) * 1000
        dc = (time.process_time() - c0) * 1000
        losses.append(lv)
        if i >= warmup:
            times.append(dt)
            cpu.append(dc)
    s = sorted(times)
    print(json.dumps(dict(engine='torch-%s-t%d' % (torch.__version__, threads), blas=blas_library(),
                          model=model_name, params=sum(p.numel() for p in model.parameters()), steps=steps, warmup=warmup,
                          medianStepMs=round(s[len(s) // 2], 2), stepMs=[round(t, 2) for t in times], cpuMs=[round(t, 2) for t in cpu],
                          firstLoss=round(losses[0], 4), lastLoss=round(losses[-1], 4),
                          peakRssMB=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))))


if __name__ == '__main__':
    main()
