package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab"
	"github.com/robustpo/robustpo/lab/internal/benchgrid"
)

// smallCase is a 4-config sweep of 50 steps on a 4 × 6 bandit: β ∈ {0.1, 2}
// × γ ∈ {0, 0.5}, metrics every 10 steps.
func smallCase(t testing.TB) sweepCase {
	data, err := datasets.RandomBandit(datasets.BanditConfig{Prompts: 4, Responses: 6, Pairs: 12, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return sweepCase{name: "sweep4", base: lab.Config{Method: lab.PDPO, Steps: 50, LogEvery: 10, NoCache: true},
		grid: lab.Grid{lab.Vary("Beta", 0.1, 2), lab.Vary("Gamma", 0, 0.5)}, data: data}
}

// needTorch skips the test when /usr/bin/python3 cannot import torch.
func needTorch(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("%s cannot import torch (apt-get install python3-torch): %v", py, err)
	}
	return py
}

func TestGridCase(t *testing.T) {
	sc, err := gridCase()
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := sc.configs()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 256 || cfgs[0].Steps != benchgrid.Steps || cfgs[0].LogEvery != 10 || cfgs[0].LearningRate != 0.05 ||
		cfgs[17].Beta != benchgrid.Betas()[1] || cfgs[17].Gamma != benchgrid.Gammas()[1] || cfgs[0].Gamma != 0 {
		t.Errorf("%d configs, first %+v", len(cfgs), cfgs[0])
	}
	if d := sc.data; d.Prompts != 16 || d.Responses != 16 || len(d.Pairs) != 64 {
		t.Errorf("bandit %d × %d with %d pairs", d.Prompts, d.Responses, len(d.Pairs))
	}
	spec, err := sc.peerSpec("batched", loopConfigs(256, 256), checkConfigs(256), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.RefLogits) != 256 || len(spec.Oracle) != 256 || len(spec.Pairs) != 64 || len(spec.Betas) != 256 ||
		spec.LR != 0.05 || spec.Steps != 2000 || spec.LogEvery != 10 || spec.Adam != [3]float64{0.9, 0.999, 1e-8} {
		t.Errorf("spec: %d ref logits, %d pairs, %d betas, lr %g, %d steps every %d, adam %v",
			len(spec.RefLogits), len(spec.Pairs), len(spec.Betas), spec.LR, spec.Steps, spec.LogEvery, spec.Adam)
	}
	if _, err := json.Marshal(spec); err != nil {
		t.Error(err)
	}
}

func TestPeerSpecRejects(t *testing.T) {
	sc := smallCase(t)
	for name, edit := range map[string]func(*sweepCase){
		"DPO":        func(sc *sweepCase) { sc.base.Method = lab.DPO },
		"SGD":        func(sc *sweepCase) { sc.base.Optimizer = lab.SGD },
		"minibatch":  func(sc *sweepCase) { sc.base.BatchSize = 4 },
		"two rates":  func(sc *sweepCase) { sc.grid = append(sc.grid, lab.Vary("LearningRate", 0.1, 0.2)) },
		"log-linear": func(sc *sweepCase) { sc.base.Policy = lab.LogLinear },
	} {
		bad := sc
		bad.grid = slices.Clone(sc.grid)
		edit(&bad)
		if _, err := bad.peerSpec("loop", []int{0}, nil, 0); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestLoopAndCheckConfigs(t *testing.T) {
	for _, c := range []struct {
		n, c int
		want []int
	}{
		{4, 16, []int{0, 5, 10, 15}},
		{16, 256, []int{0, 17, 34, 51, 68, 85, 102, 119, 136, 153, 170, 187, 204, 221, 238, 255}},
		{3, 3, []int{0, 1, 2}},
		{9, 4, []int{0, 1, 2, 3}},
		{3, 10, []int{0, 4, 8}},
	} {
		if got := loopConfigs(c.n, c.c); !slices.Equal(got, c.want) {
			t.Errorf("loopConfigs(%d, %d) = %v, want %v", c.n, c.c, got, c.want)
		}
	}
	got := loopConfigs(32, 256)
	if len(got) != 32 || !slices.IsSorted(got) || got[31] >= 256 {
		t.Errorf("loopConfigs(32, 256) = %v", got)
	}
	if got := checkConfigs(256); !slices.Equal(got, []int{0, 15, 128, 136, 240, 255}) {
		t.Errorf("checkConfigs(256) = %v", got)
	}
	if got := checkConfigs(4); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("checkConfigs(4) = %v", got)
	}
}

// TestTorchSweepPeersAgree trains smallCase in the lab and in both PyTorch
// peers and checks that they agree within the tolerances of deviation.ok.
func TestTorchSweepPeersAgree(t *testing.T) {
	py := needTorch(t)
	t.Setenv("GOMLX_BACKEND", "go")
	sc := smallCase(t)
	_, table, err := benchLabSweep(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	o := options{python: py}
	for _, mode := range []string{"batched", "loop"} {
		configs := []int{0, 1, 2, 3}
		if mode == "loop" {
			configs = []int{1, 2}
		}
		r, err := benchPeer(context.Background(), o, sc, mode, configs, configs, table, &stderr)
		if err != nil {
			t.Fatalf("%s: %v\n%s", mode, err, stderr.String())
		}
		t.Logf("%s: %v", mode, *r.Agreement)
		if a := r.Agreement; a.Configs != len(configs) || !a.ok() || a.SameTheta.Where == "" || a.Policy.Where == "" || a.Metrics.Where == "" {
			t.Errorf("%s: %+v", mode, *a)
		}
		if r.Configs != 4 || r.Steps != 50 || !(r.Seconds > 0) || (mode == "loop") != (r.TimedConfigs == 2) {
			t.Errorf("%s: %+v", mode, r)
		}
	}
}

// TestBenchSweepsOutput runs benchSweeps on smallCase, two rounds, with the
// PyTorch peers when torch is there, and checks the lines it prints.
func TestBenchSweepsOutput(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go")
	o := options{sweepRounds: 2, sweepLoop: 2, python: "/usr/bin/python3"}
	want := []string{"lab sweep4 ", "sweep4 summary (2 rounds, lab and batched peer alternating): lab "}
	if exec.Command(o.python, "-c", "import torch").Run() == nil {
		o.torch = true
		want = append(want, "torch batched sweep4", "torch batched sweep4 agrees with the lab: 4 configs; metrics at the lab's θ ", "torch loop sweep4",
			"(extrapolated: 2 of 4 configs took", "; torch batched ", "; torch loop ", "; the peers agree with the lab (metrics at the lab's θ ")
	}
	var rs []Result
	var stdout, stderr bytes.Buffer
	if err := benchSweeps(context.Background(), o, smallCase(t), func(r Result) { rs = append(rs, r); stdout.WriteString(sweepLine(r) + "\n") }, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, w := range want {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, stdout.String())
		}
	}
	n := 2
	if o.torch {
		n = 5
	}
	if len(rs) != n {
		t.Errorf("%d results, want %d:\n%s", len(rs), n, stdout.String())
	}
}
