package lab

import (
	"encoding/gob"
	"io"
	"strings"
	"testing"

	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// Tests of what the lab's Display methods send; the bundles' formats are
// tested in package render.

func TestFigureDisplayBundle(t *testing.T) {
	a := fakeRun("DPO β=0.5", map[string][]float64{"prob/a": {0.25, 0.1, 0.01}, "kl/forward": {0, 0.5, 2},
		"implicit_reward/max_abs": {0, 3, 40}, "grad_weight": {0.5, 0.3, 0.1}})
	b := fakeRun("PDPO β=0.5 γ=0.1", map[string][]float64{"prob/a": {0.25, 0.2, 0.15}, "kl/forward": {0, 0.1, 0.2},
		"implicit_reward/max_abs": {0, 1, 2}, "grad_weight": {0.5, 0.4, 0.35}})
	d := PlotHistory([]*Run{a, b}, "prob/a", "implicit_reward/max_abs", "kl/forward", "grad_weight").LogY("implicit_reward/max_abs").bundle()
	if got, want := d.Data[protocol.MIMETextPlain], "Figure: probability of a; largest implicit reward; forward KL to the reference; DPO gradient weight (4 panels)"; got != want {
		t.Errorf("text/plain = %q, want %q", got, want)
	}
	if len(d.Data) != 4 {
		t.Errorf("bundle %v, want PNG, SVG, PDF and text", keys(d))
	}
	d = fakeTable(t).Heatmap("Beta", "Seed", "kl/forward").bundle()
	if got := d.Data[protocol.MIMETextPlain]; got != "Figure: γ = 0; γ = 1 (2 panels)" {
		t.Errorf("heatmap text/plain = %q", got)
	}
	// A figure without panels shows its error as text.
	d = (&Table{}).Heatmap("Beta", "Gamma", "loss").bundle()
	if s, _ := d.Data[protocol.MIMETextPlain].(string); len(d.Data) != 2 || !strings.Contains(s, "no panels") {
		t.Errorf("empty heatmap bundle %v", d.Data)
	}
}

func TestTableDisplayBundle(t *testing.T) {
	tab := fakeTable(t)
	for name, d := range map[string]*protocol.DisplayData{
		"Table":   tab.bundle([]string{"loss"}),
		"Summary": tab.GroupBy("Beta").bundle(nil),
	} {
		h, _ := d.Data[protocol.MIMETextHTML].(string)
		txt, _ := d.Data[protocol.MIMETextPlain].(string)
		if len(d.Data) != 2 || !strings.HasPrefix(h, "<table") || !strings.Contains(txt, "Beta") {
			t.Errorf("%s bundle: html %q…, text %q…", name, h[:min(len(h), 40)], txt[:min(len(txt), 40)])
		}
		if err := gob.NewEncoder(io.Discard).Encode(d); err != nil {
			t.Errorf("%s bundle does not gob-encode: %v", name, err)
		}
	}
	if txt := tab.bundle([]string{"loss"}).Data[protocol.MIMETextPlain].(string); !strings.Contains(txt, tab.Text("loss")) {
		t.Errorf("Table text/plain is not its Text:\n%s", txt)
	}
	tab.Display("loss") // no-op outside a notebook
}
