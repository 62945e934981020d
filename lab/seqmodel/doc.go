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
// Any GoMLX backend works; the lab starts one with lab.SeqBackend. With the
// pure-Go backend that is "go:ops_parallel,parallelism=-1" (the lab's
// backend.DefaultSeqGo): independent ops of a graph run at once (a
// transformer's backward has many), each still splitting its own work
// (matmuls, GELU) over the backend's workers, on an unbounded worker pool.
// The unbounded pool is what makes parallel ops safe: with the backend's
// default bounded pool, ops that split their work over the same pool can
// wait on each other for ever (observed on this package's DPO step on
// 2 cores, and always with "go:parallelism=1"). "go:ops_sequential" (one op
// at a time) is safe too, and slower on the DPO step (see the README's
// benchmarks).
package seqmodel
