package nbformat

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const sample = `{
 "cells": [
  {"cell_type": "markdown", "metadata": {"tags": ["intro"]}, "source": ["# Title\n", "text"]},
  {"cell_type": "code", "execution_count": 3, "metadata": {}, "source": "fmt.Println(1)",
   "outputs": [
    {"output_type": "stream", "name": "stdout", "text": ["1\n", "2\n"]},
    {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=\n", "application/json": {"a": [1, 2]}}, "metadata": {}},
    {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": ["x"]}, "metadata": {}},
    {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["t1", "t2"]}
   ]},
  {"cell_type": "raw", "metadata": {}, "source": ""}
 ],
 "metadata": {"kernelspec": {"name": "robustpo", "display_name": "Go (robustpo)", "language": "go"}, "custom": 7},
 "nbformat": 4,
 "nbformat_minor": 5
}`

func TestParseAndRoundTrip(t *testing.T) {
	nb, err := Parse("sample.ipynb", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if nb.KernelName() != "robustpo" {
		t.Errorf("KernelName %q", nb.KernelName())
	}
	if got := nb.Cells[0].Source.Text; got != "# Title\ntext" {
		t.Errorf("list source joined to %q", got)
	}
	code := nb.Cells[1]
	if *code.ExecutionCount != 3 || code.Outputs[0].TextString() != "1\n2\n" {
		t.Errorf("code cell %+v", code)
	}
	if d := code.Outputs[1].Data["application/json"]; !d.Raw || d.Text != `{"a": [1, 2]}` {
		t.Errorf("JSON MIME value kept as %+v", d)
	}
	data, err := nb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Re-parse and compare as generic JSON with the original (list sources
	// become strings; everything else is preserved).
	var a, b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatalf("marshalled notebook is not JSON: %v\n%s", err, data)
	}
	_ = json.Unmarshal([]byte(sample), &a)
	a["cells"].([]any)[0].(map[string]any)["source"] = "# Title\ntext"
	outs := a["cells"].([]any)[1].(map[string]any)["outputs"].([]any)
	outs[0].(map[string]any)["text"] = "1\n2\n"
	outs[2].(map[string]any)["data"].(map[string]any)["text/plain"] = "x"
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("round trip changed the notebook:\n got %s\nwant %s", jb, ja)
	}
}

func TestCodeCellAlwaysHasCountAndOutputs(t *testing.T) {
	c := &Cell{CellType: "code", Source: MultilineString{Text: "x"}}
	data, _ := json.Marshal(c)
	if !strings.Contains(string(data), `"execution_count":null`) || !strings.Contains(string(data), `"outputs":[]`) {
		t.Errorf("code cell JSON %s lacks execution_count null or outputs []", data)
	}
	m := &Cell{CellType: "markdown", Source: MultilineString{Text: "x"}}
	data, _ = json.Marshal(m)
	if strings.Contains(string(data), "outputs") || strings.Contains(string(data), "execution_count") {
		t.Errorf("markdown cell JSON %s must not carry outputs or execution_count", data)
	}
	d, _ := json.Marshal(&Output{OutputType: "display_data", Data: map[string]MultilineString{"text/plain": {Text: "a"}}})
	if string(d) != `{"output_type":"display_data","data":{"text/plain":"a"},"metadata":{}}` {
		t.Errorf("display_data JSON %s", d)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, data, want string
		notNB            bool
	}{
		{"syntax", "{\n\"cells\": [,\n]}", "x.ipynb:2: invalid JSON", false},
		{"array", `[1]`, "x.ipynb: invalid JSON", false},
		{"no nbformat", `{"cells": []}`, `no "nbformat" field`, true},
		{"string nbformat", `{"nbformat": "4", "cells": []}`, `field "nbformat" is "4"`, true},
		{"v3", `{"nbformat": 3, "worksheets": []}`, "nbformat 3 is not supported", false},
		{"no cells", `{"nbformat": 4, "metadata": {}}`, `no "cells" list`, true},
		{"bad cell type", `{"nbformat": 4, "cells": [{"cell_type": "widget", "source": ""}]}`, `cell 1: not a Jupyter notebook: unknown cell_type "widget"`, true},
	}
	for _, c := range cases {
		_, err := Parse("x.ipynb", []byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to contain %q", c.name, err, c.want)
		}
		if err != nil && errors.Is(err, ErrNotNotebook) != c.notNB {
			t.Errorf("%s: errors.Is(err, ErrNotNotebook) = %v, want %v", c.name, !c.notNB, c.notNB)
		}
	}
}
