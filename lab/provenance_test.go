package lab

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/janpfeifer/gonb/gonbui/protocol"
	"github.com/robustpo/robustpo/datasets"
)

// cpuinfoSIMD reads the SIMD width from /proc/cpuinfo's flags, a source
// independent of golang.org/x/sys/cpu: "avx512", "avx2" or "none"; "" when
// the file cannot be read.
func cpuinfoSIMD() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "flags") {
			continue
		}
		has := map[string]bool{}
		for _, f := range strings.Fields(line) {
			has[f] = true
		}
		switch {
		case has["avx512f"] && has["avx512cd"] && has["avx512bw"] && has["avx512dq"] && has["avx512vl"]:
			return "avx512"
		case has["avx2"]:
			return "avx2"
		}
		return "none"
	}
	return ""
}

func TestProvenanceOfThisProcess(t *testing.T) {
	for _, name := range simdEnvVars {
		if _, ok := os.LookupEnv(name); ok {
			t.Skipf("%s is set", name)
		}
	}
	p := newProvenance("go")
	if p.Backend != "go" || p.Platform != runtime.GOOS+"/"+runtime.GOARCH || p.Go != runtime.Version() || p.SIMDEnv != "" {
		t.Errorf("provenance %+v", p)
	}
	// runtime.Version names the experiments too ("go1.26.8 X:simd").
	if simd := strings.Contains(runtime.Version(), "X:simd"); simd != strings.Contains(p.GOEXPERIMENT, "simd") {
		t.Errorf("GOEXPERIMENT %q, but runtime.Version() is %q", p.GOEXPERIMENT, runtime.Version())
	}
	if runtime.GOARCH != "amd64" {
		if p.SIMD != "none" {
			t.Errorf("SIMD %q on %s, want none", p.SIMD, runtime.GOARCH)
		}
	} else if want := cpuinfoSIMD(); want != "" && p.SIMD != want {
		t.Errorf("SIMD %q, /proc/cpuinfo says %q", p.SIMD, want)
	}
	s := p.String()
	want := "go backend, " + p.Platform + ", " + p.SIMD // "go" gets " backend"; "Go Backend" would not
	if p.GOEXPERIMENT != "" {
		want += ", GOEXPERIMENT=" + p.GOEXPERIMENT
	}
	if !strings.HasPrefix(s, want+", go1.") || strings.Contains(s, "X:") {
		t.Errorf("String() = %q, want it to start %q, then the Go version without its experiments", s, want)
	}
}

func TestProvenanceSIMDEnv(t *testing.T) {
	cpuHas := newProvenance("go").SIMD
	t.Setenv("GOMLX_SIMD_AVX512", "false")
	p := newProvenance("go")
	if cpuHas == "avx512" && p.SIMD != "avx2" || cpuHas != "avx512" && p.SIMD != cpuHas {
		t.Errorf("with GOMLX_SIMD_AVX512=false: SIMD %q (the CPU has %q)", p.SIMD, cpuHas)
	}
	if p.SIMDEnv != "GOMLX_SIMD_AVX512=false" || !strings.Contains(p.String(), p.SIMD+" (GOMLX_SIMD_AVX512=false)") {
		t.Errorf("SIMDEnv %q, String %q", p.SIMDEnv, p.String())
	}
	t.Setenv("GOMLX_DOT_MATMUL", "0")
	if p := newProvenance("go"); p.SIMD != "none" || p.SIMDEnv != "GOMLX_DOT_MATMUL=0,GOMLX_SIMD_AVX512=false" {
		t.Errorf("with GOMLX_DOT_MATMUL=0: SIMD %q, SIMDEnv %q", p.SIMD, p.SIMDEnv)
	}
	if s := (Provenance{}).String(); s != "" {
		t.Errorf("zero Provenance: %q, want \"\"", s)
	}
	if s := (Provenance{Backend: "Go Backend", SIMD: "avx2"}).String(); s != "Go Backend, avx2" {
		t.Errorf("String() = %q, want %q", s, "Go Backend, avx2")
	}
}

// Every Run says where it was made: Train, a batched Sweep's rows and
// TrainSeq, through the JSON of the run cache too; the sweep's Display
// caption and SeqSummary show it.
func TestRunsRecordProvenance(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	run := mustTrain(t, Config{Method: DPO, Steps: 3}, datasets.SqueezeToy())
	if want := newProvenance(run.Backend); run.Provenance != want {
		t.Errorf("Train: provenance %+v, want %+v", run.Provenance, want)
	}
	tab, err := SweepWith(context.Background(), Config{Method: DPO, Steps: 3}, Grid{Vary("Beta", 0.1, 0.5)}, datasets.SqueezeToy(), SweepOptions{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tab.Rows {
		if r.Run.Provenance != run.Provenance {
			t.Errorf("sweep row %s: provenance %+v, want %+v", r.Run.Label, r.Run.Provenance, run.Provenance)
		}
	}
	caption := tab.bundle(nil).Data[protocol.MIMETextPlain].(string)
	if line, _, _ := strings.Cut(caption, "\n"); !strings.HasSuffix(line, "; made on: "+run.Provenance.String()) {
		t.Errorf("Display caption %q does not say where the runs were made", line)
	}
	task := tinyTask(t, 4, 2)
	cfg := tinySeqConfig(EDPO)
	cfg.NoCache = false
	seq, err := TrainSeq(cfg, task)
	if err != nil {
		t.Fatal(err)
	}
	again, err := TrainSeq(cfg, task)
	if err != nil || !again.Cached {
		t.Fatalf("second TrainSeq: cached %v, err %v", again != nil && again.Cached, err)
	}
	if want := newProvenance(seq.Backend); seq.Provenance != want || again.Provenance != want {
		t.Errorf("TrainSeq: provenance %+v, from the cache %+v; want %+v", seq.Provenance, again.Provenance, want)
	}
	b, err := json.Marshal(seq)
	if err != nil || !strings.Contains(string(b), `"provenance":{"backend":`) {
		t.Errorf("Run JSON has no provenance (err %v)", err)
	}
	sum := (&Table{Rows: []Row{{Config: seq.Config, Run: seq}}}).SeqSummary()
	if !strings.HasSuffix(sum, "\nmade on: "+seq.Provenance.String()+"\n") {
		t.Errorf("SeqSummary does not end with the made-on line:\n%s", sum)
	}
}
