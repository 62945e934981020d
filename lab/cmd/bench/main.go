// Command bench measures the lab's speed on the current backend (see
// lab.Backend) and, with --torch, the same model and step in PyTorch, in one
// run on one machine:
//
//	go run -tags xla ./lab/cmd/bench [--torch] [--size tiny|gpu] [--steps N] [--sweep=false] [--out FILE]
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
//   - the 256-config finite sweep (p-DPO on a 16×16 tabular bandit, 2000
//     full-batch Adam steps, a 16×16 β×γ grid, cache off) through lab.Sweep,
//     as config-steps/s;
//   - with --torch, torch_dpo.py (embedded) under /usr/bin/python3 (or
//     $BENCH_PYTHON): eager on the CPU, and eager, torch.compile and bf16
//     autocast on a CUDA GPU; the lab/torch tokens/s ratios.
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
	Name        string  `json:"name"`    // "lab dpo-step", "torch eager dpo-step", "lab sweep256"
	Backend     string  `json:"backend"` // backend config or torch device
	Size        string  `json:"size"`
	Steps       int     `json:"steps"`
	SecPerStep  float64 `json:"s_per_step"`
	StepsPerSec float64 `json:"steps_per_s"`
	TokensPerS  float64 `json:"tokens_per_s,omitempty"`
	ConfigSteps float64 `json:"config_steps_per_s,omitempty"`
	Ratio       float64 `json:"lab_over_this,omitempty"` // for torch rows: lab dpo-step tokens/s ÷ this one's
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
		r, err := benchSweep(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "bench: lab sweep256: %v\n", err)
			failed = true
		} else {
			emit(r)
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
