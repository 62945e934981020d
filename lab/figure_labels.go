package lab

import (
	"reflect"
	"strings"
)

// metricText is how a figure names a metric: a panel title in words and an
// axis (or colour bar) label in the paper's notation, with script markup:
// _{…} a subscript, ^{…} a superscript (see render.PlainText).
type metricText struct {
	title, axis string
}

// metricTexts names the metrics of the lab (see metricNames and DESIGN.md,
// "Metric names"); prob/<response> is named by metricLabel.
var metricTexts = map[string]metricText{
	"loss":                     {"training loss", "loss"},
	"rewards/chosen":           {"implicit reward of the chosen responses", "β·h(y_{w})"},
	"rewards/rejected":         {"implicit reward of the rejected responses", "β·h(y_{l})"},
	"rewards/margins":          {"implicit reward margin", "margin β·Δh"},
	"rewards/accuracies":       {"pairs ranked as labelled", "fraction with h(y_{w}) > h(y_{l})"},
	"logps/chosen":             {"log-probability of the chosen responses", "log π(y_{w}|x)"},
	"logps/rejected":           {"log-probability of the rejected responses", "log π(y_{l}|x)"},
	"implicit_reward/max_abs":  {"largest implicit reward", "max |β·h| (implicit reward)"},
	"grad_weight":              {"DPO gradient weight", "gradient weight σ(−β·Δh)"},
	"kl/forward":               {"forward KL to the reference", "KL(π_{ref}‖π)"},
	"kl/reverse":               {"reverse KL to the reference", "KL(π‖π_{ref})"},
	"mass/train_support":       {"mass on the training support", "mass on training responses"},
	"oracle/reward":            {"oracle reward", "E_{π} r*"},
	"oracle/regret":            {"regret against the RLHF optimum", "regret J(π*) − J(π)"},
	"oracle/normalized_regret": {"normalized regret", "(J(π) − J(π_{ref})) / (J(π*) − J(π_{ref}))"},
	"oracle/tv_optimal":        {"distance to the RLHF optimum π*", "TV(π, π*)"},
	"winrate/vs_ref":           {"win rate against the reference", "win rate vs π_{ref}"},
	"winrate/vs_ref_lo":        {"win rate against the reference, lower 95% bound", "win rate vs π_{ref} (lower)"},
	"winrate/vs_ref_hi":        {"win rate against the reference, upper 95% bound", "win rate vs π_{ref} (upper)"},
	"length/mean":              {"mean response length", "length |y| (tokens)"},
	"heldout/accuracy":         {"held-out pairs ranked as labelled", "fraction with Δh > 0 (ties ½)"},
	"heldout/margins":          {"held-out implicit reward margin", "held-out margin β·Δh"},
	"reward/heldout_accuracy":  {"reward model's held-out accuracy", "fraction with Δr > 0"},
}

// metricLabel returns a panel title in words and an axis label in the
// paper's notation for a metric: "prob/a" → ("probability of a", "P(a)"),
// "kl/forward" → ("forward KL to the reference", "KL(π_{ref}‖π)"), and the
// raw key for both where the metric is not one of the lab's.
func metricLabel(metric string) (title, axis string) {
	if t, ok := metricTexts[metric]; ok {
		return t.title, t.axis
	}
	if y, ok := strings.CutPrefix(metric, "prob/"); ok && y != "" {
		return "probability of " + y, "P(" + y + ")"
	}
	return metric, metric
}

// fieldLabels names Config fields on axes and in legends.
var fieldLabels = map[string]string{
	"Beta": "β", "Gamma": "γ", "Epsilon": "ε", "Rho": "ρ", "LearningRate": "learning rate",
	"Steps": "steps", "BatchSize": "batch size", "Seed": "seed", "EnsembleSize": "ensemble size k",
	"Method": "method", "Aggregation": "aggregation", "DistillPairs": "distillation pairs",
}

// fieldLabel returns the name of a Config field in a figure: "Beta" → "β",
// "LearningRate" → "learning rate", other fields as they are.
func fieldLabel(field string) string {
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	return field
}

// valueLabel names one value of a Config field in a figure: a method by its
// PaperName ("PDPO" → "p-DPO", given as a Method or its Go name), any other
// value as "β = 0.5".
func valueLabel(field string, v any) string {
	s := formatValue(v)
	if field == "Method" {
		if m, _, err := enumValue(reflect.TypeFor[Method](), s); err == nil {
			return Method(m).PaperName()
		}
		return s
	}
	return fieldLabel(field) + " = " + s
}
