package datasets

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Vocab describes a token-id space: ids are ints in [0, Size), and four of
// them are special. A sequence model over a Vocab reads
//
//	BOS prompt… SEP response… EOS PAD PAD …
//
// (see [Vocab.Join] and [Vocab.Pad]).
type Vocab struct {
	// Size is the number of token ids: every id is in [0, Size).
	Size int
	// PAD fills sequences up to a fixed length; it carries no content.
	PAD int
	// BOS starts a sequence.
	BOS int
	// EOS ends a response.
	EOS int
	// SEP separates the prompt from the response.
	SEP int
}

// IsSpecial reports whether id is one of PAD, BOS, EOS, SEP.
func (v Vocab) IsSpecial(id int) bool {
	return id == v.PAD || id == v.BOS || id == v.EOS || id == v.SEP
}

// Join returns BOS prompt… SEP response… EOS, a fresh slice of length
// len(prompt)+len(response)+3.
func (v Vocab) Join(prompt, response []int) []int {
	out := make([]int, 0, len(prompt)+len(response)+3)
	out = append(out, v.BOS)
	out = append(out, prompt...)
	out = append(out, v.SEP)
	out = append(out, response...)
	return append(out, v.EOS)
}

// Pad returns ids right-padded with PAD to length n, as a fresh slice. It
// returns an error when len(ids) > n: sequences are never silently cut.
func (v Vocab) Pad(ids []int, n int) ([]int, error) {
	if len(ids) > n {
		return nil, fmt.Errorf("datasets: Vocab.Pad: sequence of length %d exceeds %d", len(ids), n)
	}
	out := make([]int, n)
	copy(out, ids)
	for i := len(ids); i < n; i++ {
		out[i] = v.PAD
	}
	return out, nil
}

// Check returns an error naming the first id outside [0, Size).
func (v Vocab) Check(ids []int) error {
	for i, id := range ids {
		if id < 0 || id >= v.Size {
			return fmt.Errorf("datasets: token %d at position %d is outside the vocabulary [0, %d)", id, i, v.Size)
		}
	}
	return nil
}

// Tokenizer turns text into token ids of its [Vocab] and back.
type Tokenizer interface {
	// Vocab returns the id space, with its special tokens.
	Vocab() Vocab
	// Encode returns the ids of text, without special tokens around it.
	Encode(text string) ([]int, error)
	// Decode returns the text of ids; special tokens are written by name.
	Decode(ids []int) string
}

// Byte-level vocabulary: ids 0..255 are the bytes themselves, then the four
// special tokens.
const (
	BytePAD       = 256
	ByteBOS       = 257
	ByteEOS       = 258
	ByteSEP       = 259
	ByteVocabSize = 260
)

// ByteTokenizer is the byte-level tokenizer for text files: the id of a byte
// is its value (0..255), and PAD, BOS, EOS, SEP are 256..259, so Size = 260.
// It needs no vocabulary file and never fails: any string, valid UTF-8 or
// not, encodes to len(text) ids and decodes back to itself.
type ByteTokenizer struct{}

// Vocab returns {Size: 260, PAD: 256, BOS: 257, EOS: 258, SEP: 259}.
func (ByteTokenizer) Vocab() Vocab {
	return Vocab{Size: ByteVocabSize, PAD: BytePAD, BOS: ByteBOS, EOS: ByteEOS, SEP: ByteSEP}
}

// Encode returns one id per byte of text. The error is always nil.
func (ByteTokenizer) Encode(text string) ([]int, error) {
	out := make([]int, len(text))
	for i := 0; i < len(text); i++ {
		out[i] = int(text[i])
	}
	return out, nil
}

// Decode writes the bytes of ids 0..255 and the names <pad>, <bos>, <eos>,
// <sep> for the special ids; any other id is written as <unk:ID>.
func (ByteTokenizer) Decode(ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		switch {
		case id >= 0 && id < 256:
			sb.WriteByte(byte(id))
		case id == BytePAD:
			sb.WriteString("<pad>")
		case id == ByteBOS:
			sb.WriteString("<bos>")
		case id == ByteEOS:
			sb.WriteString("<eos>")
		case id == ByteSEP:
			sb.WriteString("<sep>")
		default:
			sb.WriteString("<unk:" + strconv.Itoa(id) + ">")
		}
	}
	return sb.String()
}

// EncodePair returns BOS prompt SEP response EOS under tok.
func EncodePair(tok Tokenizer, prompt, response string) ([]int, error) {
	p, err := tok.Encode(prompt)
	if err != nil {
		return nil, fmt.Errorf("datasets: encoding prompt: %w", err)
	}
	r, err := tok.Encode(response)
	if err != nil {
		return nil, fmt.Errorf("datasets: encoding response: %w", err)
	}
	return tok.Vocab().Join(p, r), nil
}

// Synthetic vocabulary of [LengthBias]: ids 0..3 are PAD, BOS, EOS, SEP;
// ids 4 .. 4+NumSalient−1 are the salient tokens, named s0, s1, …; the rest
// up to VocabSize−1 are filler tokens, named w0, w1, ….
const (
	SynthPAD = 0
	SynthBOS = 1
	SynthEOS = 2
	SynthSEP = 3
	// SynthFirstContent is the first non-special id of the synthetic vocabulary.
	SynthFirstContent = 4
)

// SynthTokenizer writes the synthetic vocabulary of a [SeqTask] as
// space-separated names: <pad> <bos> <eos> <sep>, s0…s{NumSalient−1} for the
// salient tokens, and w0, w1, … for the filler tokens.
type SynthTokenizer struct {
	// NumSalient is the number of salient tokens (ids 4 .. 4+NumSalient−1).
	NumSalient int
	// Size is the vocabulary size.
	Size int
}

// Vocab returns the synthetic vocabulary {Size, PAD: 0, BOS: 1, EOS: 2, SEP: 3}.
func (t SynthTokenizer) Vocab() Vocab {
	return Vocab{Size: t.Size, PAD: SynthPAD, BOS: SynthBOS, EOS: SynthEOS, SEP: SynthSEP}
}

// Encode parses space-separated token names; an unknown name is an error
// naming its position.
func (t SynthTokenizer) Encode(text string) ([]int, error) {
	fields := strings.Fields(text)
	out := make([]int, 0, len(fields))
	for i, f := range fields {
		id, ok := t.lookup(f)
		if !ok {
			return nil, fmt.Errorf("datasets: SynthTokenizer.Encode: unknown token %q at word %d", f, i)
		}
		out = append(out, id)
	}
	return out, nil
}

func (t SynthTokenizer) lookup(name string) (int, bool) {
	switch name {
	case "<pad>":
		return SynthPAD, true
	case "<bos>":
		return SynthBOS, true
	case "<eos>":
		return SynthEOS, true
	case "<sep>":
		return SynthSEP, true
	}
	if len(name) < 2 || !utf8.ValidString(name) {
		return 0, false
	}
	n, err := strconv.Atoi(name[1:])
	if err != nil || name[1] == '+' || name[1] == '-' || (len(name) > 2 && name[1] == '0') {
		return 0, false
	}
	switch name[0] {
	case 's':
		if n < t.NumSalient {
			return SynthFirstContent + n, true
		}
	case 'w':
		if id := SynthFirstContent + t.NumSalient + n; id < t.Size {
			return id, true
		}
	}
	return 0, false
}

// Decode writes the names of ids separated by single spaces; an id outside
// the vocabulary is written as <unk:ID>.
func (t SynthTokenizer) Decode(ids []int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = t.name(id)
	}
	return strings.Join(parts, " ")
}

func (t SynthTokenizer) name(id int) string {
	switch {
	case id == SynthPAD:
		return "<pad>"
	case id == SynthBOS:
		return "<bos>"
	case id == SynthEOS:
		return "<eos>"
	case id == SynthSEP:
		return "<sep>"
	case id >= SynthFirstContent && id < SynthFirstContent+t.NumSalient:
		return "s" + strconv.Itoa(id-SynthFirstContent)
	case id >= SynthFirstContent+t.NumSalient && id < t.Size:
		return "w" + strconv.Itoa(id-SynthFirstContent-t.NumSalient)
	}
	return "<unk:" + strconv.Itoa(id) + ">"
}
