package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzRead reads data with format in strict and lenient mode and checks the
// reader's contract: no panic, every error a *RecordError naming the input
// and a line in range, every record a valid pair, strict records a prefix of
// the lenient ones.
//
// plain is the uncompressed content when data is gzip, for the line bound.
func fuzzRead(t *testing.T, data, plain []byte, format Format) {
	if plain == nil {
		plain = data
	}
	lines := bytes.Count(plain, []byte("\n")) + 1
	if bytes.HasPrefix(plain, []byte{0x1f, 0x8b}) {
		lines = 1 << 16 // the fuzzer wrote gzip itself: no bound from its bytes
	}
	read := func(lenient, rejectEmpty bool) ([]TextPair, LoadReport, error) {
		r, err := NewReader(bytes.NewReader(data), ReadOptions{Format: format, Lenient: lenient, MaxLineBytes: 2048, Name: "fuzz", RejectEmptyResponses: rejectEmpty})
		if err != nil {
			checkFuzzError(t, err, lines)
			return nil, LoadReport{}, err
		}
		var out []TextPair
		for range lines + 2 {
			p, err := r.Next()
			if err == io.EOF {
				rep := r.Report()
				if len(out) == 0 || rep.EmptyChosen != countEmpty(out, true) || rep.EmptyRejected != countEmpty(out, false) {
					t.Fatalf("EOF after %d records; report %+v miscounts them or should have said no records", len(out), rep)
				}
				return out, rep, nil
			}
			if err != nil {
				checkFuzzError(t, err, lines)
				if _, err2 := r.Next(); err2 != err {
					t.Fatalf("error not sticky: %v then %v", err, err2)
				}
				return out, r.Report(), err
			}
			empty := strings.TrimSpace(p.Chosen) == "" || strings.TrimSpace(p.Rejected) == ""
			if p.Prompt == "" || p.Chosen == p.Rejected || (rejectEmpty && empty) {
				t.Fatalf("invalid pair returned: %#v", p)
			}
			if !utf8.ValidString(p.Prompt) || !utf8.ValidString(p.Chosen) || !utf8.ValidString(p.Rejected) {
				t.Fatalf("pair with invalid UTF-8 returned: %#v", p)
			}
			out = append(out, p)
		}
		t.Fatalf("more than %d records from %d lines", lines+1, lines)
		return nil, LoadReport{}, nil
	}
	strict, _, strictErr := read(false, false)
	lenient, rep, lenErr := read(true, false)
	read(false, true)
	read(true, true)
	if lenErr != nil {
		var re *RecordError
		if !errors.As(lenErr, &re) || !re.Fatal() {
			t.Fatalf("lenient read failed with a non-fatal error: %v", lenErr)
		}
	} else if rep.Records+rep.Skipped > rep.Lines || rep.Records != len(lenient) {
		t.Fatalf("report %+v inconsistent with %d records", rep, len(lenient))
	}
	if len(strict) > len(lenient) {
		t.Fatalf("strict read %d records, lenient only %d", len(strict), len(lenient))
	}
	for i := range strict {
		if strict[i] != lenient[i] {
			t.Fatalf("record %d differs between strict and lenient reads", i)
		}
	}
	if strictErr == nil && lenErr == nil && len(strict) != len(lenient) {
		t.Fatalf("strict read ended cleanly with %d records, lenient with %d", len(strict), len(lenient))
	}
}

// countEmpty counts the pairs whose chosen (or rejected) response is blank.
func countEmpty(pairs []TextPair, chosen bool) int {
	n := 0
	for _, p := range pairs {
		s := p.Rejected
		if chosen {
			s = p.Chosen
		}
		if strings.TrimSpace(s) == "" {
			n++
		}
	}
	return n
}

func checkFuzzError(t *testing.T, err error, lines int) {
	t.Helper()
	var re *RecordError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *RecordError", err, err)
	}
	if re.File != "fuzz" || re.Line < 1 || re.Line > lines+1 || re.Reason == "" {
		t.Fatalf("error %q does not name fuzz:line within %d lines", err, lines)
	}
	if !strings.HasPrefix(err.Error(), "fuzz:") {
		t.Fatalf("error %q does not start with the file name", err)
	}
}

func addSeeds(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
}

func FuzzTRL(f *testing.F) {
	addSeeds(f, goodTRL,
		goodTRL+"\n"+`{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}`,
		`{"chosen":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"rejected":[{"role":"user","content":"q"},{"role":"assistant","content":"b"}]}`,
		`{"prompt":"p","chosen":5,"rejected":"b"}`+"\n{\n")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, nil, FormatTRL) })
}

func FuzzHH(f *testing.F) {
	addSeeds(f, goodHH,
		`{"chosen":"\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d","rejected":"\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: e"}`,
		`{"chosen":"\n\nHuman: q\n\nAssistant:","rejected":"\n\nHuman: q\n\nAssistant: b"}`)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, nil, FormatHH) })
}

func FuzzTLDR(f *testing.F) {
	addSeeds(f, goodTLDR,
		`{"info":{"post":"p","title":null},"summaries":[{"text":"a"},{"text":"b"}],"choice":1e400}`,
		`{"info":{"post":"p"},"summaries":[{"text":"a"},{"text":"a"}],"choice":0}`)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, nil, FormatTLDR) })
}

// FuzzAuto exercises format detection and the gzip path: when gz is set the
// data is compressed and the last cut bytes of the stream are dropped.
func FuzzAuto(f *testing.F) {
	f.Add([]byte(goodTRL+"\n"+goodHH+"\n"+goodTLDR), false, uint16(0))
	f.Add([]byte(goodTLDR+"\n"+goodTLDR+"\n"), true, uint16(0))
	f.Add([]byte(goodHH+"\n"+goodHH+"\n"), true, uint16(9))
	f.Add([]byte("\x1f\x8b\x08\x00"), false, uint16(0))
	f.Add([]byte("\xef\xbb\xbf"+goodHH+"\n"+goodTRL+"\n"), false, uint16(0))
	f.Add([]byte(" \n\t\n"), true, uint16(0))
	f.Add([]byte(`{"chosen":"\n\nHuman: q\n\nAssistant:","rejected":"\n\nHuman: q\n\nAssistant: b"}`+"\n"+goodTLDR), false, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, gz bool, cut uint16) {
		plain := data
		if gz {
			var buf bytes.Buffer
			w := gzip.NewWriter(&buf)
			_, _ = w.Write(data)
			_ = w.Close()
			b := buf.Bytes()
			data = b[:len(b)-int(cut)%(len(b)+1)]
		}
		fuzzRead(t, data, plain, FormatAuto)
	})
}

// FuzzDecodeString checks the string decoder against encoding/json on
// valid JSON strings: the raw input when it is one, and the encoding of the
// input.
func FuzzDecodeString(f *testing.F) {
	for _, s := range []string{`"plain"`, `"a\nb\t\"c\"\\d\/e\b\f\r"`, `"\u00e9\ud83d\ude00"`, `"\\u0041"`, `""`, `"\\"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		enc, err := json.Marshal(string(raw))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range [][]byte{raw, enc} {
			var want string
			if !utf8.Valid(in) || jsonKind(in) != "string" || json.Unmarshal(in, &want) != nil {
				continue
			}
			got, err := decodeString(in)
			if err != nil || got != want {
				t.Fatalf("decodeString(%q) = %q, %v; encoding/json gives %q", in, got, err, want)
			}
		}
	})
}
