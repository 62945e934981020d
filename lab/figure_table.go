package lab

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/robustpo/robustpo/lab/internal/render"
)

// The figures of a sweep Table: Heatmap, Lines and WinRateLines.

// facet is the rows of one panel and its title.
type facet struct {
	title string
	rows  []Row
}

// facets splits rows by the grid fields not in axes and not "Seed" (the
// replicate axis, averaged over), in first-seen order. A facet's title names
// its values (valueLabel): "p-DPO, β = 0.5".
func (t *Table) facets(axes ...string) []facet {
	var split []string
	for _, f := range t.Fields {
		if f != "Seed" && !slices.Contains(axes, f) {
			split = append(split, f)
		}
	}
	var out []facet
	index := map[string]int{}
	for _, r := range t.Rows {
		parts := make([]string, len(split))
		for i, f := range split {
			parts[i] = valueLabel(f, r.Field(f))
		}
		key := strings.Join(parts, ", ")
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, facet{title: key})
		}
		out[i].rows = append(out[i].rows, r)
	}
	return out
}

// distinct returns the distinct values of field over rows, in first-seen order.
func distinct(rows []Row, field string) []any {
	var out []any
	seen := map[string]bool{}
	for _, r := range rows {
		v := r.Field(field)
		if k := fmt.Sprint(v); !seen[k] {
			seen[k] = true
			out = append(out, v)
		}
	}
	return out
}

// Heatmap returns a Figure with one heatmap per combination of the grid
// fields other than x, y and Seed: cell (x, y) is the mean of metric over the
// rows with those values (over seeds), printed in the cell; failed rows are
// left out and a cell with no successful row is grey and marked "×". Axes
// list the grid values in grid order (evenly spaced, whatever their numeric
// spacing). All panels share one viridis colour scale, from the smallest to
// the largest cell of any panel, keyed by a colour bar above them labelled
// with the metric (see metricLabel); LogColour makes the scale logarithmic.
func (t *Table) Heatmap(x, y, metric string) *Figure {
	title, axis := metricLabel(metric)
	f := &Figure{}
	f.spec.ColourLabel = axis
	for _, fc := range t.facets(x, y) {
		xs, ys := distinct(fc.rows, x), distinct(fc.rows, y)
		sums := make([][]float64, len(xs))
		counts := make([][]int, len(xs))
		for i := range xs {
			sums[i] = make([]float64, len(ys))
			counts[i] = make([]int, len(ys))
		}
		xi, yi := indexOf(xs), indexOf(ys)
		for _, r := range fc.rows {
			v := r.Metric(metric)
			if r.Err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			i, j := xi[fmt.Sprint(r.Field(x))], yi[fmt.Sprint(r.Field(y))]
			sums[i][j] += v
			counts[i][j]++
		}
		h := &render.Heatmap{XNames: formatAll(xs), YNames: formatAll(ys), Z: make([][]float64, len(xs))}
		for i := range xs {
			h.Z[i] = make([]float64, len(ys))
			for j := range ys {
				h.Z[i][j] = math.NaN()
				if counts[i][j] > 0 {
					h.Z[i][j] = sums[i][j] / float64(counts[i][j])
				}
			}
		}
		p := render.Panel{Title: fc.title, XLabel: fieldLabel(x), YLabel: fieldLabel(y), Heatmap: h}
		if p.Title == "" {
			p.Title = title
		}
		f.addPanel(metric, p)
	}
	return f
}

func indexOf(vs []any) map[string]int {
	m := map[string]int{}
	for i, v := range vs {
		m[fmt.Sprint(v)] = i
	}
	return m
}

func formatAll(vs []any) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = formatValue(v)
	}
	return out
}

// Lines returns a Figure with one panel per combination of the grid fields
// other than x, by and Seed, and in each one line per value of by (by = "":
// a single line): the mean of metric over the rows (seeds) at each value of
// x, with 95% Student-t confidence bars where there are two or more. A value
// of by has the same colour and marker in every panel (Okabe–Ito colours);
// the legend is shared, above the panels. Axes are labelled in words and
// symbols (fieldLabel, metricLabel); probability metrics ("prob/…",
// "mass/…") get a y axis from 0 to at most 1.05, as in PlotHistory. x must
// be a numeric field; when its values are all positive and span a factor
// ≥ 20 (e.g. 0.05…3) the x axis is logarithmic.
func (t *Table) Lines(x, metric, by string) *Figure {
	f := &Figure{}
	axes := []string{x}
	groups := []any{nil}
	if by != "" {
		axes = append(axes, by)
		groups = distinct(t.Rows, by)
	}
	title, axis := metricLabel(metric)
	for _, fc := range t.facets(axes...) {
		p := render.Panel{Title: fc.title, XLabel: fieldLabel(x), YLabel: axis, Prob: isProbMetric(metric)}
		if p.Title == "" {
			p.Title = title
		}
		// A log x axis where x is positive and spans a factor ≥ 20.
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range fc.rows {
			if v, ok := toFloat(r.Field(x)); ok {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		p.LogX = lo > 0 && hi/lo >= 20
		for gi, gv := range groups {
			sub := &Table{Fields: t.Fields, Metrics: t.Metrics, Rows: fc.rows}
			if by != "" {
				sub = sub.Filter(func(r Row) bool { return fmt.Sprint(r.Field(by)) == fmt.Sprint(gv) })
			}
			// One line per panel (by = ""): the y label names it, no legend.
			l := render.Line{Style: gi, Markers: true}
			if by != "" {
				l.Label = valueLabel(by, gv)
			}
			for _, g := range sub.GroupBy(x).Groups {
				xv, ok := toFloat(g.Values[0])
				m := g.Mean[metric]
				if !ok || math.IsNaN(m) {
					continue
				}
				appendPoint(&l, xv, m, g.CI95[metric])
			}
			if len(l.X) > 0 {
				p.Lines = append(p.Lines, l)
			}
		}
		f.addPanel(metric, p)
	}
	return f
}

// WinRateLines returns a one-panel Figure of the sequence runs' final win
// rate against π_ref (Run.Seq.WinRate) over the numeric Config field x (e.g.
// "Rho"), one line per value of the field by (e.g. "Method"; "" for one
// line), with each point's bootstrap 95% CI as an error bar and a dashed
// line at ½ (no better than π_ref). Lines have the Okabe–Ito colours, a
// marker shape each and a legend above the panel; each is nudged sideways a
// little so that error bars do not overlap. Rows without a sequence run are
// left out.
func (t *Table) WinRateLines(x, by string) *Figure {
	const metric = "winrate/vs_ref"
	_, axis := metricLabel(metric)
	p := render.Panel{Title: "win rate against π_{ref} (oracle judge, 95% CI)", XLabel: fieldLabel(x), YLabel: axis}
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
		shift := (float64(gi) - float64(len(order)-1)/2) * 0.008 * math.Max(xmax-xmin, 1e-9)
		l := render.Line{Label: key, Style: gi, Markers: true}
		if l.Label == "" {
			l.Label = axis
		}
		for _, q := range pts {
			l.X, l.Y = append(l.X, q.x+shift), append(l.Y, q.y)
			l.Lo, l.Hi = append(l.Lo, q.y-q.lo), append(l.Hi, q.hi-q.y)
		}
		p.Lines = append(p.Lines, l)
	}
	if len(order) > 0 {
		p.Lines = append(p.Lines, render.Line{Label: "½ (no better than π_{ref})", Reference: true,
			X: []float64{xmin, xmax}, Y: []float64{0.5, 0.5}})
	}
	f := &Figure{}
	f.addPanel(metric, p)
	return f
}

// appendPoint adds the point (x, y) to l with a symmetric error bar of
// half-width ci (none when ci is NaN: a group of one row).
func appendPoint(l *render.Line, x, y, ci float64) {
	if math.IsNaN(ci) {
		ci = 0
	}
	l.X, l.Y = append(l.X, x), append(l.Y, y)
	l.Lo, l.Hi = append(l.Lo, ci), append(l.Hi, ci)
}
