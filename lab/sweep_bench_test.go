package lab

import (
	"context"
	"testing"

	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab/internal/benchgrid"
)

// benchGrid is the sweep of the benchmarks, the one the bench command times
// too (package benchgrid): p-DPO on a 16-prompt × 16-response tabular bandit,
// 2000 full-batch Adam steps, a 16×16 β×γ grid (β log-spaced over [0.05, 5],
// γ over {0} ∪ [0.01, 10]), cache off.
func benchGrid(b testing.TB) (Config, Grid, *datasets.FiniteData) {
	data, err := benchgrid.Data()
	if err != nil {
		b.Fatal(err)
	}
	return Config{Method: PDPO, Steps: benchgrid.Steps, NoCache: true}, Grid{Vary("Beta", benchgrid.Betas()...), Vary("Gamma", benchgrid.Gammas()...)}, data
}

// BenchmarkSweepGrid256Vectorized trains the 256 configs of benchGrid as
// one batched graph.
func BenchmarkSweepGrid256Vectorized(b *testing.B) {
	base, grid, data := benchGrid(b)
	for b.Loop() {
		t, err := SweepWith(context.Background(), base, grid, data, SweepOptions{Quiet: true})
		if err != nil {
			b.Fatal(err)
		}
		if t.Len() != 256 || len(t.Errors()) != 0 || t.Batches != 1 {
			b.Fatalf("%d rows, %d errors, %d batches", t.Len(), len(t.Errors()), t.Batches)
		}
	}
	b.ReportMetric(256*benchgrid.Steps*float64(b.N)/b.Elapsed().Seconds(), "config-steps/s")
}

// BenchmarkSweepGrid256OneByOne trains the same 256 configs with a loop of
// Train calls.
func BenchmarkSweepGrid256OneByOne(b *testing.B) {
	base, grid, data := benchGrid(b)
	cfgs, _, err := grid.Configs(base)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for _, cfg := range cfgs {
			if _, err := Train(cfg, data); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(256*benchgrid.Steps*float64(b.N)/b.Elapsed().Seconds(), "config-steps/s")
}

// TestSweepGrid256MatchesTrain is the equality half of the benchmarks'
// acceptance: the vectorized sweep of benchGrid (256 configs × 2000 Adam
// steps) gives the same history and θ as Train, within 1e-5, for configs
// spread over the grid (the corners, the γ = 0 column and the middle).
func TestSweepGrid256MatchesTrain(t *testing.T) {
	base, grid, data := benchGrid(t)
	table, err := SweepWith(context.Background(), base, grid, data, SweepOptions{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	cfgs, _, err := grid.Configs(base)
	if err != nil {
		t.Fatal(err)
	}
	if table.Len() != len(cfgs) || len(table.Errors()) != 0 {
		t.Fatalf("%d rows (want %d), errors %v", table.Len(), len(cfgs), table.Errors())
	}
	for _, i := range []int{0, 15, 16 * 8, 16*8 + 7, 240, 255} {
		want, err := Train(cfgs[i], data)
		if err != nil {
			t.Fatal(err)
		}
		compareRuns(t, cfgs[i].Label(), table.Rows[i].Run, want, 1e-5)
	}
}
