package lab

import "math"

// metricsPlan computes the metrics of problem.metrics for many policies of one
// problem, with the θ-independent parts computed once: π_ref, the oracle
// reward r*, the win-rate weights W(x,y) = Σ_{y'} π_ref(y'|x)·σ(r*(y) − r*(y'))
// and, per β, π*_{r*} and J(π*). The values equal problem.metrics up to
// floating-point summation order.
type metricsPlan struct {
	pr   *problem
	refP []float64 // π_ref [P·R]
	rs   []float64 // r* [P·R], nil without oracle
	win  []float64 // W [P·R]
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
			}
		}
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

// metrics returns problem.metrics(theta, loss, beta, support); prepare(beta) first.
func (mp *metricsPlan) metrics(theta []float64, loss, beta float64, support [][]bool) map[string]float64 {
	pr := mp.pr
	lp := logSoftmaxRows(pr.logits(theta), pr.r)
	m := make(map[string]float64, 20)
	m["loss"] = loss
	var ch, rj, acc, lpc, lpr, gw float64
	for _, p := range pr.data.Pairs {
		a, b := p.Prompt*pr.r+p.Chosen, p.Prompt*pr.r+p.Rejected
		hc, hr := lp[a]-pr.refLP[a], lp[b]-pr.refLP[b]
		ch += beta * hc
		rj += beta * hr
		if hc > hr {
			acc++
		}
		lpc += lp[a]
		lpr += lp[b]
		gw += sigmoid(-beta * (hc - hr))
	}
	n := float64(len(pr.data.Pairs))
	m["rewards/chosen"], m["rewards/rejected"] = ch/n, rj/n
	m["rewards/margins"] = (ch - rj) / n
	m["rewards/accuracies"] = acc / n
	m["logps/chosen"], m["logps/rejected"] = lpc/n, lpr/n
	m["grad_weight"] = gw / n
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
		m["oracle/tv_optimal"] = tv / float64(pr.p)
		m["winrate/vs_ref"] = win / float64(pr.p)
	}
	for y, name := range pr.probNames() {
		m["prob/"+name] = math.Exp(lp[y])
	}
	return m
}
