package lab

import (
	"errors"
	"strings"
	"testing"

	"github.com/robustpo/robustpo/datasets"
)

func TestSweepSeeds(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	t.Setenv("ROBUSTPO_PROGRESS", "0")
	data := func(s int64) (*datasets.FiniteData, error) {
		return datasets.RandomBandit(datasets.BanditConfig{Prompts: 2, Responses: 3, Pairs: 6, Seed: uint64(s)})
	}
	grid := Grid{Vary("Method", DPO, PDPO)}
	tab, err := SweepSeeds(Config{Steps: 5, Gamma: 0.1}, grid, []int64{3, 4}, data)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 4 || len(tab.Fields) != 2 || tab.Fields[0] != "Seed" || tab.Fields[1] != "Method" {
		t.Fatalf("%d rows, fields %v; want 4 rows, [Seed Method]", tab.Len(), tab.Fields)
	}
	for i, want := range []struct {
		seed int64
		m    Method
	}{{3, DPO}, {3, PDPO}, {4, DPO}, {4, PDPO}} {
		r := tab.Rows[i]
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		d, _ := data(want.seed)
		if r.Config.Seed != want.seed || r.Config.Method != want.m || r.Run.DataFingerprint != d.Fingerprint() {
			t.Errorf("row %d: seed %d %v on %s, want seed %d %v on the data of seed %d", i, r.Config.Seed, r.Config.Method,
				r.Run.Dataset, want.seed, want.m, want.seed)
		}
	}
	var f Tests
	if _, err := f.Compare("PDPO vs DPO", "kl/forward", tab.Where("Method", PDPO), tab.Where("Method", DPO)); err != nil {
		t.Errorf("rows do not pair by seed: %v", err)
	}
	if _, err := SweepSeeds(Config{}, Grid{Vary("Seed", 1)}, []int64{1}, data); err == nil {
		t.Error("a grid varying Seed: no error")
	}
	if _, err := SweepSeeds(Config{}, grid, nil, data); err == nil {
		t.Error("no seeds: no error")
	}
	bad := errors.New("no such data")
	part, err := SweepSeeds(Config{Steps: 5}, grid, []int64{3, 99}, func(s int64) (*datasets.FiniteData, error) {
		if s == 99 {
			return nil, bad
		}
		return data(s)
	})
	if !errors.Is(err, bad) || !strings.Contains(err.Error(), "seed 99") || part == nil || part.Len() != 2 {
		t.Errorf("data error: %v with %v rows; want it wrapped, naming seed 99, with seed 3's 2 rows", err, part)
	}
}
