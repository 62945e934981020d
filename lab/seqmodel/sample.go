package seqmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// SampleConfig configures Policy.Sample. The zero value samples from the
// full softmax at temperature 1, without an end token, until MaxLen.
type SampleConfig struct {
	// Temperature τ: tokens are drawn from softmax(logits/τ). 0 means 1.
	Temperature float64
	// TopK keeps only the k most likely tokens (ties broken by lower id)
	// before sampling; 0 keeps all. TopK = 1 is greedy decoding.
	TopK int
	// MaxNewTokens caps the response length; 0 means up to Config.MaxLen
	// tokens of prompt + response.
	MaxNewTokens int
	// UseEOS stops a row right after it emits EOS (EOS is kept as the last
	// response token).
	UseEOS bool
	EOS    int
	// PadID fills the unused tail of the working buffer (never attended to).
	PadID int
	// Seed seeds the sampler's PCG stream: same seed, same prompts, same
	// parameters → same responses.
	Seed uint64
}

// Sample draws one response per prompt by ancestral sampling:
// y_i ~ softmax(logits(x, y_<i)/τ) restricted to the top-k tokens, stopping
// at EOS (when UseEOS), after MaxNewTokens, or when prompt+response reaches
// Config.MaxLen. All rows advance together in one batched forward pass per
// step. Responses are returned without padding.
func (p *Policy) Sample(prompts [][]int, sc SampleConfig) ([][]int, error) {
	if len(prompts) == 0 {
		return nil, nil
	}
	tau := sc.Temperature
	if tau == 0 {
		tau = 1
	}
	if tau < 0 || sc.TopK < 0 || sc.MaxNewTokens < 0 {
		return nil, fmt.Errorf("Policy.Sample: Temperature=%g, TopK=%d, MaxNewTokens=%d must be non-negative",
			sc.Temperature, sc.TopK, sc.MaxNewTokens)
	}
	v := p.cfg.VocabSize
	if sc.UseEOS && (sc.EOS < 0 || sc.EOS >= v) {
		return nil, fmt.Errorf("Policy.Sample: EOS=%d outside [0, %d)", sc.EOS, v)
	}
	longest := 0
	for b, pr := range prompts {
		if len(pr) == 0 {
			return nil, fmt.Errorf("Policy.Sample: prompt %d is empty", b)
		}
		longest = max(longest, len(pr))
	}
	if longest >= p.cfg.MaxLen {
		return nil, fmt.Errorf("Policy.Sample: longest prompt has %d tokens, no room below MaxLen=%d", longest, p.cfg.MaxLen)
	}
	maxNew := p.cfg.MaxLen - longest
	if sc.MaxNewTokens > 0 {
		maxNew = min(maxNew, sc.MaxNewTokens)
	}
	n, t := len(prompts), longest+maxNew
	tokens := make([]int32, n*t)
	pos := make([]int32, n) // position of the last token of each row
	for b, pr := range prompts {
		for j := range t {
			tokens[b*t+j] = int32(sc.PadID)
		}
		for j, tok := range pr {
			if tok < 0 || tok >= v {
				return nil, fmt.Errorf("Policy.Sample: prompt %d position %d: token %d outside [0, %d)", b, j, tok, v)
			}
			tokens[b*t+j] = int32(tok)
		}
		pos[b] = int32(len(pr) - 1)
	}
	if sc.PadID < 0 || sc.PadID >= v {
		return nil, fmt.Errorf("Policy.Sample: PadID=%d outside [0, %d)", sc.PadID, v)
	}

	rng := rand.New(rand.NewPCG(sc.Seed, 0x5a3b1e))
	out := make([][]int, n)
	done := make([]bool, n)
	probs := make([]float64, v)
	order := make([]int, v)
	for step := 0; step < maxNew; step++ {
		active := 0
		for b := range n {
			if !done[b] {
				active++
			}
		}
		if active == 0 {
			break
		}
		logits, err := p.NextLogits(tokens, n, t, pos)
		if err != nil {
			return nil, fmt.Errorf("Policy.Sample: step %d: %w", step, err)
		}
		for b := range n {
			if done[b] {
				continue
			}
			tok := drawToken(logits[b*v:(b+1)*v], tau, sc.TopK, rng.Float64(), probs, order)
			out[b] = append(out[b], tok)
			pos[b]++
			tokens[b*t+int(pos[b])] = int32(tok)
			if (sc.UseEOS && tok == sc.EOS) || int(pos[b]) == t-1 {
				done[b] = true
			}
		}
	}
	return out, nil
}

// drawToken samples index i with probability softmax(logits/τ)_i restricted
// to the topK largest logits (0 = all), by inverting the CDF at u ∈ [0,1).
// probs and order are scratch slices of len(logits).
func drawToken(logits []float32, tau float64, topK int, u float64, probs []float64, order []int) int {
	v := len(logits)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return logits[order[a]] > logits[order[b]] })
	k := v
	if topK > 0 && topK < v {
		k = topK
	}
	top := float64(logits[order[0]])
	total := 0.0
	for r := range k {
		probs[r] = math.Exp((float64(logits[order[r]]) - top) / tau)
		total += probs[r]
	}
	target := u * total
	acc := 0.0
	for r := range k {
		acc += probs[r]
		if target < acc {
			return order[r]
		}
	}
	return order[k-1]
}
