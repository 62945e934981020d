package lab

import (
	"errors"
	"fmt"
	"slices"

	"github.com/robustpo/robustpo/datasets"
)

// SweepSeeds runs Sweep once per seed, each on its own dataset data(seed)
// with Config.Seed = seed, and returns every row in one Table whose Fields
// are "Seed" then the grid's: so a seed changes the data sampling as well
// as everything Config.Seed drives (minibatches, the reward ensemble's
// resampling and initialisation, reference pair samples). Rows are in seed
// order, then grid order. Use it for claims over seeds (Table.CI,
// GroupBy, Tests.Compare pair rows by Seed):
//
//	t, err := lab.SweepSeeds(base, grid, []int64{1, 2, 3, 4, 5}, func(s int64) (*datasets.FiniteData, error) {
//		return datasets.Extrapolation(datasets.ExtrapolationConfig{Seed: uint64(s)})
//	})
//
// The grid must not vary Seed. An error from data, or one that Sweep
// returns, stops the sweep: it is returned, naming the seed, with the rows
// of the seeds finished before it (nil when none).
func SweepSeeds(base Config, grid Grid, seeds []int64, data func(seed int64) (*datasets.FiniteData, error)) (*Table, error) {
	if slices.Contains(grid.Fields(), "Seed") {
		return nil, errors.New("lab: SweepSeeds: the grid varies Seed; SweepSeeds sets it")
	}
	if len(seeds) == 0 {
		return nil, errors.New("lab: SweepSeeds: no seeds")
	}
	var out *Table
	for _, s := range seeds {
		d, err := data(s)
		if err != nil {
			return out, fmt.Errorf("lab: SweepSeeds: the data of seed %d: %w", s, err)
		}
		t, err := Sweep(base, append(Grid{Vary("Seed", s)}, grid...), d)
		if err != nil {
			return out, fmt.Errorf("lab: SweepSeeds: seed %d: %w", s, err)
		}
		if out == nil {
			out = &Table{Fields: t.Fields, Metrics: slices.Clone(t.Metrics)}
		}
		out.Rows = append(out.Rows, t.Rows...)
		for _, m := range t.Metrics {
			if !slices.Contains(out.Metrics, m) {
				out.Metrics = append(out.Metrics, m)
			}
		}
		out.WallTime += t.WallTime
		out.Cached += t.Cached
		out.Batches += t.Batches
	}
	return out, nil
}
