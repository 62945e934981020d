package datasets

import (
	"reflect"
	"testing"
)

func TestByteTokenizerRoundTrip(t *testing.T) {
	var tok ByteTokenizer
	for _, s := range []string{"", "TL;DR: short", "héllo ✓", "bad \xff\xfe utf8", "\x00\n"} {
		ids, err := tok.Encode(s)
		if err != nil || len(ids) != len(s) {
			t.Fatalf("Encode(%q) = %v, %v", s, ids, err)
		}
		for i, id := range ids {
			if id != int(s[i]) {
				t.Fatalf("Encode(%q)[%d] = %d, want %d", s, i, id, s[i])
			}
		}
		if got := tok.Decode(ids); got != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, got)
		}
	}
	if got := tok.Decode([]int{ByteBOS, 'a', ByteSEP, 'b', ByteEOS, BytePAD, 999}); got != "<bos>a<sep>b<eos><pad><unk:999>" {
		t.Errorf("Decode with specials = %q", got)
	}
	v := tok.Vocab()
	if v.Size != 260 || v.PAD != 256 || v.BOS != 257 || v.EOS != 258 || v.SEP != 259 || !v.IsSpecial(258) || v.IsSpecial(255) {
		t.Errorf("vocab %+v", v)
	}
}

func TestEncodePairAndPad(t *testing.T) {
	ids, err := EncodePair(ByteTokenizer{}, "ab", "c")
	if err != nil || !reflect.DeepEqual(ids, []int{ByteBOS, 'a', 'b', ByteSEP, 'c', ByteEOS}) {
		t.Fatalf("EncodePair = %v, %v", ids, err)
	}
	v := ByteTokenizer{}.Vocab()
	padded, err := v.Pad(ids, 8)
	if err != nil || !reflect.DeepEqual(padded, []int{ByteBOS, 'a', 'b', ByteSEP, 'c', ByteEOS, BytePAD, BytePAD}) {
		t.Errorf("Pad = %v, %v", padded, err)
	}
	if _, err := v.Pad(ids, 5); err == nil {
		t.Error("Pad shorter than the sequence succeeded")
	}
	if err := v.Check([]int{0, 259}); err != nil {
		t.Error(err)
	}
	if err := v.Check([]int{0, 260}); err == nil {
		t.Error("Check accepted 260")
	}
}

func TestSynthTokenizer(t *testing.T) {
	tok := SynthTokenizer{NumSalient: 16, Size: 64}
	ids, err := tok.Encode("<bos> s0 s15 w0 w43 <sep> <eos> <pad>")
	want := []int{1, 4, 19, 20, 63, 3, 2, 0}
	if err != nil || !reflect.DeepEqual(ids, want) {
		t.Fatalf("Encode = %v, %v; want %v", ids, err, want)
	}
	if got := tok.Decode(ids); got != "<bos> s0 s15 w0 w43 <sep> <eos> <pad>" {
		t.Errorf("Decode = %q", got)
	}
	for id := range 64 {
		back, err := tok.Encode(tok.Decode([]int{id}))
		if err != nil || len(back) != 1 || back[0] != id {
			t.Errorf("id %d: round trip gives %v, %v", id, back, err)
		}
	}
	for _, bad := range []string{"s16", "w44", "x1", "s", "s-1", "s+1", "s01", "w1e2"} {
		if _, err := tok.Encode(bad); err == nil {
			t.Errorf("Encode(%q) succeeded", bad)
		}
	}
	if got := tok.Decode([]int{64, -1}); got != "<unk:64> <unk:-1>" {
		t.Errorf("Decode out of range = %q", got)
	}
}
