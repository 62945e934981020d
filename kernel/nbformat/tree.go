package nbformat

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
)

// This file converts between the types of this package and the generic
// JSON tree (map[string]any, []any, string, json.Number, bool, nil) that
// Parse decodes and Marshal writes.

// kind names the JSON type of a decoded value, for error messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// fields reads the members of one JSON object, remembering which it used
// so that the rest can be kept as extra fields.
type fields struct {
	m    map[string]any
	used map[string]bool
	err  error
}

func newFields(v any, what string) (*fields, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is %s, want an object", what, kind(v))
	}
	return &fields{m: m, used: map[string]bool{}}, nil
}

func (f *fields) get(key string) (any, bool) {
	f.used[key] = true
	v, ok := f.m[key]
	return v, ok && v != nil
}

func (f *fields) fail(key string, v any, want string) {
	if f.err == nil {
		f.err = fmt.Errorf("%q is %s, want %s", key, kind(v), want)
	}
}

// member returns the member key as a T, or T's zero value when it is absent
// or null; a member of another type records an error saying it wants want.
func member[T any](f *fields, key, want string) T {
	var zero T
	v, ok := f.get(key)
	if !ok {
		return zero
	}
	t, isT := v.(T)
	if !isT {
		f.fail(key, v, want)
	}
	return t
}

func (f *fields) str(key string) string { return member[string](f, key, "a string") }

func (f *fields) integer(key string) *int {
	v, ok := f.get(key)
	if !ok {
		return nil
	}
	n, isNum := v.(json.Number)
	i, err := strconv.Atoi(string(n))
	if !isNum || err != nil {
		f.fail(key, v, "an integer")
		return nil
	}
	return &i
}

func (f *fields) object(key string) map[string]any {
	return member[map[string]any](f, key, "an object")
}

func (f *fields) list(key string) []any { return member[[]any](f, key, "a list") }

// text reads a string or list of strings, joined.
func (f *fields) text(key string) *MultilineString {
	v, ok := f.get(key)
	if !ok {
		return nil
	}
	s, isText := joined(v)
	if !isText {
		f.fail(key, v, "a string or a list of strings")
		return nil
	}
	return &MultilineString{Text: s}
}

// extra returns the members not read.
func (f *fields) extra() map[string]any {
	var out map[string]any
	for k, v := range f.m {
		if !f.used[k] {
			if out == nil {
				out = map[string]any{}
			}
			out[k] = v
		}
	}
	return out
}

func notebookFrom(m map[string]any) (*Notebook, error) {
	f, _ := newFields(m, "notebook")
	nb := &Notebook{Metadata: f.object("metadata")}
	if p := f.integer("nbformat"); p != nil {
		nb.NBFormat = *p
	}
	if p := f.integer("nbformat_minor"); p != nil {
		nb.NBFormatMinor = *p
	}
	cells := f.list("cells")
	if f.err != nil {
		return nil, f.err
	}
	if nb.Metadata == nil {
		nb.Metadata = map[string]any{}
	}
	for i, cv := range cells {
		c, err := cellFrom(cv)
		if err != nil {
			return nil, &cellError{i, err}
		}
		nb.Cells = append(nb.Cells, c)
	}
	nb.extra = f.extra()
	return nb, nil
}

func cellFrom(v any) (*Cell, error) {
	if v == nil {
		return nil, fmt.Errorf("null cell")
	}
	f, err := newFields(v, "cell")
	if err != nil {
		return nil, err
	}
	c := &Cell{CellType: f.str("cell_type"), Metadata: f.object("metadata")}
	if f.err != nil {
		return nil, f.err
	}
	switch c.CellType {
	case "code", "markdown", "raw":
	default:
		return nil, fmt.Errorf("unknown cell_type %q", c.CellType)
	}
	if id, ok := f.m["id"].(string); ok {
		f.used["id"] = true
		c.ID = id // anything else is dropped: AssignIDs gives a valid one
	}
	if s := f.text("source"); s != nil {
		c.Source = *s
	}
	if c.CellType == "code" {
		c.ExecutionCount = f.integer("execution_count")
		for i, ov := range f.list("outputs") {
			o, err := outputFrom(ov)
			if err != nil {
				return nil, fmt.Errorf("output %d: %w", i+1, err)
			}
			c.Outputs = append(c.Outputs, o)
		}
	}
	if a, ok := f.get("attachments"); ok {
		c.Attachments = a
		if m, isMap := a.(map[string]any); isMap {
			for _, bundle := range m {
				if b, isMap := bundle.(map[string]any); isMap {
					for mime, val := range b {
						if s, isText := joined(val); isText && !isJSONMIME(mime) {
							b[mime] = s
						}
					}
				}
			}
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	c.extra = f.extra()
	return c, nil
}

func outputFrom(v any) (*Output, error) {
	f, err := newFields(v, "output")
	if err != nil {
		return nil, err
	}
	o := &Output{
		OutputType: f.str("output_type"), Name: f.str("name"), Text: f.text("text"),
		Metadata: f.object("metadata"), ExecutionCount: f.integer("execution_count"),
		EName: f.str("ename"), EValue: f.str("evalue"),
	}
	if data := f.object("data"); data != nil {
		o.Data = make(map[string]MultilineString, len(data))
		for mime, val := range data {
			if o.Data[mime], err = multiline(val, isJSONMIME(mime)); err != nil {
				return nil, fmt.Errorf("data %q: %w", mime, err)
			}
		}
	}
	for _, t := range f.list("traceback") {
		s, ok := t.(string)
		if !ok {
			f.fail("traceback", t, "a list of strings")
		}
		o.Traceback = append(o.Traceback, s)
	}
	if f.err != nil {
		return nil, f.err
	}
	o.extra = f.extra()
	return o, nil
}

// value is the JSON value written for m: raw JSON decoded, else the text,
// as a list of lines when split.
func (m MultilineString) value(split bool) any {
	if m.Raw {
		if v, err := decodeAny([]byte(m.Text)); err == nil {
			return v
		}
		return m.Text
	}
	if split {
		return lines(m.Text)
	}
	return m.Text
}

// withExtra adds the extra fields t does not already hold.
func withExtra(t, extra map[string]any) map[string]any {
	for k, v := range extra {
		if _, ok := t[k]; !ok {
			t[k] = v
		}
	}
	return t
}

// without returns a copy of m (or {} when nil) without keys.
func without(m map[string]any, keys ...string) map[string]any {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

func intOrNil(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func (nb *Notebook) tree() map[string]any {
	cells := make([]any, len(nb.Cells))
	for i, c := range nb.Cells {
		cells[i] = c.tree()
	}
	return withExtra(map[string]any{
		"cells":          cells,
		"metadata":       without(nb.Metadata, "orig_nbformat", "orig_nbformat_minor", "signature"),
		"nbformat":       4,
		"nbformat_minor": max(nb.NBFormatMinor, 5),
	}, nb.extra)
}

func (c *Cell) tree() map[string]any {
	t := map[string]any{
		"cell_type": c.CellType,
		"metadata":  without(c.Metadata, "trusted"),
		"source":    c.Source.value(true),
	}
	if c.ID != "" {
		t["id"] = c.ID
	}
	if c.CellType == "code" {
		outs := make([]any, len(c.Outputs))
		for i, o := range c.Outputs {
			outs[i] = o.tree()
		}
		t["execution_count"] = intOrNil(c.ExecutionCount)
		t["outputs"] = outs
	}
	if c.Attachments != nil {
		t["attachments"] = splitAttachments(c.Attachments)
	}
	return withExtra(t, c.extra)
}

// splitAttachments copies attachments with their text values split into
// lines, as nbformat writes MIME bundles.
func splitAttachments(a any) any {
	m, ok := a.(map[string]any)
	if !ok {
		return a
	}
	out := make(map[string]any, len(m))
	for name, bundle := range m {
		b, ok := bundle.(map[string]any)
		if !ok {
			out[name] = bundle
			continue
		}
		nb := make(map[string]any, len(b))
		for mime, v := range b {
			if s, isStr := v.(string); isStr && isLinesMIME(mime) {
				nb[mime] = lines(s)
			} else {
				nb[mime] = v
			}
		}
		out[name] = nb
	}
	return out
}

func dataTree(data map[string]MultilineString) map[string]any {
	t := make(map[string]any, len(data))
	for mime, v := range data {
		t[mime] = v.value(isLinesMIME(mime))
	}
	return t
}

func (o *Output) tree() map[string]any {
	t := map[string]any{"output_type": o.OutputType}
	md := o.Metadata
	if md == nil {
		md = map[string]any{}
	}
	switch o.OutputType {
	case "stream":
		text := MultilineString{}
		if o.Text != nil {
			text = *o.Text
		}
		t["name"], t["text"] = o.Name, text.value(true)
	case "display_data":
		t["data"], t["metadata"] = dataTree(o.Data), md
	case "execute_result":
		t["data"], t["metadata"], t["execution_count"] = dataTree(o.Data), md, intOrNil(o.ExecutionCount)
	case "error":
		tb := make([]any, len(o.Traceback))
		for i, l := range o.Traceback {
			tb[i] = l
		}
		t["ename"], t["evalue"], t["traceback"] = o.EName, o.EValue, tb
	default: // unknown output types: every field we hold
		if o.Name != "" {
			t["name"] = o.Name
		}
		if o.Text != nil {
			t["text"] = o.Text.value(false)
		}
		if o.Data != nil {
			t["data"] = dataTree(o.Data)
		}
		if o.Metadata != nil {
			t["metadata"] = o.Metadata
		}
		if o.ExecutionCount != nil {
			t["execution_count"] = *o.ExecutionCount
		}
		if o.EName != "" || o.EValue != "" || o.Traceback != nil {
			t["ename"], t["evalue"], t["traceback"] = o.EName, o.EValue, o.Traceback
		}
	}
	return withExtra(t, o.extra)
}
