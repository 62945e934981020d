package lab

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/losses"
)

// slicLoss is SLiC's hinge max(0, 1 − β·Δh), written as a notebook cell would.
func slicLoss(m, b *Node) *Node { return MaxScalar(OneMinus(Mul(b, m)), 0) }

// squeezeToy returns the SqueezeToy (responses a, b, c, d; one pair a ≻ b).
func squeezeToy(t *testing.T) *datasets.FiniteData {
	t.Helper()
	return datasets.SqueezeToy()
}

// A hand-written softplus(−β·Δh) (graph.Softplus, not the losses package's)
// trains the same policy as Method DPO on the SqueezeToy.
func TestPairLossHandWrittenDPOEqualsDPO(t *testing.T) {
	t.Setenv(NoCacheEnv, "1")
	data := squeezeToy(t)
	base := Config{Beta: 0.5, LearningRate: 0.05, Steps: 1500}
	dpo, err := Train(base, data)
	if err != nil {
		t.Fatal(err)
	}
	mine := base
	mine.Name, mine.PairLoss = "my DPO", func(m, b *Node) *Node { return Softplus(Neg(Mul(b, m))) }
	got, err := Train(mine, data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Label != "my DPO" || got.Config.PairLoss == nil {
		t.Errorf("label %q, PairLoss set %v", got.Label, got.Config.PairLoss != nil)
	}
	worst := 0.0
	for x, row := range dpo.Final {
		for y, p := range row {
			worst = max(worst, math.Abs(got.Final[x][y]-p))
		}
	}
	if !(worst <= 1e-6) {
		t.Errorf("max |π − π_DPO| = %g, want ≤ 1e-6 (π %v, DPO %v)", worst, got.Final, dpo.Final)
	}
	t.Logf("max |π − π_DPO| = %.3g; π(a) = %.6f", worst, dpo.Final[0][0])
}

// SLiC's hinge under SGD stops where the margin reaches 1/β. On the
// SqueezeToy (log-linear, uniform π_ref, φ(a) − φ(b) = (0, −1)) the margin is
// Δh = −θ₂ and each step adds lr·β = 0.025 to it while β·Δh < 1, then the
// hinge is flat: Δh stops in [1/β, 1/β + 0.025], θ₁ = 0, and
// π(a) = 1/(1 + 2e^−Δh + e^Δh), 1/(1 + 2e⁻² + e²) ≈ 0.1155 at Δh = 2.
func TestSLiCStopsAtMargin(t *testing.T) {
	t.Setenv(NoCacheEnv, "1")
	data := squeezeToy(t)
	cfg := Config{Name: "SLiC", PairLoss: slicLoss, Beta: 0.5, LearningRate: 0.05, Steps: 3000, Optimizer: SGD}
	run, err := Train(cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	margin := run.History.Last("rewards/margins") / cfg.Beta
	if !(margin >= 2 && margin <= 2.025+1e-12) {
		t.Errorf("Δh = %.6f, want in [1/β, 1/β + lr·β] = [2, 2.025]", margin)
	}
	want := 1 / (1 + 2*math.Exp(-2) + math.Exp(2))
	if pa := run.Final[0][0]; math.Abs(pa-want) > 0.005 {
		t.Errorf("π(a) = %.4f, want %.4f ± 0.005", pa, want)
	}
	if l := run.History.Last("loss"); l != 0 {
		t.Errorf("final hinge loss %g, want 0 (the margin is past 1/β)", l)
	}
	t.Logf("Δh = %.6f, π = %.4f (%.4f at Δh = 2)", margin, run.Final[0], want)
}

// A hinge Sweep over β is one batched graph whose rows equal Train of their
// configs, alone and with the forward-KL term (γ > 0: "hinge + pessimism",
// γ = 0 rows sharing the graph that adds it), tabular and log-linear.
func TestPairLossSweepBatched(t *testing.T) {
	t.Setenv(NoCacheEnv, "1")
	for _, tc := range []struct {
		name string
		data *datasets.FiniteData
		base Config
		grid Grid
	}{
		{"SqueezeToy SGD", squeezeToy(t), Config{Name: "SLiC", PairLoss: slicLoss, LearningRate: 0.05, Steps: 300, Optimizer: SGD},
			Grid{Vary("Beta", 0.25, 0.5, 1)}},
		{"tabular γ", testBandit(t, 3, 5, 0, 24), Config{Name: "SLiC+KL", PairLoss: slicLoss, Steps: 60, LogEvery: 20, BatchSize: 8},
			Grid{Vary("Beta", 0.3, 0.6, 1.2), Vary("Gamma", 0, 0.5)}},
		{"log-linear γ", testBandit(t, 3, 5, 4, 24), Config{Name: "SLiC+KL", PairLoss: slicLoss, Steps: 60, LogEvery: 20},
			Grid{Vary("Beta", 0.3, 0.6, 1.2), Vary("Gamma", 0, 0.5)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table, err := SweepWith(context.Background(), tc.base, tc.grid, tc.data, quiet)
			if err != nil {
				t.Fatal(err)
			}
			if table.Batches != 1 || len(table.Errors()) != 0 {
				t.Fatalf("%d batched graphs (want 1), errors %v", table.Batches, table.Errors())
			}
			cfgs, _, err := tc.grid.Configs(tc.base)
			if err != nil {
				t.Fatal(err)
			}
			for i, cfg := range cfgs {
				want, err := Train(cfg, tc.data)
				if err != nil {
					t.Fatal(err)
				}
				compareRuns(t, tc.name, table.Rows[i].Run, want, 1e-6)
			}
		})
	}
}

// Config.PairLoss in the run cache: a second run with the same loss is
// served from the cache (with its PairLoss back), one with another loss under
// the same Name is not, and their keys record the fingerprint.
func TestPairLossCache(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	data := squeezeToy(t)
	cfg := Config{Name: "hinge", PairLoss: slicLoss, Beta: 0.5, Steps: 50, Optimizer: SGD}
	first, err := Train(cfg, data)
	if err != nil || first.Cached {
		t.Fatalf("first run: cached %v, err %v", first != nil && first.Cached, err)
	}
	again, err := Train(cfg, data)
	if err != nil || !again.Cached || again.Config.PairLoss == nil {
		t.Fatalf("second run: cached %v, PairLoss set %v, err %v; want served from the cache with its PairLoss", again.Cached, again.Config.PairLoss != nil, err)
	}
	compareRuns(t, "cached", again, first, 0)
	other := cfg
	other.PairLoss = func(m, b *Node) *Node { return MaxScalar(OneMinus(Mul(b, m)), 0.01) } // another floor
	o, err := Train(other, data)
	if err != nil || o.Cached {
		t.Fatalf("another loss under the same Name: cached %v, err %v; want trained", o.Cached, err)
	}
	backend, err := Backend()
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Finalize()
	id1, err1 := pairLossID(backend, cfg)
	id2, err2 := pairLossID(backend, other)
	idDPO, err3 := pairLossID(backend, Config{PairLoss: losses.DPOPair})
	if err1 != nil || err2 != nil || err3 != nil || id1 == id2 || id1 == idDPO || id1 == "" {
		t.Fatalf("fingerprints %q %q %q (errors %v %v %v), want three distinct", id1, id2, idDPO, err1, err2, err3)
	}
	// A closure over other values is another loss; the same values, the same one.
	hinge := func(floor float64) losses.PairLoss {
		return func(m, b *Node) *Node { return MaxScalar(OneMinus(Mul(b, m)), floor) }
	}
	a, _ := pairLossID(backend, Config{PairLoss: hinge(0)})
	b, _ := pairLossID(backend, Config{PairLoss: hinge(0.5)})
	if a != id1 || b == a {
		t.Errorf("closure fingerprints: hinge(0) %q (slicLoss %q), hinge(0.5) %q", a, id1, b)
	}
	spec := finiteRunSpec(cfg.WithDefaults(), data, first.Backend, id1)
	if !contains(string(spec.in.Config), `"PairLoss":"`+id1+`"`) {
		t.Errorf("key inputs %s do not record the fingerprint", spec.in.Config)
	}
	plain := finiteRunSpec(Config{Beta: 0.5}.WithDefaults(), data, first.Backend, "")
	if contains(string(plain.in.Config), "PairLoss") {
		t.Errorf("a run without a PairLoss records one: %s", plain.in.Config)
	}
}

// Invalid pair losses are errors naming the field: no Name, a Method other
// than DPO, a function of the wrong shape or that panics, NaN values.
func TestPairLossErrors(t *testing.T) {
	t.Setenv(NoCacheEnv, "1")
	data := squeezeToy(t)
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{PairLoss: slicLoss}, "without a Name"},
		{Config{Name: "x", Method: IPO, PairLoss: slicLoss}, "Method IPO"},
		{Config{Name: "x", PairLoss: func(m, b *Node) *Node { return ReduceSum(m, -1) }}, "returns (Float64)[4] for margins (Float64)[4, 33]"},
		{Config{Name: "x", PairLoss: func(m, b *Node) *Node { return Add(m, Scalar(m.Graph(), m.DType(), math.NaN())) }}, "NaN at Δh"},
		{Config{Name: "x", PairLoss: func(m, b *Node) *Node { panic("my bug") }}, "my bug"},
	} {
		_, err := Train(c.cfg, data)
		if err == nil || !contains(err.Error(), c.want) || !contains(err.Error(), "PairLoss") {
			t.Errorf("%s: err %v, want one naming PairLoss and %q", c.cfg.Name, err, c.want)
		}
	}
	table, err := SweepWith(context.Background(), Config{Name: "bad", PairLoss: func(m, b *Node) *Node { return ReduceSum(m, -1) }},
		Grid{Vary("Beta", 0.1, 0.2)}, data, quiet)
	if err != nil || len(table.Errors()) != 2 {
		t.Fatalf("sweep of a bad loss: err %v, %d error rows; want 2 rows holding the error", err, len(table.Errors()))
	}
}

// TrainSeq trains a Config.PairLoss: losses.DPOPair given as a PairLoss
// performs the arithmetic of Method DPO, and a hinge with γ > 0 adds the
// forward KL over π_ref samples.
func TestTrainSeqPairLoss(t *testing.T) {
	t.Setenv(NoCacheEnv, "1")
	task := tinyTask(t, 6, 2)
	dpo, err := TrainSeq(tinySeqConfig(DPO), task)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinySeqConfig(DPO)
	cfg.Name, cfg.PairLoss = "DPOPair", losses.DPOPair
	mine, err := TrainSeq(cfg, task)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range dpo.History.Metrics {
		if a, b := dpo.History.Values[m], mine.History.Values[m]; !slices.Equal(a, b) {
			t.Errorf("%s: Method DPO %v, PairLoss DPOPair %v", m, a, b)
		}
	}
	hinge := tinySeqConfig(DPO)
	hinge.Name, hinge.PairLoss, hinge.Gamma = "SLiC+KL", slicLoss, 1
	run, err := TrainSeq(hinge, task)
	if err != nil {
		t.Fatal(err)
	}
	// At π = π_ref: hinge 1, KL 0.
	if l := run.Seq.StepLosses[0]; math.Abs(l-1) > 1e-6 {
		t.Errorf("first step loss %v, want 1 (hinge at Δh = 0, KL(π_ref‖π_ref) = 0)", l)
	}
	if run.Label != "SLiC+KL" {
		t.Errorf("label %q", run.Label)
	}
}

// Every enumerated Config field type's constants parse back from their
// String names, in any case; other names and types are told apart.
func TestEnumValue(t *testing.T) {
	check := func(v fmt.Stringer, want int64) {
		t.Helper()
		for _, name := range []string{v.String(), strings.ToLower(v.String())} {
			got, ok, err := enumValue(reflect.TypeOf(v), name)
			if !ok || err != nil || got != want {
				t.Errorf("enumValue(%T, %q) = %d, %v, %v; want %d", v, name, got, ok, err, want)
			}
		}
	}
	for m := DPO; m <= RLHF; m++ {
		check(m, int64(m))
	}
	for _, v := range []fmt.Stringer{AutoPolicy, Tabular, LogLinear, Adam, SGD, TrainPairs, PlusRefSamples, AllPairs,
		LearnedReward, OracleReward, Bootstrap, DisjointFolds, DifferentSeeds, losses.MinPerBatch, losses.MinPerExample, losses.Hull} {
		check(v, reflect.ValueOf(v).Int())
	}
	if _, ok, err := enumValue(reflect.TypeFor[Method](), "SLiC"); !ok || err == nil || !contains(err.Error(), "DPO, IPO, CDPO") {
		t.Errorf("unknown method: ok %v, err %v; want an error listing the methods", ok, err)
	}
	if _, ok, _ := enumValue(reflect.TypeFor[int](), "DPO"); ok {
		t.Error("int is not an enumerated type")
	}
	if s := Method(9).String(); s != "Method(9)" {
		t.Errorf("Method(9).String() = %q", s)
	}
}

// What a reader sees names methods as the paper does (labels, table cells,
// figure legends), while CSV files keep the Go names that grids parse.
func TestMethodPaperNames(t *testing.T) {
	want := map[Method]string{DPO: "DPO", IPO: "IPO", CDPO: "cDPO", Distill: "Distill", EDPO: "e-DPO", PDPO: "p-DPO", RLHF: "RLHF"}
	for m, name := range want {
		if got := m.PaperName(); got != name {
			t.Errorf("%v.PaperName() = %q, want %q", m, got, name)
		}
		if got := valueLabel("Method", m.String()); got != name {
			t.Errorf("valueLabel(Method, %q) = %q, want %q", m.String(), got, name)
		}
	}
	if got := (Config{Method: PDPO, Beta: 0.5, Gamma: 0.1}).Label(); got != "p-DPO β=0.5 γ=0.1" {
		t.Errorf("Label = %q", got)
	}
	tab := &Table{Fields: []string{"Method"}, Metrics: []string{"loss"},
		Rows: []Row{{Values: []any{EDPO}, Config: Config{Method: EDPO}, Metrics: map[string]float64{"loss": 1}}}}
	if _, rows := tab.cells(nil); rows[0][0] != "e-DPO" {
		t.Errorf("table cell %q, want e-DPO", rows[0][0])
	}
	var csv strings.Builder
	if err := tab.WriteCSV(&csv); err != nil || !strings.Contains(csv.String(), "\nEDPO,") {
		t.Errorf("CSV %q (%v), want the Go name EDPO", csv.String(), err)
	}
}

// The method table's predicates: which methods use reward models, have a KL
// term and a pair loss.
func TestMethodPredicates(t *testing.T) {
	for m := DPO; m <= RLHF; m++ {
		rewards := m == Distill || m == EDPO || m == RLHF
		kl := m == PDPO || m == EDPO
		pair := m == DPO || m == IPO || m == CDPO || m == PDPO
		cfg := Config{Method: m}.WithDefaults()
		if m.usesRewards() != rewards || m.hasKL() != kl || (cfg.pairLoss(nil) != nil) != pair || m.batched() == (m == RLHF) {
			t.Errorf("%v: usesRewards %v, hasKL %v, pair loss %v, batched %v", m, m.usesRewards(), m.hasKL(), cfg.pairLoss(nil) != nil, m.batched())
		}
	}
	c := Config{Name: "x", PairLoss: slicLoss}
	if c.klTerm() {
		t.Error("a PairLoss with γ = 0 has no KL term")
	}
	if c.Gamma = 0.1; !c.klTerm() {
		t.Error("a PairLoss with γ > 0 has the KL term")
	}
}
