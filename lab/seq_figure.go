package lab

import (
	"math"
	"strings"

	"github.com/robustpo/robustpo/lab/internal/render"
)

// SeqLines returns one panel per metric of a sequence sweep's final values
// over the numeric Config field x (e.g. "Rho"), one line per value of by
// (e.g. "Method"): each point is the mean over the rows at that x (the
// seeds) with its 95% Student-t interval, as in Lines, the lines nudged
// sideways a little so that their bars do not overlap. Every panel shows
// π_ref beside them as a dashed line: ½ for winrate/vs_ref (π_ref against
// itself), 0 for kl/*, implicit_reward/max_abs and rewards/* (π = π_ref),
// and for oracle/reward and length/mean the mean over the rows' π_refs (one
// per distinct EvalFingerprint, e.g. one per seed) of RefOracleReward and
// RefMeanLength. Other metrics get no π_ref line.
func (t *Table) SeqLines(x, by string, metrics ...string) *Figure {
	f := &Figure{}
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, r := range t.Rows {
		if v, ok := toFloat(r.Field(x)); ok && r.Err == nil {
			xmin, xmax = math.Min(xmin, v), math.Max(xmax, v)
		}
	}
	for _, m := range metrics {
		lf := t.Lines(x, m, by)
		ref, hasRef := t.seqRefValue(m)
		for _, p := range lf.spec.Panels {
			n := len(p.Lines)
			for i := range p.Lines {
				shift := (float64(i) - float64(n-1)/2) * 0.008 * math.Max(xmax-xmin, 1e-9)
				for j := range p.Lines[i].X {
					p.Lines[i].X[j] += shift
				}
			}
			if hasRef && !math.IsInf(xmin, 0) {
				p.Lines = append(p.Lines, render.Line{Label: "π_{ref}", Reference: true,
					X: []float64{xmin, xmax}, Y: []float64{ref, ref}})
			}
			f.addPanel(m, p)
		}
	}
	return f
}

// seqRefValue returns π_ref's value of metric for SeqLines.
func (t *Table) seqRefValue(metric string) (float64, bool) {
	switch {
	case metric == "winrate/vs_ref":
		return 0.5, true
	case strings.HasPrefix(metric, "kl/"), metric == "implicit_reward/max_abs", strings.HasPrefix(metric, "rewards/"):
		return 0, true
	case metric != "oracle/reward" && metric != "length/mean":
		return 0, false
	}
	seen := map[string]bool{}
	var xs []float64
	for _, r := range t.Rows {
		if r.Err != nil || r.Run == nil || r.Run.Seq == nil || seen[r.Run.Seq.EvalFingerprint] {
			continue
		}
		seen[r.Run.Seq.EvalFingerprint] = true
		if metric == "oracle/reward" {
			xs = append(xs, r.Run.Seq.RefOracleReward)
		} else {
			xs = append(xs, r.Run.Seq.RefMeanLength)
		}
	}
	if len(xs) == 0 {
		return 0, false
	}
	return mean(xs), true
}
