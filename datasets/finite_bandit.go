package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// BanditConfig configures RandomBandit. The zero value of each field means its
// documented default.
type BanditConfig struct {
	// Prompts is the number of prompts P (0 means 4).
	Prompts int
	// Responses is the number of responses per prompt R (0 means 8; else ≥ 2).
	Responses int
	// Features is the length F of φ(x,y) ~ N(0, I_F); 0 means tabular data
	// (no features, r* drawn per prompt×response).
	Features int
	// Pairs is the number of labelled pairs (0 means 64).
	Pairs int
	// LabelNoise is the probability in [0, 0.5] that a Bradley–Terry label is
	// flipped (0: no extra noise).
	LabelNoise float64
	// Coverage is the fraction of each prompt's responses that can ever appear
	// in a pair, in (0, 1] (0 means 1: every response may appear). At least two
	// responses per prompt are always covered.
	Coverage float64
	// Seed makes the dataset deterministic.
	Seed uint64
}

// withDefaults returns the config with zero fields replaced by their defaults.
func (c BanditConfig) withDefaults() BanditConfig {
	if c.Prompts == 0 {
		c.Prompts = 4
	}
	if c.Responses == 0 {
		c.Responses = 8
	}
	if c.Pairs == 0 {
		c.Pairs = 64
	}
	if c.Coverage == 0 {
		c.Coverage = 1
	}
	return c
}

// Validate checks the config (after defaults) and returns an error naming the
// offending field.
func (c BanditConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Prompts < 1:
		return fmt.Errorf("datasets: BanditConfig.Prompts = %d, need ≥ 1", c.Prompts)
	case c.Responses < 2:
		return fmt.Errorf("datasets: BanditConfig.Responses = %d, need ≥ 2", c.Responses)
	case c.Features < 0:
		return fmt.Errorf("datasets: BanditConfig.Features = %d, need ≥ 0", c.Features)
	case c.Pairs < 1:
		return fmt.Errorf("datasets: BanditConfig.Pairs = %d, need ≥ 1", c.Pairs)
	case !(c.LabelNoise >= 0 && c.LabelNoise <= 0.5):
		return fmt.Errorf("datasets: BanditConfig.LabelNoise = %v, need 0 ≤ LabelNoise ≤ 0.5", c.LabelNoise)
	case !(c.Coverage > 0 && c.Coverage <= 1):
		return fmt.Errorf("datasets: BanditConfig.Coverage = %v, need 0 < Coverage ≤ 1", c.Coverage)
	}
	return nil
}

// RandomBandit draws a synthetic finite preference dataset, deterministic in
// cfg.Seed:
//   - π_ref logits ~ N(0, 1) per prompt×response;
//   - features φ(x,y) ~ N(0, I_F) and oracle r*(x,y) = θ*·φ(x,y) with
//     θ* ~ N(0, I_F/F) when Features > 0; otherwise r*(x,y) ~ N(0, 1);
//   - for each prompt a covered subset of max(2, ⌈Coverage·R⌉) responses;
//   - each pair: a prompt uniformly, two distinct responses drawn from π_ref
//     restricted to the covered subset, labelled y1 ≻ y2 with probability
//     σ(r*(y1) − r*(y2)) (Bradley–Terry), then flipped with probability LabelNoise.
func RandomBandit(cfg BanditConfig) (*FiniteData, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed_ba4d_17))
	P, R, F := cfg.Prompts, cfg.Responses, cfg.Features
	d := &FiniteData{
		Name:      fmt.Sprintf("RandomBandit(P=%d,R=%d,F=%d,pairs=%d,noise=%g,coverage=%g,seed=%d)", P, R, F, cfg.Pairs, cfg.LabelNoise, cfg.Coverage, cfg.Seed),
		Prompts:   P,
		Responses: R,
		RefLogits: make([][]float64, P),
		Oracle:    make([][]float64, P),
	}
	for x := range P {
		d.RefLogits[x] = make([]float64, R)
		for y := range R {
			d.RefLogits[x][y] = rng.NormFloat64()
		}
	}
	if F > 0 {
		theta := make([]float64, F)
		for i := range theta {
			theta[i] = rng.NormFloat64() / math.Sqrt(float64(F))
		}
		d.Features = make([][][]float64, P)
		for x := range P {
			d.Features[x] = make([][]float64, R)
			d.Oracle[x] = make([]float64, R)
			for y := range R {
				phi := make([]float64, F)
				for i := range phi {
					phi[i] = rng.NormFloat64()
					d.Oracle[x][y] += theta[i] * phi[i]
				}
				d.Features[x][y] = phi
			}
		}
	} else {
		for x := range P {
			d.Oracle[x] = make([]float64, R)
			for y := range R {
				d.Oracle[x][y] = rng.NormFloat64()
			}
		}
	}
	covered := max(2, int(math.Ceil(cfg.Coverage*float64(R)-1e-9)))
	subsets := make([][]int, P)
	for x := range P {
		subsets[x] = rng.Perm(R)[:covered]
	}
	refProbs := d.RefProbs()
	sample := func(x int, exclude int) int {
		var z float64
		for _, y := range subsets[x] {
			if y != exclude {
				z += refProbs[x][y]
			}
		}
		u := rng.Float64() * z
		last := -1
		for _, y := range subsets[x] {
			if y == exclude {
				continue
			}
			last = y
			u -= refProbs[x][y]
			if u < 0 {
				return y
			}
		}
		return last
	}
	d.Pairs = make([]FinitePair, cfg.Pairs)
	for i := range d.Pairs {
		x := rng.IntN(P)
		y1 := sample(x, -1)
		y2 := sample(x, y1)
		pWin := 1 / (1 + math.Exp(-(d.Oracle[x][y1] - d.Oracle[x][y2])))
		first := rng.Float64() < pWin
		if rng.Float64() < cfg.LabelNoise {
			first = !first
		}
		if first {
			d.Pairs[i] = FinitePair{Prompt: x, Chosen: y1, Rejected: y2}
		} else {
			d.Pairs[i] = FinitePair{Prompt: x, Chosen: y2, Rejected: y1}
		}
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("datasets: RandomBandit(%+v) produced invalid data: %w", cfg, err)
	}
	return d, nil
}
