package lab

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// fakeTable builds a β×γ×Seed table with loss = β + 10·γ + seed/100 and
// one failed row (β=2, γ=1, seed 2), without training.
func fakeTable(t *testing.T) *Table {
	t.Helper()
	grid := Grid{Vary("Beta", 1, 2), Vary("Gamma", 0, 1), Vary("Seed", 1, 2, 3)}
	cfgs, vals, err := grid.Configs(Config{Method: PDPO})
	if err != nil {
		t.Fatal(err)
	}
	tab := &Table{Fields: grid.Fields(), Metrics: []string{"loss", "kl/forward"}}
	for i, c := range cfgs {
		r := Row{Values: vals[i], Config: c.WithDefaults(), Metrics: map[string]float64{
			"loss": c.Beta + 10*c.Gamma + float64(c.Seed)/100, "kl/forward": float64(i)}}
		if c.Beta == 2 && c.Gamma == 1 && c.Seed == 2 {
			r.Metrics, r.Err = nil, errors.New("diverged")
		}
		tab.Rows = append(tab.Rows, r)
	}
	return tab
}

func TestGridConfigs(t *testing.T) {
	cfgs, vals, err := Grid{Vary[any]("Method", "PDPO", DPO), Vary("Beta", 1, 0.5), Vary("Steps", 10.0)}.Configs(Config{Gamma: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		m    Method
		beta float64
	}{{PDPO, 1}, {PDPO, 0.5}, {DPO, 1}, {DPO, 0.5}}
	if len(cfgs) != 4 {
		t.Fatalf("%d configs, want 4", len(cfgs))
	}
	for i, w := range want {
		if c := cfgs[i]; c.Method != w.m || c.Beta != w.beta || c.Steps != 10 || c.Gamma != 0.3 {
			t.Errorf("config %d = %v β=%v steps %d γ=%v, want %v β=%v steps 10 γ=0.3", i, c.Method, c.Beta, c.Steps, c.Gamma, w.m, w.beta)
		}
	}
	if vals[2][0] != DPO || vals[1][1] != 0.5 {
		t.Errorf("values = %v", vals)
	}
	for _, bad := range []Grid{
		{Vary("Betta", 1)}, {Vary[float64]("Beta")}, {Vary("Beta", 1), Vary("Beta", 2)},
		{Vary("Steps", 2.5)}, {Vary("Method", "XPO")}, {Vary("Beta", "high")},
	} {
		if _, _, err := bad.Configs(Config{}); err == nil {
			t.Errorf("grid %v: no error", bad)
		}
	}
}

func TestTableSortFilterWhere(t *testing.T) {
	tab := fakeTable(t)
	s := tab.Sort("loss", true)
	if s.Rows[0].Metric("loss") != 12.03 || s.Rows[len(s.Rows)-1].Err == nil {
		t.Errorf("Sort(loss, desc): first %v, last err %v", s.Rows[0].Metric("loss"), s.Rows[len(s.Rows)-1].Err)
	}
	a := tab.Sort("loss", false)
	if a.Rows[0].Metric("loss") != 1.01 || a.Rows[len(a.Rows)-1].Err == nil {
		t.Errorf("Sort(loss, asc): first %v", a.Rows[0].Metric("loss"))
	}
	if g := tab.Sort("Gamma", true); g.Rows[0].Config.Gamma != 1 || g.Rows[0].Config.Beta != 1 {
		t.Errorf("Sort(Gamma, desc) is not stable: first row β=%v γ=%v", g.Rows[0].Config.Beta, g.Rows[0].Config.Gamma)
	}
	if n := tab.Where("Beta", 2).Where("Gamma", 1.0).Len(); n != 3 {
		t.Errorf("Where β=2 γ=1: %d rows, want 3", n)
	}
	if n := tab.Where("Method", "PDPO").Len(); n != 12 {
		t.Errorf("Where Method=PDPO: %d rows, want 12", n)
	}
	if n := tab.Filter(func(r Row) bool { return r.Metric("loss") > 5 }).Len(); n != 5 {
		t.Errorf("Filter loss > 5: %d rows, want 5", n)
	}
}

func TestTableOne(t *testing.T) {
	tab := fakeTable(t)
	r, err := tab.One("Beta", 1, "Gamma", 0.0, "Seed", 2)
	if err != nil || r.Metric("loss") != 1.02 {
		t.Errorf("One(β=1 γ=0 seed 2) = loss %v, %v; want 1.02, nil", r.Metric("loss"), err)
	}
	if r, err := tab.One("Method", "PDPO", "Beta", 2.0, "Gamma", 1, "Seed", 3); err != nil || r.Config.Seed != 3 {
		t.Errorf("One(Method=PDPO β=2 γ=1 seed 3) = seed %d, %v", r.Config.Seed, err)
	}
	r, err = tab.One("Beta", 2, "Gamma", 1, "Seed", 2)
	if !errors.Is(err, r.Err) || r.Err == nil || r.Config.Seed != 2 ||
		err.Error() != "lab: Table.One(Beta=2, Gamma=1, Seed=2): the row failed: diverged" {
		t.Errorf("One(the failed row) = row err %v, err %v", r.Err, err)
	}
	for _, c := range []struct {
		args []any
		want string
	}{
		{[]any{"Beta", 1.0, "Gamma", 0}, "lab: Table.One(Beta=1, Gamma=0): 3 rows of 12 match, want one"},
		{[]any{"Beta", 0.5}, "lab: Table.One(Beta=0.5): no row of 12 matches"},
		{[]any{"Method", DPO, "Beta", 1, "Gamma", 0, "Seed", 1}, "lab: Table.One(Method=DPO, Beta=1, Gamma=0, Seed=1): no row of 12 matches"},
		{[]any{"Betta", 1}, `lab: Table.One(Betta=1): Config has no field "Betta"`},
		{[]any{"Method", "XPO"}, `lab: Table.One(Method=XPO): Config.Method: "XPO" names no lab.Method constant (DPO, IPO, CDPO, Distill, EDPO, PDPO, RLHF)`},
		{[]any{"Beta", 1, "Gamma"}, "lab: Table.One(Beta=1): 3 arguments, want field–value pairs"},
		{[]any{1, 2}, "lab: Table.One(1=2): argument 0 (1 of type int) is not a field name"},
	} {
		if _, err := tab.One(c.args...); err == nil || err.Error() != c.want {
			t.Errorf("One(%v): error %v, want %q", c.args, err, c.want)
		}
	}
}

func TestVaryTypedValues(t *testing.T) {
	betas := []float64{0.1, 1}
	methods := []string{"DPO", "PDPO"}
	grid := Grid{Vary("Method", methods...), Vary("Beta", betas...), Vary("Seed", 1, 2), Vary("Gamma", 1, 0.5)}
	cfgs, vals, err := grid.Configs(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 16 || cfgs[15].Method != PDPO || cfgs[15].Beta != 1 || cfgs[15].Seed != 2 || cfgs[15].Gamma != 0.5 {
		t.Fatalf("%d configs, last %+v", len(cfgs), cfgs[len(cfgs)-1])
	}
	// Each axis keeps its values' type; untyped constants take the widest kind.
	if v := vals[0]; v[0] != "DPO" || v[1] != 0.1 || v[2] != 1 || v[3] != 1.0 {
		t.Errorf("values %#v, want string, float64, int, float64", v)
	}
	if a := Vary[float64]("Beta"); len(a.Values) != 0 {
		t.Errorf("an empty axis has values %v", a.Values)
	}
}

func TestTableGroupByCI(t *testing.T) {
	s := fakeTable(t).GroupBy("Beta", "Gamma")
	if len(s.Groups) != 4 {
		t.Fatalf("%d groups, want 4", len(s.Groups))
	}
	g := s.Groups[0] // β=1 γ=0: losses 1.01, 1.02, 1.03: mean 1.02, s = 0.01, CI = 4.3027·0.01/√3
	if g.N != 3 || g.Failed != 0 || math.Abs(g.Mean["loss"]-1.02) > 1e-12 {
		t.Errorf("group 0: n %d failed %d mean %v", g.N, g.Failed, g.Mean["loss"])
	}
	if want := 4.3027 * 0.01 / math.Sqrt(3); math.Abs(g.CI95["loss"]-want) > 1e-12 {
		t.Errorf("group 0 CI95 = %v, want %v", g.CI95["loss"], want)
	}
	g = s.Groups[3] // β=2 γ=1: seeds 1 and 3 only: 12.01, 12.03: s = 0.01414, CI = 12.7062·s/√2
	if g.N != 2 || g.Failed != 1 || math.Abs(g.Mean["loss"]-12.02) > 1e-12 {
		t.Errorf("group 3: n %d failed %d mean %v", g.N, g.Failed, g.Mean["loss"])
	}
	if want := 12.7062 * math.Sqrt(0.0002) / math.Sqrt(2); math.Abs(g.CI95["loss"]-want) > 1e-9 {
		t.Errorf("group 3 CI95 = %v, want %v", g.CI95["loss"], want)
	}
	if m, ci := meanCI95([]float64{5}); m != 5 || !math.IsNaN(ci) {
		t.Errorf("one value: %v ± %v, want 5 ± NaN", m, ci)
	}
	// Beyond the table: t_{0.975,40} = 2.0211, t_{0.975,120} = 1.9799.
	for df, want := range map[int]float64{30: 2.0423, 40: 2.0211, 120: 1.9799} {
		if got := studentT975(df); math.Abs(got-want) > 1e-4 {
			t.Errorf("t(0.975, %d) = %v, want %v", df, got, want)
		}
	}
	var buf bytes.Buffer
	if err := s.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if lines[0] != "Beta,Gamma,n,failed,loss_mean,loss_ci95,kl/forward_mean,kl/forward_ci95" || len(lines) != 5 {
		t.Errorf("summary CSV:\n%s", buf.String())
	}
	if !strings.HasPrefix(lines[1], "1,0,3,0,1.02") {
		t.Errorf("summary CSV row 1 = %q", lines[1])
	}
}

// TestTableTextMarksAbsentMetrics checks that a metric a row does not log
// (Distill's reward accuracy in a DPO row) shows as "—" in the row table and
// in its group's summary, while a logged NaN stays "NaN".
func TestTableTextMarksAbsentMetrics(t *testing.T) {
	tab := &Table{Fields: []string{"Method"}, Metrics: []string{"loss", "reward/heldout_accuracy"}, Rows: []Row{
		{Values: []any{DPO}, Config: Config{Method: DPO}, Metrics: map[string]float64{"loss": 0.5}},
		{Values: []any{Distill}, Config: Config{Method: Distill}, Metrics: map[string]float64{"loss": math.NaN(), "reward/heldout_accuracy": 0.75}},
	}}
	_, rows := tab.cells(nil)
	if rows[0][2] != "—" || rows[1][1] != "NaN" || rows[1][2] != "0.75" {
		t.Errorf("row cells %q", rows)
	}
	_, groups := tab.GroupBy("Method").cells(nil)
	if groups[0][4] != "—" || groups[1][4] != "0.75" {
		t.Errorf("summary cells %q", groups)
	}
}

func TestTableWriteCSV(t *testing.T) {
	tab := fakeTable(t)
	var buf bytes.Buffer
	if err := tab.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 13 || lines[0] != "Beta,Gamma,Seed,error,loss,kl/forward" {
		t.Fatalf("CSV:\n%s", buf.String())
	}
	if lines[1] != "1,0,1,,1.01,0" {
		t.Errorf("row 1 = %q", lines[1])
	}
	if lines[11] != "2,1,2,diverged,NaN,NaN" {
		t.Errorf("failed row = %q", lines[11])
	}
	if txt := tab.Text("loss"); !strings.Contains(txt, "diverged") || !strings.Contains(txt, "12.03") {
		t.Errorf("Text:\n%s", txt)
	}
}

func TestTableHeatmapLines(t *testing.T) {
	tab := fakeTable(t)
	h := tab.Heatmap("Beta", "Gamma", "loss")
	if h.Panels() != 1 {
		t.Fatalf("Heatmap: %d panels, want 1 (Seed is averaged)", h.Panels())
	}
	svg, err := h.SVG()
	if err != nil {
		t.Fatal(err)
	}
	// Cell means: 1.02, 11.02, 2.02, 12.02 (the failed seed left out).
	for _, cell := range []string{">1<", ">11<", ">2<", ">12<"} {
		if !bytes.Contains(svg, []byte(cell)) {
			t.Errorf("heatmap SVG lacks cell label %s", cell)
		}
	}
	// Values on a range whose palette steps round past its end (0.4575…1).
	near := fakeTable(t)
	for i := range near.Rows {
		if near.Rows[i].Err == nil {
			near.Rows[i].Metrics["loss"] = 0.4575 + 0.5425*float64(i%2)
		}
	}
	if _, err := near.Heatmap("Beta", "Gamma", "loss").SVG(); err != nil {
		t.Fatal(err)
	}
	// With Seed as an axis and Gamma left over, one panel per γ.
	if n := tab.Heatmap("Beta", "Seed", "loss").Panels(); n != 2 {
		t.Errorf("Heatmap(Beta, Seed): %d panels, want 2", n)
	}
	l := tab.Lines("Beta", "loss", "Gamma")
	if l.Panels() != 1 {
		t.Fatalf("Lines: %d panels, want 1", l.Panels())
	}
	if _, err := l.SVG(); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/lines.svg"
	if err := l.Save(path); err != nil {
		t.Fatal(err)
	}
	if err := l.Save(t.TempDir() + "/lines.pdf"); err != nil {
		t.Errorf("Save .pdf: %v", err)
	}
	if err := l.Save(t.TempDir() + "/lines.eps"); err == nil {
		t.Error("Save .eps: no error")
	}
	if _, err := (&Table{}).Heatmap("Beta", "Gamma", "loss").SVG(); err == nil {
		t.Error("empty heatmap: no error")
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine("sweep", 64, 256, 3*time.Second, 8)
	want := "sweep [##......]  25% 64/256  elapsed 3s  ETA 9s"
	if got != want {
		t.Errorf("progressLine = %q, want %q", got, want)
	}
	if got := progressLine("s", 0, 10, time.Second, 4); !strings.HasSuffix(got, "ETA ?") {
		t.Errorf("nothing done: %q", got)
	}
	if got := progressLine("s", 10, 10, 90*time.Second, 4); got != "s [####] 100% 10/10  elapsed 1m30s  ETA 0s" {
		t.Errorf("done: %q", got)
	}
	var buf bytes.Buffer
	p := newProgress("x", 4, &buf)
	p.add(2)
	p.finish()
	if !strings.Contains(buf.String(), "\rx [") || !strings.HasSuffix(buf.String(), "\n") {
		t.Errorf("progress output %q", buf.String())
	}
}
