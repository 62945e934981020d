package seqmodel

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"
)

// ModelScope is the Store scope that holds every model parameter; optimizer
// state lives outside it.
const ModelScope = "/model"

// negInf is the attention score given to masked (future) keys: exp of it
// underflows to exactly 0 in float32.
const negInf = -1e9

type initKind int

const (
	initNormal initKind = iota
	initZero
	initOne
)

// paramSpec is one parameter tensor: its full Store path, shape and initialisation.
type paramSpec struct {
	path string
	dims []int
	init initKind
}

// paramSpecs lists the parameters of the trunk + LM head (reward=false) or
// trunk + scalar reward head (reward=true), in a fixed order.
func paramSpecs(c Config, reward bool) []paramSpec {
	d, f := c.DModel, c.MLPRatio*c.DModel
	specs := []paramSpec{
		{ModelScope + "/tok_emb", []int{c.VocabSize, d}, initNormal},
		{ModelScope + "/pos_emb", []int{c.MaxLen, d}, initNormal},
	}
	for l := range c.Layers {
		p := fmt.Sprintf("%s/block_%d/", ModelScope, l)
		specs = append(specs,
			paramSpec{p + "ln1_gain", []int{d}, initOne},
			paramSpec{p + "ln1_offset", []int{d}, initZero},
			paramSpec{p + "wq", []int{d, d}, initNormal},
			paramSpec{p + "bq", []int{d}, initZero},
			paramSpec{p + "wk", []int{d, d}, initNormal},
			paramSpec{p + "bk", []int{d}, initZero},
			paramSpec{p + "wv", []int{d, d}, initNormal},
			paramSpec{p + "bv", []int{d}, initZero},
			paramSpec{p + "wo", []int{d, d}, initNormal},
			paramSpec{p + "bo", []int{d}, initZero},
			paramSpec{p + "ln2_gain", []int{d}, initOne},
			paramSpec{p + "ln2_offset", []int{d}, initZero},
			paramSpec{p + "w1", []int{d, f}, initNormal},
			paramSpec{p + "b1", []int{f}, initZero},
			paramSpec{p + "w2", []int{f, d}, initNormal},
			paramSpec{p + "b2", []int{d}, initZero},
		)
	}
	specs = append(specs,
		paramSpec{ModelScope + "/lnf_gain", []int{d}, initOne},
		paramSpec{ModelScope + "/lnf_offset", []int{d}, initZero},
	)
	switch {
	case reward:
		specs = append(specs,
			paramSpec{ModelScope + "/reward_w", []int{d}, initNormal},
			paramSpec{ModelScope + "/reward_b", []int{}, initZero})
	case c.UntiedOutput:
		specs = append(specs, paramSpec{ModelScope + "/out_w", []int{d, c.VocabSize}, initNormal})
	}
	return specs
}

// initStore creates every parameter in a new Store, drawing normal weights
// N(0, InitStd²) from a PCG stream seeded by c.Seed in paramSpecs order.
func initStore(c Config, reward bool) *model.Store {
	store := model.NewStore()
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed_5e9_0de1))
	for _, s := range paramSpecs(c, reward) {
		n := 1
		for _, d := range s.dims {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			switch s.init {
			case initNormal:
				data[i] = float32(rng.NormFloat64() * c.InitStd)
			case initOne:
				data[i] = 1
			}
		}
		var t *tensors.Tensor
		if len(s.dims) == 0 {
			t = tensors.FromScalar(data[0])
		} else {
			t = tensors.FromFlatDataAndDimensions(data, s.dims...)
		}
		store.VariableWithValue(s.path, t)
	}
	return store
}

// param returns the graph node of the parameter at ModelScope/name.
func param(store *model.Store, g *Graph, name string) *Node {
	v := store.GetVariable(ModelScope + "/" + name)
	if v == nil {
		panic(fmt.Sprintf("seqmodel: parameter %s/%s missing from the store", ModelScope, name))
	}
	return v.NodeValue(g)
}

// layerNorm normalises the last axis: gain·(x−μ)/√(σ²+ε) + offset.
func layerNorm(c Config, x, gain, offset *Node) *Node {
	return nn.LayerNorm(x, []int{x.Rank() - 1}, c.LayerNormEpsilon, gain, offset, nil)
}

// trunk maps tokens [B,T] (int32) to the final normalised hidden states z [B,T,D].
func trunk(c Config, store *model.Store, tokens *Node) *Node {
	g := tokens.Graph()
	dims := tokens.Shape().Dimensions
	b, t, d, h := dims[0], dims[1], c.DModel, c.Heads
	dh := d / h
	x := Gather(param(store, g, "tok_emb"), ExpandAxes(tokens, -1)) // [B,T,D]
	pos := Slice(param(store, g, "pos_emb"), AxisRange(0, t))       // [T,D]
	x = Add(x, BroadcastToDims(ExpandAxes(pos, 0), b, t, d))

	causal := BroadcastToDims(Reshape(LowerTriangular(g, t), 1, 1, t, t), b, h, t, t) // key ≤ query
	masked := Scalar(g, dtypes.Float32, negInf)
	scale := 1 / math.Sqrt(float64(dh))
	for l := range c.Layers {
		p := func(name string) *Node { return param(store, g, fmt.Sprintf("block_%d/%s", l, name)) }
		a := layerNorm(c, x, p("ln1_gain"), p("ln1_offset"))
		q := Reshape(nn.Dense(a, p("wq"), p("bq")), b, t, h, dh)
		k := Reshape(nn.Dense(a, p("wk"), p("bk")), b, t, h, dh)
		v := Reshape(nn.Dense(a, p("wv"), p("bv")), b, t, h, dh)
		scores := MulScalar(Einsum("bqhd,bkhd->bhqk", q, k), scale) // [B,H,T,T]
		weights := Softmax(Where(causal, scores, masked), -1)
		att := Reshape(Einsum("bhqk,bkhd->bqhd", weights, v), b, t, d)
		x = Add(x, nn.Dense(att, p("wo"), p("bo")))

		m := layerNorm(c, x, p("ln2_gain"), p("ln2_offset"))
		m = activation.Gelu(nn.Dense(m, p("w1"), p("b1")))
		x = Add(x, nn.Dense(m, p("w2"), p("b2")))
	}
	return layerNorm(c, x, param(store, g, "lnf_gain"), param(store, g, "lnf_offset"))
}

// lmLogits maps tokens [B,T] to next-token logits [B,T,V]: z·Eᵀ (tied) or z·W_out.
func lmLogits(c Config, store *model.Store, tokens *Node) *Node {
	z := trunk(c, store, tokens)
	g := tokens.Graph()
	if c.UntiedOutput {
		return nn.Dense(z, param(store, g, "out_w"), nil)
	}
	return Einsum("btd,vd->btv", z, param(store, g, "tok_emb"))
}

// tokenLogProbs returns, for tokens [B,T] with promptLen, seqLen [B] (int32)
// and logits [B,T,V]:
//
//	logp [B,T-1]: logp[b,j-1] = log softmax(logits[b,j-1])[tokens[b,j]]
//	mask [B,T-1]: 1 where promptLen[b] ≤ j < seqLen[b] (response tokens), else 0
//
// Masked entries of logp are set to 0.
func tokenLogProbs(logits, tokens, promptLen, seqLen *Node) (logp, mask *Node) {
	g := logits.Graph()
	dims := logits.Shape().Dimensions
	b, t, v := dims[0], dims[1], dims[2]
	pred := LogSoftmax(Slice(logits, AxisRange(), AxisRange(0, t-1)), -1) // [B,T-1,V]
	targets := Slice(tokens, AxisRange(), AxisRange(1, t))                // [B,T-1]
	logp = ReduceSum(Mul(pred, OneHot(targets, v, pred.DType())), -1)     // [B,T-1]
	j := AddScalar(Iota(g, shapes.Make(dtypes.Int32, b, t-1), 1), 1)      // target position
	inResponse := LogicalAnd(
		GreaterOrEqual(j, BroadcastToDims(ExpandAxes(promptLen, -1), b, t-1)),
		LessThan(j, BroadcastToDims(ExpandAxes(seqLen, -1), b, t-1)))
	logp = Where(inResponse, logp, ScalarZero(g, logp.DType()))
	mask = ConvertDType(inResponse, logp.DType())
	return logp, mask
}

// sequenceLogProbs returns log π(y|x) = Σ_j logp[b,j] over response tokens, shape [B].
func sequenceLogProbs(c Config, store *model.Store, tokens, promptLen, seqLen *Node) *Node {
	logp, _ := tokenLogProbs(lmLogits(c, store, tokens), tokens, promptLen, seqLen)
	return ReduceSum(logp, -1)
}

// rewards returns r(x,y) = w·z[b, seqLen[b]−1] + b_r, shape [B].
func rewards(c Config, store *model.Store, tokens, seqLen *Node) *Node {
	g := tokens.Graph()
	z := trunk(c, store, tokens)
	t := tokens.Shape().Dimensions[1]
	last := OneHot(AddScalar(seqLen, -1), t, z.DType()) // [B,T]
	zLast := Einsum("btd,bt->bd", z, last)              // [B,D]
	r := Einsum("bd,d->b", zLast, param(store, g, "reward_w"))
	return Add(r, param(store, g, "reward_b"))
}
