package lab

import (
	"maps"
	"math"
	"slices"
)

// WithMetric returns a Table whose rows carry one more metric, name, worth
// f(row) in each successful row (failed rows keep no metrics, so Metric
// reads NaN there), for a quantity that a notebook computes from a row's
// Run and data, say the probability of the worst response. The new table
// shares the rows' Runs; t is left as it was. name then works as any
// metric: in GroupBy, CI, Lines, Heatmap, Tests.Compare and Display. A
// name the table already has is replaced.
func (t *Table) WithMetric(name string, f func(Row) float64) *Table {
	rows := slices.Clone(t.Rows)
	for i, r := range rows {
		if r.Err != nil {
			continue
		}
		m := maps.Clone(r.Metrics)
		if m == nil {
			m = map[string]float64{}
		}
		v := f(r)
		if math.IsInf(v, 0) {
			v = math.NaN()
		}
		m[name] = v
		rows[i].Metrics = m
	}
	out := t.with(rows)
	if !slices.Contains(out.Metrics, name) {
		out.Metrics = append(slices.Clone(out.Metrics), name)
	}
	return out
}
