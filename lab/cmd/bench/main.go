// Command bench measures the lab's speed on the current backend (see
// lab.Backend) and, with --torch, the same model and step in PyTorch, in one
// run on one machine:
//
//	go run -tags xla ./lab/cmd/bench [--torch] [--size tiny|gpu] [--steps N] [--sweep=false] [--out FILE]
//	        [--sweep-rounds R] [--sweep-loop-configs N] [--torch-threads N]
//	go run ./lab/cmd/bench --compare 'go:ops_sequential;go:parallelism=-1' [--rounds 5] [--steps N]
//
// (also run by "go run ./kernel bench"). It times
//
//   - the sequence DPO training step of lab/seqmodel: policy forward and
//     backward on P chosen and P rejected sequences of T tokens (prompt T/3),
//     loss mean softplus(−β·Δh) with precomputed reference log-probs, one Adam
//     update; tokens/step = 2·P·T. Sizes: tiny (vocab 64, d_model 128, 2
//     layers, 4 heads, T 48, P 32) and gpu (vocab 256, d_model 512, 6 layers,
//     8 heads, T 256, P 64), float32;
//   - the same step through the lab's own training loop (lab.TrainSeq on a
//     length-bias task of the same vocabulary, length and batch: sampling,
//     feeding, reference log-probs, metrics), as the extra time of a run
//     with N more steps, divided by N;
//   - the 256-config finite sweep of package lab/internal/benchgrid (p-DPO
//     on a 16×16 tabular bandit with 64 pairs, 2000 full-batch Adam steps,
//     a 16×16 β×γ grid, metrics every 10 steps, cache off) through
//     lab.SweepWith, in seconds and config-steps/s;
//   - with --torch, torch_dpo.py (embedded) under /usr/bin/python3 (or
//     $BENCH_PYTHON): eager on the CPU, and eager, torch.compile and bf16
//     autocast on a CUDA GPU; the lab/torch tokens/s ratios;
//   - with --torch, the sweep's PyTorch peers, torch_sweep.py (embedded):
//     the same runs on the same data (exported from Go), float64, autograd
//     and torch.optim.Adam, the lab's metrics every 10 steps, written as a
//     PyTorch user would: all configs batched in one tensor, and a loop over
//     configs (timed on --sweep-loop-configs of them and extrapolated to
//     all). --sweep-rounds R alternates R rounds of the lab's sweep and the
//     batched peer (for a shared machine), then prints the ranges and the
//     lab/peer ratios. Every peer is compared with the lab's runs (the
//     batched peer on 6 configs, the loop on all it trained): its metrics at
//     the lab's final θ, its loss at every logged step and its final policy;
//     a disagreement beyond the tolerances of deviation fails the command.
//
// Step times are medians of per-step wall times (robust to other load on a
// shared machine). --compare times the DPO step on several backend
// configurations, alternating rounds, to choose between them. It prints
// one line per measurement and, with --out, writes them as JSON.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

//go:embed torch_dpo.py
var torchScript []byte

// Size is a benchmark model and batch size.
type Size struct {
	Name                         string
	Vocab, DModel, Layers, Heads int
	T, Pairs                     int
}

// Prompt is the prompt length of every sequence, T/3.
func (s Size) Prompt() int { return max(1, s.T/3) }

// TokensPerStep is 2·Pairs·T: chosen and rejected sequences.
func (s Size) TokensPerStep() int { return 2 * s.Pairs * s.T }

var sizes = map[string]Size{
	"tiny": {Name: "tiny", Vocab: 64, DModel: 128, Layers: 2, Heads: 4, T: 48, Pairs: 32},
	"gpu":  {Name: "gpu", Vocab: 256, DModel: 512, Layers: 6, Heads: 8, T: 256, Pairs: 64},
}

// Result is one measurement.
type Result struct {
	Name        string  `json:"name"`    // "lab dpo-step", "torch eager dpo-step", "lab sweep256", "torch batched sweep256"
	Backend     string  `json:"backend"` // backend config or torch device
	Size        string  `json:"size"`
	Steps       int     `json:"steps"`
	SecPerStep  float64 `json:"s_per_step"`
	StepsPerSec float64 `json:"steps_per_s"`
	TokensPerS  float64 `json:"tokens_per_s,omitempty"`
	ConfigSteps float64 `json:"config_steps_per_s,omitempty"`
	Ratio       float64 `json:"lab_over_this,omitempty"` // for torch rows: the lab's tokens/s or config-steps/s ÷ this one's
	// Sweeps: Configs configs in Seconds; for a loop timed on a subset,
	// TimedConfigs of them took TimedSeconds and the rest is extrapolated.
	Configs      int     `json:"configs,omitempty"`
	Seconds      float64 `json:"seconds,omitempty"`
	TimedConfigs int     `json:"timed_configs,omitempty"`
	TimedSeconds float64 `json:"timed_seconds,omitempty"`
	// CPUSeconds is the CPU time over Seconds, all threads (0: not read).
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
	// Agreement of a sweep peer's results with the lab's (nil: not checked).
	Agreement *deviation `json:"agreement,omitempty"`
}

// Report is what --out writes.
type Report struct {
	Date       string   `json:"date"`
	Host       string   `json:"host"`
	GOMAXPROCS int      `json:"gomaxprocs"`
	NumCPU     int      `json:"num_cpu"`
	Backend    string   `json:"backend"`
	Results    []Result `json:"results"`
}

type options struct {
	size       Size
	steps      int
	torch      bool
	sweep      bool
	dpo        bool
	loop       bool
	out        string
	torchModes string
	python     string
	compare    []string
	rounds     int
	// sweep peers (--torch)
	sweepRounds  int
	sweepLoop    int
	torchThreads int
}

func parse(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	size := fs.String("size", "tiny", "model size: tiny or gpu")
	var o options
	fs.IntVar(&o.steps, "steps", 0, "timed DPO steps after one warm-up step (default 10 for tiny, 5 for gpu)")
	fs.BoolVar(&o.torch, "torch", false, "also time the same DPO step in PyTorch and print the ratios")
	fs.BoolVar(&o.sweep, "sweep", true, "time the 256-config finite sweep")
	fs.BoolVar(&o.dpo, "dpo", true, "time the sequence DPO step")
	fs.BoolVar(&o.loop, "loop", true, "time the DPO step through the lab's training loop (lab.TrainSeq)")
	fs.StringVar(&o.out, "out", "", "write the results as JSON to this file")
	fs.StringVar(&o.torchModes, "torch-modes", "eager,compile,bf16", "PyTorch modes on a GPU (the CPU runs eager only)")
	fs.StringVar(&o.python, "python", "", "Python with torch (default $BENCH_PYTHON or /usr/bin/python3)")
	compare := fs.String("compare", "", "backend configs separated by ';' (e.g. \"go:ops_sequential;go:parallelism=-1\"): time the DPO step on each, alternating in rounds, instead of the other measurements")
	fs.IntVar(&o.rounds, "rounds", 5, "rounds of --compare (each runs --steps steps per config)")
	fs.IntVar(&o.sweepRounds, "sweep-rounds", 1, "rounds of the lab's sweep and (with --torch) its batched PyTorch peer, alternating")
	fs.IntVar(&o.sweepLoop, "sweep-loop-configs", defaultLoopConfigs, "with --torch, time the PyTorch loop over configs on this many of the sweep's configs and extrapolate to all (0: skip it)")
	fs.IntVar(&o.torchThreads, "torch-threads", 0, "torch.set_num_threads for the sweep peers (0: PyTorch's default)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	s, ok := sizes[*size]
	if !ok {
		return o, fmt.Errorf("bench: --size=%q: want tiny or gpu", *size)
	}
	o.size = s
	if *compare != "" {
		o.compare = strings.Split(*compare, ";")
	}
	if o.steps == 0 {
		o.steps = 10
		if s.Name == "gpu" {
			o.steps = 5
		}
	}
	if o.steps < 1 {
		return o, fmt.Errorf("bench: --steps=%d: must be positive", o.steps)
	}
	if o.sweepRounds < 1 || o.sweepLoop < 0 || o.torchThreads < 0 {
		return o, fmt.Errorf("bench: --sweep-rounds=%d, --sweep-loop-configs=%d, --torch-threads=%d: want ≥ 1, ≥ 0, ≥ 0", o.sweepRounds, o.sweepLoop, o.torchThreads)
	}
	if o.python == "" {
		o.python = os.Getenv("BENCH_PYTHON")
	}
	if o.python == "" {
		o.python = "/usr/bin/python3"
	}
	return o, nil
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(stderr, err)
		return 2
	}
	host, _ := os.Hostname()
	rep := Report{Date: time.Now().UTC().Format(time.RFC3339), Host: host, GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU()}
	fmt.Fprintf(stdout, "bench: size %s (vocab %d, d_model %d, %d layers, %d heads, T %d, %d pairs), GOMAXPROCS %d of %d CPUs\n",
		o.size.Name, o.size.Vocab, o.size.DModel, o.size.Layers, o.size.Heads, o.size.T, o.size.Pairs, rep.GOMAXPROCS, rep.NumCPU)
	var lab *Result
	emit := func(r Result) {
		rep.Results = append(rep.Results, r)
		if r.Seconds > 0 {
			fmt.Fprintln(stdout, sweepLine(r))
			return
		}
		line := fmt.Sprintf("%-26s %-28s %8.2f steps/s %10.4f s/step", r.Name, r.Backend, r.StepsPerSec, r.SecPerStep)
		if r.TokensPerS > 0 {
			line += fmt.Sprintf(" %10.0f tokens/s", r.TokensPerS)
		}
		if r.ConfigSteps > 0 {
			line += fmt.Sprintf(" %12.0f config-steps/s", r.ConfigSteps)
		}
		if r.Ratio > 0 {
			line += fmt.Sprintf("   lab/this %.2f×", r.Ratio)
		}
		fmt.Fprintln(stdout, line)
	}
	failed := false
	if len(o.compare) > 0 {
		rs, err := compareGoConfigs(o.size, o.compare, o.rounds, o.steps)
		if err != nil {
			fmt.Fprintf(stderr, "bench: --compare: %v\n", err)
			return 1
		}
		for _, r := range rs {
			emit(r)
		}
		o.dpo, o.sweep, o.torch, o.loop = false, false, false, false
	}
	if o.dpo {
		r, backend, err := benchDPO(o.size, o.steps)
		rep.Backend = backend
		if err != nil {
			fmt.Fprintf(stderr, "bench: lab dpo-step: %v\n", err)
			failed = true
		} else {
			lab = &r
			emit(r)
		}
	}
	if o.loop {
		r, err := benchLoop(ctx, o.size, o.steps)
		if err != nil {
			fmt.Fprintf(stderr, "bench: lab loop dpo-step: %v\n", err)
			failed = true
		} else {
			emit(r)
		}
	}
	if o.torch && o.dpo {
		rs, err := benchTorch(ctx, o, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "bench: torch: %v\n", err)
			failed = true
		}
		for _, r := range rs {
			if lab != nil {
				r.Ratio = lab.TokensPerS / r.TokensPerS
			}
			emit(r)
		}
	}
	if o.sweep {
		sc, err := gridCase()
		if err == nil {
			err = benchSweeps(ctx, o, sc, emit, stdout, stderr)
		}
		if err != nil {
			fmt.Fprintf(stderr, "bench: sweep256: %v\n", err)
			failed = true
		}
	}
	if o.out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "bench: --out: %v\n", err)
			return 1
		}
	}
	if failed {
		return 1
	}
	return 0
}
