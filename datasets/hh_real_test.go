package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// hhRealFile is the real Anthropic HH-RLHF harmless-base test split shipped
// with the project (MIT, see testdata/hh-rlhf/LICENSE and SOURCE.md). Its
// content may be offensive: tests print counts only, never records.
const hhRealFile = "testdata/hh-rlhf/harmless-base-test.jsonl.gz"

// hhRealCount is an independent count of the real split, written without
// the loader: compress/gzip, encoding/json, a split of each pair at the last
// "\n\nAssistant:" of the text both transcripts share, and strings.Fields.
type hhRealCount struct {
	pairs, emptyChosen, emptyRejected int
	longer, shorter, even             int // by word count of the replies
	// replyTurns counts the pairs whose chosen or rejected reply itself holds
	// a further "\n\nAssistant:" (so the last marker of that transcript is not
	// the end of the prompt).
	replyTurns int
	prompts    []string
}

func countHHReal(t *testing.T) hhRealCount {
	t.Helper()
	f, err := os.Open(hhRealFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	const marker = "\n\nAssistant:"
	var c hhRealCount
	sc := bufio.NewScanner(gz)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var rec struct{ Chosen, Rejected string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v", c.pairs+1, err)
		}
		c.pairs++
		n := 0
		for n < len(rec.Chosen) && n < len(rec.Rejected) && rec.Chosen[n] == rec.Rejected[n] {
			n++
		}
		i := strings.LastIndex(rec.Chosen[:n], marker)
		if i < 0 {
			t.Fatalf("line %d: no shared Assistant turn", c.pairs)
		}
		end := i + len(marker)
		chosen, rejected := rec.Chosen[end:], rec.Rejected[end:]
		c.prompts = append(c.prompts, rec.Chosen[:end])
		if strings.Contains(chosen, marker) || strings.Contains(rejected, marker) {
			c.replyTurns++
		}
		wc, wr := len(strings.Fields(chosen)), len(strings.Fields(rejected))
		if wc == 0 {
			c.emptyChosen++
		}
		if wr == 0 {
			c.emptyRejected++
		}
		switch {
		case wc > wr:
			c.longer++
		case wc < wr:
			c.shorter++
		default:
			c.even++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHHRealSplit(t *testing.T) {
	want := countHHReal(t)
	// The facts of SOURCE.md, and the word counts found by this count.
	if want.pairs != 2312 || want.emptyChosen != 4 || want.emptyRejected != 0 ||
		want.longer != 995 || want.shorter != 1272 || want.even != 45 || want.replyTurns != 5 {
		t.Fatalf("independent count %d pairs, %d/%d empty chosen/rejected, longer %d shorter %d even %d, %d replies with a further turn; "+
			"want 2312, 4/0, 995/1272/45, 5", want.pairs, want.emptyChosen, want.emptyRejected, want.longer, want.shorter, want.even, want.replyTurns)
	}

	// The loader with its default options reads it whole.
	pairs, rep, err := LoadJSONLWith(hhRealFile, ReadOptions{})
	if err != nil {
		t.Fatalf("default load: %v", err)
	}
	if len(pairs) != want.pairs || rep.Records != want.pairs || rep.Lines != want.pairs || rep.Skipped != 0 || rep.Format != FormatHH || rep.BOM {
		t.Fatalf("loaded %d pairs, report %d lines %d records %d skipped format %v; want %d HH records", len(pairs), rep.Lines, rep.Records, rep.Skipped, rep.Format, want.pairs)
	}
	if rep.EmptyChosen != want.emptyChosen || rep.EmptyRejected != want.emptyRejected {
		t.Errorf("report counts %d/%d empty chosen/rejected, the independent count %d/%d", rep.EmptyChosen, rep.EmptyRejected, want.emptyChosen, want.emptyRejected)
	}
	for i, p := range pairs {
		if p.Prompt != want.prompts[i] || !strings.HasSuffix(p.Prompt, HHAssistant) {
			t.Fatalf("record %d: the prompt does not end at the last shared %q (%d bytes, independent count %d)", i+1, HHAssistant, len(p.Prompt), len(want.prompts[i]))
		}
	}
	s := SummarizeLengths(pairs, WordCount, 1)
	if s.N != want.pairs || s.Longer != want.longer || s.Shorter != want.shorter || s.Even != want.even {
		t.Errorf("SummarizeLengths: longer %d shorter %d even %d of %d, the independent count %d/%d/%d",
			s.Longer, s.Shorter, s.Even, s.N, want.longer, want.shorter, want.even)
	}
	share := float64(want.longer) / float64(want.longer+want.shorter)
	if s.LongerRate != share {
		t.Errorf("longer-chosen share %v, independent %d/%d = %v", s.LongerRate, want.longer, want.longer+want.shorter, share)
	}
	t.Logf("%d pairs, %d empty chosen replies; longer reply chosen in %d of %d length-differing pairs (%.4f)",
		want.pairs, want.emptyChosen, want.longer, want.longer+want.shorter, share)

	// Strict about empty replies: the first one, line 87, is refused.
	_, _, err = LoadJSONLWith(hhRealFile, ReadOptions{RejectEmptyResponses: true})
	var rerr *RecordError
	if !errors.As(err, &rerr) || rerr.Line != 87 || rerr.Field != "chosen" || rerr.Reason != ReasonEmpty {
		t.Errorf("RejectEmptyResponses: error %v, want line 87 chosen: empty field", err)
	}
}

func TestHHRealShipsWithLicence(t *testing.T) {
	for _, name := range []string{"LICENSE", "SOURCE.md"} {
		b, err := os.ReadFile("testdata/hh-rlhf/" + name)
		if err != nil || len(b) == 0 {
			t.Errorf("testdata/hh-rlhf/%s: %v (%d bytes); the data must keep its licence and source note beside it", name, err, len(b))
		}
	}
	if fi, err := os.Stat(hhRealFile); err != nil || fi.Size() != 742801 {
		t.Errorf("%s: %v; want the 742,801-byte file of SOURCE.md", hhRealFile, err)
	}
}
