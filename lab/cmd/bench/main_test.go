package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robustpo/robustpo/lab"
	"github.com/robustpo/robustpo/lab/backend"
)

// micro is a model small enough to compile and step in about a second.
var micro = Size{Name: "micro", Vocab: 8, DModel: 8, Layers: 1, Heads: 2, T: 6, Pairs: 2}

func TestSizes(t *testing.T) {
	tiny, gpu := sizes["tiny"], sizes["gpu"]
	if tiny != (Size{"tiny", 64, 128, 2, 4, 48, 32}) || gpu != (Size{"gpu", 256, 512, 6, 8, 256, 64}) {
		t.Fatalf("sizes %+v %+v", tiny, gpu)
	}
	if tiny.TokensPerStep() != 2*32*48 || tiny.Prompt() != 16 || gpu.Prompt() != 85 {
		t.Errorf("tiny tokens/step %d prompt %d, gpu prompt %d", tiny.TokensPerStep(), tiny.Prompt(), gpu.Prompt())
	}
}

func TestParse(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parse(nil, &stderr)
	if err != nil || o.size.Name != "tiny" || o.steps != 10 || o.torch || !o.sweep || !o.dpo || o.python != "/usr/bin/python3" && os.Getenv("BENCH_PYTHON") == "" {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	if o.sweepRounds != 1 || o.sweepLoop != defaultLoopConfigs || o.torchThreads != 0 {
		t.Errorf("sweep defaults: %+v", o)
	}
	o, err = parse([]string{"--size", "gpu", "--torch", "--compare", "go;go:ops_sequential", "--python", "/x/py",
		"--sweep-rounds", "3", "--sweep-loop-configs", "0", "--torch-threads", "2"}, &stderr)
	if err != nil || o.size.Name != "gpu" || o.steps != 5 || !o.torch || len(o.compare) != 2 || o.compare[1] != "go:ops_sequential" || o.python != "/x/py" ||
		o.sweepRounds != 3 || o.sweepLoop != 0 || o.torchThreads != 2 {
		t.Errorf("gpu: %+v, %v", o, err)
	}
	for _, bad := range [][]string{{"--size", "huge"}, {"--steps", "-1"}, {"extra"}, {"--nosuchflag"},
		{"--sweep-rounds", "0"}, {"--sweep-loop-configs", "-1"}, {"--torch-threads", "-2"}} {
		if _, err := parse(bad, &stderr); err == nil {
			t.Errorf("parse(%q): want an error", bad)
		}
	}
}

func TestParseTorch(t *testing.T) {
	in := `{"mode": "eager", "device": "cpu", "torch": "1.13", "threads": 2, "steps": 4, "s_per_step": 0.25, "tokens_per_s": 12288}
{"mode": "compile", "device": "NVIDIA H200", "torch": "2.11", "threads": 16, "steps": 4, "s_per_step": 0.002, "tokens_per_s": 1536000}
`
	rs, err := parseTorch(strings.NewReader(in), sizes["tiny"])
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Name != "torch eager dpo-step" || rs[0].StepsPerSec != 4 || rs[0].TokensPerS != 12288 ||
		rs[1].Backend != "2.11 NVIDIA H200 (16 threads)" || rs[1].SecPerStep != 0.002 {
		t.Errorf("results %+v", rs)
	}
	for _, bad := range []string{"", "not json\n", `{"mode": "eager", "s_per_step": 0, "tokens_per_s": 1}` + "\n"} {
		if _, err := parseTorch(strings.NewReader(bad), micro); err == nil {
			t.Errorf("parseTorch(%q): want an error", bad)
		}
	}
}

func TestMedianAndStepResult(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median odd = %g", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median even = %g", m)
	}
	r := stepResult("x", "go", sizes["tiny"], []float64{0.5, 0.25, 9})
	if r.SecPerStep != 0.5 || r.StepsPerSec != 2 || r.TokensPerS != 2*3072 {
		t.Errorf("%+v", r)
	}
}

func TestPairBatches(t *testing.T) {
	c, r, err := pairBatches(micro, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != micro.Pairs || r.Size != micro.Pairs || c.T != micro.T {
		t.Fatalf("sizes %d %d T %d", c.Size, r.Size, c.T)
	}
	p := micro.Prompt()
	for b := range micro.Pairs {
		if c.PromptLen[b] != int32(p) || c.Len[b] != int32(micro.T) {
			t.Errorf("row %d: prompt %d len %d", b, c.PromptLen[b], c.Len[b])
		}
		for j := range micro.T {
			tc, tr := c.Tokens[b*micro.T+j], r.Tokens[b*micro.T+j]
			if tc < 1 || int(tc) >= micro.Vocab || tr < 1 || int(tr) >= micro.Vocab {
				t.Errorf("row %d pos %d: tokens %d %d outside [1,%d)", b, j, tc, tr, micro.Vocab)
			}
			if j < p && tc != tr {
				t.Errorf("row %d pos %d: prompts differ", b, j)
			}
		}
	}
}

// TestDPORigMicro builds and steps the lab's DPO step on the pure-Go backend
// (its warm-up checks the first loss is log 2) and times two steps.
func TestDPORigMicro(t *testing.T) {
	rig, err := newDPORig(micro, []backend.Candidate{{Config: "go:ops_sequential", Reason: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.finalize()
	ts, err := timeSteps(rig.step, 2)
	if err != nil || len(ts) != 2 || ts[0] <= 0 || ts[1] <= 0 {
		t.Fatalf("times %v, %v", ts, err)
	}
	rs, err := compareGoConfigs(micro, []string{"go:ops_sequential", "go:parallelism=-1"}, 2, 1)
	if err != nil || len(rs) != 2 || rs[1].Backend != "go:parallelism=-1" || rs[0].Steps != 2 || !(rs[1].TokensPerS > 0) {
		t.Fatalf("compare %+v, %v", rs, err)
	}
}

// TestTorchPeerMicro runs the embedded PyTorch peer on the micro size: the
// script asserts its first loss is log 2 and prints one JSON line.
func TestTorchPeerMicro(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("%s cannot import torch (apt-get install python3-torch): %v", py, err)
	}
	var stderr bytes.Buffer
	rs, err := benchTorch(context.Background(), options{size: micro, steps: 2, torchModes: "eager", python: py}, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if len(rs) != 1 || rs[0].Name != "torch eager dpo-step" || !(rs[0].TokensPerS > 0) || math.Abs(rs[0].TokensPerS*rs[0].SecPerStep-float64(micro.TokensPerStep())) > 1e-6*float64(micro.TokensPerStep()) {
		t.Errorf("results %+v", rs)
	}
}

// TestRunOut runs the command with --sweep=false on the micro size through
// run (the size table is extended for the test) and checks the JSON report.
func TestRunOut(t *testing.T) {
	sizes["micro"] = micro
	defer delete(sizes, "micro")
	out := filepath.Join(t.TempDir(), "r.json")
	var stdout, stderr bytes.Buffer
	t.Setenv("GOMLX_BACKEND", "go")
	if code := run(context.Background(), []string{"--size", "micro", "--steps", "2", "--sweep=false", "--loop=false", "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	var rep Report
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Name != "lab dpo-step" || rep.Results[0].Steps != 2 || rep.GOMAXPROCS < 1 ||
		!strings.HasPrefix(rep.Backend, backend.DefaultSeqGo) {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(stdout.String(), "lab dpo-step") {
		t.Errorf("stdout %q", stdout.String())
	}
}

// TestLoopSmall times the DPO step through lab.TrainSeq on a small model
// (60 extra steps, so that they outweigh the timing noise of compiling) and
// checks the result is a positive per-step time consistent with its
// tokens/s.
func TestLoopSmall(t *testing.T) {
	s := Size{Name: "small", Vocab: 64, DModel: 8, Layers: 1, Heads: 2, T: 30, Pairs: 2}
	t.Setenv("GOMLX_BACKEND", "go")
	t.Setenv(lab.CacheDirEnv, "/nonexistent-outer-cache")
	r, err := benchLoop(context.Background(), s, 60)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "lab loop dpo-step" || r.Steps != 60 || !(r.SecPerStep > 0) ||
		math.Abs(r.TokensPerS*r.SecPerStep-float64(s.TokensPerStep())) > 1e-9*r.TokensPerS {
		t.Errorf("%+v", r)
	}
	if got := os.Getenv(lab.CacheDirEnv); got != "/nonexistent-outer-cache" {
		t.Errorf("%s = %q after benchLoop, want it restored", lab.CacheDirEnv, got)
	}
}
