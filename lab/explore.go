package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/losses"
)

// Explorer shows a finite-set experiment live in a GoNB notebook: controls
// (sliders, a method selector, a Stop button) above a figure that is
// retrained and redrawn in place whenever a control moves. Its zero value
// explores DPO on datasets.SqueezeToy() with the default controls:
//
//	lab.Explorer{Base: lab.Config{Beta: 0.5, Steps: 3000}}.Show()
//
// The figure shows, for the configuration the controls select, the trained
// policy π beside π_ref and the RLHF optimum π* per response with the
// responses seen in training marked "*" (PlotPolicy), the training curves of
// Metrics (by default the largest implicit reward max|β·h| and the mass on
// the training support) with π_ref's and π*'s values as levels, and a table
// of the key metrics of π, π_ref and π*.
//
// Every change retrains with TrainContext: the run cache makes a revisited
// setting instant, and a change that arrives while a run trains cancels it.
// The cell runs until the reader presses Stop or interrupts the kernel; the
// last view then stays in the notebook as a static figure (one PNG + SVG +
// PDF bundle, as Figure.Display sends) and its metrics table, and the
// controls give way to one line naming the configuration shown.
//
// Without a front end that answers GoNB's comms (`go run ./kernel run`,
// nbconvert, the REPL, an editor without widgets) it shows the figure of the
// base configuration once, with one line saying that the controls need
// Jupyter, and returns; outside a notebook (go test, go run) it trains the
// base configuration and prints that line.
type Explorer struct {
	// Base is the configuration the explorer starts from; each control sets
	// one of its fields (or a knob of the data). The zero value is DPO with
	// Config's defaults.
	Base Config
	// Data is the dataset trained on (nil: datasets.SqueezeToy(), unless
	// MakeData is set).
	Data *datasets.FiniteData
	// MakeData, when set, builds the dataset from the values of the
	// DataSlider controls, in their order in Controls (for example a
	// RandomBandit's Coverage); each dataset is built once per set of values.
	MakeData func(knobs []float64) (*datasets.FiniteData, error)
	// Controls are the knobs shown, top to bottom (nil: DefaultControls()).
	Controls []Control
	// Metrics are the training curves drawn beside the policy (nil:
	// "implicit_reward/max_abs" and "mass/train_support").
	Metrics []string
}

// DefaultControls returns the controls an Explorer shows when it is given
// none: the method (DPO, IPO, cDPO, Distill, e-DPO, p-DPO), β, γ and the
// number of steps.
func DefaultControls() []Control {
	return []Control{MethodSelect(), BetaSlider(), GammaSlider(), StepsSlider()}
}

// Control is one knob of an Explorer: a slider over a list of values or a
// selector among named choices, which sets a field of the Config (or, for a
// DataSlider, a knob of the data). Build one with BetaSlider, GammaSlider,
// EpsilonSlider, StepsSlider, EnsembleSlider, SeedSlider, MethodSelect,
// DataSlider or, for any other field, Slider.
type Control struct {
	label string
	// values are a slider's positions; names label every position (a
	// selector's choices).
	values []float64
	names  []string
	// choices are a MethodSelect's entries (nil for sliders).
	choices []MethodChoice
	// set applies a slider's value to cfg (nil for a DataSlider and a
	// selector); choose applies a selector's choice i.
	set    func(cfg *Config, v float64)
	choose func(cfg *Config, i int)
	// get returns the value of the field in cfg (after defaults), so the
	// slider starts there; nil: it starts at start (or the first position).
	get func(cfg Config) float64
	// start, when startSet, is the value the slider starts at (At).
	start    float64
	startSet bool
	data     bool
}

// Label returns the name shown beside the control ("β").
func (c Control) Label() string { return c.label }

// At returns c starting at the position of value v (a position is added for
// v when c has none), instead of the base configuration's value: the way to
// choose where a DataSlider or a custom Slider starts.
func (c Control) At(v float64) Control {
	c.start, c.startSet = v, true
	return c
}

// Slider returns a control labelled label that sets a field of the Config to
// one of values (in the order given) through set, e.g. the learning rate:
//
//	lab.Slider("learning rate", []float64{0.01, 0.05, 0.2}, func(c *lab.Config, v float64) { c.LearningRate = v })
//
// It starts at its first value unless At says otherwise.
func Slider(label string, values []float64, set func(cfg *Config, v float64)) Control {
	return Control{label: label, values: slices.Clone(values), set: set}
}

// fieldSlider is Slider for a field read back by get, so that it starts at
// the base configuration's value (its default when zero).
func fieldSlider(label string, values []float64, get func(Config) float64, set func(*Config, float64)) Control {
	c := Slider(label, values, set)
	c.get = get
	return c
}

// BetaSlider returns a slider for β over values (none: 0.05, 0.1, 0.2, 0.5,
// 1, 2, 5).
func BetaSlider(values ...float64) Control {
	if len(values) == 0 {
		values = []float64{0.05, 0.1, 0.2, 0.5, 1, 2, 5}
	}
	return fieldSlider("β", values, func(c Config) float64 { return c.Beta }, func(c *Config, v float64) { c.Beta = v })
}

// GammaSlider returns a slider for γ, the weight of KL(π_ref‖π) in e-DPO,
// p-DPO, Distill and a PairLoss, over values (none: 0, 0.01, 0.03, 0.1, 0.3,
// 1, 3).
func GammaSlider(values ...float64) Control {
	if len(values) == 0 {
		values = []float64{0, 0.01, 0.03, 0.1, 0.3, 1, 3}
	}
	return fieldSlider("γ", values, func(c Config) float64 { return c.Gamma }, func(c *Config, v float64) { c.Gamma = v })
}

// EpsilonSlider returns a slider for cDPO's label smoothing ε over values
// (none: 0.05, 0.1, 0.2, 0.3, 0.4).
func EpsilonSlider(values ...float64) Control {
	if len(values) == 0 {
		values = []float64{0.05, 0.1, 0.2, 0.3, 0.4}
	}
	return fieldSlider("ε", values, func(c Config) float64 { return c.Epsilon }, func(c *Config, v float64) { c.Epsilon = v })
}

// StepsSlider returns a slider for the number of optimizer steps over values
// (none: 10, 30, 100, 300, 1000, 3000).
func StepsSlider(values ...int) Control {
	if len(values) == 0 {
		values = []int{10, 30, 100, 300, 1000, 3000}
	}
	return fieldSlider("steps", floats(values), func(c Config) float64 { return float64(c.Steps) },
		func(c *Config, v float64) { c.Steps = int(v) })
}

// EnsembleSlider returns a slider for the number k of reward models over
// values (none: 1, 2, 3, 5, 8).
func EnsembleSlider(values ...int) Control {
	if len(values) == 0 {
		values = []int{1, 2, 3, 5, 8}
	}
	return fieldSlider("ensemble size k", floats(values), func(c Config) float64 { return float64(c.EnsembleSize) },
		func(c *Config, v float64) { c.EnsembleSize = int(v) })
}

// SeedSlider returns a slider for Config.Seed over values (none: 1 to 10).
func SeedSlider(values ...int64) Control {
	if len(values) == 0 {
		values = []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	}
	return fieldSlider("seed", floats(values), func(c Config) float64 { return float64(c.Seed) },
		func(c *Config, v float64) { c.Seed = int64(v) })
}

// DataSlider returns a slider over values for a knob of the data: the
// Explorer passes its value to MakeData. It starts at its first value unless
// At says otherwise.
//
//	lab.DataSlider("coverage", 0.25, 0.5, 0.75, 1).At(0.5)
func DataSlider(label string, values ...float64) Control {
	return Control{label: label, values: slices.Clone(values), data: true}
}

// MethodChoice is one entry of a MethodSelect: a built-in Method, or a
// PairLoss of one's own under Name (trained as Config.PairLoss with Method
// DPO, γ·KL(π_ref‖π) added when γ > 0).
type MethodChoice struct {
	// Name labels the entry (for a built-in Method, "" means its paper name:
	// "p-DPO", "e-DPO", "cDPO", …). Required with a PairLoss.
	Name     string
	Method   Method
	PairLoss losses.PairLoss
}

// label returns the name the selector shows for ch.
func (ch MethodChoice) label() string {
	if ch.Name != "" {
		return ch.Name
	}
	return valueLabel("Method", ch.Method)
}

// Methods returns a MethodChoice for each of methods (none: DPO, IPO, CDPO,
// Distill, EDPO and PDPO), for MethodSelect.
func Methods(methods ...Method) []MethodChoice {
	if len(methods) == 0 {
		methods = []Method{DPO, IPO, CDPO, Distill, EDPO, PDPO}
	}
	out := make([]MethodChoice, len(methods))
	for i, m := range methods {
		out[i] = MethodChoice{Method: m}
	}
	return out
}

// MethodSelect returns a selector among choices (none: Methods()), e.g. the
// built-in methods and a hinge loss written in a cell:
//
//	lab.MethodSelect(append(lab.Methods(lab.DPO, lab.IPO), lab.MethodChoice{Name: "SLiC", PairLoss: slic})...)
//
// It starts at the base configuration's method (its PairLoss, matched by
// Name, when it has one). Choosing a built-in method clears PairLoss (and
// the Name a PairLoss of the base set); choosing a PairLoss sets Method DPO
// and Name.
func MethodSelect(choices ...MethodChoice) Control {
	if len(choices) == 0 {
		choices = Methods()
	}
	c := Control{label: "method", choices: slices.Clone(choices)}
	for _, ch := range c.choices {
		c.names = append(c.names, ch.label())
	}
	c.choose = func(cfg *Config, i int) {
		ch := c.choices[i]
		if ch.PairLoss != nil {
			cfg.Method, cfg.PairLoss, cfg.Name = DPO, ch.PairLoss, ch.Name
			return
		}
		if cfg.PairLoss != nil {
			cfg.Name = ""
		}
		cfg.Method, cfg.PairLoss = ch.Method, nil
	}
	return c
}

// floats converts integer slider values.
func floats[T int | int64](vs []T) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = float64(v)
	}
	return out
}

// positions returns the number of positions of c.
func (c Control) positions() int {
	if c.choices != nil {
		return len(c.choices)
	}
	return len(c.values)
}

// valueName names position i of c as the control shows it.
func (c Control) valueName(i int) string {
	if c.names != nil {
		return c.names[i]
	}
	return strconv.FormatFloat(c.values[i], 'g', -1, 64)
}

// resolved returns c as e shows it for base (defaults applied): a slider
// that starts at a value it does not list gets a position for it (values
// kept in increasing order when they were), and the index it starts at.
func (c Control) resolved(base Config) (Control, int) {
	if c.choices != nil {
		return c, methodIndex(c.choices, base)
	}
	v, ok := c.start, c.startSet
	if !ok && c.get != nil {
		v, ok = c.get(base.WithDefaults()), true
	}
	if !ok || len(c.values) == 0 {
		return c, 0
	}
	if i := slices.Index(c.values, v); i >= 0 {
		return c, i
	}
	sorted := slices.IsSorted(c.values)
	c.values = append(slices.Clone(c.values), v)
	if sorted {
		slices.Sort(c.values)
	}
	return c, slices.Index(c.values, v)
}

// methodIndex returns the index of base's method among choices: the
// PairLoss entry named base.Name when base has a PairLoss, else the first
// built-in entry of base.Method (0 when there is none).
func methodIndex(choices []MethodChoice, base Config) int {
	for i, ch := range choices {
		if base.PairLoss != nil && ch.PairLoss != nil && ch.Name == base.Name {
			return i
		}
		if base.PairLoss == nil && ch.PairLoss == nil && ch.Method == base.Method {
			return i
		}
	}
	return 0
}

// explorerState is an Explorer resolved for showing: its controls with
// their positions, the data source and the datasets built so far.
type explorerState struct {
	e        Explorer
	controls []Control
	start    []int
	datasets map[string]*datasets.FiniteData
}

// resolve checks e and returns it ready to show.
func (e Explorer) resolve() (*explorerState, error) {
	controls := e.Controls
	if controls == nil {
		controls = DefaultControls()
	}
	if err := e.Base.Validate(); err != nil {
		return nil, fmt.Errorf("lab: Explorer.Base: %w", err)
	}
	s := &explorerState{e: e, datasets: map[string]*datasets.FiniteData{}}
	for i, c := range controls {
		switch {
		case c.set == nil && c.choose == nil && !c.data:
			return nil, fmt.Errorf("lab: Explorer.Controls[%d] (%q) is the zero Control: build controls with Slider, BetaSlider, MethodSelect, …", i, c.label)
		case c.positions() == 0 && !c.startSet:
			return nil, fmt.Errorf("lab: Explorer.Controls[%d] (%q) has no values", i, c.label)
		case c.data && e.MakeData == nil:
			return nil, fmt.Errorf("lab: Explorer.Controls[%d] is DataSlider %q but MakeData is nil: set MakeData to build the data from it", i, c.label)
		}
		for j, ch := range c.choices {
			if ch.PairLoss != nil && ch.Name == "" {
				return nil, fmt.Errorf("lab: Explorer.Controls[%d] (%q): choice %d has a PairLoss without a Name", i, c.label, j)
			}
		}
		rc, at := c.resolved(e.Base)
		s.controls = append(s.controls, rc)
		s.start = append(s.start, at)
	}
	if e.MakeData == nil && e.Data != nil {
		if err := e.Data.Validate(); err != nil {
			return nil, fmt.Errorf("lab: Explorer.Data: %w", err)
		}
	}
	return s, nil
}

// config returns the Config and the data knobs (the DataSlider values, in
// order) that the controls at positions pos select.
func (s *explorerState) config(pos []int) (Config, []float64) {
	cfg := s.e.Base
	var knobs []float64
	for i, c := range s.controls {
		if c.data {
			knobs = append(knobs, c.values[pos[i]])
			continue
		}
		if c.choose != nil {
			c.choose(&cfg, pos[i])
		} else {
			c.set(&cfg, c.values[pos[i]])
		}
	}
	return cfg, knobs
}

// data returns the dataset of knobs: Explorer.Data (the SqueezeToy when nil)
// or MakeData(knobs), built once per knobs.
func (s *explorerState) data(knobs []float64) (*datasets.FiniteData, error) {
	if s.e.MakeData == nil {
		if s.e.Data != nil {
			return s.e.Data, nil
		}
		knobs = nil
	}
	key := fmt.Sprint(knobs)
	if d, ok := s.datasets[key]; ok {
		return d, nil
	}
	var d *datasets.FiniteData
	var err error
	if s.e.MakeData == nil {
		d = datasets.SqueezeToy()
	} else if d, err = s.e.MakeData(slices.Clone(knobs)); err == nil && d == nil {
		err = errors.New("MakeData returned no dataset")
	}
	if err != nil {
		return nil, fmt.Errorf("lab: Explorer.MakeData(%v): %w", knobs, err)
	}
	s.datasets[key] = d
	return d, nil
}

// train trains the configuration at positions pos.
func (s *explorerState) train(ctx context.Context, pos []int) (*Run, error) {
	cfg, knobs := s.config(pos)
	data, err := s.data(knobs)
	if err != nil {
		return nil, err
	}
	return TrainContext(ctx, cfg, data)
}

// describe names the setting at positions pos in one line: each control's
// label and value ("method DPO · β 0.5 · steps 3000").
func (s *explorerState) describe(pos []int) string {
	parts := make([]string, len(s.controls))
	for i, c := range s.controls {
		parts[i] = c.label + " = " + c.valueName(pos[i])
	}
	return strings.Join(parts, ", ")
}

// metrics returns the curves drawn beside the policy.
func (e Explorer) metrics() []string {
	if e.Metrics != nil {
		return e.Metrics
	}
	return []string{"implicit_reward/max_abs", "mass/train_support"}
}

// Show shows the explorer (see Explorer) until the reader presses Stop or
// interrupts the cell, and returns the Run on display then; where there are
// no controls to show, it returns the base configuration's Run at once. It
// is ShowContext with a background context.
func (e Explorer) Show() (*Run, error) { return e.ShowContext(context.Background()) }

// ShowContext is Show, ending also when ctx is cancelled. SIGINT (the
// notebook's interrupt) ends it as Stop does: the cell finishes normally,
// with the last view kept.
func (e Explorer) ShowContext(ctx context.Context) (*Run, error) {
	s, err := e.resolve()
	if err != nil {
		return nil, err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	if why := noFrontEnd(ctx, probeWait); why != "" {
		return s.once(ctx, os.Stdout, gonbui.IsNotebook, why)
	}
	return s.live(ctx)
}

// noControlsLine is the line printed where the explorer cannot show its
// controls, with why.
func noControlsLine(label, why string) string {
	return fmt.Sprintf("lab.Explorer: showing %s once: the controls need Jupyter with the GoNB kernel (%s).", label, why)
}

// once trains the base configuration and shows its figure and metrics when
// display (a notebook), then prints noControlsLine to w.
func (s *explorerState) once(ctx context.Context, w io.Writer, display bool, why string) (*Run, error) {
	run, err := s.train(ctx, s.start)
	if err != nil {
		return run, err
	}
	if display {
		s.e.figure(run).Display()
		sendSummary(run, "")
	}
	fmt.Fprintln(w, noControlsLine(run.Label, why))
	return run, nil
}

// figure returns the explorer's figure of run: PlotPolicy's panels, then one
// panel per metric with π_ref's and π*'s values as levels where known.
func (e Explorer) figure(run *Run) *Figure {
	ms := e.metrics()
	hist := PlotHistory([]*Run{run}, ms...)
	for _, m := range ms {
		ref, opt := baselines(run, m)
		hist.Levels(m, Level{Label: "π_{ref}'s value", Y: ref}, Level{Label: "π*'s value", Y: opt})
	}
	f := Join(PlotPolicy(run), hist)
	f.spec.Title = run.Label
	return f
}

// baselines returns the values of metric at π_ref and at π* (the RLHF
// optimum of the oracle reward) for the metrics of a policy alone (NaN for
// the others, and for π* without an oracle).
func baselines(run *Run, metric string) (ref, opt float64) {
	beta := run.Config.WithDefaults().Beta
	of := func(pi [][]float64) float64 {
		if pi == nil {
			return math.NaN()
		}
		return policyMetric(metric, pi, run.Ref, run.Support, beta)
	}
	return of(run.Ref), of(run.Optimal)
}

// policyMetric computes metric for the policy pi against ref (averaged over
// prompts as the training metrics are; mass/train_support over the prompts
// with training pairs), or NaN for a metric that is not a function of the
// policy alone.
func policyMetric(metric string, pi, ref [][]float64, support [][]bool, beta float64) float64 {
	var sum float64
	n := 0
	for x := range pi {
		var v float64
		seen := false
		for y, p := range pi[x] {
			q := ref[x][y]
			h := math.Log(p) - math.Log(q)
			switch metric {
			case "implicit_reward/max_abs":
				v = math.Max(v, math.Abs(beta*h))
			case "kl/forward":
				v -= q * h
			case "kl/reverse":
				if p > 0 {
					v += p * h
				}
			case "mass/train_support":
				if support[x][y] {
					v, seen = v+p, true
				}
			default:
				return math.NaN()
			}
		}
		switch metric {
		case "implicit_reward/max_abs":
			sum = math.Max(sum, v)
			n = 1
		case "mass/train_support":
			if seen {
				sum, n = sum+v, n+1
			}
		default:
			sum, n = sum+v, n+1
		}
	}
	return sum / float64(max(1, n))
}
