package lab

import (
	"math"
	"testing"

	"github.com/robustpo/robustpo/datasets"
)

// directMetrics recomputes every metric of metricNames from the definitions,
// without the plan's precomputed parts: π from a log-sum-exp of the logits,
// π_ref from the dataset, π* ∝ π_ref·exp(r*/β) normalised here, J(π) summed
// term by term and the win rate as the double sum
// mean_x Σ_{y,y'} π(y|x)·π_ref(y'|x)·σ(r*(y) − r*(y')).
func directMetrics(pr *problem, theta []float64, loss, beta float64) map[string]float64 {
	data := pr.data
	ref := data.RefProbs()
	logits := pr.logits(theta)
	pi := make([][]float64, pr.p)
	for x := range pi {
		row := logits[x*pr.r : (x+1)*pr.r]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		z := 0.0
		for _, v := range row {
			z += math.Exp(v - mx)
		}
		pi[x] = make([]float64, pr.r)
		for y, v := range row {
			pi[x][y] = math.Exp(v-mx) / z
		}
	}
	h := func(x, y int) float64 { return math.Log(pi[x][y]) - math.Log(ref[x][y]) }
	m := map[string]float64{"loss": loss}
	n := float64(len(data.Pairs))
	for _, p := range data.Pairs {
		hc, hr := h(p.Prompt, p.Chosen), h(p.Prompt, p.Rejected)
		m["rewards/chosen"] += beta * hc / n
		m["rewards/rejected"] += beta * hr / n
		m["rewards/margins"] += beta * (hc - hr) / n
		if hc > hr {
			m["rewards/accuracies"] += 1 / n
		}
		m["logps/chosen"] += math.Log(pi[p.Prompt][p.Chosen]) / n
		m["logps/rejected"] += math.Log(pi[p.Prompt][p.Rejected]) / n
		m["grad_weight"] += 1 / (1 + math.Exp(beta*(hc-hr))) / n
	}
	support := data.Support()
	P := float64(pr.p)
	withPairs := 0.0
	mass := 0.0
	for x := range pr.p {
		seen := false
		for y := range pr.r {
			m["implicit_reward/max_abs"] = math.Max(m["implicit_reward/max_abs"], math.Abs(beta*h(x, y)))
			m["kl/reverse"] += pi[x][y] * h(x, y) / P
			m["kl/forward"] -= ref[x][y] * h(x, y) / P
			if support[x][y] {
				seen = true
				mass += pi[x][y]
			}
		}
		if seen {
			withPairs++
		}
	}
	m["mass/train_support"] = mass / withPairs
	if data.HasOracle() {
		r := data.Oracle
		J := func(q [][]float64) float64 {
			j := 0.0
			for x := range q {
				for y, p := range q[x] {
					j += p * (r[x][y] - beta*math.Log(p/ref[x][y])) / P
				}
			}
			return j
		}
		opt := make([][]float64, pr.p)
		for x := range opt {
			opt[x] = make([]float64, pr.r)
			z := 0.0
			for y := range opt[x] {
				opt[x][y] = ref[x][y] * math.Exp(r[x][y]/beta)
				z += opt[x][y]
			}
			for y := range opt[x] {
				opt[x][y] /= z
			}
		}
		for x := range pr.p {
			for y := range pr.r {
				m["oracle/reward"] += pi[x][y] * r[x][y] / P
				m["oracle/tv_optimal"] += 0.5 * math.Abs(pi[x][y]-opt[x][y]) / P
				for y2 := range pr.r {
					m["winrate/vs_ref"] += pi[x][y] * ref[x][y2] / (1 + math.Exp(r[x][y2]-r[x][y])) / P
				}
			}
		}
		m["oracle/regret"] = J(opt) - J(pi)
		m["oracle/normalized_regret"] = (J(pi) - J(ref)) / (J(opt) - J(ref))
	}
	if pr.p == 1 && pr.r <= 16 {
		for y := range pr.r {
			m["prob/"+responseName(data.ResponseNames, y)] = pi[0][y]
		}
	}
	return m
}

// TestMetricsPlanMatchesDirect checks the metrics of Train and Sweep against
// directMetrics at parameters away from π_ref, with and without an oracle,
// for tabular and log-linear policies, and that exactly metricNames are set.
func TestMetricsPlanMatchesDirect(t *testing.T) {
	for _, data := range []*datasets.FiniteData{testBandit(t, 3, 5, 0, 12), testBandit(t, 2, 4, 3, 6), datasets.SqueezeToy()} {
		pr, err := newProblem(data, AutoPolicy)
		if err != nil {
			t.Fatal(err)
		}
		plan := newMetricsPlan(pr)
		support := data.Support()
		theta := make([]float64, pr.numParams())
		for i := range theta {
			theta[i] = math.Sin(float64(3*i+1)) * 2
		}
		for _, beta := range []float64{0.1, 0.5, 3} {
			plan.prepare(beta)
			want := directMetrics(pr, theta, 0.25, beta)
			got := plan.metrics(theta, 0.25, beta, support)
			names := pr.metricNames()
			if len(got) != len(names) || len(want) != len(names) {
				t.Fatalf("%s: plan gives %d metrics, direct %d, metricNames %d", data.Name, len(got), len(want), len(names))
			}
			for _, name := range names {
				g, gok := got[name]
				w, wok := want[name]
				if !gok || !wok || math.Abs(g-w) > 1e-10*max(1, math.Abs(w)) {
					t.Errorf("%s β=%v: %s = %.15g (set %v), direct %.15g (set %v)", data.Name, beta, name, g, gok, w, wok)
				}
			}
			if data.HasOracle() && got["oracle/regret"] <= 0 {
				t.Errorf("%s β=%v: oracle/regret = %g away from π*, want > 0", data.Name, beta, got["oracle/regret"])
			}
		}
	}
}

// TestNormalizedRegretEnds checks oracle/normalized_regret at its two anchors
// on a random bandit: 0 at θ = 0 (π = π_ref) and 1 at the tabular θ = r*/β
// (π = π* ∝ π_ref·exp(r*/β)), at three β; and NaN when r* is constant per
// prompt (π* = π_ref: nothing to gain).
func TestNormalizedRegretEnds(t *testing.T) {
	data := testBandit(t, 3, 5, 0, 12)
	pr, err := newProblem(data, Tabular)
	if err != nil {
		t.Fatal(err)
	}
	plan := newMetricsPlan(pr)
	for _, beta := range []float64{0.1, 0.5, 3} {
		plan.prepare(beta)
		zero := make([]float64, pr.numParams())
		if got := plan.metrics(zero, 0, beta, data.Support())["oracle/normalized_regret"]; math.Abs(got) > 1e-12 {
			t.Errorf("β=%v: at π_ref normalized regret = %g, want 0", beta, got)
		}
		opt := flatten(data.Oracle)
		for i := range opt {
			opt[i] /= beta
		}
		if got := plan.metrics(opt, 0, beta, data.Support())["oracle/normalized_regret"]; math.Abs(got-1) > 1e-9 {
			t.Errorf("β=%v: at π* normalized regret = %.12f, want 1", beta, got)
		}
	}
	flat := *data
	flat.Oracle = make([][]float64, len(data.Oracle))
	for x := range flat.Oracle {
		flat.Oracle[x] = make([]float64, len(data.Oracle[x]))
		for y := range flat.Oracle[x] {
			flat.Oracle[x][y] = float64(x)
		}
	}
	fpr, err := newProblem(&flat, Tabular)
	if err != nil {
		t.Fatal(err)
	}
	fplan := newMetricsPlan(fpr)
	fplan.prepare(0.5)
	theta := make([]float64, fpr.numParams())
	theta[1] = 1
	if got := fplan.metrics(theta, 0, 0.5, flat.Support())["oracle/normalized_regret"]; !math.IsNaN(got) {
		t.Errorf("constant r*: normalized regret = %g, want NaN", got)
	}
}
