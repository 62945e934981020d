package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/robustpo/robustpo/datasets"
)

// defaultsJSON is cfg with defaults applied, as JSON (PairLoss aside).
func defaultsJSON(t *testing.T, cfg Config) string {
	t.Helper()
	b, err := json.Marshal(cfg.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExplorerZeroValue(t *testing.T) {
	s, err := Explorer{}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, c := range s.controls {
		labels = append(labels, c.Label())
	}
	if want := []string{"method", "β", "γ", "steps"}; !slices.Equal(labels, want) {
		t.Errorf("default controls %v, want %v", labels, want)
	}
	// The controls start where the base configuration is: DPO, β = 0.1 (the
	// default, given a position of its own), γ = 0, 1000 steps.
	cfg, knobs := s.config(s.start)
	if knobs != nil {
		t.Errorf("knobs %v without data sliders", knobs)
	}
	if got, want := defaultsJSON(t, cfg), defaultsJSON(t, Config{}); got != want {
		t.Errorf("the zero Explorer starts at\n%s\nwant the zero Config's\n%s", got, want)
	}
	if got := s.controls[1].valueName(s.start[1]); got != "0.1" {
		t.Errorf("β slider starts at %s, want 0.1", got)
	}
	if got := s.describe(s.start); got != "method = DPO, β = 0.1, γ = 0, steps = 1000" {
		t.Errorf("describe = %q", got)
	}
	d, err := s.data(nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Fingerprint() != datasets.SqueezeToy().Fingerprint() {
		t.Errorf("the zero Explorer trains on %s, want the SqueezeToy", d.Name)
	}
}

func TestExplorerControlsSetConfig(t *testing.T) {
	slic := func(m, b *Node) *Node { return MaxScalar(OneMinus(Mul(b, m)), 0) }
	e := Explorer{
		Base: Config{Method: PDPO, Beta: 0.3, Gamma: 0.1, Steps: 500, Seed: 2},
		Controls: []Control{
			MethodSelect(append(Methods(DPO, IPO, PDPO), MethodChoice{Name: "SLiC", PairLoss: slic})...),
			BetaSlider(0.1, 0.5, 1),
			GammaSlider(),
			StepsSlider(100, 1000),
			EpsilonSlider(),
			EnsembleSlider(),
			SeedSlider(),
			Slider("learning rate", []float64{0.01, 0.05, 0.2}, func(c *Config, v float64) { c.LearningRate = v }).At(0.05),
		},
	}
	s, err := e.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.controls[0].names; !slices.Equal(got, []string{"DPO", "IPO", "p-DPO", "SLiC"}) {
		t.Errorf("method names %v", got)
	}
	// β = 0.3 and 500 steps are not listed: each gets a position, in order.
	if got := s.controls[1].values; !slices.Equal(got, []float64{0.1, 0.3, 0.5, 1}) {
		t.Errorf("β values %v, want 0.3 added in order", got)
	}
	if got := s.controls[3].values; !slices.Equal(got, []float64{100, 500, 1000}) {
		t.Errorf("steps values %v", got)
	}
	if want := []int{2, 1, 3, 1, 1, 0, 1, 1}; !slices.Equal(s.start, want) {
		t.Errorf("start positions %v, want %v", s.start, want)
	}
	cfg, _ := s.config(s.start)
	if got, want := defaultsJSON(t, cfg), defaultsJSON(t, e.Base); got != want {
		t.Errorf("start config\n%s\nwant the base\n%s", got, want)
	}
	// Move every control.
	pos := []int{1, 3, 5, 2, 3, 4, 9, 2}
	cfg, _ = s.config(pos)
	want := Config{Method: IPO, Beta: 1, Gamma: 1, Steps: 1000, Epsilon: 0.3, EnsembleSize: 8, Seed: 10, LearningRate: 0.2}
	if got, w := defaultsJSON(t, cfg), defaultsJSON(t, want); got != w {
		t.Errorf("moved config\n%s\nwant\n%s", got, w)
	}
	// A pair loss: Method DPO, its Name and PairLoss; back to a built-in
	// method clears both.
	pos[0] = 3
	cfg, _ = s.config(pos)
	if cfg.Method != DPO || cfg.Name != "SLiC" || cfg.PairLoss == nil || cfg.Validate() != nil {
		t.Errorf("SLiC choice: Method %v, Name %q, PairLoss set %v, Validate %v", cfg.Method, cfg.Name, cfg.PairLoss != nil, cfg.Validate())
	}
	// A base with the pair loss starts on its entry, and a built-in method
	// then drops the Name the pair loss needed.
	e.Base = cfg
	s, err = e.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if s.start[0] != 3 {
		t.Errorf("a base with PairLoss SLiC starts at method %d, want 3", s.start[0])
	}
	pos = slices.Clone(s.start)
	pos[0] = 0
	cfg, _ = s.config(pos)
	if cfg.Method != DPO || cfg.Name != "" || cfg.PairLoss != nil {
		t.Errorf("back to DPO: Method %v, Name %q, PairLoss set %v", cfg.Method, cfg.Name, cfg.PairLoss != nil)
	}
}

func TestExplorerDataKnobs(t *testing.T) {
	calls := 0
	e := Explorer{
		Base: Config{Method: DPO, Steps: 10},
		MakeData: func(k []float64) (*datasets.FiniteData, error) {
			calls++
			return datasets.RandomBandit(datasets.BanditConfig{Coverage: k[0], Seed: uint64(k[1])})
		},
		Controls: []Control{DataSlider("coverage", 0.25, 0.5, 1).At(0.5), BetaSlider(), DataSlider("data seed", 1, 2, 3)},
	}
	s, err := e.resolve()
	if err != nil {
		t.Fatal(err)
	}
	cfg, knobs := s.config(s.start)
	if !slices.Equal(knobs, []float64{0.5, 1}) || cfg.Beta != 0.1 {
		t.Fatalf("start knobs %v β %v, want [0.5 1] and 0.1", knobs, cfg.Beta)
	}
	d1, err := s.data(knobs)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := datasets.RandomBandit(datasets.BanditConfig{Coverage: 0.5, Seed: 1})
	if d1.Fingerprint() != want.Fingerprint() {
		t.Errorf("data at coverage 0.5 differ from RandomBandit's")
	}
	if d2, _ := s.data([]float64{0.5, 1}); d2 != d1 || calls != 1 {
		t.Errorf("the same knobs built the data again (%d calls)", calls)
	}
	_, knobs = s.config([]int{0, 0, 2})
	if d3, _ := s.data(knobs); d3 == d1 || calls != 2 {
		t.Errorf("other knobs %v did not build new data (%d calls)", knobs, calls)
	}
}

func TestExplorerRejects(t *testing.T) {
	loss := func(m, b *Node) *Node { return Mul(b, m) }
	for name, tc := range map[string]struct {
		e    Explorer
		want string
	}{
		"zero control":       {Explorer{Controls: []Control{{}}}, "zero Control"},
		"no values":          {Explorer{Controls: []Control{DataSlider("k")}}, "no values"},
		"data without maker": {Explorer{Controls: []Control{DataSlider("coverage", 0.5, 1)}}, "MakeData is nil"},
		"pair loss unnamed":  {Explorer{Controls: []Control{MethodSelect(MethodChoice{PairLoss: loss})}}, "without a Name"},
		"bad base":           {Explorer{Base: Config{Beta: -1}}, "Explorer.Base"},
		"bad data":           {Explorer{Data: &datasets.FiniteData{}}, "Explorer.Data"},
	} {
		if _, err := tc.e.resolve(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, tc.want)
		}
		if _, err := tc.e.Show(); err == nil {
			t.Errorf("%s: Show returned no error", name)
		}
	}
}

// TestExplorerShowOnce: outside a notebook Show trains the base
// configuration once, returns its Run (the same as Train's) and prints one
// line saying the controls need Jupyter.
func TestExplorerShowOnce(t *testing.T) {
	base := Config{Method: IPO, Beta: 0.5, Steps: 200, Seed: 1, NoCache: true}
	e := Explorer{Base: base}
	run, err := e.Show()
	if err != nil {
		t.Fatal(err)
	}
	want, err := Train(base, datasets.SqueezeToy())
	if err != nil {
		t.Fatal(err)
	}
	for y := range want.Final[0] {
		if run.Final[0][y] != want.Final[0][y] {
			t.Errorf("π(%d) = %v, Train gives %v", y, run.Final[0][y], want.Final[0][y])
		}
	}
	s, _ := e.resolve()
	var out bytes.Buffer
	if _, err := s.once(context.Background(), &out, false, "not in a notebook"); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "the controls need Jupyter") || !strings.Contains(got, run.Label) {
		t.Errorf("printed %q, want one line naming %q and saying the controls need Jupyter", got, run.Label)
	}
	// A cancelled context stops the training.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	base.Steps = 100000
	if _, err := (Explorer{Base: base}).ShowContext(ctx); err == nil {
		t.Errorf("a cancelled ShowContext returned no error")
	}
}

// TestExplorerView checks the figure, the metrics table and the live view's
// HTML of a trained run: the policy panel and one panel per metric, π_ref's
// and π*'s values beside π's, and the final policy in data-probs to every
// digit.
func TestExplorerView(t *testing.T) {
	run, err := Train(Config{Method: PDPO, Beta: 0.5, Gamma: 0.1, Steps: 300, Seed: 1, NoCache: true}, datasets.SqueezeToy())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Explorer{Base: run.Config}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	f := s.e.figure(run)
	if f.Panels() != 3 || f.spec.Title != run.Label {
		t.Errorf("figure: %d panels titled %q, want 3 (policy, implicit reward, support mass) titled %q", f.Panels(), f.spec.Title, run.Label)
	}
	// The π_ref level of the support mass is π_ref(a) + π_ref(b) = 1/2, and
	// the π_ref and π* columns agree with the run's own metric at those
	// policies.
	ref, opt := baselines(run, "mass/train_support")
	if math.Abs(ref-0.5) > 1e-12 || math.Abs(opt-(run.Optimal[0][0]+run.Optimal[0][1])) > 1e-12 {
		t.Errorf("support mass at π_ref %v, π* %v", ref, opt)
	}
	if r, _ := baselines(run, "implicit_reward/max_abs"); r != 0 {
		t.Errorf("π_ref's implicit reward %v, want 0", r)
	}
	if fwd := policyMetric("kl/forward", run.Final, run.Ref, run.Support, 0.5); math.Abs(fwd-run.History.Last("kl/forward")) > 1e-9 {
		t.Errorf("kl/forward of π computed here %v, logged %v", fwd, run.History.Last("kl/forward"))
	}
	if m := policyMetric("implicit_reward/max_abs", run.Final, run.Ref, run.Support, 0.5); math.Abs(m-run.History.Last("implicit_reward/max_abs")) > 1e-9 {
		t.Errorf("max implicit reward of π computed here %v, logged %v", m, run.History.Last("implicit_reward/max_abs"))
	}
	if !math.IsNaN(policyMetric("loss", run.Final, run.Ref, run.Support, 0.5)) {
		t.Errorf("the loss is not a function of the policy alone: want NaN")
	}
	htmlTable, text := summaryTables(run)
	for _, want := range []string{"mass on the training support", "KL(π_ref‖π)", "normalized regret"} {
		if !strings.Contains(htmlTable, html.EscapeString(want)) || !strings.Contains(text, want) {
			t.Errorf("metrics table lacks %q:\n%s", want, text)
		}
	}
	v := s.viewHTML(run, 7, 0)
	m := regexp.MustCompile(`data-probs="([^"]*)"`).FindStringSubmatch(v)
	if m == nil {
		t.Fatalf("view has no data-probs: %.300s", v)
	}
	var probs [][]float64
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &probs); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(probs[0], run.Final[0]) {
		t.Errorf("data-probs %v, want %v exactly", probs, run.Final)
	}
	for _, want := range []string{`data-seq="7"`, `data-label="` + html.EscapeString(run.Label) + `"`, "data:image/svg+xml;base64,", "robustpo-explore-metrics"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q", want)
		}
	}
}

// TestExplorerLoop drives the explorer's loop as the widgets would: a
// change that arrives while a run trains cancels it, only the run of the
// controls' current setting is shown, a failed run is shown with its error,
// and Stop returns the last run shown.
func TestExplorerLoop(t *testing.T) {
	// The base trains for minutes; steps → 200 must cancel it.
	e := Explorer{
		Base: Config{Method: DPO, Beta: 0.5, Steps: 5_000_000, Seed: 1, NoCache: true},
		Controls: []Control{
			StepsSlider(200, 5_000_000),
			Slider("ε", []float64{0.1, 0.7}, func(c *Config, v float64) { c.Epsilon = v }),
		},
	}
	s, err := e.resolve()
	if err != nil {
		t.Fatal(err)
	}
	changes, stop := make(chan change), make(chan int)
	type shownView struct {
		t   trained
		seq int
	}
	views := make(chan shownView, 8)
	type result struct {
		run *Run
		pos []int
	}
	ended := make(chan result, 1)
	go func() {
		run, pos := s.loop(context.Background(), changes, stop, func(t trained, seq int) { views <- shownView{t, seq} })
		ended <- result{run, pos}
	}()
	start := time.Now()
	changes <- change{0, 0} // steps = 200, while the base trains
	v := <-views
	if v.t.err != nil || v.seq != 1 || v.t.run.Config.Steps != 200 || v.t.run.StepsDone != 200 {
		t.Fatalf("first view: seq %d, err %v, steps %d: want the 200-step run", v.seq, v.t.err, v.t.run.Config.Steps)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the 200-step run was shown %v after the change: the base run was not cancelled", d)
	}
	// ε = 0.7 is invalid: shown as an error, the last run kept.
	changes <- change{1, 1}
	v = <-views
	if v.t.err == nil || v.seq != 1 || !strings.Contains(v.t.err.Error(), "Epsilon") {
		t.Errorf("an invalid setting: seq %d, err %v; want its error and seq 1", v.seq, v.t.err)
	}
	changes <- change{1, 5} // out of range: ignored
	changes <- change{1, 0} // back to ε = 0.1: a new run (no cache here)
	v = <-views
	if v.t.err != nil || v.seq != 2 || v.t.run.Config.Epsilon != 0.1 {
		t.Errorf("after ε back to 0.1: seq %d, err %v", v.seq, v.t.err)
	}
	stop <- 1
	r := <-ended
	if r.run != v.t.run || !slices.Equal(r.pos, []int{0, 0}) {
		t.Errorf("Stop returned run %p at %v, want the last one shown %p at [0 0]", r.run, r.pos, v.t.run)
	}
	select {
	case extra := <-views:
		t.Errorf("an extra view after the last change: %+v", extra)
	default:
	}
}
