package datasets

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeTemp writes content to a file named name in a fresh directory.
func writeTemp(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// inventedDir holds the invented sample files written by
// testdata/invented/gensamples.go (no real data).
const inventedDir = "testdata/invented"

// TestLoadSamples loads the invented fixtures, one per format.
func TestLoadSamples(t *testing.T) {
	for _, tc := range []struct {
		file   string
		format Format
		first  TextPair
	}{
		{"trl.jsonl", FormatTRL, TextPair{
			Prompt:   "How do I keep basil alive on a windowsill?",
			Chosen:   "Give it at least six hours of direct sun a day. Water when the top centimetre of soil is dry, not on a schedule.",
			Rejected: "Maybe buy a new one every week.",
		}},
		{"trl_chat.jsonl", FormatTRL, TextPair{
			Prompt: "\n\nSystem: You are a concise, practical assistant.\n\nHuman: How do I fix a flat bicycle tyre?\n\nAssistant:",
			Chosen: " Remove the wheel and lever one side of the tyre off the rim. Pump the tube and find the hole by listening or using water. " +
				"Patch the hole after roughening the area, or fit a new tube. Run your fingers inside the tyre to remove whatever caused the puncture.",
			Rejected: " Take it to a shop.",
		}},
		{"hh.jsonl", FormatHH, TextPair{
			Prompt:   "\n\nHuman: Hi, can I ask you something practical?\n\nAssistant: Of course, go ahead.\n\nHuman: How do I learn to touch type?\n\nAssistant:",
			Chosen:   " Keep your fingers on the home row, F and J under the index fingers. Practise fifteen minutes a day with a typing tutor. Do not look at the keyboard, accept the errors at first. Aim for accuracy before speed.",
			Rejected: " Typing is obsolete.",
		}},
		{"tldr.jsonl", FormatTLDR, TextPair{
			Prompt: "SUBREDDIT: r/running\nTITLE: What is a good way to start running?\nPOST: I have been trying to figure this out for a while. What is a good way to start running? " +
				"I tried a few things from videos but nothing stuck, and I would love advice from people who have done it. Keep the pace slow enough that you can talk. " +
				"Add no more than ten percent to your weekly distance.\nTL;DR:",
			Chosen:   " Begin with intervals: one minute of running, two of walking, for twenty minutes. Run three times a week with a rest day in between.",
			Rejected: " Running is bad for knees, do not start.",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(inventedDir, tc.file)
			pairs, rep, err := LoadJSONLWith(path, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(pairs) != 24 || rep.Records != 24 || rep.Lines != 24 || rep.Skipped != 0 {
				t.Fatalf("got %d pairs, report %+v; want 24 records on 24 lines", len(pairs), rep)
			}
			if rep.Format != tc.format {
				t.Errorf("detected format %v, want %v", rep.Format, tc.format)
			}
			if pairs[0] != tc.first {
				t.Errorf("first record\n got %#v\nwant %#v", pairs[0], tc.first)
			}
			for i, p := range pairs {
				if p.Prompt == "" || strings.TrimSpace(p.Chosen) == "" || p.Chosen == p.Rejected {
					t.Errorf("record %d is not a valid pair: %#v", i, p)
				}
			}
		})
	}
}

func TestLoadGzipEqualsPlain(t *testing.T) {
	plain, err := LoadJSONL(filepath.Join(inventedDir, "tldr.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	gz, err := LoadJSONL(filepath.Join(inventedDir, "tldr.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(plain, gz) {
		t.Fatal("tldr.jsonl.gz does not decode to the records of tldr.jsonl")
	}
}

func TestHHSplitKeepsTranscript(t *testing.T) {
	// Prompt+Chosen must give back the original transcript of every sample.
	pairs, err := LoadJSONL(filepath.Join(inventedDir, "hh.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(inventedDir, "hh.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		r, err := NewReader(strings.NewReader(line), ReadOptions{Format: FormatHH})
		if err != nil {
			t.Fatal(err)
		}
		p, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if p != pairs[i] {
			t.Fatalf("line %d read alone differs", i+1)
		}
		if !strings.HasSuffix(p.Prompt, HHAssistant) {
			t.Errorf("line %d: prompt does not end with the Assistant marker: %q", i+1, p.Prompt)
		}
		if !strings.Contains(line, jsonEscape(p.Prompt+p.Chosen)) {
			t.Errorf("line %d: prompt+chosen is not the chosen transcript", i+1)
		}
	}
}

// jsonEscape escapes newlines as the sample writer does.
func jsonEscape(s string) string { return strings.ReplaceAll(s, "\n", `\n`) }

func TestSplitHH(t *testing.T) {
	p, c, r, ok := SplitHH("\n\nHuman: hi\n\nAssistant: a\n\nHuman: q\n\nAssistant: yes", "\n\nHuman: hi\n\nAssistant: a\n\nHuman: q\n\nAssistant: no")
	if !ok || p != "\n\nHuman: hi\n\nAssistant: a\n\nHuman: q\n\nAssistant:" || c != " yes" || r != " no" {
		t.Errorf("SplitHH = %q %q %q %v", p, c, r, ok)
	}
	// A response that is a prefix of the other: the marker is still shared.
	p, c, r, ok = SplitHH("\n\nHuman: q\n\nAssistant: A", "\n\nHuman: q\n\nAssistant: A and more")
	if !ok || p != "\n\nHuman: q\n\nAssistant:" || c != " A" || r != " A and more" {
		t.Errorf("SplitHH prefix case = %q %q %q %v", p, c, r, ok)
	}
	if _, _, _, ok := SplitHH("\n\nHuman: q\n\nAssistant: A", "\n\nHuman: r\n\nAssistant: A"); ok {
		t.Error("SplitHH found a shared Assistant turn in transcripts that differ before it")
	}
}

func TestRenderMessages(t *testing.T) {
	s, err := RenderMessages([]ChatMessage{{"system", "S"}, {"user", "U"}, {"assistant", "A"}})
	if err != nil || s != "\n\nSystem: S\n\nHuman: U\n\nAssistant: A" {
		t.Errorf("RenderMessages = %q, %v", s, err)
	}
	if _, err := RenderMessages([]ChatMessage{{"user", "U"}, {"tool", "T"}}); err == nil || !strings.Contains(err.Error(), "message 1") {
		t.Errorf("unknown role error = %v, want one naming message 1", err)
	}
}

func TestTRLChatPromptPlusChosenIsConversation(t *testing.T) {
	line := `{"prompt":[{"role":"user","content":"Q"}],"chosen":[{"role":"assistant","content":"A"},{"role":"user","content":"Q2"},{"role":"assistant","content":"A2"}],"rejected":[{"role":"assistant","content":"B"}]}`
	pairs := readAll(t, line, ReadOptions{})
	full, err := RenderMessages([]ChatMessage{{"user", "Q"}, {"assistant", "A"}, {"user", "Q2"}, {"assistant", "A2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 1 || pairs[0].Prompt+pairs[0].Chosen != full || pairs[0].Rejected != " B" {
		t.Errorf("got %#v, want Prompt+Chosen = %q", pairs, full)
	}
	// Implicit prompt: full conversations split like HH.
	line = `{"chosen":[{"role":"user","content":"Q"},{"role":"assistant","content":"A"}],"rejected":[{"role":"user","content":"Q"},{"role":"assistant","content":"B"}]}`
	pairs = readAll(t, line, ReadOptions{})
	want := TextPair{Prompt: "\n\nHuman: Q\n\nAssistant:", Chosen: " A", Rejected: " B"}
	if len(pairs) != 1 || pairs[0] != want {
		t.Errorf("implicit prompt: got %#v, want %#v", pairs, want)
	}
}

func readAll(t *testing.T, content string, opts ReadOptions) []TextPair {
	t.Helper()
	r, err := NewReader(strings.NewReader(content), opts)
	if err != nil {
		t.Fatal(err)
	}
	var out []TextPair
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
}

func TestLineEndingsAndBlankLines(t *testing.T) {
	content := "\r\n" + `{"prompt":"p","chosen":"a","rejected":"b"}` + "\r\n\n   \n" + `{"prompt":"p2","chosen":"c","rejected":"d"}` // no final newline
	pairs := readAll(t, content, ReadOptions{})
	want := []TextPair{{"p", "a", "b"}, {"p2", "c", "d"}}
	if !reflect.DeepEqual(pairs, want) {
		t.Errorf("got %#v, want %#v", pairs, want)
	}
}

// goodTRL, goodHH and goodTLDR are valid records of each format.
const (
	goodTRL  = `{"prompt":"Say hi.","chosen":"Hi!","rejected":"No."}`
	goodHH   = `{"chosen":"\n\nHuman: Say hi.\n\nAssistant: Hi!","rejected":"\n\nHuman: Say hi.\n\nAssistant: No."}`
	goodTLDR = `{"info":{"post":"P","title":"T","subreddit":"s"},"summaries":[{"text":" a"},{"text":" b"}],"choice":1}`
)

func TestBadRecords(t *testing.T) {
	long := `{"prompt":"` + strings.Repeat("x", 300) + `","chosen":"a","rejected":"b"}`
	for _, tc := range []struct {
		name   string
		good   string // line 1 (sets the detected format); the bad record is on line 3
		bad    string
		format Format
		field  string
		reason Reason
	}{
		{"invalid JSON", goodTRL, `{"prompt": "x", "chosen": "a"`, FormatAuto, "", ReasonInvalidJSON},
		{"invalid JSON trailing", goodTRL, goodTRL + ` x`, FormatAuto, "", ReasonInvalidJSON},
		{"not an object: array", goodTRL, `["prompt","chosen"]`, FormatAuto, "", ReasonNotObject},
		{"not an object: string", goodTRL, `"text"`, FormatAuto, "", ReasonNotObject},
		{"not an object: null", goodTRL, `null`, FormatAuto, "", ReasonNotObject},
		{"missing TRL rejected", goodTRL, `{"prompt":"p","chosen":"a"}`, FormatAuto, "rejected", ReasonMissing},
		{"missing TRL chosen", goodTRL, `{"prompt":"p","rejected":"a"}`, FormatAuto, "chosen", ReasonMissing},
		{"missing HH rejected", goodHH, `{"chosen":"\n\nHuman: q\n\nAssistant: a"}`, FormatAuto, "rejected", ReasonMissing},
		{"missing TLDR info", goodTLDR, `{"summaries":[{"text":"a"},{"text":"b"}],"choice":0}`, FormatAuto, "info", ReasonMissing},
		{"missing TLDR post", goodTLDR, `{"info":{"title":"t"},"summaries":[{"text":"a"},{"text":"b"}],"choice":0}`, FormatAuto, "info.post", ReasonMissing},
		{"missing TLDR choice", goodTLDR, `{"info":{"post":"p"},"summaries":[{"text":"a"},{"text":"b"}]}`, FormatAuto, "choice", ReasonMissing},
		{"missing TLDR summary text", goodTLDR, `{"info":{"post":"p"},"summaries":[{"text":"a"},{"txt":"b"}],"choice":0}`, FormatAuto, "summaries[1].text", ReasonMissing},
		{"empty TRL prompt", goodTRL, `{"prompt":"","chosen":"a","rejected":"b"}`, FormatAuto, "prompt", ReasonEmpty},
		{"empty TRL chosen (spaces)", goodTRL, `{"prompt":"p","chosen":"  \n","rejected":"b"}`, FormatAuto, "chosen", ReasonEmpty},
		{"empty TRL message list", goodTRL, `{"prompt":[],"chosen":[],"rejected":[]}`, FormatAuto, "prompt", ReasonEmpty},
		{"empty HH response", goodHH, `{"chosen":"\n\nHuman: q\n\nAssistant:","rejected":"\n\nHuman: q\n\nAssistant: b"}`, FormatAuto, "chosen", ReasonEmpty},
		{"empty TLDR summary", goodTLDR, `{"info":{"post":"p"},"summaries":[{"text":""},{"text":"b"}],"choice":0}`, FormatAuto, "chosen", ReasonEmpty},
		{"empty TRL chat reply", goodTRL, `{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":" "}]}`, FormatAuto, "rejected", ReasonEmpty},
		{"empty TRL prompt message", goodTRL, `{"prompt":[{"role":"user","content":""}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}`, FormatAuto, "prompt[0].content", ReasonEmpty},
		{"format change HH after TRL", goodTRL, goodHH, FormatAuto, "", ReasonFormatChange},
		{"format change TRL chat after HH", goodHH, `{"chosen":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"rejected":[{"role":"user","content":"q"},{"role":"assistant","content":"b"}]}`, FormatAuto, "", ReasonFormatChange},
		{"format change TLDR after HH", goodHH, goodTLDR, FormatAuto, "", ReasonFormatChange},
		{"wrong type chosen number", goodTRL, `{"prompt":"p","chosen":5,"rejected":"b"}`, FormatAuto, "chosen", ReasonWrongType},
		{"wrong type prompt null", goodTRL, `{"prompt":null,"chosen":"a","rejected":"b"}`, FormatAuto, "prompt", ReasonWrongType},
		{"wrong type mixed string and list", goodTRL, `{"prompt":"p","chosen":[{"role":"assistant","content":"a"}],"rejected":"b"}`, FormatAuto, "chosen", ReasonWrongType},
		{"wrong type message content", goodTRL, `{"prompt":[{"role":"user","content":7}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}`, FormatAuto, "prompt[0].content", ReasonWrongType},
		{"wrong type message item", goodTRL, `{"prompt":["hi"],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}`, FormatAuto, "prompt[0]", ReasonWrongType},
		{"wrong type HH chosen", goodHH, `{"chosen":["x"],"rejected":"\n\nHuman: q\n\nAssistant: b"}`, FormatHH, "chosen", ReasonWrongType},
		{"wrong type TLDR info", goodTLDR, `{"info":"p","summaries":[{"text":"a"},{"text":"b"}],"choice":0}`, FormatAuto, "info", ReasonWrongType},
		{"wrong type TLDR title", goodTLDR, `{"info":{"post":"p","title":3},"summaries":[{"text":"a"},{"text":"b"}],"choice":0}`, FormatAuto, "info.title", ReasonWrongType},
		{"wrong type TLDR choice", goodTLDR, `{"info":{"post":"p"},"summaries":[{"text":"a"},{"text":"b"}],"choice":"1"}`, FormatAuto, "choice", ReasonWrongType},
		{"wrong count TLDR summaries", goodTLDR, `{"info":{"post":"p"},"summaries":[{"text":"a"},{"text":"b"},{"text":"c"}],"choice":0}`, FormatAuto, "summaries", ReasonWrongType},
		{"identical TRL", goodTRL, `{"prompt":"p","chosen":"same","rejected":"same"}`, FormatAuto, "rejected", ReasonIdentical},
		{"identical HH", goodHH, `{"chosen":"\n\nHuman: q\n\nAssistant: a","rejected":"\n\nHuman: q\n\nAssistant: a"}`, FormatAuto, "rejected", ReasonIdentical},
		{"identical TLDR", goodTLDR, `{"info":{"post":"p"},"summaries":[{"text":"a"},{"text":"a"}],"choice":0}`, FormatAuto, "summaries", ReasonIdentical},
		{"choice 2", goodTLDR, `{"info":{"post":"p"},"summaries":[{"text":"a"},{"text":"b"}],"choice":2}`, FormatAuto, "choice", ReasonChoiceRange},
		{"choice -1", goodTLDR, `{"info":{"post":"p"},"summaries":[{"text":"a"},{"text":"b"}],"choice":-1}`, FormatAuto, "choice", ReasonChoiceRange},
		{"choice 0.5", goodTLDR, `{"info":{"post":"p"},"summaries":[{"text":"a"},{"text":"b"}],"choice":0.5}`, FormatAuto, "choice", ReasonChoiceRange},
		{"choice 1e400", goodTLDR, `{"info":{"post":"p"},"summaries":[{"text":"a"},{"text":"b"}],"choice":1e400}`, FormatAuto, "choice", ReasonChoiceRange},
		{"HH no Assistant", goodHH, `{"chosen":"\n\nHuman: q\n\nHuman: a","rejected":"\n\nHuman: q\n\nAssistant: b"}`, FormatAuto, "chosen", ReasonNoAssistant},
		{"HH no Assistant in rejected", goodHH, `{"chosen":"\n\nHuman: q\n\nAssistant: a","rejected":"\n\nHuman: q b"}`, FormatAuto, "rejected", ReasonNoAssistant},
		{"HH no shared Assistant", goodHH, `{"chosen":"\n\nHuman: q\n\nAssistant: a","rejected":"\n\nHuman: r\n\nAssistant: a"}`, FormatAuto, "rejected", ReasonNoAssistant},
		{"bad role", goodTRL, `{"prompt":[{"role":"tool","content":"q"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}`, FormatAuto, "prompt[0].role", ReasonBadRole},
		{"response not assistant", goodTRL, `{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"user","content":"b"}]}`, FormatAuto, "rejected[0].role", ReasonBadRole},
		{"invalid UTF-8", goodTRL, "{\"prompt\":\"p\xff\",\"chosen\":\"a\",\"rejected\":\"b\"}", FormatAuto, "", ReasonInvalidUTF8},
		{"line too long", goodTRL, long, FormatAuto, "", ReasonLineTooLong},
		{"unknown format", "", `{"question":"q","answer":"a"}`, FormatAuto, "", ReasonUnknownFormat},
		{"forced format mismatch", "", goodTRL, FormatTLDR, "info", ReasonMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			content := tc.good + "\n\n" + tc.bad + "\n" + tc.good + "\n"
			path := writeTemp(t, "bad.jsonl", []byte(content))
			// Empty responses are refused only on request.
			opts := ReadOptions{Format: tc.format, MaxLineBytes: 190, RejectEmptyResponses: tc.reason == ReasonEmpty}
			pairs, _, err := LoadJSONLWith(path, opts)
			var rerr *RecordError
			if !errors.As(err, &rerr) {
				t.Fatalf("got pairs %v, error %v; want a *RecordError", pairs, err)
			}
			if rerr.File != path || rerr.Line != 3 || rerr.Field != tc.field || rerr.Reason != tc.reason {
				t.Errorf("got %s:%d field %q reason %q, want %s:3 field %q reason %q (error: %v)",
					rerr.File, rerr.Line, rerr.Field, rerr.Reason, path, tc.field, tc.reason, err)
			}
			prefix := path + ":3: "
			if tc.field != "" {
				prefix += tc.field + ": "
			}
			if !strings.HasPrefix(err.Error(), prefix+string(tc.reason)) {
				t.Errorf("error %q does not start with %q", err, prefix+string(tc.reason))
			}
			if tc.reason == ReasonFormatChange {
				// Both lines and both formats are named.
				f1, _, _ := LoadJSONLWith(writeTemp(t, "one.jsonl", []byte(tc.good)), ReadOptions{})
				f3, _, _ := LoadJSONLWith(writeTemp(t, "one.jsonl", []byte(tc.bad)), ReadOptions{})
				_, rep1, _ := LoadJSONLWith(writeTemp(t, "one.jsonl", []byte(tc.good)), ReadOptions{})
				_, rep3, _ := LoadJSONLWith(writeTemp(t, "one.jsonl", []byte(tc.bad)), ReadOptions{})
				if len(f1) != 1 || len(f3) != 1 {
					t.Fatalf("the lines do not load alone")
				}
				want1, want3 := "line 1 was "+rep1.Format.String(), "line 3 is "+rep3.Format.String()
				if !strings.Contains(rerr.Detail, want1) || !strings.Contains(rerr.Detail, want3) {
					t.Errorf("error %q does not say %q and %q", err, want3, want1)
				}
			}
			if pairs != nil {
				t.Errorf("strict load returned %d pairs with its error", len(pairs))
			}
			// Lenient: the bad line is skipped, the good ones kept.
			opts.Lenient = true
			pairs, rep, err := LoadJSONLWith(path, opts)
			wantGood := 0
			if tc.good != "" {
				wantGood = 2
				if err != nil {
					t.Fatalf("lenient load: %v", err)
				}
			} else {
				// Nothing good is left: the load fails with "no records".
				if !errors.As(err, &rerr) || rerr.Reason != ReasonNoRecords || !rerr.Fatal() {
					t.Fatalf("lenient load of a file without a good record: %v, want %q", err, ReasonNoRecords)
				}
			}
			if len(pairs) != wantGood || rep.Skipped != 1 || rep.ByReason[tc.reason] != 1 || len(rep.Examples) != 1 || rep.Examples[0].Line != 3 {
				t.Errorf("lenient: %d pairs, report %v; want %d pairs and one skip at line 3", len(pairs), rep, wantGood)
			}
		})
	}
}

func TestTruncatedGzip(t *testing.T) {
	var content bytes.Buffer
	for range 200 {
		content.WriteString(goodTLDR + "\n")
	}
	gz := gzipBytes(t, content.Bytes())
	for _, cut := range []int{len(gz) - 4, len(gz) / 2, 12} {
		path := writeTemp(t, "cut.jsonl.gz", gz[:cut])
		for _, lenient := range []bool{false, true} {
			_, _, err := LoadJSONLWith(path, ReadOptions{Lenient: lenient})
			var rerr *RecordError
			if !errors.As(err, &rerr) || rerr.Reason != ReasonTruncated || !rerr.Fatal() || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("cut at %d of %d, lenient %v: error %v, want a fatal truncated-input *RecordError", cut, len(gz), lenient, err)
			}
			if rerr.File != path || rerr.Line < 1 || rerr.Line > 201 || !strings.HasPrefix(err.Error(), path+":") {
				t.Errorf("cut at %d: error %q does not name %s:line", cut, err, path)
			}
		}
	}
	// A cut inside the 10-byte header fails when opening, on line 1.
	path := writeTemp(t, "head.jsonl.gz", gz[:5])
	_, err := LoadJSONL(path)
	var rerr *RecordError
	if !errors.As(err, &rerr) || rerr.Line != 1 || rerr.File != path || !rerr.Fatal() {
		t.Errorf("header cut: %v, want a fatal *RecordError at %s:1", err, path)
	}
}

func TestTruncatedGzipLineNumber(t *testing.T) {
	// Lines of 1000 bytes; cutting the compressed stream leaves some whole
	// lines: the error must come after them, on the first incomplete line.
	line := `{"prompt":"` + strings.Repeat("p", 950) + `","chosen":"a","rejected":"b"}`
	var content bytes.Buffer
	for range 100 {
		content.WriteString(line + "\n")
	}
	gz := gzipBytes(t, content.Bytes())
	path := writeTemp(t, "cut.jsonl.gz", gz[:len(gz)-8]) // trailer gone: every line decodes
	r, err := OpenJSONL(path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
		n++
	}
	var rerr *RecordError
	if !errors.As(err, &rerr) || rerr.Reason != ReasonTruncated || rerr.Line != n+1 || n != 100 {
		t.Errorf("read %d records then %v; want 100 records then truncated input at line 101", n, err)
	}
}

func TestStrictErrorIsSticky(t *testing.T) {
	r, err := NewReader(strings.NewReader(goodTRL+"\n{\n"+goodTRL+"\n"), ReadOptions{Name: "mem"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err1 != err2 || !strings.HasPrefix(err1.Error(), "mem:2: invalid JSON") {
		t.Errorf("errors %v then %v, want the same mem:2 invalid JSON error twice", err1, err2)
	}
}

func TestLenientReport(t *testing.T) {
	lines := []string{
		goodHH,                        // 1
		`{"chosen":"x"}`,              // 2 missing rejected
		"not json",                    // 3
		`[1]`,                         // 4
		goodHH,                        // 5
		`{"chosen":"a","rejected":5}`, // 6 wrong type
		"not json either",             // 7
		"\xc3\x28",                    // 8 invalid UTF-8
		goodHH,                        // 9
	}
	r, err := NewReader(strings.NewReader(strings.Join(lines, "\n")), ReadOptions{Lenient: true, MaxExamples: 3, Name: "hh"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	rep := r.Report()
	want := map[Reason]int{ReasonMissing: 1, ReasonInvalidJSON: 2, ReasonNotObject: 1, ReasonWrongType: 1, ReasonInvalidUTF8: 1}
	if n != 3 || rep.Records != 3 || rep.Skipped != 6 || rep.Lines != 9 || !reflect.DeepEqual(rep.ByReason, want) || rep.Format != FormatHH {
		t.Errorf("read %d, report %+v; want 3 records, 6 skipped %v", n, rep, want)
	}
	if len(rep.Examples) != 3 || rep.Examples[0].Line != 2 || rep.Examples[1].Line != 3 || rep.Examples[2].Line != 4 {
		t.Errorf("examples %v, want lines 2, 3, 4", rep.Examples)
	}
	s := rep.String()
	for _, want := range []string{"hh: format hh, 9 lines, 3 records, 6 skipped", "invalid JSON: 2", "e.g. hh:2: rejected: missing field"} {
		if !strings.Contains(s, want) {
			t.Errorf("report text %q lacks %q", s, want)
		}
	}
}

func TestLongLineThenGoodLine(t *testing.T) {
	// A line far beyond the bufio buffer is skipped whole; the next line and
	// the line count stay right.
	content := goodTRL + "\n" + strings.Repeat("y", 300<<10) + "\n" + goodTRL
	r, err := NewReader(strings.NewReader(content), ReadOptions{Lenient: true, MaxLineBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	pairs := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pairs++
	}
	rep := r.Report()
	if pairs != 2 || rep.Lines != 3 || rep.ByReason[ReasonLineTooLong] != 1 || rep.Examples[0].Line != 2 {
		t.Errorf("%d pairs, report %v; want 2 pairs, line 2 too long", pairs, &rep)
	}
}

func TestParseFormat(t *testing.T) {
	for f := FormatAuto; f <= FormatTLDR; f++ {
		g, err := ParseFormat(f.String())
		if err != nil || g != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), g, err)
		}
	}
	if _, err := ParseFormat("csv"); err == nil {
		t.Error("ParseFormat(csv) succeeded")
	}
	if _, err := NewReader(strings.NewReader(""), ReadOptions{Format: Format(9)}); err == nil {
		t.Error("NewReader accepted Format(9)")
	}
}

func TestOpenMissingFile(t *testing.T) {
	_, err := LoadJSONL(filepath.Join(t.TempDir(), "none.jsonl"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want os.ErrNotExist", err)
	}
}

func TestTLDRPrompt(t *testing.T) {
	if got := TLDRPrompt("a", "b", "c"); got != "SUBREDDIT: r/a\nTITLE: b\nPOST: c\nTL;DR:" {
		t.Errorf("TLDRPrompt = %q", got)
	}
	if got := TLDRPrompt("", "", "c"); got != "POST: c\nTL;DR:" {
		t.Errorf("TLDRPrompt without subreddit and title = %q", got)
	}
	pairs := readAll(t, `{"info":{"post":"P","title":null},"summaries":[{"text":"x"},{"text":"y"}],"choice":0}`, ReadOptions{})
	if len(pairs) != 1 || pairs[0] != (TextPair{"POST: P\nTL;DR:", "x", "y"}) {
		t.Errorf("got %#v", pairs)
	}
}

func TestEmptyResponseAccepted(t *testing.T) {
	// An empty reply is data: returned and counted by default, refused only
	// with RejectEmptyResponses.
	lines := strings.Join([]string{
		goodHH,
		`{"chosen":"\n\nHuman: q\n\nAssistant:","rejected":"\n\nHuman: q\n\nAssistant: b"}`,
		`{"chosen":"\n\nHuman: q\n\nAssistant: a","rejected":"\n\nHuman: q\n\nAssistant:  "}`,
	}, "\n")
	r, err := NewReader(strings.NewReader(lines), ReadOptions{Name: "e"})
	if err != nil {
		t.Fatal(err)
	}
	var pairs []TextPair
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, p)
	}
	rep := r.Report()
	want := []TextPair{{"\n\nHuman: Say hi.\n\nAssistant:", " Hi!", " No."}, {"\n\nHuman: q\n\nAssistant:", "", " b"}, {"\n\nHuman: q\n\nAssistant:", " a", "  "}}
	if !reflect.DeepEqual(pairs, want) || rep.Records != 3 || rep.EmptyChosen != 1 || rep.EmptyRejected != 1 || rep.Skipped != 0 {
		t.Errorf("got %#v, report %+v; want %#v with 1 empty chosen, 1 empty rejected", pairs, rep, want)
	}
	if s := rep.String(); !strings.Contains(s, "1 empty chosen, 1 empty rejected") {
		t.Errorf("report text %q does not count the empty replies", s)
	}
	for _, line := range []string{
		`{"prompt":"p","chosen":"","rejected":"b"}`,
		`{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":""}],"rejected":[{"role":"assistant","content":"b"}]}`,
		`{"chosen":[{"role":"user","content":"q"},{"role":"assistant","content":""}],"rejected":[{"role":"user","content":"q"},{"role":"assistant","content":"b"}]}`,
		`{"info":{"post":"p"},"summaries":[{"text":"a"},{"text":" "}],"choice":1}`,
	} {
		if got := readAll(t, line, ReadOptions{}); len(got) != 1 || strings.TrimSpace(got[0].Chosen) != "" {
			t.Errorf("%s: got %#v, want one pair with an empty chosen reply", line, got)
		}
		_, err := readAllErr(line, ReadOptions{RejectEmptyResponses: true})
		var rerr *RecordError
		if !errors.As(err, &rerr) || rerr.Reason != ReasonEmpty || rerr.Field != "chosen" {
			t.Errorf("%s with RejectEmptyResponses: error %v, want chosen: empty field", line, err)
		}
	}
}

// readAllErr reads every record of content, returning the first error.
func readAllErr(content string, opts ReadOptions) ([]TextPair, error) {
	r, err := NewReader(strings.NewReader(content), opts)
	if err != nil {
		return nil, err
	}
	var out []TextPair
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
}

// endless is a reader that never ends: one line of 'x' forever. It counts
// the bytes it gave.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestEndlessLineRefusedAtLimit(t *testing.T) {
	// A line that never ends is refused once the limit is passed, after
	// reading at most the limit plus one buffer (64 KiB) beyond it.
	for _, limit := range []int{1000, 1 << 20} {
		src := &endless{}
		done := make(chan error, 1)
		go func() {
			r, err := NewReader(io.MultiReader(strings.NewReader(goodTRL+"\n"), src), ReadOptions{MaxLineBytes: limit, Name: "endless"})
			if err != nil {
				done <- err
				return
			}
			if _, err := r.Next(); err != nil {
				done <- err
				return
			}
			_, err = r.Next()
			done <- err
		}()
		select {
		case err := <-done:
			var rerr *RecordError
			if !errors.As(err, &rerr) || rerr.Reason != ReasonLineTooLong || rerr.Line != 2 {
				t.Errorf("limit %d: error %v, want endless:2: line too long", limit, err)
			}
			if bound := int64(limit) + 3*(64<<10); src.n > bound {
				t.Errorf("limit %d: read %d bytes of the endless line, want at most %d", limit, src.n, bound)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("limit %d: a never-ending line is still being read after 10 s (%d bytes)", limit, src.n)
		}
	}
}

func TestBOMSkipped(t *testing.T) {
	bom := "\xef\xbb\xbf"
	content := bom + goodTRL + "\n" + goodTRL + "\n"
	for _, data := range [][]byte{[]byte(content), gzipBytes(t, []byte(content))} {
		pairs, rep, err := LoadJSONLWith(writeTemp(t, "bom.jsonl", data), ReadOptions{})
		if err != nil || len(pairs) != 2 || !rep.BOM || rep.Lines != 2 {
			t.Errorf("got %d pairs, report %+v, error %v; want 2 pairs and the BOM reported", len(pairs), rep, err)
		}
		if rep != nil && !strings.Contains(rep.String(), "BOM skipped") {
			t.Errorf("report text %q does not mention the BOM", rep.String())
		}
	}
	_, rep, err := LoadJSONLWith(writeTemp(t, "nobom.jsonl", []byte(goodTRL)), ReadOptions{})
	if err != nil || rep.BOM {
		t.Errorf("no BOM: report %+v, error %v", rep, err)
	}
}

func TestNoRecords(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content []byte
		lenient bool
		line    int
	}{
		{"empty", nil, false, 1},
		{"whitespace", []byte(" \n\t\r\n\n"), false, 3},
		{"BOM only", []byte("\xef\xbb\xbf"), false, 1},
		{"empty gzip", gzipBytes(t, nil), false, 1},
		{"all skipped", []byte("{\n[1]\n"), true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, "none.jsonl", tc.content)
			pairs, _, err := LoadJSONLWith(path, ReadOptions{Lenient: tc.lenient})
			var rerr *RecordError
			if !errors.As(err, &rerr) || rerr.Reason != ReasonNoRecords || !rerr.Fatal() || rerr.Line != tc.line || len(pairs) != 0 {
				t.Fatalf("got %d pairs, error %v; want %s:%d: no records", len(pairs), err, path, tc.line)
			}
			if !strings.HasPrefix(err.Error(), path+":") || !strings.Contains(err.Error(), "no records") {
				t.Errorf("error %q does not name the file and say no records", err)
			}
		})
	}
}

func TestFormatChangeNamesBoth(t *testing.T) {
	// The finding: line 1 TRL chat without prompt, line 2 HH.
	chat := `{"chosen":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"rejected":[{"role":"user","content":"q"},{"role":"assistant","content":"b"}]}`
	_, err := readAllErr(chat+"\n"+goodHH+"\n", ReadOptions{Name: "mix"})
	want := `mix:2: format change: line 2 is hh ("chosen" is a transcript string), but line 1 was trl`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	// A forced format keeps its own field errors.
	_, err = readAllErr(goodHH+"\n", ReadOptions{Name: "mix", Format: FormatTRL})
	var rerr *RecordError
	if !errors.As(err, &rerr) || rerr.Reason == ReasonFormatChange {
		t.Errorf("forced format: error %v, want a field error", err)
	}
}
