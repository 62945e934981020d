#!/usr/bin/python3
"""PyTorch peer of lab/seqmodel's BenchmarkDPOStepTiny.

The same model as seqmodel (token + position embeddings, pre-norm blocks of
causal multi-head attention and an exact-GELU MLP of width 4*d_model, final
layer norm, output tied to the token embedding, N(0, 0.02) init) and the same
step: log pi(y|x) summed over response tokens for 32 chosen and 32 rejected
sequences of 48 tokens (prompt 16) in one concatenated forward pass,
L = mean softplus(-beta * ((pc - rc) - (pr - rr))) with precomputed reference
log-probs, backward, one Adam update (lr 1e-4, eps 1e-8).

Prints "torch tokens/s: X" with tokens = 2*32*48 per step. Run with Debian's
python3 (apt-get install python3-torch): /usr/bin/python3 dpo_step.py [steps [threads]]
(threads defaults to torch's own choice).
"""
import math
import sys
import time

import torch
import torch.nn.functional as F

VOCAB, D, LAYERS, HEADS, LENGTH, PAIRS, PROMPT = 64, 128, 2, 4, 48, 32, 16
BETA, LR = 0.1, 1e-4


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(D, eps=1e-5)
        self.q, self.k, self.v, self.o = (torch.nn.Linear(D, D) for _ in range(4))
        self.ln2 = torch.nn.LayerNorm(D, eps=1e-5)
        self.w1, self.w2 = torch.nn.Linear(D, 4 * D), torch.nn.Linear(4 * D, D)

    def forward(self, x, causal):
        b, t, _ = x.shape
        a = self.ln1(x)
        split = lambda y: y.view(b, t, HEADS, D // HEADS).transpose(1, 2)  # [B,H,T,Dh]
        q, k, v = split(self.q(a)), split(self.k(a)), split(self.v(a))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(D // HEADS)
        scores = scores.masked_fill(~causal, -1e9)
        att = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, D)
        x = x + self.o(att)
        return x + self.w2(F.gelu(self.w1(self.ln2(x))))


class LM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = torch.nn.Parameter(torch.randn(VOCAB, D) * 0.02)
        self.pos = torch.nn.Parameter(torch.randn(LENGTH, D) * 0.02)
        self.blocks = torch.nn.ModuleList(Block() for _ in range(LAYERS))
        self.lnf = torch.nn.LayerNorm(D, eps=1e-5)
        for m in self.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, std=0.02)
                torch.nn.init.zeros_(m.bias)

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.tok[tokens] + self.pos[:t]
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        for blk in self.blocks:
            x = blk(x, causal)
        return self.lnf(x) @ self.tok.T  # tied output


def seq_logprobs(model, tokens, prompt_len, seq_len):
    logp = model(tokens)[:, :-1].log_softmax(-1)
    picked = logp.gather(-1, tokens[:, 1:, None]).squeeze(-1)  # [B,T-1]
    j = torch.arange(1, tokens.shape[1])[None, :]
    mask = (j >= prompt_len[:, None]) & (j < seq_len[:, None])
    return (picked * mask).sum(-1)


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if len(sys.argv) > 2:
        torch.set_num_threads(int(sys.argv[2]))
    torch.manual_seed(0)
    model, ref = LM(), LM()
    ref.load_state_dict(model.state_dict())
    tokens = torch.randint(1, VOCAB, (2 * PAIRS, LENGTH))
    prompt_len = torch.full((2 * PAIRS,), PROMPT)
    seq_len = torch.full((2 * PAIRS,), LENGTH)
    tokens[PAIRS:, :PROMPT] = tokens[:PAIRS, :PROMPT]  # same prompts for both halves
    with torch.no_grad():
        ref_lp = seq_logprobs(ref, tokens, prompt_len, seq_len)
    opt = torch.optim.Adam(model.parameters(), lr=LR, eps=1e-8)

    def step():
        lp = seq_logprobs(model, tokens, prompt_len, seq_len)
        h = lp - ref_lp
        loss = F.softplus(-BETA * (h[:PAIRS] - h[PAIRS:])).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    first = step()  # warm-up
    assert abs(first - math.log(2)) < 1e-5, f"first DPO loss {first}, want log 2"
    start = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - start
    print(f"torch {torch.__version__} threads={torch.get_num_threads()} steps={steps} "
          f"s/step={elapsed / steps:.4f}")
    print(f"torch tokens/s: {2 * PAIRS * LENGTH * steps / elapsed:.1f}")


if __name__ == "__main__":
    main()
