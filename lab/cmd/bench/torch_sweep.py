#!/usr/bin/python3
"""PyTorch peers of the lab's finite p-DPO sweep (lab.Sweep on a tabular bandit).

What a PyTorch user would write for the same runs: tabular policies
pi_theta(.|x) = softmax(ref_logits[x] + theta[x]), theta = 0 at the start, the
p-DPO loss per config

    L = mean_pairs softplus(-beta * (h(x, y_w) - h(x, y_l)))
        + gamma * mean_x sum_y pi_ref(y|x) * (log pi_ref(y|x) - log pi_theta(y|x)),
    h = log pi_theta - log pi_ref,

full-batch steps of torch.optim.Adam (autograd for the gradient), float64,
and every log_every steps (plus step 0 and the last) the lab's 16 metrics
(lab/metrics.go) computed from the step's log-probabilities and copied to
Python lists. Two modes:

    batched  all configs in one [C, P, R] tensor, one Adam over it; the
             configs' losses are summed, which leaves each config's gradient
             (and element-wise Adam) its own.
    loop     one [P, R] tensor and one Adam per config, configs one after
             another.

Reads one JSON object on stdin (written by lab/cmd/bench, see sweep.go):
  prompts, responses, ref_logits [P*R], oracle [P*R], pairs [[x, y_w, y_l]],
  betas, gammas [C] (the grid's configs in order), lr, adam [b1, b2, eps],
  steps, log_every, mode, configs (indices to train), check (indices whose
  histories and final policies to return), at (for some of check, the lab's
  final theta [P*R]: the metrics are evaluated there too, untimed), threads
  (0: PyTorch's default).
Prints one JSON object: mode, torch, threads, configs (how many trained),
seconds (training and metrics, after the data is on tensors), cpu_seconds
(the process's CPU time over the same span, all threads), and check:
[{config, steps, metrics {name: [values]}, final [P*R], at {name: value}}].
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

METRICS = ["loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
           "logps/chosen", "logps/rejected", "implicit_reward/max_abs", "grad_weight", "kl/reverse",
           "kl/forward", "mass/train_support", "oracle/reward", "oracle/regret", "oracle/normalized_regret",
           "oracle/tv_optimal", "winrate/vs_ref"]


class Problem:
    """The bandit as tensors, with the theta-independent parts of the metrics."""

    def __init__(self, spec):
        P, R = spec["prompts"], spec["responses"]
        f64 = torch.float64
        self.ref = torch.tensor(spec["ref_logits"], dtype=f64).view(P, R)
        self.ref_lp = self.ref.log_softmax(-1)
        self.ref_p = self.ref_lp.exp()
        self.rstar = torch.tensor(spec["oracle"], dtype=f64).view(P, R)
        pairs = torch.tensor(spec["pairs"], dtype=torch.long)
        self.x, self.yw, self.yl = pairs[:, 0], pairs[:, 1], pairs[:, 2]
        support = torch.zeros(P, R, dtype=torch.bool)
        support[self.x, self.yw] = True
        support[self.x, self.yl] = True
        self.support = support.to(f64)
        self.prompts_with_pairs = max(1, int(support.any(-1).sum()))
        # W(x, y) = sum_y' pi_ref(y'|x) sigmoid(r*(y) - r*(y')): winrate/vs_ref = mean_x sum_y pi W.
        self.win = (self.ref_p[:, None, :] * torch.sigmoid(self.rstar[:, :, None] - self.rstar[:, None, :])).sum(-1)
        self.j_ref = float((self.ref_p * self.rstar).sum(-1).mean(-1))  # J(pi_ref), its KL term is 0

    def optimum(self, beta):
        """pi*_{r*} for each beta ([..., P, R]) and J(pi*) ([...])."""
        beta = beta[..., None, None]
        lp = (self.ref_lp + self.rstar / beta).log_softmax(-1)
        p = lp.exp()
        j = (p * (self.rstar - beta * (lp - self.ref_lp))).sum(-1).mean(-1)
        return p, j

    def losses(self, theta, beta, gamma):
        """Each config's p-DPO loss [...] and log pi_theta [..., P, R]; theta [..., P, R], beta, gamma [...]."""
        lp = (self.ref + theta).log_softmax(-1)
        h = lp - self.ref_lp
        margin = h[..., self.x, self.yw] - h[..., self.x, self.yl]  # [..., N]
        pair = F.softplus(-beta[..., None] * margin).mean(-1)
        kl = (self.ref_p * (self.ref_lp - lp)).sum(-1).mean(-1)
        return pair + gamma * kl, lp

    def metrics(self, loss, lp, beta, opt_p, opt_j):
        """The lab's metrics [...] of each config from its loss and log-probs (no gradient)."""
        b = beta[..., None]
        h = lp - self.ref_lp
        hw, hl = h[..., self.x, self.yw], h[..., self.x, self.yl]
        p = lp.exp()
        bh = beta[..., None, None] * h
        j = (p * (self.rstar - bh)).sum(-1).mean(-1)
        # (J(pi) - J(pi_ref)) / (J(pi*) - J(pi_ref)), NaN where pi* gains nothing, as the lab's
        # normalizedRegret (never in the bench grid: NaN would not pass through JSON to Go).
        gain = opt_j - self.j_ref
        gains = gain > 1e-12 * opt_j.abs().clamp(min=1)
        normalized = torch.where(gains, (j - self.j_ref) / gain, torch.full_like(j, math.nan))
        return {
            "loss": loss,
            "rewards/chosen": (b * hw).mean(-1),
            "rewards/rejected": (b * hl).mean(-1),
            "rewards/margins": (b * (hw - hl)).mean(-1),
            "rewards/accuracies": (hw > hl).to(lp.dtype).mean(-1),
            "logps/chosen": lp[..., self.x, self.yw].mean(-1),
            "logps/rejected": lp[..., self.x, self.yl].mean(-1),
            "implicit_reward/max_abs": bh.abs().flatten(-2).amax(-1),
            "grad_weight": torch.sigmoid(-b * (hw - hl)).mean(-1),
            "kl/reverse": (p * h).sum(-1).mean(-1),
            "kl/forward": -(self.ref_p * h).sum(-1).mean(-1),
            "mass/train_support": (p * self.support).sum((-2, -1)) / self.prompts_with_pairs,
            "oracle/reward": (p * self.rstar).sum(-1).mean(-1),
            "oracle/regret": opt_j - j,
            "oracle/normalized_regret": normalized,
            "oracle/tv_optimal": 0.5 * (p - opt_p).abs().sum(-1).mean(-1),
            "winrate/vs_ref": (p * self.win).sum(-1).mean(-1),
        }


def train(pr, beta, gamma, spec):
    """Trains theta [..., P, R] (one config, or a batch with beta, gamma [C]) and
    returns the logged steps, its history {metric: [logged values]} (each value a
    float or a list over configs) and the final policy."""
    steps, every = spec["steps"], spec["log_every"]
    b1, b2, eps = spec["adam"]
    theta = torch.zeros(beta.shape + pr.ref.shape, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=spec["lr"], betas=(b1, b2), eps=eps)
    opt_p, opt_j = pr.optimum(beta)
    logged, history = [], {m: [] for m in METRICS}
    for step in range(steps + 1):
        loss, lp = pr.losses(theta, beta, gamma)
        if step % every == 0 or step == steps:
            with torch.no_grad():
                for name, v in pr.metrics(loss.detach(), lp.detach(), beta, opt_p, opt_j).items():
                    history[name].append(v.tolist())
            logged.append(step)
        if step == steps:
            break
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
    return logged, history, lp.detach().exp()


def main():
    spec = json.load(sys.stdin)
    if spec.get("threads", 0) > 0:
        torch.set_num_threads(spec["threads"])
    pr = Problem(spec)
    configs, check = spec["configs"], spec["check"]
    betas = torch.tensor(spec["betas"], dtype=torch.float64)
    gammas = torch.tensor(spec["gammas"], dtype=torch.float64)
    out = {"mode": spec["mode"], "torch": torch.__version__, "threads": torch.get_num_threads(),
           "configs": len(configs), "check": []}

    at = {a["config"]: a["theta"] for a in spec.get("at") or []}

    def record(c, logged, history, final, j=None):
        pick = (lambda v: v) if j is None else (lambda v: v[j])
        entry = {"config": c, "steps": logged, "metrics": {m: [pick(v) for v in vs] for m, vs in history.items()},
                 "final": final.flatten().tolist()}
        if c in at:
            theta = torch.tensor(at[c], dtype=torch.float64).view(pr.ref.shape)
            with torch.no_grad():
                loss, lp = pr.losses(theta, betas[c], gammas[c])
                m = pr.metrics(loss, lp, betas[c], *pr.optimum(betas[c]))
            entry["at"] = {name: v.item() for name, v in m.items()}
        out["check"].append(entry)

    if spec["mode"] == "batched":
        idx = torch.tensor(configs, dtype=torch.long)
        start, cpu = time.perf_counter(), time.process_time()
        logged, history, final = train(pr, betas[idx], gammas[idx], spec)
        out["seconds"], out["cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu
        for c in check:
            j = configs.index(c)
            record(c, logged, history, final[j], j)
    elif spec["mode"] == "loop":
        results = {}
        start, cpu = time.perf_counter(), time.process_time()
        for c in configs:
            results[c] = train(pr, betas[c], gammas[c], spec)
        out["seconds"], out["cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu
        for c in check:
            record(c, *results[c])
    else:
        raise SystemExit(f"torch_sweep.py: mode {spec['mode']!r}: want batched or loop")
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
