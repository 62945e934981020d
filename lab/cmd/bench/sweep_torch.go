package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/robustpo/robustpo/lab"
)

//go:embed torch_sweep.py
var torchSweepScript []byte

// Adam's constants, as lab.Adam documents them.
const adamBeta1, adamBeta2, adamEpsilon = 0.9, 0.999, 1e-8

// peerSpec is torch_sweep.py's input: the bandit, the configs and the
// training schedule of a sweepCase (see the script's doc).
type peerSpec struct {
	Prompts   int        `json:"prompts"`
	Responses int        `json:"responses"`
	RefLogits []float64  `json:"ref_logits"`
	Oracle    []float64  `json:"oracle"`
	Pairs     [][3]int   `json:"pairs"`
	Betas     []float64  `json:"betas"`
	Gammas    []float64  `json:"gammas"`
	LR        float64    `json:"lr"`
	Adam      [3]float64 `json:"adam"`
	Steps     int        `json:"steps"`
	LogEvery  int        `json:"log_every"`
	Mode      string     `json:"mode"`    // batched or loop
	Configs   []int      `json:"configs"` // indices into Betas and Gammas to train
	Check     []int      `json:"check"`   // of Configs, those whose histories come back
	At        []peerAt   `json:"at,omitempty"`
	Threads   int        `json:"threads"` // 0: PyTorch's default
}

// peerAt is a config's θ [P·R] at which the peer evaluates its metrics.
type peerAt struct {
	Config int       `json:"config"`
	Theta  []float64 `json:"theta"`
}

// peerOut is torch_sweep.py's output.
type peerOut struct {
	Mode    string      `json:"mode"`
	Torch   string      `json:"torch"`
	Threads int         `json:"threads"`
	Configs int         `json:"configs"`
	Seconds float64     `json:"seconds"`
	CPU     float64     `json:"cpu_seconds"`
	Check   []peerCheck `json:"check"`
}

// peerCheck is one config's logged metrics, final policy π [P·R] and,
// when asked for, its metrics at the lab's final θ.
type peerCheck struct {
	Config  int                  `json:"config"`
	Steps   []int                `json:"steps"`
	Metrics map[string][]float64 `json:"metrics"`
	Final   []float64            `json:"final"`
	At      map[string]float64   `json:"at"`
}

// peerSpec returns the input of torch_sweep.py for sc in mode (batched or
// loop), training configs and returning check's histories. The peer
// implements what this grid uses and nothing more: p-DPO, tabular policies,
// full-batch Adam, one learning rate, steps and logging interval for all
// configs; any other sweep is an error.
func (sc sweepCase) peerSpec(mode string, configs, check []int, threads int) (peerSpec, error) {
	cfgs, err := sc.configs()
	if err != nil {
		return peerSpec{}, err
	}
	d := sc.data
	if d.NumFeatures() > 0 {
		return peerSpec{}, fmt.Errorf("dataset %s has features: the PyTorch peer trains tabular policies only", d.Name)
	}
	if !d.HasOracle() {
		return peerSpec{}, fmt.Errorf("dataset %s has no oracle: the PyTorch peer logs the oracle metrics", d.Name)
	}
	c0 := cfgs[0]
	for i, c := range cfgs {
		switch {
		case c.Method != lab.PDPO:
			return peerSpec{}, fmt.Errorf("config %d: method %v, the PyTorch peer trains PDPO", i, c.Method)
		case c.Optimizer != lab.Adam:
			return peerSpec{}, fmt.Errorf("config %d: optimizer %v, the PyTorch peer uses Adam", i, c.Optimizer)
		case c.Policy == lab.LogLinear:
			return peerSpec{}, fmt.Errorf("config %d: log-linear policy, the PyTorch peer trains tabular policies", i)
		case c.BatchSize != 0 && c.BatchSize < len(d.Pairs):
			return peerSpec{}, fmt.Errorf("config %d: minibatches of %d pairs, the PyTorch peer takes full-batch steps", i, c.BatchSize)
		case c.LearningRate != c0.LearningRate || c.Steps != c0.Steps || c.LogEvery != c0.LogEvery:
			return peerSpec{}, fmt.Errorf("config %d: learning rate, steps or LogEvery differ from config 0's", i)
		}
	}
	s := peerSpec{Prompts: d.Prompts, Responses: d.Responses, LR: c0.LearningRate,
		Adam: [3]float64{adamBeta1, adamBeta2, adamEpsilon}, Steps: c0.Steps, LogEvery: c0.LogEvery,
		Mode: mode, Configs: configs, Check: check, Threads: threads}
	for x := range d.Prompts {
		s.RefLogits = append(s.RefLogits, d.RefLogits[x]...)
		s.Oracle = append(s.Oracle, d.Oracle[x]...)
	}
	for _, p := range d.Pairs {
		s.Pairs = append(s.Pairs, [3]int{p.Prompt, p.Chosen, p.Rejected})
	}
	for _, c := range cfgs {
		s.Betas = append(s.Betas, c.Beta)
		s.Gammas = append(s.Gammas, c.Gamma)
	}
	return s, nil
}

// runPeer runs the embedded torch_sweep.py under python with spec on its
// stdin. Its stderr goes to stderr.
func runPeer(ctx context.Context, python string, spec peerSpec, stderr io.Writer) (peerOut, error) {
	dir, err := os.MkdirTemp("", "robustpo-bench-")
	if err != nil {
		return peerOut{}, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "torch_sweep.py")
	if err := os.WriteFile(script, torchSweepScript, 0o644); err != nil {
		return peerOut{}, err
	}
	in, err := json.Marshal(spec)
	if err != nil {
		return peerOut{}, err
	}
	cmd := exec.CommandContext(ctx, python, script)
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &out, stderr
	if err := cmd.Run(); err != nil {
		return peerOut{}, fmt.Errorf("%s %s (%s): %w", python, script, spec.Mode, err)
	}
	var o peerOut
	if err := json.Unmarshal(out.Bytes(), &o); err != nil {
		return o, fmt.Errorf("torch_sweep.py output %.200q: %w", out.String(), err)
	}
	if o.Mode != spec.Mode || o.Configs != len(spec.Configs) || !(o.Seconds > 0) || len(o.Check) != len(spec.Check) {
		return o, fmt.Errorf("torch_sweep.py: mode %q, %d configs, %g s, %d checked; want %q, %d, > 0, %d",
			o.Mode, o.Configs, o.Seconds, len(o.Check), spec.Mode, len(spec.Configs), len(spec.Check))
	}
	return o, nil
}

// loopConfigs returns n of c configs spread over a grid laid out row-major:
// in each of n equal runs of indices one, at offset i mod (c/n) in run i, so
// that consecutive picks move along both axes of a square grid (the diagonal
// for n = √c).
func loopConfigs(n, c int) []int {
	n = min(max(n, 1), c)
	stride := c / n
	out := make([]int, n)
	for i := range out {
		out[i] = i*c/n + i%stride
	}
	return out
}

// checkConfigs returns the configs of c whose histories the batched peer
// returns: the corners and the middle of a square grid (all of them when
// c ≤ 8).
func checkConfigs(c int) []int {
	if c <= 8 {
		out := make([]int, c)
		for i := range out {
			out[i] = i
		}
		return out
	}
	side := int(math.Sqrt(float64(c)))
	mid := c/2 + side/2
	out := []int{0, side - 1, c / 2, mid, c - side, c - 1}
	slices.Sort(out)
	return slices.Compact(out)
}

// Agreement tolerances. Same θ: the peer's metrics at the lab's final θ,
// where only rounding separates them. Loss and π: along the training
// trajectories, which rounding moves further: where a response's gradient
// is zero by symmetry (as many appearances as chosen as as rejected, at
// equal margins — all margins are equal at θ = 0), Adam (lr 0.05, ε 1e-8)
// turns a rounding-level gradient into a visible step, so the lab's and the
// peer's runs part by up to ~1e-4 in the loss and ~5e-3 in π over the
// 256-config grid's 2000 steps (measured), the other metrics likewise.
// A different objective or optimizer misses these by orders of magnitude.
const (
	tolSameTheta = 1e-9
	tolLoss      = 1e-3
	tolPolicy    = 2e-2
)

// worst is a largest deviation and where it was.
type worst struct {
	Max   float64 `json:"max"`
	Where string  `json:"where,omitempty"`
}

// note records dev (NaN counts as +Inf) if it is the largest so far.
func (w *worst) note(dev float64, where func() string) {
	if math.IsNaN(dev) {
		dev = math.Inf(1)
	}
	if dev > w.Max || w.Where == "" {
		w.Max, w.Where = max(dev, w.Max), where()
	}
}

func (w *worst) merge(o worst) { w.note(o.Max, func() string { return o.Where }) }

// deviation is a peer's disagreement with the lab on its checked configs:
// relative deviations |peer − lab| / max(1, |lab|) of the metrics at the
// lab's final θ, of the loss at every logged step and of every metric at
// every logged step, and the largest |Δπ| of the final policies.
type deviation struct {
	Configs   int   `json:"configs"`
	SameTheta worst `json:"same_theta"`
	Loss      worst `json:"loss"`
	Policy    worst `json:"policy"`
	Metrics   worst `json:"metrics"`
}

func (d deviation) String() string {
	return fmt.Sprintf("%d configs; metrics at the lab's θ %.1e (limit %.0e); loss at every logged step %.1e (limit %.0e); final π %.1e (limit %.0e); all metrics at every logged step %.1e (%s)",
		d.Configs, d.SameTheta.Max, tolSameTheta, d.Loss.Max, tolLoss, d.Policy.Max, tolPolicy, d.Metrics.Max, d.Metrics.Where)
}

// ok reports whether d is within the tolerances.
func (d deviation) ok() bool {
	return d.SameTheta.Max <= tolSameTheta && d.Loss.Max <= tolLoss && d.Policy.Max <= tolPolicy
}

// merge takes the worst of d and o.
func (d *deviation) merge(o deviation) {
	d.Configs = max(d.Configs, o.Configs)
	d.SameTheta.merge(o.SameTheta)
	d.Loss.merge(o.Loss)
	d.Policy.merge(o.Policy)
	d.Metrics.merge(o.Metrics)
}

// atLab returns the peerAt entries of configs: the lab's final θ of each.
func atLab(t *lab.Table, configs []int) []peerAt {
	at := make([]peerAt, len(configs))
	for i, c := range configs {
		at[i] = peerAt{Config: c, Theta: t.Rows[c].Run.Theta}
	}
	return at
}

// agreement compares the peer's checked configs with the lab's table rows.
// Every checked config must come with its metrics at the lab's θ.
func agreement(t *lab.Table, o peerOut) (deviation, error) {
	var d deviation
	rel := func(v, want float64) float64 { return math.Abs(v-want) / math.Max(1, math.Abs(want)) }
	for _, ch := range o.Check {
		if ch.Config < 0 || ch.Config >= t.Len() {
			return d, fmt.Errorf("peer returned config %d of a %d-row table", ch.Config, t.Len())
		}
		run := t.Rows[ch.Config].Run
		label := run.Label
		h := run.History
		if !slices.Equal(ch.Steps, h.Steps) {
			return d, fmt.Errorf("%s: peer logged %d steps, the lab %d (or at other steps)", label, len(ch.Steps), len(h.Steps))
		}
		for _, name := range h.Metrics {
			got, ok := ch.Metrics[name]
			if !ok || len(got) != len(h.Steps) {
				return d, fmt.Errorf("%s: peer logged %d values of %q, want %d", label, len(got), name, len(h.Steps))
			}
			for i, want := range h.Values[name] {
				dev := rel(got[i], want)
				where := func() string { return fmt.Sprintf("%s of %s at step %d", name, label, h.Steps[i]) }
				d.Metrics.note(dev, where)
				if name == "loss" {
					d.Loss.note(dev, where)
				}
			}
			at, ok := ch.At[name]
			if !ok {
				return d, fmt.Errorf("%s: peer did not evaluate %q at the lab's θ", label, name)
			}
			d.SameTheta.note(rel(at, h.Last(name)), func() string { return fmt.Sprintf("%s of %s at the lab's final θ", name, label) })
		}
		var final []float64
		for _, row := range run.Final {
			final = append(final, row...)
		}
		if len(ch.Final) != len(final) {
			return d, fmt.Errorf("%s: peer's final policy has %d probabilities, the lab's %d", label, len(ch.Final), len(final))
		}
		for i, want := range final {
			d.Policy.note(math.Abs(ch.Final[i]-want), func() string { return fmt.Sprintf("final π[%d] of %s", i, label) })
		}
		d.Configs++
	}
	return d, nil
}
