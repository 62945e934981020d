// Package losses holds the preference-optimization losses and KL divergences of
// robustpo as pure GoMLX graph functions, each formula written once: DPO, IPO,
// cDPO (and their per-pair forms, PairLoss values), the Bradley–Terry reward
// loss, reward-model distillation, pessimistic ensemble distillation (e-DPO) with
// three readings of its minimum (and, as an option, a soft minimum over members,
// EnsembleDistillSoft and SoftMin), p-DPO, and the forward and reverse KL terms.
//
// # Notation
//
// For a prompt x and response y, the log-ratio is
//
//	h(x, y) = log π_θ(y|x) − log π_ref(y|x)
//
// (for sequence models: already summed over the tokens of y), the implicit reward is
// β·h, and for a preference pair (y_w ≻ y_l) the margin is Δh = h(y_w) − h(y_l).
// σ is the logistic function and softplus(x) = log(1 + eˣ) = −log σ(−x).
//
// # Pair losses
//
// DPO, IPO and cDPO are means over pairs of a per-pair loss ℓ(Δh, β): the
// PairLoss values DPOPair, IPOPair and CDPOPair(ε). MeanPairLoss(ℓ, …) is the
// objective of any PairLoss, including one written in a notebook cell (SLiC's
// hinge max(0, 1 − β·Δh) is one line; see PairLoss); the lab trains it like
// the built-in ones.
//
// # Shapes, parameters and dtypes
//
// Per-example inputs are [..., batch] nodes with batch ≥ 1: rank 1 for one
// batch, or with leading axes, e.g. [configs, batch] for a batch of
// configurations trained in one graph. The named losses return the mean over
// the batch axis (never the sum): [...], a scalar for [batch] inputs. Ensemble
// reward margins are [..., batch, k]. β, ε and γ (Param) are Go numbers,
// checked when the graph is built, or nodes broadcastable to the per-example
// shape (a scalar, or [configs, 1] for one value per config; values not
// checked). Exact KLs take logits of shape [..., n] and normalize over the last
// axis; CategoricalKL keeps one divergence per row. All inputs of one call must
// share one float dtype (Float32 or Float64); the result has that dtype, and
// every number (β, ε, γ, 1/(2β)) is converted to it.
//
// # Numerical stability
//
// Log-sigmoid terms are computed as softplus(x) = max(x, 0) + log1p(exp(−|x|)),
// written so that its automatic gradient is exactly σ(x) everywhere (including x = 0)
// and no intermediate overflows: losses and gradients are finite for |β·Δh| up to at
// least 1e4 in both Float32 and Float64.
//
// # Errors
//
// Following GoMLX's graph-building convention, invalid arguments panic while the
// graph is built (graph.Exec turns such panics into returned errors). The panic value
// is an error whose message starts with the function name, e.g.
//
//	losses.DPO: chosenLogRatio shape (Float64)[4] != rejectedLogRatio shape (Float64)[3]
//	losses.CDPO: epsilon=0.7 outside [0, 0.5)
//
// and names the offending shapes or values. Conditions that panic: nil inputs,
// non-float or mixed dtypes, shape mismatches, wrong ranks, empty batches,
// parameter nodes that do not broadcast to the inputs, a pair loss that does
// not return its margins' shape, β ≤ 0 or non-finite, ε outside [0, 0.5),
// γ < 0 or non-finite, an unknown
// Aggregation, a soft-min temperature τ < 0 or non-finite (or τ > 0 with Hull).
//
// # References
//
//   - DPO: Rafailov et al., "Direct Preference Optimization: Your Language Model is
//     Secretly a Reward Model", NeurIPS 2023.
//   - IPO: Azar et al., "A General Theoretical Paradigm to Understand Learning from
//     Human Preferences", 2023.
//   - cDPO: Mitchell, "A note on DPO with noisy preferences & relationship to IPO", 2023.
//   - Bradley–Terry: Bradley and Terry, "Rank Analysis of Incomplete Block Designs", 1952.
//   - Distillation, e-DPO, p-DPO: Fisch et al., "Robust Preference Optimization through
//     Reward Model Distillation", TMLR 2025.
package losses
