package lab

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/robustpo/robustpo/lab/internal/render"
	"gonum.org/v1/gonum/stat/distuv"
)

// Interval is a mean with its two-sided 95% confidence interval
// [Lo, Hi] = Mean ∓ t_{0.975, N−1}·s/√N (Student t, s the sample standard
// deviation): the uncertainty of a mean over N seeds. Lo and Hi are NaN for
// N < 2.
type Interval struct {
	Mean, Lo, Hi float64
	N            int
}

// MeanCI returns the mean of xs with its 95% Student-t interval, skipping
// NaN and ±Inf values (N counts the values kept).
func MeanCI(xs []float64) Interval {
	var kept []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			kept = append(kept, x)
		}
	}
	m, h := meanCI95(kept)
	return Interval{Mean: m, Lo: m - h, Hi: m + h, N: len(kept)}
}

// String formats the interval as "0.412 [0.388, 0.436]".
func (iv Interval) String() string {
	return fmt.Sprintf("%.3g [%.3g, %.3g]", iv.Mean, iv.Lo, iv.Hi)
}

// Clip returns the interval with Lo and Hi moved into [lo, hi], the range
// the mean can take (a probability's [0, 1], a KL's [0, ∞)): the true mean
// lies in that range, so the clipped interval covers it whenever the
// t-interval does, and it never shows impossible values such as a negative
// probability. The mean itself is unchanged (it lies in the range already).
func (iv Interval) Clip(lo, hi float64) Interval {
	if !math.IsNaN(iv.Lo) {
		iv.Lo = min(max(iv.Lo, lo), hi)
	}
	if !math.IsNaN(iv.Hi) {
		iv.Hi = max(min(iv.Hi, hi), lo)
	}
	return iv
}

// Contains reports whether v lies in [Lo, Hi].
func (iv Interval) Contains(v float64) bool { return iv.Lo <= v && v <= iv.Hi }

// Paired is a paired Student t test of "mean(a − b) = 0" over n paired units
// (typically seeds: a[i] and b[i] from the same seed's data, initialisation
// and evaluation samples), two-sided:
//
//	d_i = a_i − b_i,  t = d̄ / (s_d/√n),  df = n − 1,  P = 2·(1 − F_t(|t|; df))
//
// with F_t Student's t distribution function. Diff is d̄ with its 95%
// interval. PHolm is P after Holm's correction within a Tests family (P
// itself outside one). When every d_i is equal, t is 0 (P = 1) if they are 0
// and ±Inf (P = 0) otherwise.
type Paired struct {
	Name  string
	Diff  Interval
	T     float64
	DF    int
	P     float64
	PHolm float64
}

// PairedT returns the paired t test of a against b; a and b must have equal
// lengths n ≥ 2 and finite values.
func PairedT(a, b []float64) (Paired, error) {
	if len(a) != len(b) || len(a) < 2 {
		return Paired{}, fmt.Errorf("lab: PairedT: %d and %d values, need equal lengths ≥ 2", len(a), len(b))
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
		if math.IsNaN(d[i]) || math.IsInf(d[i], 0) {
			return Paired{}, fmt.Errorf("lab: PairedT: pair %d is %v − %v, need finite values", i, a[i], b[i])
		}
	}
	n := len(d)
	ci := MeanCI(d)
	se := (ci.Hi - ci.Mean) / studentT975(n-1)
	p := Paired{Diff: ci, DF: n - 1}
	switch {
	case se > 0:
		p.T = ci.Mean / se
		p.P = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Survival(math.Abs(p.T))
	case ci.Mean == 0:
		p.T, p.P = 0, 1
	default:
		p.T, p.P = math.Copysign(math.Inf(1), ci.Mean), 0
	}
	p.PHolm = p.P
	return p, nil
}

// Holm returns Holm's step-down adjusted p-values of a family of m tests, in
// the order given: with p_(1) ≤ … ≤ p_(m) sorted,
//
//	p̃_(i) = min(1, max_{j ≤ i} (m − j + 1)·p_(j)),
//
// so rejecting every test with p̃ ≤ α controls the family-wise error rate at
// α under any dependence between the tests.
func Holm(p []float64) []float64 {
	m := len(p)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return p[order[i]] < p[order[j]] })
	adj := make([]float64, m)
	run := 0.0
	for rank, i := range order {
		run = math.Max(run, math.Min(1, float64(m-rank)*p[i]))
		adj[i] = run
	}
	return adj
}

// Tests is a family of paired tests corrected together with Holm's method:
// add every comparison a notebook makes, then read each test's PHolm. The
// zero value is an empty family at α = 0.05.
type Tests struct {
	// Alpha is the family-wise error rate (0 means 0.05).
	Alpha float64
	list  []Paired
}

// Add runs PairedT(a, b) as the family's test name (names must be unique)
// and re-corrects the family.
func (f *Tests) Add(name string, a, b []float64) (Paired, error) {
	if slices.ContainsFunc(f.list, func(p Paired) bool { return p.Name == name }) {
		return Paired{}, fmt.Errorf("lab: Tests.Add: a test named %q is already in the family", name)
	}
	p, err := PairedT(a, b)
	if err != nil {
		return Paired{}, fmt.Errorf("lab: test %q: %w", name, err)
	}
	p.Name = name
	f.list = append(f.list, p)
	f.correct()
	return f.list[len(f.list)-1], nil
}

// Compare adds the test name of metric between the rows of a and b paired by
// their Seed (each Seed once in each table, the same seeds in both): mean
// over seeds of metric(a) − metric(b).
func (f *Tests) Compare(name, metric string, a, b *Table) (Paired, error) {
	x, y, err := pairBySeed(metric, a, b)
	if err != nil {
		return Paired{}, fmt.Errorf("lab: test %q: %w", name, err)
	}
	return f.Add(name, x, y)
}

// pairBySeed returns metric's values of a's and b's rows in the same Seed
// order (a's).
func pairBySeed(metric string, a, b *Table) (x, y []float64, err error) {
	index := func(t *Table, which string) (map[int64]float64, []int64, error) {
		m := map[int64]float64{}
		var seeds []int64
		for _, r := range t.Rows {
			if r.Err != nil {
				return nil, nil, fmt.Errorf("%s: the row %s failed: %w", which, r.Config.Label(), r.Err)
			}
			s := r.Config.Seed
			if _, dup := m[s]; dup {
				return nil, nil, fmt.Errorf("%s: seed %d appears twice (filter the table to one config per seed)", which, s)
			}
			m[s] = r.Metric(metric)
			seeds = append(seeds, s)
		}
		return m, seeds, nil
	}
	ma, seeds, err := index(a, "first table")
	if err != nil {
		return nil, nil, err
	}
	mb, _, err := index(b, "second table")
	if err != nil {
		return nil, nil, err
	}
	if len(ma) != len(mb) {
		return nil, nil, fmt.Errorf("%d seeds against %d, need the same seeds", len(ma), len(mb))
	}
	for _, s := range seeds {
		vb, ok := mb[s]
		if !ok {
			return nil, nil, fmt.Errorf("seed %d is in the first table only", s)
		}
		x, y = append(x, ma[s]), append(y, vb)
	}
	return x, y, nil
}

// correct recomputes every test's PHolm over the whole family.
func (f *Tests) correct() {
	ps := make([]float64, len(f.list))
	for i, p := range f.list {
		ps[i] = p.P
	}
	for i, a := range Holm(ps) {
		f.list[i].PHolm = a
	}
}

// alpha returns Alpha, defaulted.
func (f *Tests) alpha() float64 {
	if f.Alpha > 0 {
		return f.Alpha
	}
	return 0.05
}

// Get returns the test name with its Holm-adjusted p over the whole family
// (so read it after every Add), and false when there is none.
func (f *Tests) Get(name string) (Paired, bool) {
	for _, p := range f.list {
		if p.Name == name {
			return p, true
		}
	}
	return Paired{}, false
}

// Significant reports whether test name rejects "no difference" at the
// family's α after Holm's correction (false for an unknown name).
func (f *Tests) Significant(name string) bool {
	p, ok := f.Get(name)
	return ok && p.PHolm <= f.alpha()
}

// All returns the family's tests in the order added.
func (f *Tests) All() []Paired { return slices.Clone(f.list) }

// Verdict says in words what test name shows at the family's α:
// "a > b (…)", "a < b (…)" or "no detectable difference between a and b
// (…)", with a and b the names given for the two sides; in brackets the mean
// difference with its 95% interval for this test alone, and the
// Holm-adjusted p the verdict rests on. That interval is not corrected for
// the family: it can exclude 0 where Holm finds no detectable difference.
func (f *Tests) Verdict(name, a, b string) string {
	p, ok := f.Get(name)
	if !ok {
		return fmt.Sprintf("no test %q", name)
	}
	family := fmt.Sprintf("over %d tests", len(f.list))
	if len(f.list) == 1 {
		family = "(one test: Holm changes nothing)"
	}
	pv := fmt.Sprintf("mean difference %s, unadjusted 95%% CI; Holm-adjusted p = %.2g %s", p.Diff, p.PHolm, family)
	switch {
	case p.PHolm > f.alpha():
		return fmt.Sprintf("no detectable difference between %s and %s (%s)", a, b, pv)
	case p.Diff.Mean > 0:
		return fmt.Sprintf("%s > %s (%s)", a, b, pv)
	default:
		return fmt.Sprintf("%s < %s (%s)", a, b, pv)
	}
}

// cells returns the family as table cells.
func (f *Tests) cells() ([]string, [][]string) {
	head := []string{"test", "n", "mean difference", "95% CI (unadjusted)", "t", "p", "Holm p", fmt.Sprintf("verdict at α = %g (Holm)", f.alpha())}
	var rows [][]string
	for _, p := range f.list {
		v := "no detectable difference"
		if p.PHolm <= f.alpha() {
			v = "differs"
		}
		rows = append(rows, []string{p.Name, fmt.Sprint(p.Diff.N), fmt.Sprintf("%.4g", p.Diff.Mean),
			fmt.Sprintf("[%.4g, %.4g]", p.Diff.Lo, p.Diff.Hi), fmt.Sprintf("%.3g", p.T),
			fmt.Sprintf("%.3g", p.P), fmt.Sprintf("%.3g", p.PHolm), v})
	}
	return head, rows
}

// Text returns the family as an aligned text table.
func (f *Tests) Text() string {
	h, r := f.cells()
	return textTable(h, r)
}

// Display shows the family as a table (HTML with a text/plain fallback).
func (f *Tests) Display() *Tests {
	h, r := f.cells()
	caption := fmt.Sprintf("%d paired t tests, Holm-corrected together; each interval is its own test's, not corrected for the family (it can exclude 0 where Holm finds no detectable difference)", len(f.list))
	render.Send(render.TableBundle(htmlTable(caption, h, r), caption+"\n"+strings.TrimRight(textTable(h, r), "\n")+"\n"))
	return f
}

// Column returns metric's final value in every row, in row order (NaN for
// failed rows).
func (t *Table) Column(metric string) []float64 {
	xs := make([]float64, len(t.Rows))
	for i, r := range t.Rows {
		xs[i] = r.Metric(metric)
	}
	return xs
}

// CI returns metric's mean over the table's rows with its 95% interval
// (typically a table filtered to one config's seeds), clipped to the range
// the lab's metric can take (MetricRange; see Interval.Clip).
func (t *Table) CI(metric string) Interval {
	lo, hi := MetricRange(metric)
	return MeanCI(t.Column(metric)).Clip(lo, hi)
}

// MetricRange returns the values a lab metric can take: [0, 1] for
// probabilities, accuracies, win rates, masses, DPO's gradient weight and
// the total variation; [0, ∞) for KL divergences, regret and
// implicit_reward/max_abs; (−∞, 1] for oracle/normalized_regret (1 at π*);
// (−∞, ∞) for any other name.
func MetricRange(metric string) (lo, hi float64) {
	inf := math.Inf(1)
	switch {
	case strings.HasPrefix(metric, "prob/"), strings.HasPrefix(metric, "mass/"), strings.HasPrefix(metric, "winrate/"),
		strings.HasSuffix(metric, "accuracies"), strings.HasSuffix(metric, "accuracy"),
		metric == "grad_weight", metric == "oracle/tv_optimal":
		return 0, 1
	case strings.HasPrefix(metric, "kl/"), metric == "oracle/regret", metric == "implicit_reward/max_abs":
		return 0, inf
	case metric == "oracle/normalized_regret":
		return -inf, 1
	}
	return -inf, inf
}
