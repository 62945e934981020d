package lab

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestGallery renders sample figures to the folder named by
// $LAB_FIGURES (skipped without it), as PNG, SVG and PDF, for looking at them:
//
//	LAB_FIGURES=/tmp/figs go test ./lab -run Gallery
func TestGallery(t *testing.T) {
	dir := os.Getenv("LAB_FIGURES")
	if dir == "" {
		t.Skip("LAB_FIGURES not set")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var runs []*Run
	for i, name := range []string{"DPO β=0.5", "IPO β=0.5", "cDPO β=0.5 ε=0.1", "Distill β=0.5 AllPairs", "e-DPO β=0.5 γ=0.1", "p-DPO β=0.5 γ=0.1", "RLHF β=0.5", "DPO β=1", "DPO β=2", "p-DPO β=2 γ=0.3"} {
		n := 60
		vals := map[string][]float64{}
		for s := range n {
			x := float64(s) / float64(n-1)
			rate := 0.5 + float64(i)
			vals["prob/a"] = append(vals["prob/a"], 0.25*math.Exp(-rate*3*x)+0.02*float64(i))
			vals["implicit_reward/max_abs"] = append(vals["implicit_reward/max_abs"], math.Pow(10, -30+30*x*float64(i+1)/10))
			vals["kl/forward"] = append(vals["kl/forward"], x*x*float64(i+1))
			vals["mass/train_support"] = append(vals["mass/train_support"], 1-0.9*x*float64(i)/10)
		}
		runs = append(runs, fakeRun(name, vals))
	}
	save := func(name string, fig interface{ Save(string) error }) {
		t.Helper()
		for _, ext := range []string{".png", ".svg", ".pdf"} {
			if err := fig.Save(filepath.Join(dir, name+ext)); err != nil {
				t.Fatal(err)
			}
		}
	}
	save("history", PlotHistory(runs[:3], "prob/a", "implicit_reward/max_abs", "kl/forward", "mass/train_support").LogY("implicit_reward/max_abs"))
	save("history10", PlotHistory(runs, "prob/a", "implicit_reward/max_abs").LogY("implicit_reward/max_abs"))
	save("policy", PlotPolicy(runs[0]))
	var diffs []float64
	for i := range 400 {
		diffs = append(diffs, 30*math.Sin(float64(i)*1.7)+8*math.Cos(float64(i)*0.31))
	}
	save("histogram", PlotHistogram(diffs, 16, "length of chosen minus rejected", "len(y_{w}) − len(y_{l}), words", 0))
	tab := fakeTable(t)
	save("heatmap", tab.Heatmap("Beta", "Seed", "loss"))
	save("heatmaplog", tab.Heatmap("Beta", "Seed", "kl/forward").LogColour())
	save("lines", tab.Lines("Beta", "loss", "Gamma"))
	save("lineslog", tab.Lines("Beta", "kl/forward", "Gamma").LogY())
	var wr Table
	wr.Fields = []string{"Method", "Rho"}
	for mi, m := range []Method{DPO, PDPO, EDPO} {
		for ri, rho := range []float64{0, 0.25, 0.5, 1} {
			rate := 0.5 + 0.1*float64(mi) - 0.05*float64(ri)
			run := &Run{Label: m.String(), Seq: &SeqResult{WinRate: WinRate{Rate: rate, Lo: rate - 0.04, Hi: rate + 0.04}},
				History: &History{Values: map[string][]float64{}}}
			wr.Rows = append(wr.Rows, Row{Values: []any{m, rho}, Config: Config{Method: m, Rho: rho}, Run: run})
		}
	}
	save("winrate", wr.WinRateLines("Rho", "Method"))
}
