package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// ExtrapolationConfig configures Extrapolation. The zero value of each field
// means its documented default.
type ExtrapolationConfig struct {
	// Prompts is the number of prompts P (0 means 8).
	Prompts int
	// Seen is the number of responses per prompt that the labelled pairs
	// compare (0 means 4; else ≥ 2).
	Seen int
	// Unseen is the number of responses per prompt that no pair compares
	// (0 means 4; else ≥ 1).
	Unseen int
	// Pairs is the number of labelled pairs (0 means 128).
	Pairs int
	// SeenSpread is the standard deviation of the style feature s among the
	// seen responses (0 means 0.3; else > 0): how little the data say about
	// s.
	SeenSpread float64
	// Far is |s| of the unseen responses (0 means 5; else > 0): how far from
	// the data they lie.
	Far float64
	// UnseenShift is added to the mean quality of the unseen responses (0:
	// none; negative: responses unlike the data are worse on average).
	UnseenShift float64
	// Seed makes the dataset deterministic.
	Seed uint64
}

// withDefaults returns the config with zero fields replaced by their defaults.
func (c ExtrapolationConfig) withDefaults() ExtrapolationConfig {
	if c.Prompts == 0 {
		c.Prompts = 8
	}
	if c.Seen == 0 {
		c.Seen = 4
	}
	if c.Unseen == 0 {
		c.Unseen = 4
	}
	if c.Pairs == 0 {
		c.Pairs = 128
	}
	if c.SeenSpread == 0 {
		c.SeenSpread = 0.3
	}
	if c.Far == 0 {
		c.Far = 5
	}
	return c
}

// Validate checks the config (after defaults) and returns an error naming the
// offending field.
func (c ExtrapolationConfig) Validate() error {
	c = c.withDefaults()
	finitePos := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	switch {
	case c.Prompts < 1:
		return fmt.Errorf("datasets: ExtrapolationConfig.Prompts = %d, need ≥ 1", c.Prompts)
	case c.Seen < 2:
		return fmt.Errorf("datasets: ExtrapolationConfig.Seen = %d, need ≥ 2", c.Seen)
	case c.Unseen < 1:
		return fmt.Errorf("datasets: ExtrapolationConfig.Unseen = %d, need ≥ 1", c.Unseen)
	case c.Pairs < 1:
		return fmt.Errorf("datasets: ExtrapolationConfig.Pairs = %d, need ≥ 1", c.Pairs)
	case !finitePos(c.SeenSpread):
		return fmt.Errorf("datasets: ExtrapolationConfig.SeenSpread = %v, need a finite value > 0", c.SeenSpread)
	case !finitePos(c.Far):
		return fmt.Errorf("datasets: ExtrapolationConfig.Far = %v, need a finite value > 0", c.Far)
	case math.IsNaN(c.UnseenShift) || math.IsInf(c.UnseenShift, 0):
		return fmt.Errorf("datasets: ExtrapolationConfig.UnseenShift = %v, need a finite value", c.UnseenShift)
	}
	return nil
}

// Extrapolation draws a log-linear bandit on which a reward model fit to the
// labels is confidently wrong away from the data, deterministic in cfg.Seed.
// Every response y of prompt x has two features φ(x,y) = (q, s), a quality q
// and a style s, and the oracle reward is the quality alone:
//
//		r*(x,y) = q(x,y)        (the style does not matter)
//
//	  - responses 0 … Seen−1 of each prompt are the seen ones: q ~ N(0, 1),
//	    s ~ N(0, SeenSpread²), so the style barely varies among them;
//	  - responses Seen … Seen+Unseen−1 are unseen: q ~ N(UnseenShift, 1) and
//	    s = ±Far (a fair coin each), far from every seen response in style;
//	  - π_ref is uniform (zero logits): every response has probability 1/R;
//	  - each pair: a prompt uniformly, two distinct seen responses uniformly,
//	    labelled y1 ≻ y2 with probability σ(r*(y1) − r*(y2)) (Bradley–Terry).
//
// The labels pin the reward's weight on q, but its weight on s rests on
// style differences of the order of SeenSpread, so a Bradley–Terry fit gets
// a noisy, nonzero style weight ŵ_s, and multiplies it by ±Far on the unseen
// responses: a reward of order |ŵ_s|·Far where r* gives them none, with the
// sign of the noise. Fits on resamples of the pairs (a bootstrap ensemble)
// agree on the seen responses and disagree on the unseen ones.
func Extrapolation(cfg ExtrapolationConfig) (*FiniteData, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xe7_4a90_1a7e))
	P, R := cfg.Prompts, cfg.Seen+cfg.Unseen
	d := &FiniteData{
		Name: fmt.Sprintf("Extrapolation(P=%d,seen=%d,unseen=%d,pairs=%d,spread=%g,far=%g,shift=%g,seed=%d)",
			P, cfg.Seen, cfg.Unseen, cfg.Pairs, cfg.SeenSpread, cfg.Far, cfg.UnseenShift, cfg.Seed),
		Prompts:   P,
		Responses: R,
		RefLogits: make([][]float64, P),
		Features:  make([][][]float64, P),
		Oracle:    make([][]float64, P),
	}
	for x := range P {
		d.RefLogits[x] = make([]float64, R)
		d.Features[x] = make([][]float64, R)
		d.Oracle[x] = make([]float64, R)
		for y := range R {
			q := rng.NormFloat64()
			var s float64
			if y < cfg.Seen {
				s = cfg.SeenSpread * rng.NormFloat64()
			} else {
				q += cfg.UnseenShift
				s = cfg.Far
				if rng.IntN(2) == 0 {
					s = -s
				}
			}
			d.Features[x][y] = []float64{q, s}
			d.Oracle[x][y] = q
		}
	}
	d.Pairs = make([]FinitePair, cfg.Pairs)
	for i := range d.Pairs {
		x := rng.IntN(P)
		y1 := rng.IntN(cfg.Seen)
		y2 := rng.IntN(cfg.Seen - 1)
		if y2 >= y1 {
			y2++
		}
		pWin := 1 / (1 + math.Exp(-(d.Oracle[x][y1] - d.Oracle[x][y2])))
		if rng.Float64() < pWin {
			d.Pairs[i] = FinitePair{Prompt: x, Chosen: y1, Rejected: y2}
		} else {
			d.Pairs[i] = FinitePair{Prompt: x, Chosen: y2, Rejected: y1}
		}
	}
	return d, d.Validate()
}
