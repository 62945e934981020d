// Package lab is the experiment engine of robustpo: it trains and diagnoses
// offline preference optimization on finite response sets, where every
// quantity of the theory is exact, and on sequence tasks, where a small
// causal transformer is trained and evaluated by sampling; it sweeps grids of
// configurations and tabulates and charts the results.
//
// Throughout, h(x,y) = log π(y|x) − log π_ref(y|x), β·h is the implicit
// reward, Δh = h(x,y_w) − h(x,y_l) for a pair preferring y_w to y_l, and
// σ is the logistic function.
//
// # Finite lab: Train
//
// [Train](cfg, data) ([TrainContext] with a context) fits a policy to a
// [datasets.FiniteData] (P prompts, R responses each, labelled pairs, π_ref,
// optionally features φ and an oracle reward r*) with cfg.Method (see
// [Config]); every loss comes from package [losses]:
//
//	DPO      −E log σ(β·Δh)
//	IPO      E (Δh − 1/(2β))²
//	CDPO     −E [(1−ε)·log σ(β·Δh) + ε·log σ(−β·Δh)]          (ε = Epsilon)
//	Distill  E_ρ (Δr − β·Δh)²  against the reward members' mean
//	         (+ γ·KL(π_ref‖π) when γ > 0)
//	EDPO     min over members of the distillation loss (Aggregation:
//	         MinPerBatch, MinPerExample or Hull; SoftMinTemperature τ > 0
//	         a soft minimum) + γ·KL(π_ref‖π)
//	PDPO     DPO + γ·KL(π_ref‖π)                                 (γ = Gamma)
//	RLHF     the maximiser of J_r(π) = E_x[E_π r − β·KL(π‖π_ref)]
//
// computed by [losses.DPO], [losses.IPO], [losses.CDPO], [losses.Distill],
// [losses.EnsembleDistill] (its soft form [losses.EnsembleDistillSoft]; the
// aggregations [losses.MinPerBatch], [losses.MinPerExample], [losses.Hull]),
// [losses.EDPO] and [losses.PDPO], with [losses.ForwardKLExact] and
// [losses.ReverseKLExact] for the KL terms and [losses.BradleyTerry] for
// reward fits; ρ is DistillPairs' pair distribution (the training pairs,
// plus RefPairs pairs sampled from π_ref, or all pairs) and Δr a reward
// member's margin; the KL terms are exact sums over the R responses. Each
// formula is written once, in losses, which takes leading axes
// ([configs, batch]) and β, ε, γ as numbers or per-config nodes: the
// reference trainer, the batched trainer of Train and Sweep, the sequence
// trainer and the logged "loss" all call the same function, so editing
// losses.DPO changes every one of them. DPO, IPO and cDPO are the means of
// the per-pair losses [losses.DPOPair], [losses.IPOPair] and
// [losses.CDPOPair] ([losses.MeanPairLoss]).
//
// A loss of one's own is a [losses.PairLoss], a function of the margins Δh
// and β written in a cell, set as Config.PairLoss (with a Name): e.g. SLiC's
// hinge max(0, 1 − β·Δh),
//
//	slic := func(m, b *graph.Node) *graph.Node { return graph.MaxScalar(graph.OneMinus(graph.Mul(b, m)), 0) }
//	run, err := lab.Train(lab.Config{Name: "SLiC", PairLoss: slic, Beta: 0.5}, data)
//
// trains L = mean over pairs of PairLoss(Δh, β) (+ γ·KL(π_ref‖π) when
// Gamma > 0) exactly as the built-in methods train: in Train (tabular and
// log-linear), in one batched Sweep graph with β, γ and the learning rate
// varying per config, and in TrainSeq. Its gradient comes from automatic
// differentiation; the run cache keys it by Name and a fingerprint of its
// values on a fixed grid (see Config.PairLoss).
//
// What a Method is made of (reward models, a KL term, its pair loss, what its
// label shows) is one table in the lab, read by every trainer, the sweep's
// batching and the run cache's checks.
// Policies (PolicyKind) are Tabular, logits = refLogits + θ with θ ∈ R^{P×R}, or LogLinear,
// logits = refLogits + θ·φ(x,y) with θ ∈ R^F (AutoPolicy: LogLinear when the
// data has features); both start at π_ref. RLHF on a tabular policy is the
// closed form π*_r ∝ π_ref·exp(r/β) (no steps). The optimizer (Adam or SGD)
// runs several steps per graph call, with parameters and moments kept as
// tensors between calls; BatchSize > 0 draws minibatches with replacement.
//
// Gradients: Train and Sweep run one batched trainer (Train with one config),
// so a sweep row and Train of its config perform the same arithmetic; an
// autodiff implementation through the losses package is the reference it is
// tested against. Both take ∂L/∂h at the examples' log-ratios from autodiff
// of the losses function; below them the gradient is assembled by hand.
// Log-linear policies scatter it into ∂L/∂log π and apply the log-softmax
// backward (equal to 1e-12). Tabular policies use the closed form the
// losses reduce to (both responses of a pair share a prompt, so Δh =
// θ[y₁] − θ[y₂] and the pair terms' gradient is ±∂L/∂Δh at the two
// responses; the forward KL adds (γ/P)·(π_θ − π_ref)), equal to autodiff to
// 1e-12 under SGD. (Under Adam a rounding-level gradient, e.g. of a response
// chosen and rejected with equal weight, is scaled up to a full step: two
// mathematically equal gradient formulas give trajectories that drift apart
// at such points, which is why Train and Sweep share one.)
//
// Reward models (Distill, EDPO, RLHF) are the oracle r* for every member
// (RewardSource = OracleReward) or EnsembleSize Bradley–Terry fits
// (LearnedReward) minimising mean softplus(−(r(y_w) − r(y_l))) + λ·‖w‖²
// (λ = RewardL2), each on its own pairs (EnsembleSampling: Bootstrap,
// DisjointFolds, DifferentSeeds). The Run keeps them (Run.Rewards) and their
// disagreement.
//
// # Finite lab: metrics
//
// Each [Run] has a [History] (Series, Last, At, WriteCSV, WriteJSON) of exact
// metrics (float64, from the policy's logits), named as in TRL where TRL has
// one, plus the final policy (Run.Probs), π_ref and π*_{r*}:
//
//	loss                     the training objective on the full data
//	rewards/chosen|rejected  mean over training pairs of β·h(y_w), β·h(y_l)
//	rewards/margins          mean β·Δh
//	rewards/accuracies       fraction of pairs with Δh > 0
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
// PlotHistory (one panel per metric, one line per run; LogY(metrics…) makes
// the named panels, or all, logarithmic), PlotPolicy (bars of π, π_ref and π*
// per response, training support marked) and PlotHistogram return a Figure:
// Display shows it inline in a GoNB notebook as one bundle of PNG (2× its
// layout size), SVG and PDF, which untrusted notebooks and nbconvert's HTML,
// LaTeX and PDF exports all show, and does nothing elsewhere; SVG returns the
// SVG and Save writes SVG, PNG or PDF. Known metrics are titled in words
// ("largest implicit reward", "KL(π_ref‖π)"); runs take colour-blind-safe
// Okabe–Ito colours. Every plot, these and the sweep tables' below, returns
// the one Figure type: panels 10 cm × 7 cm, up to 3 per row (PanelWidth,
// PanelHeight, Columns; zero means the default); LogY works on any panel of
// lines, LogColour on heatmaps. Rendering lives in lab/internal/render.
//
// # Sequence lab: TrainSeq
//
// [TrainSeq](cfg, task) ([TrainSeqContext] with a context) trains a causal
// transformer (package [seqmodel], sized by Config.Model) on a
// [datasets.SeqTask]'s preference pairs, or on task.Split(Rho), the
// length-biased subsample where a fraction Rho of the length-differing pairs
// prefers the longer response. Methods are DPO, IPO, CDPO, PDPO, Distill and
// EDPO with the losses above, h now the log-ratio of a whole response; the
// forward KL of PDPO and EDPO is a Monte-Carlo estimate ([losses.ForwardKL])
// over KLBatch π_ref samples per step. Fields that only finite runs use
// (Policy, Optimizer, RewardL2) are ignored, and several defaults differ
// (see Config).
//
//   - SFT reference: π_ref is the transformer fit by SFTSteps Adam steps of
//     supervised loss on the task's reference responses, then frozen; the
//     policy starts from its parameters. With it come RefSamples π_ref
//     responses per training prompt (forward KL, PlusRefSamples pairs) and
//     EvalSamples per held-out prompt (the win rate's baseline). It depends
//     only on the task, Model, SFTSteps, SFTLearningRate, RefSamples,
//     EvalSamples and EvalPrompts, so every method and seed of a study
//     shares it.
//   - Reward ensembles (Distill, EDPO): EnsembleSize Bradley–Terry reward
//     models, each π_ref's trunk with its own head, fit for RewardSteps Adam
//     steps at RewardLearningRate on the member's pairs (EnsembleSampling);
//     or the oracle's margins under OracleReward. Run.Seq.RewardAccuracy is
//     each member's agreement with the oracle's order.
//   - Evaluation, every LogEvery steps: the pair metrics of the finite lab
//     (rewards/*, logps/*, grad_weight, implicit_reward/max_abs over the
//     pairs' responses), loss, kl/forward (mean of log π_ref − log π over
//     π_ref's held-out samples), kl/reverse (mean of log π − log π_ref over
//     π's held-out samples), oracle/reward and length/mean (means over π's
//     samples), and winrate/vs_ref with its 95% CI winrate/vs_ref_lo and
//     winrate/vs_ref_hi. Run.Seq (SeqResult) holds the final evaluation.
//   - Win rates: WinRates compares N oracle-scored samples of π and of π_ref
//     per held-out prompt: w_x = (1/N²)·Σ_{i,j} s(r*(y_i), r*(y'_j)) with
//     s = 1, ½, 0 for a win, tie, loss; Rate = mean_x w_x; the CI is a
//     bootstrap over prompts (DefaultBootstrap resamples, BootstrapCI).
//     CompareWinRates runs WaldTest, the paired test
//     z = d̄/(s_d/√n), p = erfc(|z|/√2) on per-prompt differences, for two
//     runs evaluated on the same prompts and π_ref samples.
//
// # Sweeps
//
// A [Grid] of [Axis] values ([Vary]("Beta", 0.1, 0.5), Vary("Method", "DPO",
// "IPO"), …) applied to a base Config gives the configurations, one per
// combination. [Sweep] ([SweepContext], [SweepWith] with [SweepOptions])
// trains them on a FiniteData: cached configs load from the run cache, finite configs of
// equal structure train as one batched graph with a leading config axis (a
// Run equal to Train's: Train runs the same graph with one config), the rest
// alone, up to Workers at a time. [SweepSeq] ([SweepSeqWith]) does the same for a SeqTask, one run at a
// time by default; with the run cache on it first builds the SFT references
// and reward ensembles the configs share, once each. A config that fails becomes a row holding its error; the
// others go on.
//
// The result is a [Table] of Rows (grid values, defaulted Config, last value of
// every metric, the Run, the error): Sort, Filter, Where, Errors, WriteCSV,
// Text and Display; GroupBy(fields…) gives a Summary with, per group, each
// metric's mean and 95% Student-t half-width t_{0.975,n−1}·s/√n over its
// rows (typically seeds). Figures: Heatmap(x, y, metric) (one colour scale and colour bar for all
// panels; LogColour for a log scale), Lines(x, metric, by)
// with confidence bars, WinRateLines(x, by) for sequence runs, and the text
// SeqSummary.
//
// # Faults
//
// A NaN or Inf in a step's loss or a metric (or, in finite runs, the
// parameters) stops the run with an error naming the step and the metric; the Run returned with it keeps
// the History so far. The Context variants honor a context and return the
// partial Run (marked Interrupted) or Table with an error wrapping
// ErrInterrupted. Train, TrainSeq, Sweep and SweepSeq honor SIGINT (how GoNB
// interrupts a cell) the same way outside a notebook; inside a GoNB cell they
// write the partial run to CacheDir as <key>.partial.json (LoadRun reads it;
// the cache never serves it), print one line ("lab: interrupted at step N of
// M; partial run kept in …") and exit with status 130, with no stack trace.
// A single run longer than 2 s shows a progress bar (step, loss, ETA), erased
// when it ends; ProgressEnv ($ROBUSTPO_PROGRESS) turns bars off (0) or on (1).
//
// # Reproducibility
//
// A run repeated on the same machine, backend and build is bitwise identical;
// on another CPU (the pure-Go backend's SIMD width sets the order of its sums)
// or backend it agrees only within statistical error, since Adam and sampling
// carry rounding-level differences far. So every Run records its Provenance
// (backend, platform, SIMD width, GOEXPERIMENT, Go and GoMLX versions), kept
// in the run cache with it; Provenance.String is the "made on: …" line that
// SeqSummary and a Table's Display caption end with.
//
// # Run cache
//
// GoNB runs every notebook cell as a new process, so finished runs are
// memoised on disk: one JSON file per run in CacheDir() (default
// <os.UserCacheDir()>/robustpo/runs, e.g. ~/.cache/robustpo/runs; override with
// $ROBUSTPO_CACHE_DIR), named by the SHA-256 of its key inputs: the defaulted
// Config, the dataset's Fingerprint (for sequence runs: the data and
// evaluation prompts), the backend name, Version (bumped when results change)
// and CacheFormat (bumped when the layout of an entry, e.g. Run's JSON,
// changes). Sequence runs also cache their SFT reference (seqref-*.gob) and
// reward margins (seqrm-*.json) there. An identical run in a later cell loads
// in milliseconds. ClearCache() empties it; Config.NoCache or
// ROBUSTPO_NO_CACHE=1 bypasses it.
//
// Every entry records its key inputs and the SHA-256 of its payload and is
// served only when both match the request and the payload fits the data and
// the config: a finite Run's π, π_ref, support and π* (when the data has an
// oracle) are P×R, θ has P·R (Tabular) or F (LogLinear) values, the reward
// members of Distill, EDPO and RLHF are EnsembleSize×P×R, every step was done
// (a tabular RLHF run, in closed form, does none), the History logs the
// method's metrics, finite, at step 0, every LogEvery steps and the last, and
// the run is not partial; a sequence run has a SeqResult of its task (a step
// loss per step, an SFT loss per SFT step, the win rate over every held-out
// prompt, a reward accuracy per member); an SFT reference has the model's
// parameter shapes and RefSamples and EvalSamples samples per prompt; reward
// margins have a row per example and a column per member. Any other entry is
// removed, retrained and rewritten, with one line on stderr:
//
//	lab: warning: cache entry <path>: final policy is 1×1, want 4×6; retraining
//
// A cache that cannot be written (its directory a file or read-only, a full
// disk) never fails a run or a sweep row: the finished Run is returned and
// the process prints one line, then writes no more there:
//
//	lab: warning: cannot write the run cache in <dir> (<why>); finished runs are returned but not cached in this process
//
// Entries are written to a temporary file, synced and renamed into place
// (the temporary file is removed on any failure), as 0644 files in 0755
// directories (less the umask), so a cache shared by a group serves all of it.
//
// # Backend
//
// [Backend]() returns a new compute backend, the best of this machine's
// [backend.Candidates] that starts: $GOMLX_BACKEND when set; an NVIDIA GPU
// with a CUDA PJRT plugin; an installed XLA CPU plugin; the pure-Go backend
// ([backend.DefaultGo], overridden by $ROBUSTPO_GO_BACKEND). It prints its
// choice once to stdout (once per GoNB kernel), never downloads anything and
// never panics; XLA backends need a build with cgo and the tag "xla". Finite
// runs and sweeps start their backend through Backend(); sequence runs
// through [SeqBackend](), the same choice with the pure-Go backend
// configured for large graphs ([backend.DefaultSeqGo]). Package [backend]
// has the discovery ([backend.Discovery]) and starts a given candidate list
// ([backend.Start]). Build with GOEXPERIMENT=simd for fast matrix
// multiplications.
package lab
