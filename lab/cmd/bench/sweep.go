package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab"
	"github.com/robustpo/robustpo/lab/internal/benchgrid"
)

// sweepCase is a finite sweep that the bench trains through lab.SweepWith
// and, with --torch, through its PyTorch peers (torch_sweep.py).
type sweepCase struct {
	name string // "sweep256"
	base lab.Config
	grid lab.Grid
	data *datasets.FiniteData
}

// gridCase is the 256-config sweep of package benchgrid, the one
// BenchmarkSweepGrid256* time: p-DPO on a 16-prompt × 16-response tabular
// bandit (64 pairs), 2000 full-batch Adam steps, a 16×16 β×γ grid (β
// log-spaced over [0.05, 5], γ over {0} ∪ log-spaced [0.01, 10]), metrics
// every 10 steps, cache off.
func gridCase() (sweepCase, error) {
	data, err := benchgrid.Data()
	if err != nil {
		return sweepCase{}, err
	}
	return sweepCase{
		name: "sweep256",
		base: lab.Config{Method: lab.PDPO, Steps: benchgrid.Steps, NoCache: true},
		grid: lab.Grid{lab.Vary("Beta", benchgrid.Betas()...), lab.Vary("Gamma", benchgrid.Gammas()...)},
		data: data,
	}, nil
}

// configs returns the case's configs with their defaults filled in.
func (sc sweepCase) configs() ([]lab.Config, error) {
	cfgs, _, err := sc.grid.Configs(sc.base)
	if err != nil {
		return nil, err
	}
	for i := range cfgs {
		cfgs[i] = cfgs[i].WithDefaults()
	}
	return cfgs, nil
}

// sweepResult is the Result of a sweep of configs configs of steps steps
// each that took secs seconds and cpu seconds of CPU time (for a timed
// subset of a loop: configs timed, of total; both times are extrapolated).
func sweepResult(name, backend, size string, steps, configs, total int, secs, cpu float64) Result {
	r := Result{Name: name, Backend: backend, Size: size, Steps: steps, Configs: configs, Seconds: secs, CPUSeconds: cpu,
		SecPerStep: secs / float64(steps), StepsPerSec: float64(steps) / secs,
		ConfigSteps: float64(configs*steps) / secs}
	if configs != total {
		scale := float64(total) / float64(configs)
		r.TimedConfigs, r.TimedSeconds = configs, secs
		r.Configs, r.Seconds, r.CPUSeconds = total, secs*scale, cpu*scale
		r.SecPerStep, r.StepsPerSec = r.Seconds/float64(steps), float64(steps)/r.Seconds
	}
	return r
}

// benchLabSweep times one lab.SweepWith of sc (graph building, training,
// metrics: everything a notebook cell waits for) and returns its Result and
// Table.
func benchLabSweep(ctx context.Context, sc sweepCase) (Result, *lab.Table, error) {
	cfgs, err := sc.configs()
	if err != nil {
		return Result{}, nil, err
	}
	start, cpu := time.Now(), cpuSeconds()
	t, err := lab.SweepWith(ctx, sc.base, sc.grid, sc.data, lab.SweepOptions{Quiet: true})
	if err != nil {
		return Result{}, nil, err
	}
	el, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu
	if t.Len() != len(cfgs) || len(t.Errors()) != 0 {
		return Result{}, nil, fmt.Errorf("%d rows, %d errors (%v); want %d rows, none failed", t.Len(), len(t.Errors()), t.Errors(), len(cfgs))
	}
	steps := cfgs[0].Steps
	backend := fmt.Sprintf("%s, %d batched graph(s)", t.Rows[0].Run.Backend, t.Batches)
	return sweepResult("lab "+sc.name, backend, sizeOf(sc.data), steps, len(cfgs), len(cfgs), el, cpu), t, nil
}

// sizeOf names a finite dataset's size, "16x16 bandit".
func sizeOf(d *datasets.FiniteData) string {
	return fmt.Sprintf("%dx%d bandit", d.Prompts, d.Responses)
}

// defaultLoopConfigs is --sweep-loop-configs's default: enough configs to
// time the PyTorch loop within a few percent, few enough that it takes
// about a minute on two cores (a config takes 1–2 s there).
const defaultLoopConfigs = 32

// benchSweeps times sc: o.sweepRounds rounds of the lab's sweep, each
// followed with o.torch by the batched PyTorch peer, then with o.torch the
// PyTorch loop over o.sweepLoop configs (extrapolated to all). Each
// measurement is emitted as it finishes, each peer's agreement with the
// lab printed under it, and a summary line with the ranges and lab/peer
// ratios closes the sweep. A failed measurement, or a peer disagreeing with
// the lab beyond the tolerances (see deviation.ok), is an error.
func benchSweeps(ctx context.Context, o options, sc sweepCase, emit func(Result), stdout, stderr io.Writer) error {
	cfgs, err := sc.configs()
	if err != nil {
		return err
	}
	n := len(cfgs)
	all := loopConfigs(n, n)
	var labSecs, batchedSecs, ratios, labCPU, batchedCPU []float64
	var dev deviation
	var table *lab.Table
	report := func(r Result) {
		emit(r)
		verdict := "agrees with"
		if !r.Agreement.ok() {
			verdict = "DISAGREES with"
		}
		fmt.Fprintf(stdout, "  %s %s the lab: %v\n", r.Name, verdict, *r.Agreement)
		dev.merge(*r.Agreement)
	}
	for range o.sweepRounds {
		r, t, err := benchLabSweep(ctx, sc)
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		emit(r)
		labSecs, labCPU, table = append(labSecs, r.Seconds), append(labCPU, r.CPUSeconds), t
		if !o.torch {
			continue
		}
		p, err := benchPeer(ctx, o, sc, "batched", all, checkConfigs(n), t, stderr)
		if err != nil {
			return err
		}
		p.Ratio = p.Seconds / r.Seconds
		report(p)
		batchedSecs, batchedCPU, ratios = append(batchedSecs, p.Seconds), append(batchedCPU, p.CPUSeconds), append(ratios, p.Ratio)
	}
	var loop *Result
	if o.torch && o.sweepLoop > 0 {
		picked := loopConfigs(o.sweepLoop, n)
		p, err := benchPeer(ctx, o, sc, "loop", picked, picked, table, stderr)
		if err != nil {
			return err
		}
		p.Ratio = p.Seconds / median(labSecs)
		report(p)
		loop = &p
	}
	summary := fmt.Sprintf("%s summary", sc.name)
	if len(labSecs) > 1 {
		summary += fmt.Sprintf(" (%d rounds, lab and batched peer alternating)", len(labSecs))
	}
	summary += fmt.Sprintf(": lab %s (cpu %s)", spread(labSecs, " s"), spread(labCPU, " s"))
	if o.torch {
		summary += fmt.Sprintf("; torch batched %s (cpu %s), lab/this %.2f×", spread(batchedSecs, " s"), spread(batchedCPU, " s"), median(batchedSecs)/median(labSecs))
		if len(ratios) > 1 {
			summary += fmt.Sprintf(" (medians; %s per round)", spread(ratios, "×"))
		}
	}
	if loop != nil {
		summary += fmt.Sprintf("; torch loop %.1f s", loop.Seconds)
		if loop.TimedConfigs > 0 {
			summary += fmt.Sprintf(" (extrapolated from %d of %d configs)", loop.TimedConfigs, loop.Configs)
		}
		summary += fmt.Sprintf(", lab/this %.1f×", loop.Ratio)
	}
	if o.torch {
		verdict := "agree"
		if !dev.ok() {
			verdict = "DISAGREE"
		}
		summary += fmt.Sprintf("; the peers %s with the lab (metrics at the lab's θ %.0e, loss %.0e, final π %.0e)", verdict, dev.SameTheta.Max, dev.Loss.Max, dev.Policy.Max)
	}
	fmt.Fprintln(stdout, summary)
	if o.torch && !dev.ok() {
		return fmt.Errorf("a PyTorch peer disagrees with the lab: %v; worst metric at the lab's θ: %s; worst loss: %s; worst π: %s",
			dev, dev.SameTheta.Where, dev.Loss.Where, dev.Policy.Where)
	}
	return nil
}

// benchPeer runs torch_sweep.py in mode on configs of sc, checking the
// configs check against the lab's table, and returns its Result (Ratio
// unset) with its Agreement.
func benchPeer(ctx context.Context, o options, sc sweepCase, mode string, configs, check []int, t *lab.Table, stderr io.Writer) (Result, error) {
	spec, err := sc.peerSpec(mode, configs, check, o.torchThreads)
	if err != nil {
		return Result{}, fmt.Errorf("torch %s: %w", mode, err)
	}
	spec.At = atLab(t, check)
	out, err := runPeer(ctx, o.python, spec, stderr)
	if err != nil {
		return Result{}, fmt.Errorf("torch %s: %w", mode, err)
	}
	dev, err := agreement(t, out)
	if err != nil {
		return Result{}, fmt.Errorf("torch %s: %w", mode, err)
	}
	r := sweepResult(fmt.Sprintf("torch %s %s", mode, sc.name), fmt.Sprintf("%s cpu (%s)", out.Torch, threads(out.Threads)),
		sizeOf(sc.data), spec.Steps, len(configs), len(spec.Betas), out.Seconds, out.CPU)
	r.Agreement = &dev
	return r, nil
}

// sweepLine formats a sweep's Result: seconds for all its configs (and the
// CPU seconds, all threads), config-steps/s, the lab/this ratio and, for an
// extrapolated loop, what was timed.
func sweepLine(r Result) string {
	line := fmt.Sprintf("%-26s %-34s %8.2f s (cpu %6.2f s) %10.0f config-steps/s", r.Name, r.Backend, r.Seconds, r.CPUSeconds, r.ConfigSteps)
	if r.Ratio > 0 {
		line += fmt.Sprintf("   lab/this %.2f×", r.Ratio)
	}
	if r.TimedConfigs > 0 {
		line += fmt.Sprintf("   (extrapolated: %d of %d configs took %.2f s)", r.TimedConfigs, r.Configs, r.TimedSeconds)
	}
	return line
}

// spread formats xs (not empty) followed by unit: "9.12 s", or for several
// "8.80–9.40 s (median 9.12)".
func spread(xs []float64, unit string) string {
	if len(xs) == 1 {
		return fmt.Sprintf("%.2f%s", xs[0], unit)
	}
	return fmt.Sprintf("%.2f–%.2f%s (median %.2f)", slices.Min(xs), slices.Max(xs), unit, median(xs))
}
