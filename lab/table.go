package lab

import (
	"encoding/csv"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/janpfeifer/gonb/gonbui/protocol"
	"github.com/robustpo/robustpo/lab/internal/render"
)

// Row is one configuration of a sweep: its grid values, its full Config, its
// final metrics and its Run, or the error that stopped it.
type Row struct {
	// Values are the grid values of this config, in Table.Fields order.
	Values []any
	// Config is the configuration with defaults filled in.
	Config Config
	// Metrics maps every logged metric to its last logged value; empty when Err is set.
	Metrics map[string]float64
	// Run is the finished run (loaded from the cache when Run.Cached), the
	// partial run of a config that failed while training, or nil.
	Run *Run
	// Err is why the config has no result (invalid, diverged, failed); nil on success.
	Err error
}

// Metric returns the row's final value of metric name, NaN when absent or failed.
func (r Row) Metric(name string) float64 {
	if v, ok := r.Metrics[name]; ok {
		return v
	}
	return math.NaN()
}

// Field returns the value of Config field name (any field, in the grid or not),
// nil when Config has no such field.
func (r Row) Field(name string) any { return configField(r.Config, name) }

// value returns a field's value, else the metric's, for sorting and grouping.
func (r Row) value(key string) any {
	if v := r.Field(key); v != nil {
		return v
	}
	return r.Metric(key)
}

// Table holds the rows of a sweep, in grid order unless sorted. Methods that
// select or reorder rows return a new Table sharing the rows' Runs.
type Table struct {
	// Fields are the grid's field names, in axis order.
	Fields []string
	// Metrics are the metric names of the rows' runs, in first-logged order.
	Metrics []string
	Rows    []Row
	// WallTime is how long the sweep took.
	WallTime time.Duration
	// Cached counts the rows loaded from the run cache; Batches the batched
	// graphs the sweep trained (each holding two or more configs).
	Cached, Batches int
}

// Len returns the number of rows.
func (t *Table) Len() int { return len(t.Rows) }

// Errors returns the rows that hold an error.
func (t *Table) Errors() []Row {
	var out []Row
	for _, r := range t.Rows {
		if r.Err != nil {
			out = append(out, r)
		}
	}
	return out
}

// with returns a Table with t's columns and the given rows.
func (t *Table) with(rows []Row) *Table {
	return &Table{Fields: t.Fields, Metrics: t.Metrics, Rows: rows, WallTime: t.WallTime, Cached: t.Cached, Batches: t.Batches}
}

// Sort returns the rows ordered by key, a Config field or a metric, ascending
// (descending when desc); the sort is stable, and failed rows and NaN values
// come last either way. Fields compare as numbers when numeric, else by their
// printed form.
func (t *Table) Sort(key string, desc bool) *Table {
	rows := slices.Clone(t.Rows)
	slices.SortStableFunc(rows, func(a, b Row) int {
		if (a.Err != nil) != (b.Err != nil) {
			if a.Err != nil {
				return 1
			}
			return -1
		}
		c := compareValues(a.value(key), b.value(key))
		if desc && c != 2 && c != -2 {
			c = -c
		}
		return max(-1, min(1, c))
	})
	return t.with(rows)
}

// compareValues orders two values: numbers numerically with NaN last (±2 marks
// a NaN decision, which Sort never reverses), others by fmt.Sprint.
func compareValues(a, b any) int {
	fa, oka := toFloat(a)
	fb, okb := toFloat(b)
	if oka && okb {
		switch na, nb := math.IsNaN(fa), math.IsNaN(fb); {
		case na && nb:
			return 0
		case na:
			return 2
		case nb:
			return -2
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// toFloat converts a numeric value (of any Go numeric kind) to float64.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint:
		return float64(x), true
	}
	return 0, false
}

// Filter returns the rows for which keep is true.
func (t *Table) Filter(keep func(Row) bool) *Table {
	var rows []Row
	for _, r := range t.Rows {
		if keep(r) {
			rows = append(rows, r)
		}
	}
	return t.with(rows)
}

// Where returns the rows whose Config field equals value (compared after the
// same conversion as Vary: Where("Method", "PDPO") and Where("Method", lab.PDPO)
// agree, as do Where("Beta", 1) and Where("Beta", 1.0)).
func (t *Table) Where(field string, value any) *Table {
	return t.Filter(func(r Row) bool {
		probe := r.Config
		if err := setConfigField(&probe, field, value); err != nil {
			return false
		}
		return fmt.Sprint(configField(probe, field)) == fmt.Sprint(r.Field(field))
	})
}

// One returns the single row whose Config matches every field–value pair of
// fieldValues (field names and values alternating, each compared as Where
// compares): t.One("Method", lab.PDPO, "Beta", 0.1, "Gamma", 1). It is an
// error, naming the filter and the number of matching rows, when no row or
// several rows match; and when the one matching row failed, in which case the
// row comes back with an error wrapping its Err.
func (t *Table) One(fieldValues ...any) (Row, error) {
	var names []string
	for i := 0; i+1 < len(fieldValues); i += 2 {
		names = append(names, fmt.Sprintf("%v=%s", fieldValues[i], formatValue(fieldValues[i+1])))
	}
	filter := "Table.One(" + strings.Join(names, ", ") + ")"
	if len(fieldValues)%2 != 0 {
		return Row{}, fmt.Errorf("lab: %s: %d arguments, want field–value pairs", filter, len(fieldValues))
	}
	s := t
	for i := 0; i < len(fieldValues); i += 2 {
		field, ok := fieldValues[i].(string)
		if !ok {
			return Row{}, fmt.Errorf("lab: %s: argument %d (%v of type %T) is not a field name", filter, i, fieldValues[i], fieldValues[i])
		}
		probe := Config{}
		if err := setConfigField(&probe, field, fieldValues[i+1]); err != nil {
			return Row{}, fmt.Errorf("lab: %s: %w", filter, err)
		}
		s = s.Where(field, fieldValues[i+1])
	}
	switch s.Len() {
	case 1:
	case 0:
		return Row{}, fmt.Errorf("lab: %s: no row of %d matches", filter, t.Len())
	default:
		return Row{}, fmt.Errorf("lab: %s: %d rows of %d match, want one", filter, s.Len(), t.Len())
	}
	r := s.Rows[0]
	if r.Err != nil {
		return r, fmt.Errorf("lab: %s: the row failed: %w", filter, r.Err)
	}
	return r, nil
}

// Summary is a Table grouped by some fields: per group, the number of rows,
// the failed rows, and each metric's mean and 95% confidence half-width over
// the group's successful rows.
type Summary struct {
	// Fields are the grouping fields; Metrics the summarised metrics.
	Fields, Metrics []string
	Groups          []Group
}

// Group is one group of a Summary.
type Group struct {
	// Values are the grouping fields' values, in Summary.Fields order.
	Values []any
	// N counts the group's successful rows; Failed its rows with an error.
	N, Failed int
	// Mean and CI95 map each metric to its mean and the half-width of its 95%
	// Student-t confidence interval, t_{0.975, n−1}·s/√n with s the sample
	// standard deviation over the n rows where the metric is finite (NaN when n < 2).
	Mean, CI95 map[string]float64
}

// GroupBy groups rows by the given Config fields (first-seen order) and
// summarises every metric over the rows of each group, typically the seeds:
// tab.GroupBy("Beta", "Gamma") averages over every other grid field.
func (t *Table) GroupBy(fields ...string) *Summary {
	s := &Summary{Fields: fields, Metrics: t.Metrics}
	index := map[string]int{}
	members := [][]Row{}
	for _, r := range t.Rows {
		vals := make([]any, len(fields))
		for i, f := range fields {
			vals[i] = r.Field(f)
		}
		key := fmt.Sprint(vals...)
		gi, ok := index[key]
		if !ok {
			gi = len(s.Groups)
			index[key] = gi
			s.Groups = append(s.Groups, Group{Values: vals})
			members = append(members, nil)
		}
		members[gi] = append(members[gi], r)
	}
	for gi := range s.Groups {
		g := &s.Groups[gi]
		g.Mean, g.CI95 = map[string]float64{}, map[string]float64{}
		for _, r := range members[gi] {
			if r.Err != nil {
				g.Failed++
			} else {
				g.N++
			}
		}
		for _, m := range t.Metrics {
			var xs []float64
			for _, r := range members[gi] {
				if v := r.Metric(m); r.Err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
					xs = append(xs, v)
				}
			}
			g.Mean[m], g.CI95[m] = meanCI95(xs)
		}
	}
	return s
}

// meanCI95 returns the mean of xs and the half-width t_{0.975,n−1}·s/√n of its
// 95% confidence interval (NaN, NaN for no values; mean, NaN for one).
func meanCI95(xs []float64) (mean, ci float64) {
	n := len(xs)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(n)
	if n < 2 {
		return mean, math.NaN()
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / float64(n-1))
	return mean, studentT975(n-1) * sd / math.Sqrt(float64(n))
}

// tTable holds t_{0.975, df} for df = 1…30 (two-sided 95%).
var tTable = [...]float64{12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
	2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
	2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423}

// studentT975 returns the 0.975 quantile of Student's t with df ≥ 1 degrees of
// freedom: tabulated to df = 30, then the Cornish–Fisher expansion
// z + (z³+z)/(4df) + (5z⁵+16z³+3z)/(96df²), z = 1.959964 (error < 1e-4).
func studentT975(df int) float64 {
	if df <= len(tTable) {
		return tTable[df-1]
	}
	const z = 1.959963984540054
	d := float64(df)
	return z + (z*z*z+z)/(4*d) + (5*math.Pow(z, 5)+16*z*z*z+3*z)/(96*d*d)
}

// formatValue prints a grid value: %g for floats, %v otherwise.
func formatValue(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// displayValue is formatValue for what a reader sees: a Method by its
// PaperName ("e-DPO" where a CSV file keeps "EDPO").
func displayValue(v any) string {
	if m, ok := v.(Method); ok {
		return m.PaperName()
	}
	return formatValue(v)
}

// WriteCSV writes a header "<fields>,error,<metrics>" and one row per config;
// floats in the shortest form that round-trips, NaN as "NaN", error empty on success.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := append(append(slices.Clone(t.Fields), "error"), t.Metrics...)
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("lab: Table.WriteCSV header: %w", err)
	}
	for i, r := range t.Rows {
		rec := make([]string, 0, len(head))
		for _, f := range t.Fields {
			rec = append(rec, formatValue(r.Field(f)))
		}
		e := ""
		if r.Err != nil {
			e = r.Err.Error()
		}
		rec = append(rec, e)
		for _, m := range t.Metrics {
			rec = append(rec, strconv.FormatFloat(r.Metric(m), 'g', -1, 64))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("lab: Table.WriteCSV row %d: %w", i, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("lab: Table.WriteCSV: %w", err)
	}
	return nil
}

// WriteCSV writes a header "<fields>,n,failed,<m>_mean,<m>_ci95,…" and one row per group.
func (s *Summary) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := append(slices.Clone(s.Fields), "n", "failed")
	for _, m := range s.Metrics {
		head = append(head, m+"_mean", m+"_ci95")
	}
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("lab: Summary.WriteCSV header: %w", err)
	}
	for i, g := range s.Groups {
		rec := make([]string, 0, len(head))
		for _, v := range g.Values {
			rec = append(rec, formatValue(v))
		}
		rec = append(rec, strconv.Itoa(g.N), strconv.Itoa(g.Failed))
		for _, m := range s.Metrics {
			rec = append(rec, strconv.FormatFloat(g.Mean[m], 'g', -1, 64), strconv.FormatFloat(g.CI95[m], 'g', -1, 64))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("lab: Summary.WriteCSV row %d: %w", i, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("lab: Summary.WriteCSV: %w", err)
	}
	return nil
}

// cells returns a header and text cells of t showing the given metrics (all when none).
func (t *Table) cells(metrics []string) ([]string, [][]string) {
	if len(metrics) == 0 {
		metrics = t.Metrics
	}
	head := append(append(slices.Clone(t.Fields), metrics...), "error")
	var out [][]string
	for _, r := range t.Rows {
		rec := make([]string, 0, len(head))
		for _, f := range t.Fields {
			rec = append(rec, displayValue(r.Field(f)))
		}
		for _, m := range metrics {
			if _, ok := r.Metrics[m]; !ok {
				rec = append(rec, absent)
				continue
			}
			rec = append(rec, fmt.Sprintf("%.4g", r.Metric(m)))
		}
		e := ""
		if r.Err != nil {
			e = r.Err.Error()
		}
		out = append(out, append(rec, e))
	}
	return head, out
}

// cells returns a header and text cells of s: mean ± CI per metric.
func (s *Summary) cells(metrics []string) ([]string, [][]string) {
	if len(metrics) == 0 {
		metrics = s.Metrics
	}
	head := append(append(slices.Clone(s.Fields), "n", "failed"), metrics...)
	var out [][]string
	for _, g := range s.Groups {
		rec := make([]string, 0, len(head))
		for _, v := range g.Values {
			rec = append(rec, displayValue(v))
		}
		rec = append(rec, strconv.Itoa(g.N), strconv.Itoa(g.Failed))
		for _, m := range metrics {
			if math.IsNaN(g.Mean[m]) {
				rec = append(rec, absent)
			} else if ci := g.CI95[m]; !math.IsNaN(ci) {
				rec = append(rec, fmt.Sprintf("%.4g ± %.2g", g.Mean[m], ci))
			} else {
				rec = append(rec, fmt.Sprintf("%.4g", g.Mean[m]))
			}
		}
		out = append(out, rec)
	}
	return head, out
}

// absent is the cell of a metric a row does not log (Distill's reward
// accuracy in a DPO row) or a group has no finite value of.
const absent = "—"

// textTable renders cells as aligned columns.
func textTable(head []string, rows [][]string) string {
	width := make([]int, len(head))
	for i, h := range head {
		width[i] = len([]rune(h))
	}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c + strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		b.WriteString("\n")
	}
	line(head)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

// htmlTable renders cells as an HTML table.
func htmlTable(caption string, head []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString(`<table style="font-size:small">`)
	if caption != "" {
		b.WriteString("<caption>" + html.EscapeString(caption) + "</caption>")
	}
	b.WriteString("<tr>")
	for _, h := range head {
		b.WriteString("<th>" + html.EscapeString(h) + "</th>")
	}
	b.WriteString("</tr>")
	for _, r := range rows {
		b.WriteString("<tr>")
		for _, c := range r {
			b.WriteString("<td>" + html.EscapeString(c) + "</td>")
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table>")
	return b.String()
}

// String renders the table as aligned text: fields, every metric (%.4g), error.
func (t *Table) String() string {
	h, r := t.cells(nil)
	return textTable(h, r)
}

// Text renders the table as aligned text with only the given metrics.
func (t *Table) Text(metrics ...string) string {
	h, r := t.cells(metrics)
	return textTable(h, r)
}

// Display shows the table, with the given metrics (all when none), in a GoNB
// notebook as one bundle of text/html and text/plain (the aligned text of
// Text, kept by untrusted notebooks and text exports); elsewhere it does
// nothing. It returns t.
func (t *Table) Display(metrics ...string) *Table {
	render.Send(t.bundle(metrics))
	return t
}

// bundle is what Display sends: the table under a caption with the number
// of configs, the sweep's wall time and where the runs were made.
func (t *Table) bundle(metrics []string) *protocol.DisplayData {
	h, r := t.cells(metrics)
	caption := fmt.Sprintf("%d configs, %v", len(t.Rows), t.WallTime.Round(time.Millisecond))
	if p := t.provenance(); p != "" {
		caption += "; made on: " + p
	}
	return render.TableBundle(htmlTable(caption, h, r), caption+"\n"+textTable(h, r))
}

// provenance returns the distinct Provenance lines of the table's runs, in
// row order, joined by "; " ("" when no row has a run with one).
func (t *Table) provenance() string {
	var seen []string
	for _, r := range t.Rows {
		if r.Run == nil {
			continue
		}
		if p := r.Run.Provenance.String(); p != "" && !slices.Contains(seen, p) {
			seen = append(seen, p)
		}
	}
	return strings.Join(seen, "; ")
}

// String renders the summary as aligned text, "mean ± CI95" per metric.
func (s *Summary) String() string {
	h, r := s.cells(nil)
	return textTable(h, r)
}

// Text renders the summary as aligned text with only the given metrics.
func (s *Summary) Text(metrics ...string) string {
	h, r := s.cells(metrics)
	return textTable(h, r)
}

// Display shows the summary, with the given metrics (all when none), in a
// GoNB notebook as one bundle of text/html and text/plain (the aligned text
// of Text); elsewhere it does nothing. It returns s.
func (s *Summary) Display(metrics ...string) *Summary {
	render.Send(s.bundle(metrics))
	return s
}

// bundle is what Display sends.
func (s *Summary) bundle(metrics []string) *protocol.DisplayData {
	h, r := s.cells(metrics)
	const caption = "mean ± 95% CI"
	return render.TableBundle(htmlTable(caption, h, r), caption+"\n"+textTable(h, r))
}
