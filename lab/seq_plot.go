package lab

import (
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WinRateLines returns a one-panel Chart of the sequence runs' final win rate
// against π_ref (Run.Seq.WinRate) over the numeric Config field x (e.g.
// "Rho"), one line per value of the field by (e.g. "Method"; "" for one
// line), with each point's bootstrap 95% CI as an error bar and a dashed
// line at ½ (no better than π_ref). Lines have the Okabe–Ito colours, a marker
// shape each and a legend above the panel. Rows without a sequence run are
// left out.
func (t *Table) WinRateLines(x, by string) *Chart {
	c := &Chart{PanelWidth: 14 * vg.Centimeter, PanelHeight: 9 * vg.Centimeter}
	p := plot.New()
	p.Title.Text = "win rate against π_{ref} (oracle judge, 95% CI)"
	_, axis := metricLabel("winrate/vs_ref")
	p.X.Label.Text, p.Y.Label.Text = fieldLabel(x), axis
	p.X.Tick.Marker, p.Y.Tick.Marker = linearTicks{}, linearTicks{}
	p.Add(grid())
	type point struct{ x, y, lo, hi float64 }
	groups := map[string][]point{}
	var order []string
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, r := range t.Rows {
		if r.Err != nil || r.Run == nil || r.Run.Seq == nil {
			continue
		}
		xv, ok := toFloat(r.Field(x))
		if !ok {
			continue
		}
		key := ""
		if by != "" {
			key = valueLabel(by, r.Field(by))
		}
		if _, seen := groups[key]; !seen {
			order = append(order, key)
		}
		w := r.Run.Seq.WinRate
		groups[key] = append(groups[key], point{xv, w.Rate, w.Lo, w.Hi})
		xmin, xmax = math.Min(xmin, xv), math.Max(xmax, xv)
	}
	for gi, key := range order {
		pts := groups[key]
		sort.Slice(pts, func(i, j int) bool { return pts[i].x < pts[j].x })
		// Nudge each line sideways a little so the error bars do not overlap.
		shift := (float64(gi) - float64(len(order)-1)/2) * 0.008 * math.Max(xmax-xmin, 1e-9)
		var xys plotter.XYs
		var errs plotter.YErrors
		for _, q := range pts {
			xys = append(xys, plotter.XY{X: q.x + shift, Y: q.y})
			errs = append(errs, struct{ Low, High float64 }{q.y - q.lo, q.hi - q.y})
		}
		line, points, err := runLine(xys, gi)
		if err != nil {
			continue
		}
		p.Add(line, points)
		if bars, err := plotter.NewYErrorBars(errorPoints{xys, errs}); err == nil {
			bars.Color = runColour(gi)
			p.Add(bars)
		}
		name := key
		if name == "" {
			name = axis
		}
		c.legend.add(name, line, points)
	}
	if len(order) > 0 {
		half, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: 0.5}, {X: xmax, Y: 0.5}})
		if err == nil {
			half.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			half.Color = color.Gray{Y: 110}
			p.Add(half)
			c.legend.add("½ (no better than π_{ref})", half)
		}
	}
	c.plots = []*plot.Plot{p}
	return c
}

// SeqSummary returns one line per sequence run of the table: its grid
// values, the final win rate with CI, mean oracle reward, mean length,
// KL(π‖π_ref) and the largest implicit reward; then a line "made on: …"
// with the runs' Provenance (one entry per distinct one, "; " between).
func (t *Table) SeqSummary() string {
	s := fmt.Sprintf("%-40s %-24s %8s %8s %9s %9s\n", "run", "win rate [95% CI]", "r*", "length", "KL(π‖ref)", "max|βh|")
	for _, r := range t.Rows {
		if r.Err != nil || r.Run == nil || r.Run.Seq == nil {
			s += fmt.Sprintf("%-40s error: %v\n", r.Config.Label(), r.Err)
			continue
		}
		q := r.Run.Seq
		s += fmt.Sprintf("%-40s %.3f [%.3f, %.3f]    %8.3f %8.2f %9.3f %9.3f\n", r.Run.Label, q.WinRate.Rate, q.WinRate.Lo,
			q.WinRate.Hi, q.OracleReward, q.MeanLength, q.KLReverse, r.Run.History.Last("implicit_reward/max_abs"))
	}
	if p := t.provenance(); p != "" {
		s += "made on: " + p + "\n"
	}
	return s
}
