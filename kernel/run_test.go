package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robustpo/robustpo/kernel/htmlexport"
	"github.com/robustpo/robustpo/kernel/jupyter"
	"github.com/robustpo/robustpo/kernel/kernelspec"
	"github.com/robustpo/robustpo/kernel/nbformat"
)

// msg builds an iopub message of type typ with JSON content.
func msg(typ, content string) *jupyter.Message {
	return &jupyter.Message{Header: jupyter.Header{MsgType: typ}, Content: json.RawMessage(content)}
}

// A 1×1 PNG, and a figure bundle as the lab sends it: PNG, SVG, PDF and a
// text/plain fallback, with the PNG's size in the metadata.
const (
	testPNG    = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	testPDF    = "JVBERi0xLjQKJcOkw7zDtsOfCg=="
	testSVG    = `<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"4\" height=\"4\">\n<rect id=\"r\"/>\n</svg>\n`
	figureJSON = `{"data": {"image/png": "` + testPNG + `", "image/svg+xml": "` + testSVG + `", "application/pdf": "` + testPDF + `", "text/plain": "Figure 4×4"},
		"metadata": {"image/png": {"width": 600, "height": 400}}, "transient": {}}`
	tableJSON = `{"data": {"text/html": "<table><tr><td>β</td></tr></table>", "text/plain": "β\n-\n1\n"}, "metadata": {}}`
)

func TestOutputCollectorFigureBundle(t *testing.T) {
	oc := &outputCollector{}
	for _, m := range []*jupyter.Message{
		msg("stream", `{"name": "stdout", "text": "a\n"}`),
		msg("stream", `{"name": "stdout", "text": "b\n"}`),
		msg("display_data", figureJSON),
		msg("display_data", tableJSON),
		msg("display_data", `{"data": {"text/html": "<pre>epoch 1</pre>"}, "metadata": {}, "transient": {"display_id": "p1"}}`),
		msg("update_display_data", `{"data": {"text/html": "<pre>epoch 2</pre>"}, "metadata": {}, "transient": {"display_id": "p1"}}`),
		msg("execute_result", `{"data": {"text/plain": "42"}, "metadata": {}, "execution_count": 7}`),
	} {
		oc.handle(m)
	}
	types := []string{}
	for _, o := range oc.outputs {
		types = append(types, o.OutputType)
	}
	if got := strings.Join(types, " "); got != "stream display_data display_data display_data execute_result" {
		t.Fatalf("outputs %s", got)
	}
	fig := oc.outputs[1]
	if len(fig.Data) != 4 || fig.Data["image/png"].Text != testPNG || !strings.HasPrefix(fig.Data["image/svg+xml"].Text, "<?xml") {
		t.Errorf("figure bundle kept as %+v", fig.Data)
	}
	if got := oc.outputs[3].Data["text/html"].Text; got != "<pre>epoch 2</pre>" {
		t.Errorf("update_display_data left %q in place of the progress line", got)
	}
	if n := len(oc.kept()); n != len(oc.outputs) {
		t.Errorf("kept %d of %d outputs, none of them empty", n, len(oc.outputs))
	}

	// In the written notebook the SVG and text are lists of lines, PNG and
	// PDF one base64 string each, and the metadata integers stay integers.
	one := 1
	nb := &nbformat.Notebook{Cells: []*nbformat.Cell{{CellType: "code", ExecutionCount: &one, Outputs: oc.outputs}}}
	data, err := nb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"image/png": "` + testPNG + `"`, `"application/pdf": "` + testPDF + `"`,
		"\"image/svg+xml\": [\n       \"<?xml version=\\\"1.0\\\"?>\\n\",",
		"\"text/plain\": [\n       \"Figure 4×4\"\n      ]",
		"\"image/png\": {\n       \"height\": 400,\n       \"width\": 600\n      }",
		"\"text\": [\n      \"a\\n\",\n      \"b\\n\"\n     ]",
		`"execution_count": 7`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("written notebook lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "transient") || strings.Contains(string(data), "display_id") {
		t.Errorf("transient data written to the notebook:\n%s", data)
	}

	// The HTML page shows the SVG inline and the table's HTML; no base64
	// and no text/plain copies.
	page, err := htmlexport.Render(nb, "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">`, "<table><tr><td>β</td></tr></table>", "epoch 2"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, deny := range []string{testPNG[:16], testPDF[:12], "Figure 4×4", "β\n-\n1", "epoch 1"} {
		if strings.Contains(string(page), deny) {
			t.Errorf("page shows %q", deny)
		}
	}
	// A progress block erased at the end (its display updated to "") is not saved.
	oc.handle(msg("update_display_data", `{"data": {"text/html": ""}, "metadata": {}, "transient": {"display_id": "p1"}}`))
	if kept := oc.kept(); len(kept) != len(oc.outputs)-1 || kept[3].OutputType != "execute_result" {
		t.Errorf("an erased progress block was kept: %d of %d outputs", len(kept), len(oc.outputs))
	}
}

func TestRecordKernel(t *testing.T) {
	gonbInfo := map[string]any{"name": "go", "version": "go1.26.8", "mimetype": "text/x-go", "file_extension": ".go",
		"pygments_lexer": "", "codemirror_mode": "", "nbconvert_exporter": ""}
	cases := []struct {
		name     string
		metadata map[string]any
		kernel   string
		info     map[string]any
		want     string // metadata as compact JSON
	}{
		{"empty metadata, default kernel", map[string]any{}, "", gonbInfo,
			`{"kernelspec":{"display_name":"` + kernelspec.DisplayName + `","language":"go","name":"robustpo"},"language_info":{"codemirror_mode":"","file_extension":".go","mimetype":"text/x-go","name":"go","nbconvert_exporter":"","pygments_lexer":"","version":"go1.26.8"}}`},
		{"stale display name of ours replaced, other metadata kept",
			map[string]any{"kernelspec": map[string]any{"name": "robustpo", "display_name": "Go", "language": "go"}, "language_info": map[string]any{"name": "go"}, "x": 1},
			"robustpo", gonbInfo,
			`{"kernelspec":{"display_name":"` + kernelspec.DisplayName + `","language":"go","name":"robustpo"},"language_info":{"codemirror_mode":"","file_extension":".go","mimetype":"text/x-go","name":"go","nbconvert_exporter":"","pygments_lexer":"","version":"go1.26.8"},"x":1}`},
		{"gonb's own kernelspec keeps its display name",
			map[string]any{"kernelspec": map[string]any{"name": "gonb", "display_name": "Go (gonb)", "language": "go"}},
			"gonb", map[string]any{"name": "go"},
			`{"kernelspec":{"display_name":"Go (gonb)","language":"go","name":"gonb"},"language_info":{"name":"go"}}`},
		{"--kernel over the notebook's, no language_info in the reply",
			map[string]any{"kernelspec": map[string]any{"name": "gonb", "display_name": "Go (gonb)", "language": "go"}, "language_info": map[string]any{"name": "go"}},
			"go", nil,
			`{"kernelspec":{"display_name":"` + kernelspec.DisplayName + `","language":"go","name":"go"}}`},
		{"a per-checkout kernel gets the display name its install writes",
			map[string]any{}, "robustpo-1a2b3c4d", nil,
			`{"kernelspec":{"display_name":"Go (robustpo: robustpo)","language":"go","name":"robustpo-1a2b3c4d"}}`},
	}
	for _, c := range cases {
		nb := &nbformat.Notebook{Metadata: c.metadata}
		recordKernel(nb, c.kernel, "/src/robustpo", jupyter.KernelInfo{LanguageInfo: c.info})
		got, _ := json.Marshal(nb.Metadata)
		if string(got) != c.want {
			t.Errorf("%s: metadata\n %s\nwant\n %s", c.name, got, c.want)
		}
	}
}

func TestReplDisplay(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	r := &repl{out: &out, errOut: &errOut, richDir: dir, session: "s"}
	show := func(content string) {
		var d jupyter.DisplayContent
		if err := msg("display_data", content).Decode(&d); err != nil {
			t.Fatal(err)
		}
		r.display(d)
	}
	show(figureJSON)
	show(tableJSON)
	for i := range 5 {
		show(`{"data": {"text/html": "<pre>epoch ` + string(rune('1'+i)) + ` &amp; more</pre>"}, "metadata": {}, "transient": {"display_id": "p"}}`)
	}
	show(`{"data": {"text/html": "<b>only html</b>"}, "metadata": {}}`)

	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for i := range files {
		files[i] = filepath.Base(files[i])
	}
	if got := strings.Join(files, " "); got != "s-001.png s-001.svg s-002.html" {
		t.Errorf("saved files %s, want the figure's PNG and SVG and one HTML page (no table, no progress files)", got)
	}
	png, _ := os.ReadFile(filepath.Join(dir, "s-001.png"))
	if want, _ := base64.StdEncoding.DecodeString(testPNG); !bytes.Equal(png, want) {
		t.Errorf("saved PNG is not the decoded image/png data")
	}
	if svg, _ := os.ReadFile(filepath.Join(dir, "s-001.svg")); !strings.Contains(string(svg), `<rect id="r"/>`) {
		t.Errorf("saved SVG %q", svg)
	}
	s := out.String()
	for _, want := range []string{"[figure: " + filepath.Join(dir, "s-001.png") + " .svg]\n",
		"β\n-\n1\n", "\repoch 5 & more\x1b[K\n[HTML: " + filepath.Join(dir, "s-002.html") + "]\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, s)
		}
	}
	if strings.Contains(s, "<table>") || strings.Contains(s, "Figure 4×4") || strings.Contains(s, testPDF) {
		t.Errorf("terminal shows the table's HTML, the figure's text or base64:\n%s", s)
	}
	if errOut.Len() > 0 {
		t.Errorf("stderr: %s", errOut.String())
	}
}

func TestKnownKernelNames(t *testing.T) {
	for name, want := range map[string]bool{
		"robustpo": true, "gonb": true, "go": true, "robustpo-1a2b3c4d": true, "robustpo-test": true,
		"robustpo-": false, "robustpo-a/b": false, "python3": false, "robustpo-<hash>": false,
	} {
		if got := isKnownKernel(name); got != want {
			t.Errorf("isKnownKernel(%q) = %v, want %v", name, got, want)
		}
	}
}
