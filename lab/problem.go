package lab

import (
	"fmt"
	"math"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/robustpo/robustpo/datasets"
)

// problem is a finite dataset laid out flat for graphs and host-side metrics.
// Index i = x·R + y addresses prompt x, response y.
type problem struct {
	data     *datasets.FiniteData
	p, r, f  int
	kind     PolicyKind // Tabular or LogLinear (resolved)
	ref      []float64  // reference logits [P·R]
	refLP    []float64  // log π_ref [P·R]
	features []float64  // φ [P·R·F], nil for tabular
}

// newProblem validates data and resolves the policy kind.
func newProblem(data *datasets.FiniteData, kind PolicyKind) (*problem, error) {
	if err := data.Validate(); err != nil {
		return nil, fmt.Errorf("lab: invalid dataset: %w", err)
	}
	pr := &problem{data: data, p: data.Prompts, r: data.Responses, f: data.NumFeatures()}
	switch kind {
	case AutoPolicy:
		kind = Tabular
		if pr.f > 0 {
			kind = LogLinear
		}
	case LogLinear:
		if pr.f == 0 {
			return nil, fmt.Errorf("lab: Config.Policy = LogLinear but dataset %q has no features", data.Name)
		}
	}
	pr.kind = kind
	pr.ref = flatten(data.RefLogits)
	pr.refLP = logSoftmaxRows(pr.ref, pr.r)
	if pr.f > 0 {
		pr.features = make([]float64, 0, pr.p*pr.r*pr.f)
		for _, m := range data.Features {
			for _, phi := range m {
				pr.features = append(pr.features, phi...)
			}
		}
	}
	return pr, nil
}

// numParams returns the size of θ: P·R (tabular) or F (log-linear).
func (pr *problem) numParams() int {
	if pr.kind == LogLinear {
		return pr.f
	}
	return pr.p * pr.r
}

// thetaShape returns θ's dimensions: [P, R] or [F].
func (pr *problem) thetaShape() []int {
	if pr.kind == LogLinear {
		return []int{pr.f}
	}
	return []int{pr.p, pr.r}
}

// linear returns the [P·R] scores of a tabular or log-linear function with
// parameters w: w itself, or φ·w.
func (pr *problem) linear(kind PolicyKind, w []float64) []float64 {
	if kind == Tabular {
		return append([]float64(nil), w...)
	}
	out := make([]float64, pr.p*pr.r)
	for i := range out {
		phi := pr.features[i*pr.f : (i+1)*pr.f]
		for j, v := range phi {
			out[i] += v * w[j]
		}
	}
	return out
}

// logits returns the policy logits refLogits + θ (tabular) or refLogits + φ·θ, [P·R].
func (pr *problem) logits(theta []float64) []float64 {
	s := pr.linear(pr.kind, theta)
	for i := range s {
		s[i] += pr.ref[i]
	}
	return s
}

// graphLinear builds the [P, R] scores of a tabular ([P, R] w) or log-linear
// ([F] w) function in w's graph.
func (pr *problem) graphLinear(kind PolicyKind, w *Node) *Node {
	if kind == Tabular {
		return Reshape(w, pr.p, pr.r)
	}
	g := w.Graph()
	phi := Const(g, tensors.FromFlatDataAndDimensions(pr.features, pr.p*pr.r, pr.f))
	return Reshape(MatMul(phi, Reshape(w, pr.f, 1)), pr.p, pr.r)
}

// graphLogits builds the [P, R] policy logits and the [P·R] log-ratios
// h = log π_θ − log π_ref in θ's graph.
func (pr *problem) graphLogits(theta *Node) (logits, h *Node) {
	g := theta.Graph()
	ref := Const(g, tensors.FromFlatDataAndDimensions(pr.ref, pr.p, pr.r))
	logits = Add(ref, pr.graphLinear(pr.kind, theta))
	refLP := Const(g, tensors.FromFlatDataAndDimensions(pr.refLP, pr.p*pr.r))
	h = Sub(Reshape(LogSoftmax(logits, -1), pr.p*pr.r), refLP)
	return logits, h
}

// refConst returns the [P, R] reference logits as a constant of g.
func (pr *problem) refConst(g *Graph) *Node {
	return Const(g, tensors.FromFlatDataAndDimensions(pr.ref, pr.p, pr.r))
}

// gatherFlat returns values[idx[b]] for a [N] node values and [B] int32 idx.
func gatherFlat(values, idx *Node) *Node {
	return Gather(values, ExpandAxes(idx, -1))
}

// flatten concatenates the rows of m.
func flatten(m [][]float64) []float64 {
	var out []float64
	for _, row := range m {
		out = append(out, row...)
	}
	return out
}

// logSoftmaxRows returns log softmax of each row of length r of the flat v.
func logSoftmaxRows(v []float64, r int) []float64 {
	out := make([]float64, len(v))
	for s := 0; s < len(v); s += r {
		row := v[s : s+r]
		m := math.Inf(-1)
		for _, l := range row {
			m = math.Max(m, l)
		}
		var z float64
		for _, l := range row {
			z += math.Exp(l - m)
		}
		lz := m + math.Log(z)
		for i, l := range row {
			out[s+i] = l - lz
		}
	}
	return out
}

// rows splits a flat [P·R] slice into P rows.
func rows(v []float64, r int) [][]float64 {
	out := make([][]float64, 0, len(v)/r)
	for s := 0; s < len(v); s += r {
		out = append(out, append([]float64(nil), v[s:s+r]...))
	}
	return out
}

// distillSet is the pair distribution ρ for Distill and EDPO: flat indices of
// y1 and y2 and the members' margins rd[n·k + i] = r_i(y1) − r_i(y2).
type distillSet struct {
	i1, i2 []int32
	rd     []float64
	k      int
}

// buildDistillSet lays out ρ per cfg.DistillPairs, scoring with the members'
// [P·R] rewards.
func (pr *problem) buildDistillSet(cfg Config, rewards [][]float64, rng *rand.Rand) distillSet {
	var ds distillSet
	ds.k = len(rewards)
	add := func(x, y1, y2 int) {
		a, b := x*pr.r+y1, x*pr.r+y2
		ds.i1 = append(ds.i1, int32(a))
		ds.i2 = append(ds.i2, int32(b))
		for _, r := range rewards {
			ds.rd = append(ds.rd, r[a]-r[b])
		}
	}
	switch cfg.DistillPairs {
	case AllPairs:
		for x := range pr.p {
			for y1 := range pr.r {
				for y2 := y1 + 1; y2 < pr.r; y2++ {
					add(x, y1, y2)
				}
			}
		}
	default:
		for _, p := range pr.data.Pairs {
			add(p.Prompt, p.Chosen, p.Rejected)
		}
		if cfg.DistillPairs == PlusRefSamples {
			for range cfg.RefPairs {
				x := rng.IntN(pr.p)
				lp := pr.refLP[x*pr.r : (x+1)*pr.r]
				y1 := sampleLogProbs(rng, lp, -1)
				y2 := sampleLogProbs(rng, lp, y1)
				add(x, y1, y2)
			}
		}
	}
	return ds
}

// sampleLogProbs draws an index from exp(logProbs), never exclude (−1: none).
func sampleLogProbs(rng *rand.Rand, logProbs []float64, exclude int) int {
	var z float64
	for i, l := range logProbs {
		if i != exclude {
			z += math.Exp(l)
		}
	}
	u := rng.Float64() * z
	last := 0
	for i, l := range logProbs {
		if i == exclude {
			continue
		}
		last = i
		u -= math.Exp(l)
		if u < 0 {
			return i
		}
	}
	return last
}
