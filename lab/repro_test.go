package lab

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSeqRunReproducible checks the same-machine half of the README's
// reproducibility contract: an e-DPO sequence run (SFT reference, a learned
// two-member reward ensemble, the forward-KL samples, minibatches and
// evaluation samples all included), executed twice from empty run caches,
// gives byte-identical Run JSON once the wall times are zeroed (Go writes
// every float64 in the shortest form that reads back to the same bits), and
// byte-identical cached SFT references and reward margins.
func TestSeqRunReproducible(t *testing.T) {
	task := tinyTask(t, 6, 3)
	cfg := tinySeqConfig(EDPO)
	cfg.Gamma, cfg.EnsembleSize, cfg.DistillPairs, cfg.RefPairs = 0.1, 2, PlusRefSamples, 4
	cfg.NoCache = false
	dirs := []string{t.TempDir(), t.TempDir()}
	var runs [][]byte
	for _, dir := range dirs {
		t.Setenv(CacheDirEnv, dir)
		run, err := TrainSeq(cfg, task)
		if err != nil {
			t.Fatal(err)
		}
		if run.Cached {
			t.Fatalf("run in %s came from the cache, want a fresh execution", dir)
		}
		run.WallTime = 0
		b, err := json.Marshal(run)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, b)
	}
	if !bytes.Equal(runs[0], runs[1]) {
		i := 0
		for i < min(len(runs[0]), len(runs[1])) && runs[0][i] == runs[1][i] {
			i++
		}
		lo := max(0, i-80)
		t.Fatalf("two executions differ at byte %d:\n%s\n%s", i, runs[0][lo:min(len(runs[0]), i+80)], runs[1][lo:min(len(runs[1]), i+80)])
	}
	// The sequence caches' entries: the SFT reference and the reward margins.
	names := func(dir string) []string {
		var out []string
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "seqref-") || strings.HasPrefix(e.Name(), "seqrm-") {
				out = append(out, e.Name())
			}
		}
		return out
	}
	a, b := names(dirs[0]), names(dirs[1])
	if len(a) != 2 || !slices.Equal(a, b) {
		t.Fatalf("cached references and margins: %v and %v, want the same two names", a, b)
	}
	for _, name := range a {
		x, err := os.ReadFile(filepath.Join(dirs[0], name))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(dirs[1], name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between the two executions", name)
		}
	}
}
