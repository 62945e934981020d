package lab

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// DefaultBootstrap is the number of bootstrap resamples of WinRates.
const DefaultBootstrap = 1000

// WinRate is a policy's head-to-head record against a baseline under an
// oracle reward r*, on held-out prompts x_1..x_n with N samples of each side
// per prompt:
//
//	s(a, b)  = 1 if a > b, ½ if a = b, 0 otherwise
//	w_x      = (1/N²)·Σ_i Σ_j s(r*(x, y_i), r*(x, y'_j)),  y_i ∼ π, y'_j ∼ π_ref
//	Rate     = (1/n)·Σ_x w_x
//
// so Rate is an unbiased estimate of E_x P(r*(y) > r*(y')) + ½·P(tie). Lo and
// Hi are the 2.5% and 97.5% percentiles of Rate over bootstrap resamples of
// the prompts (the samples of one prompt are not independent of each other,
// so prompts are the resampled unit).
type WinRate struct {
	Rate float64 `json:"rate"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
	// PerPrompt holds w_x, the input of WaldTest.
	PerPrompt []float64 `json:"per_prompt"`
	// Samples is N.
	Samples int `json:"samples"`
}

// WinRates compares policy[x][i] = r*(x, y_i) against baseline[x][j] =
// r*(x, y'_j) as WinRate documents, with a bootstrap 95% CI over resamples
// of the prompts drawn from a PCG stream seeded by seed (resamples 0 means
// DefaultBootstrap). Every prompt must have samples on both sides.
func WinRates(policy, baseline [][]float64, resamples int, seed uint64) (WinRate, error) {
	if len(policy) == 0 || len(policy) != len(baseline) {
		return WinRate{}, fmt.Errorf("lab: WinRates: %d policy prompts and %d baseline prompts, need equal and ≥ 1", len(policy), len(baseline))
	}
	w := WinRate{PerPrompt: make([]float64, len(policy)), Samples: len(policy[0])}
	for x := range policy {
		if len(policy[x]) == 0 || len(baseline[x]) == 0 {
			return WinRate{}, fmt.Errorf("lab: WinRates: prompt %d has %d policy and %d baseline samples, need ≥ 1 each", x, len(policy[x]), len(baseline[x]))
		}
		s := 0.0
		for _, a := range policy[x] {
			for _, b := range baseline[x] {
				switch {
				case a > b:
					s++
				case a == b:
					s += 0.5
				}
			}
		}
		w.PerPrompt[x] = s / float64(len(policy[x])*len(baseline[x]))
	}
	w.Rate = mean(w.PerPrompt)
	w.Lo, w.Hi = BootstrapCI(w.PerPrompt, resamples, seed)
	return w, nil
}

// BootstrapCI returns the percentile bootstrap 95% confidence interval of the
// mean of xs: the 2.5% and 97.5% quantiles (linear interpolation between
// order statistics) of the means of resamples resamples of len(xs) values
// drawn with replacement, from a PCG stream seeded by seed (resamples 0 means
// DefaultBootstrap). One value gives the degenerate interval [x, x]; no
// values give NaNs.
func BootstrapCI(xs []float64, resamples int, seed uint64) (lo, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	if resamples <= 0 {
		resamples = DefaultBootstrap
	}
	rng := rand.New(rand.NewPCG(seed, 0xb0075))
	means := make([]float64, resamples)
	for b := range means {
		s := 0.0
		for range xs {
			s += xs[rng.IntN(len(xs))]
		}
		means[b] = s / float64(len(xs))
	}
	slices.Sort(means)
	return quantile(means, 0.025), quantile(means, 0.975)
}

// quantile returns the q-quantile of sorted values by linear interpolation
// between order statistics at position q·(n−1).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}

// WaldTest compares two methods evaluated on the same prompts, a[x] and b[x]
// being their per-prompt scores (WinRate.PerPrompt): with d_x = a[x] − b[x],
//
//	z = d̄ / (s_d/√n),  s_d² = Σ_x (d_x − d̄)²/(n−1),   p = 2·(1 − Φ(|z|)) = erfc(|z|/√2)
//
// the paired Wald test of "equal mean score" (two-sided). When every d_x is
// equal, z is 0 (p = 1) if they are 0 and ±Inf (p = 0) otherwise. It needs
// n ≥ 2 prompts and equal lengths.
func WaldTest(a, b []float64) (z, p float64, err error) {
	if len(a) != len(b) || len(a) < 2 {
		return math.NaN(), math.NaN(), fmt.Errorf("lab: WaldTest: %d and %d scores, need equal lengths ≥ 2", len(a), len(b))
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	m := mean(d)
	ss := 0.0
	for _, v := range d {
		ss += (v - m) * (v - m)
	}
	se := math.Sqrt(ss / float64(len(d)-1) / float64(len(d)))
	switch {
	case se > 0:
		z = m / se
	case m == 0:
		return 0, 1, nil
	default:
		z = math.Copysign(math.Inf(1), m)
	}
	return z, math.Erfc(math.Abs(z) / math.Sqrt2), nil
}

// CompareWinRates runs WaldTest on the final per-prompt win rates of two
// sequence runs, which must have been evaluated on the same task and prompts.
func CompareWinRates(a, b *Run) (z, p float64, err error) {
	if a == nil || b == nil || a.Seq == nil || b.Seq == nil {
		return math.NaN(), math.NaN(), errors.New("lab: CompareWinRates: need two sequence runs (Run.Seq set)")
	}
	if a.Seq.EvalFingerprint != b.Seq.EvalFingerprint {
		return math.NaN(), math.NaN(), fmt.Errorf("lab: CompareWinRates: %q and %q were evaluated on different prompts or references", a.Label, b.Label)
	}
	z, p, err = WaldTest(a.Seq.WinRate.PerPrompt, b.Seq.WinRate.PerPrompt)
	if err != nil {
		return z, p, fmt.Errorf("lab: CompareWinRates %q vs %q: %w", a.Label, b.Label, err)
	}
	return z, p, nil
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
