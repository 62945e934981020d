package nbformat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const small = `{"cells": [
 {"cell_type": "markdown", "id": "intro", "metadata": {"tags": ["intro"]}, "source": "# Title\nπ‖β <b>"},
 {"cell_type": "code", "id": "c1", "execution_count": 3, "metadata": {}, "source": "fmt.Println(1)\n",
  "outputs": [
   {"output_type": "stream", "name": "stdout", "text": "1\r\n2\n"},
   {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "image/svg+xml": "<svg>\n</svg>", "text/plain": "fig"}, "metadata": {"image/png": {"width": 600}}},
   {"output_type": "error", "ename": "E", "evalue": "v", "traceback": []}
  ]}
 ], "metadata": {"f": 0.5}, "nbformat": 4, "nbformat_minor": 5}`

// smallWant is what Python's nbformat.write writes for small (checked with
// nbformat 5.5; TestMarshalMatchesPython checks many more cases against
// Python itself when it is installed).
const smallWant = `{
 "cells": [
  {
   "cell_type": "markdown",
   "id": "intro",
   "metadata": {
    "tags": [
     "intro"
    ]
   },
   "source": [
    "# Title\n",
    "π‖β <b>"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": 3,
   "id": "c1",
   "metadata": {},
   "outputs": [
    {
     "name": "stdout",
     "output_type": "stream",
     "text": [
      "1\r\n",
      "2\n"
     ]
    },
    {
     "data": {
      "image/png": "iVBORw0KGgo=",
      "image/svg+xml": [
       "<svg>\n",
       "</svg>"
      ],
      "text/plain": [
       "fig"
      ]
     },
     "metadata": {
      "image/png": {
       "width": 600
      }
     },
     "output_type": "display_data"
    },
    {
     "ename": "E",
     "evalue": "v",
     "output_type": "error",
     "traceback": []
    }
   ],
   "source": [
    "fmt.Println(1)\n"
   ]
  }
 ],
 "metadata": {
  "f": 0.5
 },
 "nbformat": 4,
 "nbformat_minor": 5
}
`

func TestMarshalExact(t *testing.T) {
	nb, err := Parse("small.ipynb", []byte(small))
	if err != nil {
		t.Fatal(err)
	}
	got, err := nb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != smallWant {
		t.Errorf("Marshal differs from Python's nbformat.write:\n%s", firstDiff(got, []byte(smallWant)))
	}
}

const sample = `{
 "cells": [
  {"cell_type": "markdown", "metadata": {"tags": ["intro"]}, "source": ["# Title\n", "text"]},
  {"cell_type": "code", "execution_count": 3, "metadata": {"n": 1.50}, "source": "fmt.Println(1)",
   "outputs": [
    {"output_type": "stream", "name": "stdout", "text": ["1\n", "2\n"]},
    {"output_type": "display_data", "data": {"image/png": ["iVBORw0K", "Ggo=\n"], "application/json": {"a": [1, 2]}, "application/x+json": ["a", "b"]}, "metadata": {}},
    {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": ["x"]}, "metadata": {}},
    {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["t1", "t2"]}
   ]},
  {"cell_type": "raw", "metadata": {}, "source": "", "future_field": {"k": 1}}
 ],
 "metadata": {"kernelspec": {"name": "robustpo", "display_name": "Go (robustpo)", "language": "go"}, "custom": 7},
 "nbformat": 4,
 "nbformat_minor": 4
}`

func TestParse(t *testing.T) {
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
	if n := code.Metadata["n"]; n != json.Number("1.50") {
		t.Errorf("metadata number read as %#v, want json.Number(\"1.50\")", n)
	}
	data := code.Outputs[1].Data
	if d := data["image/png"]; d.Raw || d.Text != "iVBORw0KGgo=\n" {
		t.Errorf("PNG lines read as %+v, want them joined", d)
	}
	if d := data["application/json"]; !d.Raw || d.Text != `{"a":[1,2]}` {
		t.Errorf("JSON MIME value kept as %+v", d)
	}
	if d := data["application/x+json"]; !d.Raw || d.Text != `["a","b"]` {
		t.Errorf("a list of strings under a JSON MIME type must stay a list, got %+v", d)
	}
	for i, c := range nb.Cells {
		if !ValidID(c.ID) {
			t.Errorf("cell %d: Parse left id %q", i+1, c.ID)
		}
	}
	out, err := nb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"nbformat_minor": 5`, `"n": 1.5`, `"custom": 7`, `"future_field": {`,
		"\"image/png\": \"iVBORw0KGgo=\\n\"", "\"application/x+json\": [\n       \"a\",",
		"\"text\": [\n      \"1\\n\",\n      \"2\\n\"\n     ]",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("written notebook lacks %q:\n%s", want, out)
		}
	}
}

func TestCellAndOutputJSON(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"code cell without run", &Cell{CellType: "code", ID: "a", Source: MultilineString{Text: "x\ny"}},
			`{"cell_type":"code","execution_count":null,"id":"a","metadata":{},"outputs":[],"source":["x\n","y"]}`},
		{"markdown cell", &Cell{CellType: "markdown", ID: "b", Source: MultilineString{Text: ""}},
			`{"cell_type":"markdown","id":"b","metadata":{},"source":[]}`},
		{"display_data", &Output{OutputType: "display_data", Data: map[string]MultilineString{"text/plain": {Text: "a"}}},
			`{"data":{"text/plain":["a"]},"metadata":{},"output_type":"display_data"}`},
		{"execute_result", &Output{OutputType: "execute_result", Data: map[string]MultilineString{"image/png": {Text: "QQ=="}}},
			`{"data":{"image/png":"QQ=="},"execution_count":null,"metadata":{},"output_type":"execute_result"}`},
		{"stream", &Output{OutputType: "stream", Name: "stdout"}, `{"name":"stdout","output_type":"stream","text":[]}`},
		{"error", &Output{OutputType: "error", EName: "E"}, `{"ename":"E","evalue":"","output_type":"error","traceback":[]}`},
	}
	for _, c := range cases {
		got, err := json.Marshal(c.v)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%s: JSON\n %s\nwant\n %s", c.name, got, c.want)
		}
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
		{"cells not a list", `{"nbformat": 4, "cells": {}}`, `"cells" is an object, want a list`, true},
		{"bad cell type", `{"nbformat": 4, "cells": [{"cell_type": "widget", "source": ""}]}`, `cell 1: not a Jupyter notebook: unknown cell_type "widget"`, true},
		{"null cell", `{"nbformat": 4, "cells": [null]}`, `cell 1: not a Jupyter notebook: null cell`, true},
		{"number source", `{"nbformat": 4, "cells": [{"cell_type": "code", "source": 5}]}`, `cell 1: not a Jupyter notebook: "source" is a number, want a string or a list of strings`, true},
		{"bad output", `{"nbformat": 4, "cells": [{"cell_type": "code", "source": "", "outputs": [{"output_type": "stream", "text": [1]}]}]}`, `cell 1: not a Jupyter notebook: output 1: "text" is a list`, true},
		{"float count", `{"nbformat": 4, "cells": [{"cell_type": "code", "source": "", "execution_count": 1.5}]}`, `"execution_count" is a number, want an integer`, true},
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

// The expected values below are Python's (str.splitlines(True), repr of
// the float json.loads reads, json.dumps with ensure_ascii=False).
func TestSplitLines(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"\n", []string{"\n"}},
		{"x", []string{"x"}},
		{"a\r\nb\rc\nd", []string{"a\r\n", "b\r", "c\n", "d"}},
		{"\r\r\n\n", []string{"\r", "\r\n", "\n"}},
		{"a\u2028b\u2029c\vd\fe\x1cf\x1dg\x1eh\u0085i", []string{"a\u2028", "b\u2029", "c\v", "d\f", "e\x1c", "f\x1d", "g\x1e", "h\u0085", "i"}},
		{"tab\tπ‖β\x1f", []string{"tab\tπ‖β\x1f"}},
	}
	for _, c := range cases {
		if got := splitLines(c.in); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", c.want) {
			t.Errorf("splitLines(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPyNumber(t *testing.T) {
	cases := []struct{ in, want string }{
		{"1.0", "1.0"}, {"2.50", "2.5"}, {"1e-3", "0.001"}, {"1E5", "100000.0"}, {"1e16", "1e+16"},
		{"1e15", "1000000000000000.0"}, {"123456789012345678.0", "1.2345678901234568e+17"}, {"1e22", "1e+22"},
		{"-0.0", "-0.0"}, {"0", "0"}, {"-0", "0"}, {"0.0001", "0.0001"}, {"0.00001", "1e-05"},
		{"1.5e-7", "1.5e-07"}, {"5e-324", "5e-324"}, {"1.7976931348623157e308", "1.7976931348623157e+308"},
		{"0.1", "0.1"}, {"100", "100"}, {"-12.5e3", "-12500.0"}, {"1e400", "Infinity"}, {"3.14159", "3.14159"},
		{"123456789012345678901234567890", "123456789012345678901234567890"},
	}
	for _, c := range cases {
		got, err := pyNumber(c.in)
		if err != nil || got != c.want {
			t.Errorf("pyNumber(%s) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
}

func TestPyString(t *testing.T) {
	var b bytes.Buffer
	writePyString(&b, "\x00\x07\x1f\x7f\"\\/<>&\u2028é😀\t\b\f\r\n")
	if want := `"\u0000\u0007\u001f` + "\x7f" + `\"\\/<>&` + "\u2028é😀" + `\t\b\f\r\n"`; b.String() != want {
		t.Errorf("writePyString = %s, want %s", b.String(), want)
	}
}

func TestAssignIDs(t *testing.T) {
	md := func(id, src string) *Cell {
		return &Cell{CellType: "markdown", ID: id, Source: MultilineString{Text: src}}
	}
	build := func() *Notebook {
		return &Notebook{Cells: []*Cell{
			md("", "same"), md("", "same"), md("kept_1-A", "x"), md("kept_1-A", "dup"),
			md("has space", "bad"), md(strings.Repeat("a", 65), "long"), md(strings.Repeat("b", 64), "ok"),
		}}
	}
	nb := build()
	if n := nb.AssignIDs(); n != 5 {
		t.Errorf("AssignIDs set %d ids, want 5 (2 missing, 1 duplicate, 2 invalid)", n)
	}
	seen := map[string]bool{}
	for i, c := range nb.Cells {
		if !ValidID(c.ID) || seen[c.ID] {
			t.Errorf("cell %d: id %q invalid or repeated", i+1, c.ID)
		}
		seen[c.ID] = true
	}
	if nb.Cells[2].ID != "kept_1-A" || nb.Cells[6].ID != strings.Repeat("b", 64) {
		t.Errorf("valid ids not kept: %q, %q", nb.Cells[2].ID, nb.Cells[6].ID)
	}
	if n := nb.AssignIDs(); n != 0 {
		t.Errorf("second AssignIDs changed %d ids", n)
	}
	again := build()
	again.AssignIDs()
	for i := range nb.Cells {
		if again.Cells[i].ID != nb.Cells[i].ID {
			t.Errorf("cell %d: id %q on one run, %q on another", i+1, nb.Cells[i].ID, again.Cells[i].ID)
		}
	}

	// An existing id equal to the one a new cell would get is kept, and the
	// new cell gets another.
	natural := nb.Cells[0].ID
	clash := &Notebook{Cells: []*Cell{md("", "same"), md(natural, "other")}}
	clash.AssignIDs()
	if clash.Cells[1].ID != natural || clash.Cells[0].ID == natural || !ValidID(clash.Cells[0].ID) {
		t.Errorf("collision with an existing id: ids %q, %q (natural %q)", clash.Cells[0].ID, clash.Cells[1].ID, natural)
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "A-b_9": true, strings.Repeat("x", 64): true,
		"": false, strings.Repeat("x", 65): false, "a b": false, "a.b": false, "é": false, "a/b": false,
	} {
		if ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v", id, !want)
		}
	}
}
