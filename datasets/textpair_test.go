package datasets

import (
	"math"
	"testing"
)

func TestSummarizeLengths(t *testing.T) {
	pairs := []TextPair{
		{"p", "aaaa", "a"},  // longer by 3
		{"p", "a", "aaaaa"}, // shorter by 4
		{"p", "aa", "a"},    // longer by 1: even at gap 2
		{"p", "aaaaaa", ""}, // longer by 6
	}
	s := SummarizeLengths(pairs, func(s string) int { return len(s) }, 2)
	if s.N != 4 || s.Longer != 2 || s.Shorter != 1 || s.Even != 1 || s.MeanChosen != 13.0/4 || s.MeanRejected != 7.0/4 || s.LongerRate != 2.0/3 {
		t.Errorf("SummarizeLengths = %+v", s)
	}
	if e := SummarizeLengths(nil, WordCount, 0); e.N != 0 || !math.IsNaN(e.LongerRate) || e.MinGap != 1 {
		t.Errorf("empty summary = %+v", e)
	}
	if WordCount("  two\twords\n") != 2 {
		t.Error("WordCount")
	}
}
