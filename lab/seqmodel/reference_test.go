package seqmodel

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
)

// refNet is an independent float64 implementation of the model in plain Go
// loops, reading the same parameter values from the Store.
type refNet struct {
	c Config
	w map[string][]float64
}

func newRefNet(t *testing.T, n *net, reward bool) *refNet {
	t.Helper()
	r := &refNet{c: n.cfg, w: map[string][]float64{}}
	for _, s := range paramSpecs(n.cfg, reward) {
		v := n.store.GetVariable(s.path)
		if v == nil {
			t.Fatalf("missing parameter %s", s.path)
		}
		val, err := v.Value()
		if err != nil {
			t.Fatalf("reading %s: %v", s.path, err)
		}
		data, err := tensors.CopyFlatData[float32](val)
		if err != nil {
			t.Fatalf("copying %s: %v", s.path, err)
		}
		f := make([]float64, len(data))
		for i, x := range data {
			f[i] = float64(x)
		}
		r.w[s.path[len(ModelScope)+1:]] = f
	}
	return r
}

// dense: x [n,in] · w [in,out] + b [out].
func dense(x []float64, n, in, out int, w, b []float64) []float64 {
	y := make([]float64, n*out)
	for i := range n {
		for o := range out {
			s := 0.0
			if b != nil {
				s = b[o]
			}
			for k := range in {
				s += x[i*in+k] * w[k*out+o]
			}
			y[i*out+o] = s
		}
	}
	return y
}

func (r *refNet) layerNorm(x []float64, n, d int, gain, offset []float64) []float64 {
	y := make([]float64, len(x))
	for i := range n {
		row := x[i*d : (i+1)*d]
		mu, v := 0.0, 0.0
		for _, a := range row {
			mu += a
		}
		mu /= float64(d)
		for _, a := range row {
			v += (a - mu) * (a - mu)
		}
		v /= float64(d)
		for k, a := range row {
			y[i*d+k] = gain[k]*(a-mu)/math.Sqrt(v+r.c.LayerNormEpsilon) + offset[k]
		}
	}
	return y
}

// hidden returns z [T,D] for one unpadded sequence.
func (r *refNet) hidden(tokens []int32) []float64 {
	c := r.c
	t, d, h := len(tokens), c.DModel, c.Heads
	dh, f := d/h, c.MLPRatio*d
	x := make([]float64, t*d)
	for i, tok := range tokens {
		for k := range d {
			x[i*d+k] = r.w["tok_emb"][int(tok)*d+k] + r.w["pos_emb"][i*d+k]
		}
	}
	for l := range c.Layers {
		p := func(s string) []float64 { return r.w[fmt.Sprintf("block_%d/%s", l, s)] }
		a := r.layerNorm(x, t, d, p("ln1_gain"), p("ln1_offset"))
		q := dense(a, t, d, d, p("wq"), p("bq"))
		k := dense(a, t, d, d, p("wk"), p("bk"))
		v := dense(a, t, d, d, p("wv"), p("bv"))
		att := make([]float64, t*d)
		for hh := range h {
			for i := range t {
				scores := make([]float64, i+1)
				mx := math.Inf(-1)
				for j := 0; j <= i; j++ {
					s := 0.0
					for e := range dh {
						s += q[i*d+hh*dh+e] * k[j*d+hh*dh+e]
					}
					scores[j] = s / math.Sqrt(float64(dh))
					mx = math.Max(mx, scores[j])
				}
				z := 0.0
				for j := range scores {
					scores[j] = math.Exp(scores[j] - mx)
					z += scores[j]
				}
				for j := range scores {
					for e := range dh {
						att[i*d+hh*dh+e] += scores[j] / z * v[j*d+hh*dh+e]
					}
				}
			}
		}
		o := dense(att, t, d, d, p("wo"), p("bo"))
		for i := range x {
			x[i] += o[i]
		}
		m := r.layerNorm(x, t, d, p("ln2_gain"), p("ln2_offset"))
		m = dense(m, t, d, f, p("w1"), p("b1"))
		for i, a := range m {
			m[i] = 0.5 * a * (1 + math.Erf(a/math.Sqrt2))
		}
		m = dense(m, t, f, d, p("w2"), p("b2"))
		for i := range x {
			x[i] += m[i]
		}
	}
	return r.layerNorm(x, t, d, r.w["lnf_gain"], r.w["lnf_offset"])
}

// logits returns [T,V].
func (r *refNet) logits(tokens []int32) []float64 {
	c := r.c
	t, d, v := len(tokens), c.DModel, c.VocabSize
	z := r.hidden(tokens)
	if c.UntiedOutput {
		return dense(z, t, d, v, r.w["out_w"], nil)
	}
	out := make([]float64, t*v)
	for i := range t {
		for o := range v {
			for k := range d {
				out[i*v+o] += z[i*d+k] * r.w["tok_emb"][o*d+k]
			}
		}
	}
	return out
}

// seqLogProb is Σ_{j=promptLen}^{len-1} log softmax(logits[j-1])[tokens[j]].
func (r *refNet) seqLogProb(tokens []int32, promptLen int) float64 {
	v := r.c.VocabSize
	lg := r.logits(tokens)
	total := 0.0
	for j := promptLen; j < len(tokens); j++ {
		row := lg[(j-1)*v : j*v]
		mx := math.Inf(-1)
		for _, a := range row {
			mx = math.Max(mx, a)
		}
		z := 0.0
		for _, a := range row {
			z += math.Exp(a - mx)
		}
		total += row[tokens[j]] - mx - math.Log(z)
	}
	return total
}

// reward is w·z[len-1] + b.
func (r *refNet) reward(tokens []int32) float64 {
	d := r.c.DModel
	z := r.hidden(tokens)
	last := z[(len(tokens)-1)*d:]
	s := r.w["reward_b"][0]
	for k := range d {
		s += r.w["reward_w"][k] * last[k]
	}
	return s
}
