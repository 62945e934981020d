package lab

import (
	"math"
	"strconv"
)

// metricNames returns the metrics logged for pr, in order. All are exact on
// finite response sets (computed in float64 from the policy's logits):
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
//	prob/<response>          π(y|x) for single-prompt datasets (≤ 16 responses)
//
// with an oracle r* (π* = π*_{r*} ∝ π_ref·exp(r*/β), J(π) = E_x[E_π r* − β·KL(π‖π_ref)]):
//
//	oracle/reward            E_x E_π r*
//	oracle/regret            J(π*) − J(π) ≥ 0
//	oracle/normalized_regret (J(π) − J(π_ref)) / (J(π*) − J(π_ref)): 1 at π*, 0 at
//	                         π_ref (what not training gives), < 0 worse than π_ref;
//	                         comparable across β, where regret is not (each β is
//	                         its own objective); NaN when r* is constant per prompt
//	oracle/tv_optimal        mean over prompts of ½·Σ_y |π(y|x) − π*(y|x)|
//	winrate/vs_ref           E_x E_{y∼π, y'∼π_ref} σ(r*(y) − r*(y')), exact (no sampling, no CI)
func (pr *problem) metricNames() []string {
	names := []string{"loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
		"logps/chosen", "logps/rejected", "implicit_reward/max_abs", "grad_weight", "kl/reverse", "kl/forward",
		"mass/train_support"}
	if pr.data.HasOracle() {
		names = append(names, "oracle/reward", "oracle/regret", "oracle/normalized_regret", "oracle/tv_optimal",
			"winrate/vs_ref")
	}
	for _, n := range pr.probNames() {
		names = append(names, "prob/"+n)
	}
	return names
}

// probNames returns the response names logged as prob/<name>, or nil when the
// dataset has more than one prompt or more than 16 responses.
func (pr *problem) probNames() []string {
	if pr.p != 1 || pr.r > 16 {
		return nil
	}
	names := make([]string, pr.r)
	for y := range names {
		names[y] = responseName(pr.data.ResponseNames, y)
	}
	return names
}

// responseName returns names[y] or "y<index>".
func responseName(names []string, y int) string {
	if y < len(names) {
		return names[y]
	}
	return "y" + strconv.Itoa(y)
}

// optimalLogProbs returns log π*_r(y|x), where π*_r(y|x) ∝ π_ref(y|x)·exp(r(x,y)/β)
// maximises J_r, normalised over each prompt's R responses: r and the result
// are flat [P·R].
func (pr *problem) optimalLogProbs(r []float64, beta float64) []float64 {
	l := make([]float64, len(r))
	for i := range l {
		l[i] = pr.refLP[i] + r[i]/beta
	}
	return logSoftmaxRows(l, pr.r)
}

// objective returns J_r(π) = mean_x [Σ_y π r − β·KL(π‖π_ref)] for flat log-probs lp.
func (pr *problem) objective(lp, r []float64, beta float64) float64 {
	var j float64
	for i, l := range lp {
		p := math.Exp(l)
		if p > 0 {
			j += p * (r[i] - beta*(l-pr.refLP[i]))
		}
	}
	return j / float64(pr.p)
}

// sigmoid returns 1/(1+e^{−x}) without overflow.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// metricsPlan computes the metrics of metricNames for any number of policies
// of one problem (every logged step of Train, every config of a batched
// sweep), with the θ-independent parts computed once: π_ref, the oracle
// reward r*, the win-rate weights W(x,y) = Σ_{y'} π_ref(y'|x)·σ(r*(y) − r*(y'))
// and, per β, π*_{r*} and J(π*), so winrate/vs_ref = mean_x Σ_y π(y|x)·W(x,y)
// costs O(P·R) per policy instead of O(P·R²).
type metricsPlan struct {
	pr   *problem
	refP []float64 // π_ref [P·R]
	rs   []float64 // r* [P·R], nil without oracle
	win  []float64 // W [P·R]
	jRef float64   // J(π_ref) = mean_x E_{π_ref} r* (its KL term is 0)
	opt  map[float64]optimum
}

// optimum is π*_{r*} for one β: probabilities [P·R] and J(π*).
type optimum struct {
	p []float64
	j float64
}

func newMetricsPlan(pr *problem) *metricsPlan {
	mp := &metricsPlan{pr: pr, refP: make([]float64, len(pr.refLP)), opt: map[float64]optimum{}}
	for i, l := range pr.refLP {
		mp.refP[i] = math.Exp(l)
	}
	if pr.data.HasOracle() {
		mp.rs = flatten(pr.data.Oracle)
		mp.win = make([]float64, len(mp.rs))
		for x := range pr.p {
			for y := range pr.r {
				i := x*pr.r + y
				for y2 := range pr.r {
					j := x*pr.r + y2
					mp.win[i] += mp.refP[j] * sigmoid(mp.rs[i]-mp.rs[j])
				}
				mp.jRef += mp.refP[i] * mp.rs[i]
			}
		}
		mp.jRef /= float64(pr.p)
	}
	return mp
}

// prepare computes π*_{r*} for β; call it before concurrent use of metrics.
func (mp *metricsPlan) prepare(beta float64) {
	if mp.rs == nil {
		return
	}
	if _, ok := mp.opt[beta]; ok {
		return
	}
	lp := mp.pr.optimalLogProbs(mp.rs, beta)
	o := optimum{p: make([]float64, len(lp)), j: mp.pr.objective(lp, mp.rs, beta)}
	for i, l := range lp {
		o.p[i] = math.Exp(l)
	}
	mp.opt[beta] = o
}

// metrics computes every metric of metricNames at θ (loss is passed in, the
// rest in float64 from the policy's logits); support[x][y] marks the responses
// of training pairs. Call prepare(beta) first.
func (mp *metricsPlan) metrics(theta []float64, loss, beta float64, support [][]bool) map[string]float64 {
	pr := mp.pr
	lp := logSoftmaxRows(pr.logits(theta), pr.r)
	m := make(map[string]float64, 20)
	m["loss"] = loss
	pairs := pr.data.Pairs
	addPairMetrics(m, beta, len(pairs), func(j int) (hw, hl, lpw, lpl float64) {
		a, b := pairs[j].Prompt*pr.r+pairs[j].Chosen, pairs[j].Prompt*pr.r+pairs[j].Rejected
		return lp[a] - pr.refLP[a], lp[b] - pr.refLP[b], lp[a], lp[b]
	})
	var maxAbs, rev, fwd, mass, reward, tv, win, jpi float64
	o := mp.opt[beta]
	promptsWithPairs := 0
	for x := range pr.p {
		seen := false
		for y := range pr.r {
			i := x*pr.r + y
			h := lp[i] - pr.refLP[i]
			maxAbs = math.Max(maxAbs, math.Abs(beta*h))
			p := math.Exp(lp[i])
			if p > 0 {
				rev += p * h
			}
			fwd -= mp.refP[i] * h
			if support[x][y] {
				seen = true
				mass += p
			}
			if mp.rs != nil {
				reward += p * mp.rs[i]
				tv += 0.5 * math.Abs(p-o.p[i])
				win += p * mp.win[i]
				if p > 0 {
					jpi += p * (mp.rs[i] - beta*h)
				}
			}
		}
		if seen {
			promptsWithPairs++
		}
	}
	m["implicit_reward/max_abs"] = maxAbs
	m["kl/reverse"] = rev / float64(pr.p)
	m["kl/forward"] = fwd / float64(pr.p)
	m["mass/train_support"] = mass / float64(max(1, promptsWithPairs))
	if mp.rs != nil {
		m["oracle/reward"] = reward / float64(pr.p)
		m["oracle/regret"] = o.j - jpi/float64(pr.p)
		m["oracle/normalized_regret"] = normalizedRegret(jpi/float64(pr.p), mp.jRef, o.j)
		m["oracle/tv_optimal"] = tv / float64(pr.p)
		m["winrate/vs_ref"] = win / float64(pr.p)
	}
	for y, name := range pr.probNames() {
		m["prob/"+name] = math.Exp(lp[y])
	}
	return m
}

// normalizedRegret returns (J(π) − J(π_ref)) / (J(π*) − J(π_ref)), NaN when
// π* gains nothing over π_ref (J(π*) − J(π_ref) ≤ 1e-12·max(1, |J(π*)|):
// r* constant per prompt, or β so large that π* is π_ref to rounding).
func normalizedRegret(j, jRef, jOpt float64) float64 {
	gain := jOpt - jRef
	if !(gain > 1e-12*math.Max(1, math.Abs(jOpt))) {
		return math.NaN()
	}
	return (j - jRef) / gain
}

// addPairMetrics sets the metrics of the labelled pairs in m, means over the
// n pairs (h = log π − log π_ref, β·h the implicit reward):
//
//	rewards/chosen, rewards/rejected  β·h(y_w), β·h(y_l)
//	rewards/margins                   β·(h(y_w) − h(y_l))
//	rewards/accuracies                fraction with h(y_w) > h(y_l)
//	logps/chosen, logps/rejected      log π(y_w|x), log π(y_l|x)
//	grad_weight                       σ(−β·(h(y_w) − h(y_l))), DPO's per-pair gradient weight
//
// pair(j) returns pair j's h(y_w), h(y_l), log π(y_w|x) and log π(y_l|x).
// Train, Sweep and TrainSeq all log these through it.
func addPairMetrics(m map[string]float64, beta float64, n int, pair func(j int) (hw, hl, lpw, lpl float64)) {
	var ch, rj, acc, lpc, lpr, gw float64
	for j := range n {
		hc, hr, lw, ll := pair(j)
		ch += beta * hc
		rj += beta * hr
		if hc > hr {
			acc++
		}
		lpc += lw
		lpr += ll
		gw += sigmoid(-beta * (hc - hr))
	}
	nf := float64(n)
	m["rewards/chosen"], m["rewards/rejected"] = ch/nf, rj/nf
	m["rewards/margins"] = (ch - rj) / nf
	m["rewards/accuracies"] = acc / nf
	m["logps/chosen"], m["logps/rejected"] = lpc/nf, lpr/nf
	m["grad_weight"] = gw / nf
}
