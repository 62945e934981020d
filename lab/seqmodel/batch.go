package seqmodel

import "fmt"

// Batch is a right-padded batch of prompt+response sequences.
//
// Row b holds the prompt tokens, then the response tokens, then PadID up to
// length T: Tokens[b*T+j] for j < Len[b] are real, the rest are padding.
// PromptLen[b] ≥ 1 tokens are the prompt (the first one is the context the
// first response token is predicted from).
type Batch struct {
	Tokens    []int32 // [Size·T], row-major
	PromptLen []int32 // [Size]
	Len       []int32 // [Size], prompt + response length
	Size, T   int
	PadID     int32
}

// NewBatch concatenates prompts[b] and responses[b] and right-pads every row
// with padID to length t (t = 0 means the longest row). It fails if a prompt
// is empty, the lists differ in length, or a row is longer than t.
func NewBatch(prompts, responses [][]int, padID, t int) (Batch, error) {
	if len(prompts) != len(responses) {
		return Batch{}, fmt.Errorf("seqmodel.NewBatch: %d prompts but %d responses", len(prompts), len(responses))
	}
	if len(prompts) == 0 {
		return Batch{}, fmt.Errorf("seqmodel.NewBatch: empty batch")
	}
	longest := 0
	for b := range prompts {
		if len(prompts[b]) == 0 {
			return Batch{}, fmt.Errorf("seqmodel.NewBatch: row %d: empty prompt (need at least one context token)", b)
		}
		longest = max(longest, len(prompts[b])+len(responses[b]))
	}
	if t == 0 {
		t = longest
	}
	if longest > t {
		return Batch{}, fmt.Errorf("seqmodel.NewBatch: longest row has %d tokens, more than the padded length %d", longest, t)
	}
	if t < 2 {
		t = 2
	}
	bt := Batch{
		Tokens:    make([]int32, len(prompts)*t),
		PromptLen: make([]int32, len(prompts)),
		Len:       make([]int32, len(prompts)),
		Size:      len(prompts),
		T:         t,
		PadID:     int32(padID),
	}
	for b := range prompts {
		row := bt.Tokens[b*t : (b+1)*t]
		n := copy(row, toInt32(prompts[b]))
		n += copy(row[n:], toInt32(responses[b]))
		for j := n; j < t; j++ {
			row[j] = int32(padID)
		}
		bt.PromptLen[b] = int32(len(prompts[b]))
		bt.Len[b] = int32(n)
	}
	return bt, nil
}

// Row returns the real (unpadded) tokens of row b.
func (bt Batch) Row(b int) []int32 { return bt.Tokens[b*bt.T : b*bt.T+int(bt.Len[b])] }

// Response returns the response tokens of row b.
func (bt Batch) Response(b int) []int32 {
	return bt.Tokens[b*bt.T+int(bt.PromptLen[b]) : b*bt.T+int(bt.Len[b])]
}

// check validates the batch against a model config.
func (bt Batch) check(cfg Config) error {
	if bt.Size <= 0 || bt.T < 2 {
		return fmt.Errorf("seqmodel: batch has Size=%d, T=%d: need Size ≥ 1 and T ≥ 2", bt.Size, bt.T)
	}
	if len(bt.Tokens) != bt.Size*bt.T || len(bt.PromptLen) != bt.Size || len(bt.Len) != bt.Size {
		return fmt.Errorf("seqmodel: batch slices have lengths Tokens=%d PromptLen=%d Len=%d, want %d, %d, %d",
			len(bt.Tokens), len(bt.PromptLen), len(bt.Len), bt.Size*bt.T, bt.Size, bt.Size)
	}
	if bt.T > cfg.MaxLen {
		return fmt.Errorf("seqmodel: batch length T=%d exceeds Config.MaxLen=%d", bt.T, cfg.MaxLen)
	}
	for b := range bt.Size {
		if bt.PromptLen[b] < 1 || bt.Len[b] < bt.PromptLen[b] || int(bt.Len[b]) > bt.T {
			return fmt.Errorf("seqmodel: batch row %d: PromptLen=%d, Len=%d, T=%d: need 1 ≤ PromptLen ≤ Len ≤ T",
				b, bt.PromptLen[b], bt.Len[b], bt.T)
		}
	}
	for i, tok := range bt.Tokens {
		if tok < 0 || int(tok) >= cfg.VocabSize {
			return fmt.Errorf("seqmodel: batch row %d position %d: token %d outside [0, %d)", i/bt.T, i%bt.T, tok, cfg.VocabSize)
		}
	}
	return nil
}

func toInt32(xs []int) []int32 {
	out := make([]int32, len(xs))
	for i, x := range xs {
		out[i] = int32(x)
	}
	return out
}
