package nbformat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file writes JSON exactly as Python's
//
//	json.dumps(v, sort_keys=True, indent=1, ensure_ascii=False, separators=(",", ": "))
//
// does (nbformat's writer), and splits text into lines as Python's
// str.splitlines(True).

// lines is text written as a JSON list of its lines (nbformat's split_lines).
type lines string

// splitLines splits s after every line boundary Python's str.splitlines
// knows: \n, \r, \r\n, \v, \f, \x1c, \x1d, \x1e, U+0085, U+2028 and U+2029.
// The boundaries stay at the end of each line; "" gives no lines.
func splitLines(s string) []string {
	out := []string{}
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		end := -1
		switch r {
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			end = i + size
		case '\r':
			end = i + size
			if end < len(s) && s[end] == '\n' {
				end++
			}
		}
		if end < 0 {
			i += size
			continue
		}
		out = append(out, s[start:end])
		start, i = end, end
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// writePy appends the Python-style JSON encoding of v at nesting depth
// depth (indent one space per level). v is built from nil, bool, string,
// lines, json.Number, Go numbers, map[string]any and []any; any other value
// goes through encoding/json first.
func writePy(b *bytes.Buffer, v any, depth int) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		writePyString(b, x)
	case lines:
		ls := splitLines(string(x))
		list := make([]any, len(ls))
		for i, l := range ls {
			list[i] = l
		}
		return writePy(b, list, depth)
	case json.Number:
		s, err := pyNumber(string(x))
		if err != nil {
			return err
		}
		b.WriteString(s)
	case float64:
		b.WriteString(pyFloat(x))
	case float32:
		b.WriteString(pyFloat(float64(x)))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case []string:
		list := make([]any, len(x))
		for i, s := range x {
			list[i] = s
		}
		return writePy(b, list, depth)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(",")
			}
			newline(b, depth+1)
			if err := writePy(b, e, depth+1); err != nil {
				return err
			}
		}
		newline(b, depth)
		b.WriteString("]")
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys) // UTF-8 byte order is code point order, as Python sorts
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",")
			}
			newline(b, depth+1)
			writePyString(b, k)
			b.WriteString(": ")
			if err := writePy(b, x[k], depth+1); err != nil {
				return fmt.Errorf("%q: %w", k, err)
			}
		}
		newline(b, depth)
		b.WriteString("}")
	default:
		g, err := generic(v)
		if err != nil {
			return err
		}
		return writePy(b, g, depth)
	}
	return nil
}

// generic turns any other value (a struct, a typed map or slice, another
// integer type) into the plain values writePy knows, through encoding/json.
func generic(v any) (any, error) {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeAny(raw)
}

// decodeAny decodes JSON keeping numbers as json.Number (their text).
func decodeAny(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var g any
	if err := dec.Decode(&g); err != nil {
		return nil, err
	}
	return g, nil
}

func newline(b *bytes.Buffer, depth int) {
	b.WriteByte('\n')
	for range depth {
		b.WriteByte(' ')
	}
}

// writePyString writes s as Python's json module does with
// ensure_ascii=False: only '"', '\\' and control characters below U+0020
// are escaped (\n \r \t \b \f, others as \u00xx with lowercase hex).
// Invalid UTF-8 is written as U+FFFD.
func writePyString(b *bytes.Buffer, s string) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 {
				fmt.Fprintf(b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// pyNumber writes a JSON number as Python reads and writes it back: an
// integer literal stays an (arbitrary precision) integer, anything with a
// fraction or exponent becomes a float written by repr.
func pyNumber(s string) (string, error) {
	if !strings.ContainsAny(s, ".eE") {
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return "", fmt.Errorf("invalid number %q", s)
		}
		return n.String(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		return "", fmt.Errorf("invalid number %q", s)
	}
	return pyFloat(f), nil
}

// pyFloat formats f as Python's float repr (the shortest text that reads
// back as f): fixed notation with at least one decimal when the decimal
// exponent is in [-4, 16), else d.ddde±XX. Python's json writes the
// non-finite values as Infinity, -Infinity and NaN.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±XX, shortest digits
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, expText, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	decpt := exp + 1 // f = 0.digits × 10^decpt
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			return sign + "0." + strings.Repeat("0", -decpt) + digits
		case decpt >= len(digits):
			return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		default:
			return sign + digits[:decpt] + "." + digits[decpt:]
		}
	}
	m := digits[:1]
	if len(digits) > 1 {
		m += "." + digits[1:]
	}
	expSign := "+"
	if exp < 0 {
		expSign, exp = "-", -exp
	}
	return fmt.Sprintf("%s%se%s%02d", sign, m, expSign, exp)
}
