package seqmodel

import "fmt"

// Config describes the transformer. Its zero value is the documented default
// size (vocab 64, d_model 128, 2 layers, 4 heads, max length 64, MLP width
// 4·d_model, tied output embedding, init std 0.02, layer-norm ε 1e-5, seed 0).
type Config struct {
	// VocabSize V: token ids are in [0, V). Default 64.
	VocabSize int
	// DModel D: width of the residual stream. Default 128.
	DModel int
	// Layers L: number of transformer blocks. Default 2.
	Layers int
	// Heads H: attention heads; D must be divisible by H. Default 4.
	Heads int
	// MaxLen: longest sequence (prompt + response) the position table covers. Default 64.
	MaxLen int
	// MLPRatio: the MLP hidden width is MLPRatio·D. Default 4.
	MLPRatio int
	// UntiedOutput uses a separate output matrix W_out [D,V] instead of the
	// transposed token embedding. Default false (tied).
	UntiedOutput bool
	// InitStd is the standard deviation of the normal initialisation of
	// embeddings and weight matrices (biases start at 0, gains at 1). Default 0.02.
	InitStd float64
	// LayerNormEpsilon is ε in (x-μ)/√(σ²+ε). Default 1e-5.
	LayerNormEpsilon float64
	// Seed seeds the parameter initialisation (0 is a valid seed).
	Seed uint64
}

// WithDefaults returns the config with zero fields replaced by their defaults.
func (c Config) WithDefaults() Config {
	if c.VocabSize == 0 {
		c.VocabSize = 64
	}
	if c.DModel == 0 {
		c.DModel = 128
	}
	if c.Layers == 0 {
		c.Layers = 2
	}
	if c.Heads == 0 {
		c.Heads = 4
	}
	if c.MaxLen == 0 {
		c.MaxLen = 64
	}
	if c.MLPRatio == 0 {
		c.MLPRatio = 4
	}
	if c.InitStd == 0 {
		c.InitStd = 0.02
	}
	if c.LayerNormEpsilon == 0 {
		c.LayerNormEpsilon = 1e-5
	}
	return c
}

// Validate reports the first invalid field of the (defaulted) config.
func (c Config) Validate() error {
	c = c.WithDefaults()
	switch {
	case c.VocabSize < 2:
		return fmt.Errorf("seqmodel.Config.VocabSize=%d: need at least 2", c.VocabSize)
	case c.DModel < 1:
		return fmt.Errorf("seqmodel.Config.DModel=%d: must be positive", c.DModel)
	case c.Layers < 0:
		return fmt.Errorf("seqmodel.Config.Layers=%d: must be non-negative", c.Layers)
	case c.Heads < 1 || c.DModel%c.Heads != 0:
		return fmt.Errorf("seqmodel.Config.Heads=%d: must be positive and divide DModel=%d", c.Heads, c.DModel)
	case c.MaxLen < 2:
		return fmt.Errorf("seqmodel.Config.MaxLen=%d: need at least 2", c.MaxLen)
	case c.MLPRatio < 1:
		return fmt.Errorf("seqmodel.Config.MLPRatio=%d: must be positive", c.MLPRatio)
	case c.InitStd < 0:
		return fmt.Errorf("seqmodel.Config.InitStd=%g: must be non-negative", c.InitStd)
	case c.LayerNormEpsilon < 0:
		return fmt.Errorf("seqmodel.Config.LayerNormEpsilon=%g: must be non-negative", c.LayerNormEpsilon)
	}
	return nil
}
