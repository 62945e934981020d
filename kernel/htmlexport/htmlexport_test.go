package htmlexport

import (
	"strings"
	"testing"

	"github.com/robustpo/robustpo/kernel/nbformat"
)

func ms(s string) nbformat.MultilineString { return nbformat.MultilineString{Text: s} }

func TestRender(t *testing.T) {
	one := 1
	text := ms("out <1>\n")
	errText := ms("\x1b[31mwarn\x1b[0m\n")
	nb := &nbformat.Notebook{NBFormat: 4, Cells: []*nbformat.Cell{
		{CellType: "markdown", Source: ms("# Head\n\n**bold** and `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")},
		{CellType: "code", Source: ms("x := a < b"), ExecutionCount: &one, Outputs: []*nbformat.Output{
			{OutputType: "stream", Name: "stdout", Text: &text},
			{OutputType: "stream", Name: "stderr", Text: &errText},
			{OutputType: "display_data", Data: map[string]nbformat.MultilineString{
				"image/svg+xml": ms(`<svg id="s1"></svg>`), "text/plain": ms("fallback")}},
			{OutputType: "display_data", Data: map[string]nbformat.MultilineString{"image/png": ms("iVBO\nRw0K\n")}},
			{OutputType: "execute_result", Data: map[string]nbformat.MultilineString{"text/html": ms(`<b id="h">hi</b>`)}},
			{OutputType: "error", EName: "E", EValue: "v", Traceback: []string{"\x1b[1mline1\x1b[0m", "line2"}},
		}},
		{CellType: "raw", Source: ms("<raw>")},
	}}
	page, err := Render(nb, "T <1>")
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, want := range []string{
		"<!DOCTYPE html>", "<title>T &lt;1&gt;</title>", "<style>",
		"<h1>Head</h1>", "<strong>bold</strong>", "<code>code</code>", "<table>", "<td>1</td>",
		"In [1]:", "x := a &lt; b", "out &lt;1&gt;", `class="output stream stderr"><pre>warn`,
		`<svg id="s1"></svg>`, `src="data:image/png;base64,iVBORw0K"`, `<b id="h">hi</b>`,
		"line1\nline2", "&lt;raw&gt;",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(s, "fallback") {
		t.Errorf("text/plain shown although SVG was preferred")
	}
	if strings.Contains(s, "\x1b") {
		t.Errorf("ANSI escapes left in the page")
	}
	if rest := strings.Replace(s, mathJaxURL, "", 1); strings.Contains(rest, "http://") || strings.Contains(rest, "https://") {
		t.Errorf("page refers to external resources other than MathJax")
	}
}

func TestStripANSI(t *testing.T) {
	if got := StripANSI("\x1b[7m[[ Cell [2] Line 1 ]]\x1b[0m x"); got != "[[ Cell [2] Line 1 ]] x" {
		t.Errorf("StripANSI = %q", got)
	}
}
