package seqmodel

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TestGradientsMatchFiniteDifferences checks the graph gradient of the SFT
// loss against central differences of the float64 reference model, for
// entries of several parameters (embeddings, attention, MLP, final norm).
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for _, untied := range []bool{false, true} {
		cfg := tinyConfig(untied)
		cfg.InitStd = 0.2
		p := newTestPolicy(t, cfg)
		rng := rand.New(rand.NewPCG(11, 12))
		prompts := randomRows(rng, 3, 1, 3, 13)
		responses := randomRows(rng, 3, 1, 4, 13)
		bt := mustBatch(t, prompts, responses, 0, 9)
		names := []string{"tok_emb", "pos_emb", "block_0/wq", "block_0/bk", "block_1/wv", "block_1/w1", "block_0/ln2_gain", "lnf_offset"}
		if untied {
			names = append(names, "out_w")
		}
		for _, name := range names {
			v := p.store.GetVariable(ModelScope + "/" + name)
			e, err := model.NewExec(p.backend, p.store, func(_ *model.Scope, tokens, pl, sl *Node) (*Node, *Node) {
				logp, mask := tokenLogProbs(lmLogits(p.cfg, p.store, tokens), tokens, pl, sl)
				loss := Neg(Div(ReduceAllSum(logp), ReduceAllSum(mask)))
				return loss, Gradient(loss, v.NodeValue(tokens.Graph()))[0]
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err := e.Call(bt.inputs()...)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			grad := tensors.MustCopyFlatData[float32](out[1])
			for _, g := range grad {
				if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
					t.Fatalf("%s: gradient not finite", name)
				}
			}
			ref := newRefNet(t, &p.net, false)
			loss := func() float64 {
				total, count := 0.0, 0
				for b := range bt.Size {
					total -= ref.seqLogProb(bt.Row(b), int(bt.PromptLen[b]))
					count += len(responses[b])
				}
				return total / float64(count)
			}
			w := ref.w[name]
			for range 4 {
				// Pick an entry with a gradient large enough to be measured.
				i := rng.IntN(len(w))
				for k := 0; k < len(w) && math.Abs(float64(grad[i])) < 1e-3; k++ {
					i = (i + 1) % len(w)
				}
				const h = 1e-5
				orig := w[i]
				w[i] = orig + h
				up := loss()
				w[i] = orig - h
				down := loss()
				w[i] = orig
				fd := (up - down) / (2 * h)
				if math.Abs(float64(grad[i])-fd) > 2e-3*math.Max(1e-2, math.Abs(fd)) {
					t.Errorf("untied=%v %s[%d]: gradient %.6g, central difference %.6g", untied, name, i, grad[i], fd)
				}
			}
		}
	}
}
