// Package nbformat reads and writes Jupyter notebooks (nbformat 4).
//
// Load validates what a runner needs before starting a kernel: the file
// exists, is JSON, is an object with nbformat ≥ 4 and a "cells" list whose
// cells have a known cell_type. Unknown fields are preserved on write
// (cell and notebook metadata are kept as raw JSON maps).
package nbformat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Notebook is an nbformat 4 notebook.
type Notebook struct {
	Cells         []*Cell        `json:"cells"`
	Metadata      map[string]any `json:"metadata"`
	NBFormat      int            `json:"nbformat"`
	NBFormatMinor int            `json:"nbformat_minor"`
}

// Cell is one notebook cell. Source is kept as a single string (nbformat
// allows a string or a list of lines; both are read, a string is written).
type Cell struct {
	CellType       string         `json:"cell_type"` // "code", "markdown" or "raw"
	ID             string         `json:"id,omitempty"`
	Metadata       map[string]any `json:"metadata"`
	Source         MultilineString
	ExecutionCount *int      `json:"execution_count,omitempty"`
	Outputs        []*Output `json:"outputs,omitempty"`
	Attachments    any       `json:"attachments,omitempty"`
}

// Output is one code-cell output. OutputType selects the fields used:
//   - "stream": Name ("stdout"/"stderr"), Text;
//   - "display_data": Data, Metadata;
//   - "execute_result": Data, Metadata, ExecutionCount;
//   - "error": EName, EValue, Traceback.
type Output struct {
	OutputType     string                     `json:"output_type"`
	Name           string                     `json:"name,omitempty"`
	Text           *MultilineString           `json:"text,omitempty"`
	Data           map[string]MultilineString `json:"data,omitempty"`
	Metadata       map[string]any             `json:"metadata,omitempty"`
	ExecutionCount *int                       `json:"execution_count,omitempty"`
	EName          string                     `json:"ename,omitempty"`
	EValue         string                     `json:"evalue,omitempty"`
	Traceback      []string                   `json:"traceback,omitempty"`
}

// MultilineString is nbformat's "string or list of strings" (joined on read).
// MIME bundle values that are JSON objects (e.g. application/json) are kept
// as their raw JSON text with Raw set.
type MultilineString struct {
	Text string
	Raw  bool // Text holds raw JSON (not a string) to be written back verbatim
}

// UnmarshalJSON accepts a string, a list of strings, or (for MIME data) any
// other JSON value, kept raw.
func (m *MultilineString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		m.Raw = false
		return json.Unmarshal(b, &m.Text)
	case len(b) > 0 && b[0] == '[':
		var parts []string
		if err := json.Unmarshal(b, &parts); err == nil {
			m.Text, m.Raw = strings.Join(parts, ""), false
			return nil
		}
	}
	m.Text, m.Raw = string(b), true
	return nil
}

// MarshalJSON writes the text as one JSON string, or raw JSON when Raw.
func (m MultilineString) MarshalJSON() ([]byte, error) {
	if m.Raw {
		return []byte(m.Text), nil
	}
	return json.Marshal(m.Text)
}

// cellJSON is the wire form of Cell (source under its JSON name; outputs
// and execution_count present exactly for code cells, as nbformat requires).
type cellJSON struct {
	CellType       string          `json:"cell_type"`
	ID             string          `json:"id,omitempty"`
	Metadata       map[string]any  `json:"metadata"`
	Source         MultilineString `json:"source"`
	ExecutionCount *int            `json:"execution_count,omitempty"`
	Outputs        []*Output       `json:"outputs,omitempty"`
	Attachments    any             `json:"attachments,omitempty"`
}

type codeCellJSON struct {
	CellType       string          `json:"cell_type"`
	ID             string          `json:"id,omitempty"`
	Metadata       map[string]any  `json:"metadata"`
	Source         MultilineString `json:"source"`
	ExecutionCount *int            `json:"execution_count"`
	Outputs        []*Output       `json:"outputs"`
}

// UnmarshalJSON reads a cell.
func (c *Cell) UnmarshalJSON(b []byte) error {
	var w cellJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Cell{CellType: w.CellType, ID: w.ID, Metadata: w.Metadata, Source: w.Source,
		ExecutionCount: w.ExecutionCount, Outputs: w.Outputs, Attachments: w.Attachments}
	return nil
}

// MarshalJSON writes a cell; code cells always carry execution_count (null
// when not run) and outputs.
func (c *Cell) MarshalJSON() ([]byte, error) {
	md := c.Metadata
	if md == nil {
		md = map[string]any{}
	}
	if c.CellType == "code" {
		outs := c.Outputs
		if outs == nil {
			outs = []*Output{}
		}
		return json.Marshal(codeCellJSON{c.CellType, c.ID, md, c.Source, c.ExecutionCount, outs})
	}
	return json.Marshal(cellJSON{CellType: c.CellType, ID: c.ID, Metadata: md, Source: c.Source, Attachments: c.Attachments})
}

// ErrNotNotebook marks a file that is JSON but not an nbformat ≥ 4 notebook.
var ErrNotNotebook = errors.New("not a Jupyter notebook")

// Parse decodes and validates notebook JSON. name is used in error messages.
func Parse(name string, data []byte) (*Notebook, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			return nil, fmt.Errorf("%s:%d: invalid JSON: %w", name, line, err)
		}
		return nil, fmt.Errorf("%s: invalid JSON: %w", name, err)
	}
	rawVer, ok := probe["nbformat"]
	if !ok {
		return nil, fmt.Errorf("%s: %w: no \"nbformat\" field", name, ErrNotNotebook)
	}
	var ver int
	if err := json.Unmarshal(rawVer, &ver); err != nil {
		return nil, fmt.Errorf("%s: %w: field \"nbformat\" is %s, want an integer", name, ErrNotNotebook, rawVer)
	}
	if ver < 4 {
		return nil, fmt.Errorf("%s: nbformat %d is not supported (need 4 or later; convert it with `jupyter nbconvert --to notebook`)", name, ver)
	}
	if _, ok := probe["cells"]; !ok {
		return nil, fmt.Errorf("%s: %w: no \"cells\" list", name, ErrNotNotebook)
	}
	nb := &Notebook{}
	if err := json.Unmarshal(data, nb); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrNotNotebook, err)
	}
	for i, c := range nb.Cells {
		if c == nil {
			return nil, fmt.Errorf("%s: cell %d: %w: null cell", name, i+1, ErrNotNotebook)
		}
		switch c.CellType {
		case "code", "markdown", "raw":
		default:
			return nil, fmt.Errorf("%s: cell %d: %w: unknown cell_type %q", name, i+1, ErrNotNotebook, c.CellType)
		}
	}
	if nb.Metadata == nil {
		nb.Metadata = map[string]any{}
	}
	return nb, nil
}

// Load reads and validates the notebook at path.
func Load(path string) (*Notebook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return Parse(path, data)
}

// Marshal encodes the notebook as indented JSON (one space, as Jupyter
// writes it) with a trailing newline.
func (nb *Notebook) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(nb); err != nil {
		return nil, fmt.Errorf("encoding notebook: %w", err)
	}
	return buf.Bytes(), nil
}

// KernelName returns metadata.kernelspec.name, or "" when absent.
func (nb *Notebook) KernelName() string {
	ks, _ := nb.Metadata["kernelspec"].(map[string]any)
	name, _ := ks["name"].(string)
	return name
}

// TextString returns the text of a stream output, or "".
func (o *Output) TextString() string {
	if o.Text == nil {
		return ""
	}
	return o.Text.Text
}

// MarshalJSON writes an output with exactly the fields nbformat 4 requires
// for its output_type (display_data and execute_result always carry
// metadata; execute_result carries execution_count, null when unknown).
func (o *Output) MarshalJSON() ([]byte, error) {
	md := o.Metadata
	if md == nil {
		md = map[string]any{}
	}
	data := o.Data
	if data == nil {
		data = map[string]MultilineString{}
	}
	switch o.OutputType {
	case "stream":
		text := MultilineString{}
		if o.Text != nil {
			text = *o.Text
		}
		return json.Marshal(struct {
			OutputType string          `json:"output_type"`
			Name       string          `json:"name"`
			Text       MultilineString `json:"text"`
		}{o.OutputType, o.Name, text})
	case "display_data":
		return json.Marshal(struct {
			OutputType string                     `json:"output_type"`
			Data       map[string]MultilineString `json:"data"`
			Metadata   map[string]any             `json:"metadata"`
		}{o.OutputType, data, md})
	case "execute_result":
		return json.Marshal(struct {
			OutputType     string                     `json:"output_type"`
			Data           map[string]MultilineString `json:"data"`
			Metadata       map[string]any             `json:"metadata"`
			ExecutionCount *int                       `json:"execution_count"`
		}{o.OutputType, data, md, o.ExecutionCount})
	case "error":
		tb := o.Traceback
		if tb == nil {
			tb = []string{}
		}
		return json.Marshal(struct {
			OutputType string   `json:"output_type"`
			EName      string   `json:"ename"`
			EValue     string   `json:"evalue"`
			Traceback  []string `json:"traceback"`
		}{o.OutputType, o.EName, o.EValue, tb})
	}
	type plain Output // unknown output types: write every field we hold
	return json.Marshal((*plain)(o))
}
