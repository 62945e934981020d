// Package lab is the experiment engine of robustpo: it trains and diagnoses
// offline preference optimization on finite response sets, where every
// quantity of the theory is exact.
//
// # Training
//
// Train(cfg, data) fits a policy to a datasets.FiniteData with one of the
// methods DPO, IPO, CDPO, Distill, EDPO, PDPO or RLHF (every loss comes from
// package losses). Policies are tabular (logits = refLogits + θ, θ ∈ R^{P×R})
// or log-linear (logits = refLogits + θ·φ(x,y), θ ∈ R^F); both start at
// π_ref. The training graph is built once per run and performs several
// optimizer steps (Adam by default) per Exec call, with the parameters and
// optimizer moments kept as tensors between calls.
//
// Distill, EDPO and RLHF use reward models: the dataset's oracle reward
// (RewardSource = OracleReward) or Bradley–Terry fits with L2 regularization
// (LearnedReward, the default), EnsembleSize of them, resampled as
// EnsembleSampling says.
//
// # Metrics
//
// Each Run has a History of exact metrics (float64, from the policy's logits),
// named as in TRL where TRL has one, exportable as CSV or JSON, plus the final
// policy (Run.Probs), π_ref and the RLHF optimum π*_{r*}. With h = log π − log π_ref:
//
//	loss                     the training objective on the full data
//	rewards/chosen|rejected  mean over training pairs of β·h(y_w), β·h(y_l)
//	rewards/margins          mean β·(h(y_w) − h(y_l))
//	rewards/accuracies       fraction of pairs with h(y_w) > h(y_l)
//	logps/chosen|rejected    mean log π(y_w|x), log π(y_l|x)
//	implicit_reward/max_abs  max over all prompts and responses of β·|h(x,y)|
//	grad_weight              mean σ(−β·Δh), DPO's per-pair gradient weight
//	kl/reverse, kl/forward   mean over prompts of KL(π‖π_ref), KL(π_ref‖π)
//	mass/train_support       mean over prompts with pairs of Σ_{y in a pair} π(y|x)
//	prob/<response>          π(y|x), single-prompt datasets with ≤ 16 responses
//
// and, when the dataset has an oracle reward r* (π* ∝ π_ref·exp(r*/β),
// J(π) = E_x[E_π r* − β·KL(π‖π_ref)]):
//
//	oracle/reward            E_x E_π r*
//	oracle/regret            J(π*) − J(π) ≥ 0
//	oracle/tv_optimal        mean over prompts of ½·Σ_y |π(y|x) − π*(y|x)|
//	winrate/vs_ref           E_x E_{y∼π, y'∼π_ref} σ(r*(y) − r*(y')), exact
//
// # Faults
//
// A NaN or Inf in a step's loss, the parameters or a metric stops the run
// with an error naming the step and the metric; the Run returned with it keeps
// the History so far. TrainContext honors a context, and Train SIGINT (how
// GoNB interrupts a cell): both return the partial Run with an error wrapping
// ErrInterrupted.
//
// # Run cache
//
// GoNB runs every notebook cell as a new process, so finished runs are
// memoised on disk: one JSON file per run in CacheDir() (default
// <os.UserCacheDir()>/robustpo/runs, e.g. ~/.cache/robustpo/runs; override with
// $ROBUSTPO_CACHE_DIR), keyed by the SHA-256 of the defaulted Config, the
// dataset's Fingerprint, the backend name and Version. An identical Train in a
// later cell loads in milliseconds. ClearCache() empties it; Config.NoCache or
// ROBUSTPO_NO_CACHE=1 bypasses it.
//
// # Plots
//
// PlotHistory (one panel per metric, one line per run, optional log-y) and
// PlotPolicy (bars of π, π_ref and π*_{r*} per response, training support
// marked) return a Figure: Display shows it inline in a GoNB notebook and does
// nothing elsewhere; Save writes SVG or PNG.
//
// # Backend
//
// Backend() returns the backend named by $GOMLX_BACKEND, or GoMLX's pure-Go
// backend; build with GOEXPERIMENT=simd for fast matrix multiplications.
package lab
