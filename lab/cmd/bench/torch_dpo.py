#!/usr/bin/python3
"""PyTorch peer of the lab's sequence DPO step (package lab/seqmodel).

The same model as seqmodel (token + position embeddings, pre-norm blocks of
causal multi-head attention and an exact-GELU MLP of width 4*d_model, final
layer norm, output tied to the token embedding, N(0, 0.02) init) and the same
step: log pi(y|x) summed over response tokens for P chosen and P rejected
sequences of T tokens (prompt T/3) in one concatenated forward pass,
L = mean softplus(-beta * ((pc - rc) - (pr - rr))) with precomputed reference
log-probs, backward, one Adam update (lr 1e-4, eps 1e-8).

Usage: torch_dpo.py VOCAB D LAYERS HEADS T PAIRS STEPS MODES
MODES is a comma list of eager, compile, bf16 (eager under bf16 autocast);
modes run on CUDA when available, else on the CPU (compile and bf16 are
skipped on the CPU). Prints one JSON object per mode:
{"mode", "device", "torch", "threads", "steps", "s_per_step", "tokens_per_s"}
with tokens = 2*PAIRS*T per step.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

BETA, LR = 0.1, 1e-4


def build(vocab, d, layers, heads, length):
    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = torch.nn.LayerNorm(d, eps=1e-5)
            self.q, self.k, self.v, self.o = (torch.nn.Linear(d, d) for _ in range(4))
            self.ln2 = torch.nn.LayerNorm(d, eps=1e-5)
            self.w1, self.w2 = torch.nn.Linear(d, 4 * d), torch.nn.Linear(4 * d, d)

        def forward(self, x, causal):
            b, t, _ = x.shape
            a = self.ln1(x)
            split = lambda y: y.view(b, t, heads, d // heads).transpose(1, 2)  # [B,H,T,Dh]
            q, k, v = split(self.q(a)), split(self.k(a)), split(self.v(a))
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(d // heads)
            scores = scores.masked_fill(~causal, -1e9)
            att = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
            x = x + self.o(att)
            return x + self.w2(F.gelu(self.w1(self.ln2(x))))

    class LM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = torch.nn.Parameter(torch.randn(vocab, d) * 0.02)
            self.pos = torch.nn.Parameter(torch.randn(length, d) * 0.02)
            self.blocks = torch.nn.ModuleList(Block() for _ in range(layers))
            self.lnf = torch.nn.LayerNorm(d, eps=1e-5)
            for m in self.modules():
                if isinstance(m, torch.nn.Linear):
                    torch.nn.init.normal_(m.weight, std=0.02)
                    torch.nn.init.zeros_(m.bias)

        def forward(self, tokens):
            t = tokens.shape[1]
            x = self.tok[tokens] + self.pos[:t]
            causal = torch.ones(t, t, dtype=torch.bool, device=tokens.device).tril()
            for blk in self.blocks:
                x = blk(x, causal)
            return self.lnf(x) @ self.tok.T  # tied output

    return LM()


def seq_logprobs(model, tokens, prompt_len, seq_len):
    logp = model(tokens)[:, :-1].float().log_softmax(-1)
    picked = logp.gather(-1, tokens[:, 1:, None]).squeeze(-1)  # [B,T-1]
    j = torch.arange(1, tokens.shape[1], device=tokens.device)[None, :]
    mask = (j >= prompt_len[:, None]) & (j < seq_len[:, None])
    return (picked * mask).sum(-1)


def run(mode, device, vocab, d, layers, heads, length, pairs, steps):
    torch.manual_seed(0)
    model = build(vocab, d, layers, heads, length).to(device)
    ref = build(vocab, d, layers, heads, length).to(device)
    ref.load_state_dict(model.state_dict())
    prompt = max(1, length // 3)
    tokens = torch.randint(1, vocab, (2 * pairs, length), device=device)
    prompt_len = torch.full((2 * pairs,), prompt, device=device)
    seq_len = torch.full((2 * pairs,), length, device=device)
    tokens[pairs:, :prompt] = tokens[:pairs, :prompt]  # same prompts for both halves
    with torch.no_grad():
        ref_lp = seq_logprobs(ref, tokens, prompt_len, seq_len)
    opt = torch.optim.Adam(model.parameters(), lr=LR, eps=1e-8)

    def loss_fn():
        lp = seq_logprobs(model, tokens, prompt_len, seq_len)
        h = lp - ref_lp
        return F.softplus(-BETA * (h[:pairs] - h[pairs:])).mean()

    if mode == "compile":
        loss_fn = torch.compile(loss_fn)

    def step():
        if mode == "bf16":
            with torch.autocast(device_type=device, dtype=torch.bfloat16):
                loss = loss_fn()
        else:
            loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()  # synchronises, as the lab's step returns its loss

    first = step()  # warm-up (and compilation)
    if mode != "bf16":
        assert abs(first - math.log(2)) < 1e-4, f"first DPO loss {first}, want log 2"
    for _ in range(2 if mode == "compile" else 0):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - start
    return {"mode": mode, "device": device if device == "cpu" else torch.cuda.get_device_name(0),
            "torch": torch.__version__, "threads": torch.get_num_threads(), "steps": steps,
            "s_per_step": elapsed / steps, "tokens_per_s": 2 * pairs * length * steps / elapsed}


def main():
    vocab, d, layers, heads, length, pairs, steps = (int(a) for a in sys.argv[1:8])
    modes = sys.argv[8].split(",") if len(sys.argv) > 8 else ["eager"]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # as XLA's default for f32 dots on GPUs
        torch.backends.cudnn.allow_tf32 = True
    for mode in modes:
        if device == "cpu" and mode != "eager":
            continue
        print(json.dumps(run(mode, device, vocab, d, layers, heads, length, pairs, steps)), flush=True)


if __name__ == "__main__":
    main()
