// Package nbformat reads and writes Jupyter notebooks (nbformat 4.5).
//
// Load validates what a runner needs before starting a kernel: the file
// exists, is JSON, is an object with nbformat ≥ 4 and a "cells" list whose
// cells have a known cell_type. Marshal writes a notebook byte for byte as
// Python's nbformat.write does (and so as Jupyter saves it): keys sorted,
// one-space indent, non-ASCII unescaped, multi-line text as lists of lines,
// numbers as Python reads and writes them, and every cell with a valid,
// unique id. Metadata and fields this package does not model are kept.
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
	Cells         []*Cell
	Metadata      map[string]any // numbers are json.Number after Parse
	NBFormat      int
	NBFormatMinor int
	extra         map[string]any // top-level fields not modelled above
}

// Cell is one notebook cell. Source is kept as a single string (nbformat
// allows a string or a list of lines; both are read, a list is written).
type Cell struct {
	CellType       string // "code", "markdown" or "raw"
	ID             string // nbformat 4.5 cell id; see AssignIDs
	Metadata       map[string]any
	Source         MultilineString
	ExecutionCount *int      // code cells; nil is written as null
	Outputs        []*Output // code cells
	Attachments    any       // markdown and raw cells: name → MIME bundle
	extra          map[string]any
}

// Output is one code-cell output. OutputType selects the fields used:
//   - "stream": Name ("stdout"/"stderr"), Text;
//   - "display_data": Data, Metadata;
//   - "execute_result": Data, Metadata, ExecutionCount;
//   - "error": EName, EValue, Traceback.
type Output struct {
	OutputType     string
	Name           string
	Text           *MultilineString
	Data           map[string]MultilineString // MIME type → value
	Metadata       map[string]any
	ExecutionCount *int
	EName          string
	EValue         string
	Traceback      []string
	extra          map[string]any
}

// MultilineString is nbformat's "string or list of strings" (joined on read).
// MIME bundle values that are not text (JSON objects, and every value of a
// JSON MIME type such as application/json) are kept as their raw JSON text
// with Raw set.
type MultilineString struct {
	Text string
	Raw  bool // Text holds raw JSON, written back as that JSON value
}

// UnmarshalJSON accepts a string, a list of strings, or any other JSON
// value, kept raw.
func (m *MultilineString) UnmarshalJSON(b []byte) error {
	v, err := decodeAny(b)
	if err != nil {
		return err
	}
	*m, err = multiline(v, false)
	return err
}

// MarshalJSON writes the text as one JSON string, or the raw JSON when Raw.
func (m MultilineString) MarshalJSON() ([]byte, error) {
	if m.Raw {
		return []byte(m.Text), nil
	}
	return json.Marshal(m.Text)
}

// multiline converts a decoded JSON value to a MultilineString: strings and
// lists of strings are text (lists joined) unless keepRaw; anything else is
// raw JSON.
func multiline(v any, keepRaw bool) (MultilineString, error) {
	if !keepRaw {
		if s, ok := joined(v); ok {
			return MultilineString{Text: s}, nil
		}
	}
	raw, err := rawJSON(v)
	return MultilineString{Text: raw, Raw: true}, err
}

// joined returns v as text when it is a string or a list of strings.
func joined(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []any:
		var b strings.Builder
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", false
			}
			b.WriteString(s)
		}
		return b.String(), true
	}
	return "", false
}

func rawJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// isJSONMIME reports whether values of MIME type mime are JSON values that
// nbformat never joins or splits (application/json, application/*+json).
func isJSONMIME(mime string) bool {
	return mime == "application/json" || strings.HasPrefix(mime, "application/") && strings.HasSuffix(mime, "+json")
}

// isLinesMIME reports whether nbformat writes string values of mime as a
// list of lines: text/*, image/svg+xml and application/javascript.
func isLinesMIME(mime string) bool {
	return strings.HasPrefix(mime, "text/") || mime == "image/svg+xml" || mime == "application/javascript"
}

// ErrNotNotebook marks a file that is JSON but not an nbformat ≥ 4 notebook.
var ErrNotNotebook = errors.New("not a Jupyter notebook")

// cellError is a structural error in one cell (0-based index).
type cellError struct {
	cell int
	err  error
}

func (e *cellError) Error() string { return fmt.Sprintf("cell %d: %v", e.cell+1, e.err) }
func (e *cellError) Unwrap() error { return e.err }

// Parse decodes and validates notebook JSON, then gives every cell a valid,
// unique id (AssignIDs). name is used in error messages.
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
	tree, err := decodeAny(data)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", name, err)
	}
	nb, err := notebookFrom(tree.(map[string]any))
	if err != nil {
		var ce *cellError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%s: cell %d: %w: %v", name, ce.cell+1, ErrNotNotebook, ce.err)
		}
		return nil, fmt.Errorf("%s: %w: %v", name, ErrNotNotebook, err)
	}
	nb.AssignIDs()
	return nb, nil
}

// Load reads and validates the notebook at path (see Parse).
func Load(path string) (*Notebook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return Parse(path, data)
}

// Marshal encodes the notebook exactly as Python's nbformat.write (v4)
// does, trailing newline included. It first gives cells lacking a valid,
// unique id one (AssignIDs, which changes nb). It writes nbformat 4 and an
// nbformat_minor of at least 5 (the version with cell ids), and drops the
// transient fields nbformat strips on write: metadata.orig_nbformat,
// orig_nbformat_minor, signature and each cell's metadata.trusted.
func (nb *Notebook) Marshal() ([]byte, error) {
	nb.AssignIDs()
	var b bytes.Buffer
	if err := writePy(&b, nb.tree(), 0); err != nil {
		return nil, fmt.Errorf("encoding notebook: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// MarshalJSON encodes the notebook as Marshal does (json.Marshal compacts
// it). Unlike Marshal it does not assign missing cell ids.
func (nb *Notebook) MarshalJSON() ([]byte, error) { return marshalTree(nb.tree()) }

// UnmarshalJSON decodes a notebook without Parse's checks on the version
// and without assigning cell ids.
func (nb *Notebook) UnmarshalJSON(b []byte) error {
	v, err := decodeAny(b)
	if err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("notebook is %s, want an object", kind(v))
	}
	n, err := notebookFrom(m)
	if err != nil {
		return err
	}
	*nb = *n
	return nil
}

// MarshalJSON encodes the cell as Marshal writes it.
func (c *Cell) MarshalJSON() ([]byte, error) { return marshalTree(c.tree()) }

// UnmarshalJSON decodes a cell.
func (c *Cell) UnmarshalJSON(b []byte) error {
	v, err := decodeAny(b)
	if err != nil {
		return err
	}
	n, err := cellFrom(v)
	if err != nil {
		return err
	}
	*c = *n
	return nil
}

// MarshalJSON encodes the output as Marshal writes it: exactly the fields
// nbformat 4 requires for its output_type (display_data and execute_result
// always carry metadata; execute_result carries execution_count, null when
// unknown).
func (o *Output) MarshalJSON() ([]byte, error) { return marshalTree(o.tree()) }

// UnmarshalJSON decodes an output.
func (o *Output) UnmarshalJSON(b []byte) error {
	v, err := decodeAny(b)
	if err != nil {
		return err
	}
	n, err := outputFrom(v)
	if err != nil {
		return err
	}
	*o = *n
	return nil
}

func marshalTree(t map[string]any) ([]byte, error) {
	var b bytes.Buffer
	if err := writePy(&b, t, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
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
