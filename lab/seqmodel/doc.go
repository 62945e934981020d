// Package seqmodel is the sequence side of the lab's models: a small causal
// transformer language model used as a policy π_θ(y|x) over token sequences,
// the same trunk with a scalar reward head, batched ancestral sampling, and
// single training steps for supervised fine-tuning (SFT) and DPO.
//
// # Model
//
// For tokens t_0..t_{T-1} (prompt followed by response, right-padded):
//
//	h⁰_i   = E[t_i] + P[i]                                   E: [V,D], P: [MaxLen,D]
//	a^l    = h^{l-1} + MHA_causal(LN₁(h^{l-1}))               pre-norm blocks l = 1..L
//	h^l    = a^l + W₂·GELU(W₁·LN₂(a^l) + b₁) + b₂
//	z_i    = LN_f(h^L_i)
//	logits = z·Eᵀ (tied, the default) or z·W_out (untied)    [B,T,V]
//
// MHA_causal splits D into H heads of D/H, scores q·k/√(D/H), masks keys
// after the query, softmax over keys, and projects back with W_o. LN is layer
// normalisation with learned gain and offset; GELU is the exact erf form.
//
// # Sequence log-probability
//
//	log π(y|x) = Σ_{j = |x|}^{|x|+|y|-1} log softmax(logits_{j-1})[t_j]
//
// Prompt tokens and padding are masked out. Because attention is causal and
// padding is on the right, padding never changes the value.
//
// # Reward model
//
// The reward model r_φ(x,y) = w·z_{n-1} + b reads the final normalised hidden
// state at the last real token (n = |x|+|y|).
//
// # Parameters
//
// Parameters live in a GoMLX model.Store under "/model". [Policy.Snapshot] copies
// them (without optimizer state) and [Policy.Freeze] makes a copy read-only:
// the reference policy π_ref is a frozen snapshot of the SFT policy.
//
// # Backend
//
// Any GoMLX backend works. With the pure-Go backend prefer the config
// "go:ops_sequential": in its default mode (independent ops run in parallel
// on the worker pool) ops that split their own work over the same pool can
// wait on each other for ever; this deadlock was observed on the DPO step of
// this package on a 2-core machine (and always with "go:parallelism=1").
// Sequential op scheduling still parallelises inside each op (matmuls, GELU).
package seqmodel
