package lab

import (
	"strings"
	"testing"

	"github.com/robustpo/robustpo/lab/internal/render"
)

func TestMetricLabel(t *testing.T) {
	for _, c := range []struct{ metric, title, axis string }{
		{"prob/a", "probability of a", "P(a)"},
		{"implicit_reward/max_abs", "largest implicit reward", "max |β·h| (implicit reward)"},
		{"kl/forward", "forward KL to the reference", "KL(π_{ref}‖π)"},
		{"kl/reverse", "reverse KL to the reference", "KL(π‖π_{ref})"},
		{"mass/train_support", "mass on the training support", "mass on training responses"},
		{"oracle/tv_optimal", "distance to the RLHF optimum π*", "TV(π, π*)"},
		{"grad_weight", "DPO gradient weight", "gradient weight σ(−β·Δh)"},
		{"loss", "training loss", "loss"},
		{"my/custom", "my/custom", "my/custom"}, // unknown: the raw key
		{"prob/", "prob/", "prob/"},
	} {
		title, axis := metricLabel(c.metric)
		if title != c.title || axis != c.axis {
			t.Errorf("metricLabel(%q) = %q, %q; want %q, %q", c.metric, title, axis, c.title, c.axis)
		}
	}
	// Every metric the lab logs (finite and sequence runs) or DESIGN.md names
	// has words, not its key.
	for _, m := range []string{"loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
		"logps/chosen", "logps/rejected", "implicit_reward/max_abs", "grad_weight", "kl/reverse", "kl/forward",
		"mass/train_support", "oracle/reward", "oracle/regret", "oracle/tv_optimal", "winrate/vs_ref",
		"oracle/normalized_regret", "prob/d", "winrate/vs_ref_lo", "winrate/vs_ref_hi", "length/mean",
		"heldout/accuracy", "heldout/margins", "reward/heldout_accuracy"} {
		title, axis := metricLabel(m)
		if m != "loss" && (strings.Contains(title, "/") || strings.Contains(axis, m)) {
			t.Errorf("metricLabel(%q) = %q, %q: the raw key", m, title, axis)
		}
	}
}

func TestFieldAndValueLabels(t *testing.T) {
	for _, c := range []struct {
		field string
		v     any
		want  string
	}{{"Beta", 0.5, "β = 0.5"}, {"Gamma", 0.0, "γ = 0"}, {"Method", PDPO, "p-DPO"}, {"Method", "EDPO", "e-DPO"},
		{"Method", DPO, "DPO"}, {"Steps", 100, "steps = 100"}, {"Custom", "x", "Custom = x"}} {
		if got := valueLabel(c.field, c.v); got != c.want {
			t.Errorf("valueLabel(%s, %v) = %q, want %q", c.field, c.v, got, c.want)
		}
	}
}

// TestLegendLabels checks that no figure of the lab writes TeX-like
// subscripts that the renderer does not draw, such as the old "π*_{r*}".
func TestLegendLabels(t *testing.T) {
	var labels []string
	for _, b := range PlotPolicy(fakeRun("DPO", nil)).spec.Panels[0].Bars {
		labels = append(labels, b.Label)
	}
	for _, l := range labels {
		if strings.Contains(l, "{r*}") || strings.Contains(l, "*_") || strings.Contains(l, "\\") {
			t.Errorf("legend label %q", l)
		}
		if strings.Contains(render.PlainText(l), "{") {
			t.Errorf("legend label %q leaves braces after markup", l)
		}
	}
	if got := render.PlainText(labels[2]); got != "π* (RLHF optimum)" {
		t.Errorf("optimum legend %q", got)
	}
	for _, m := range metricTexts {
		for _, s := range []string{m.title, m.axis} {
			if strings.Contains(render.PlainText(s), "{") || strings.Contains(s, "\\") {
				t.Errorf("metric text %q has markup the renderer does not draw", s)
			}
		}
	}
}
