package lab

import (
	"math"
	"testing"
)

func TestWithMetric(t *testing.T) {
	tab := fakeTable(t)
	w := tab.WithMetric("double", func(r Row) float64 { return 2 * r.Metric("loss") })
	if got := w.Rows[0].Metric("double"); got != 2*tab.Rows[0].Metric("loss") {
		t.Errorf("double = %v, want %v", got, 2*tab.Rows[0].Metric("loss"))
	}
	if !math.IsNaN(tab.Rows[0].Metric("double")) || len(tab.Metrics) != 2 {
		t.Error("WithMetric changed the table it was called on")
	}
	if w.Metrics[len(w.Metrics)-1] != "double" {
		t.Errorf("metrics %v, want double last", w.Metrics)
	}
	for _, r := range w.Rows {
		if r.Err != nil && !math.IsNaN(r.Metric("double")) {
			t.Error("a failed row got a value")
		}
	}
	// The new metric works as any other: its interval over the seeds of one config.
	ci := w.Where("Beta", 1).Where("Gamma", 0).CI("double")
	if ci.N != 3 || math.Abs(ci.Mean-2.04) > 1e-12 {
		t.Errorf("CI %v, want the mean 2.04 of 3 seeds", ci)
	}
	// Replacing a metric keeps the metric list as it is; ±Inf reads NaN.
	r := w.WithMetric("loss", func(Row) float64 { return math.Inf(1) })
	if len(r.Metrics) != len(w.Metrics) || !math.IsNaN(r.Rows[0].Metric("loss")) {
		t.Errorf("metrics %v, loss %v; want %v, NaN", r.Metrics, r.Rows[0].Metric("loss"), w.Metrics)
	}
}
