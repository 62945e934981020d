package datasets

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
)

// FinitePair is one labelled comparison on a finite response set: for prompt
// Prompt, response Chosen (y_w) was preferred over response Rejected (y_l).
// Responses are indices into the prompt's response list.
type FinitePair struct {
	Prompt, Chosen, Rejected int
}

// FiniteData is a preference dataset over a finite set of responses per prompt,
// where every quantity of the theory can be computed exactly.
//
// Shapes (P prompts, R responses per prompt, F features):
//   - RefLogits [P][R]: logits of the reference policy, π_ref(y|x) = softmax_y(RefLogits[x]).
//   - Features [P][R][F]: φ(x,y) for log-linear policies and reward models; nil for
//     tabular data (F = 0).
//   - Oracle [P][R]: the true reward r*(x,y) when known, nil otherwise.
//   - Pairs: the labelled comparisons.
type FiniteData struct {
	// Name identifies the dataset in plots and run labels.
	Name string
	// Prompts (P) and Responses (R) per prompt.
	Prompts, Responses int
	// ResponseNames optionally names the responses (length R), e.g. "a".."d".
	ResponseNames []string
	RefLogits     [][]float64
	Features      [][][]float64
	Oracle        [][]float64
	Pairs         []FinitePair
}

// NumFeatures returns F, the length of φ(x,y), or 0 for tabular data.
func (d *FiniteData) NumFeatures() int {
	if len(d.Features) == 0 || len(d.Features[0]) == 0 {
		return 0
	}
	return len(d.Features[0][0])
}

// HasOracle reports whether the true reward r* is known.
func (d *FiniteData) HasOracle() bool { return d.Oracle != nil }

// Support returns seen[x][y] = true when response y of prompt x appears in at
// least one training pair (as chosen or rejected).
func (d *FiniteData) Support() [][]bool {
	seen := make([][]bool, d.Prompts)
	for x := range seen {
		seen[x] = make([]bool, d.Responses)
	}
	for _, p := range d.Pairs {
		seen[p.Prompt][p.Chosen] = true
		seen[p.Prompt][p.Rejected] = true
	}
	return seen
}

// RefProbs returns π_ref(y|x) = softmax(RefLogits[x]), shape [P][R].
func (d *FiniteData) RefProbs() [][]float64 {
	out := make([][]float64, d.Prompts)
	for x := range out {
		out[x] = Softmax(d.RefLogits[x])
	}
	return out
}

// Softmax returns exp(l_i − max l) / Σ_j exp(l_j − max l).
func Softmax(logits []float64) []float64 {
	m := math.Inf(-1)
	for _, l := range logits {
		m = math.Max(m, l)
	}
	out := make([]float64, len(logits))
	var z float64
	for i, l := range logits {
		out[i] = math.Exp(l - m)
		z += out[i]
	}
	for i := range out {
		out[i] /= z
	}
	return out
}

// Validate checks shapes, finiteness and pair indices, returning an error
// that names the offending field and index.
func (d *FiniteData) Validate() error {
	if d == nil {
		return fmt.Errorf("datasets: FiniteData is nil")
	}
	if d.Prompts < 1 {
		return fmt.Errorf("datasets: FiniteData %q: Prompts = %d, need ≥ 1", d.Name, d.Prompts)
	}
	if d.Responses < 2 {
		return fmt.Errorf("datasets: FiniteData %q: Responses = %d, need ≥ 2", d.Name, d.Responses)
	}
	if d.ResponseNames != nil && len(d.ResponseNames) != d.Responses {
		return fmt.Errorf("datasets: FiniteData %q: len(ResponseNames) = %d, want Responses = %d", d.Name, len(d.ResponseNames), d.Responses)
	}
	checkMatrix := func(field string, m [][]float64) error {
		if len(m) != d.Prompts {
			return fmt.Errorf("datasets: FiniteData %q: len(%s) = %d, want Prompts = %d", d.Name, field, len(m), d.Prompts)
		}
		for x, row := range m {
			if len(row) != d.Responses {
				return fmt.Errorf("datasets: FiniteData %q: len(%s[%d]) = %d, want Responses = %d", d.Name, field, x, len(row), d.Responses)
			}
			for y, v := range row {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("datasets: FiniteData %q: %s[%d][%d] = %v is not finite", d.Name, field, x, y, v)
				}
			}
		}
		return nil
	}
	if err := checkMatrix("RefLogits", d.RefLogits); err != nil {
		return err
	}
	if d.Oracle != nil {
		if err := checkMatrix("Oracle", d.Oracle); err != nil {
			return err
		}
	}
	if d.Features != nil {
		if len(d.Features) != d.Prompts {
			return fmt.Errorf("datasets: FiniteData %q: len(Features) = %d, want Prompts = %d", d.Name, len(d.Features), d.Prompts)
		}
		f := d.NumFeatures()
		if f == 0 {
			return fmt.Errorf("datasets: FiniteData %q: Features present but empty", d.Name)
		}
		for x := range d.Features {
			if len(d.Features[x]) != d.Responses {
				return fmt.Errorf("datasets: FiniteData %q: len(Features[%d]) = %d, want Responses = %d", d.Name, x, len(d.Features[x]), d.Responses)
			}
			for y, phi := range d.Features[x] {
				if len(phi) != f {
					return fmt.Errorf("datasets: FiniteData %q: len(Features[%d][%d]) = %d, want %d", d.Name, x, y, len(phi), f)
				}
				for i, v := range phi {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						return fmt.Errorf("datasets: FiniteData %q: Features[%d][%d][%d] = %v is not finite", d.Name, x, y, i, v)
					}
				}
			}
		}
	}
	if len(d.Pairs) == 0 {
		return fmt.Errorf("datasets: FiniteData %q: no Pairs", d.Name)
	}
	for i, p := range d.Pairs {
		if p.Prompt < 0 || p.Prompt >= d.Prompts {
			return fmt.Errorf("datasets: FiniteData %q: Pairs[%d].Prompt = %d out of [0, %d)", d.Name, i, p.Prompt, d.Prompts)
		}
		if p.Chosen < 0 || p.Chosen >= d.Responses || p.Rejected < 0 || p.Rejected >= d.Responses {
			return fmt.Errorf("datasets: FiniteData %q: Pairs[%d] responses (%d, %d) out of [0, %d)", d.Name, i, p.Chosen, p.Rejected, d.Responses)
		}
		if p.Chosen == p.Rejected {
			return fmt.Errorf("datasets: FiniteData %q: Pairs[%d] compares response %d with itself", d.Name, i, p.Chosen)
		}
	}
	return nil
}

// Fingerprint returns a hex SHA-256 of every field of the dataset (name, shapes,
// logits, features, oracle, pairs), used to key run caches: two datasets with
// the same fingerprint are identical.
func (d *FiniteData) Fingerprint() string {
	h := sha256.New()
	var buf [8]byte
	putInt := func(v int) {
		binary.LittleEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	putFloat := func(v float64) {
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
		h.Write(buf[:])
	}
	putMatrix := func(m [][]float64) {
		putInt(len(m))
		for _, row := range m {
			putInt(len(row))
			for _, v := range row {
				putFloat(v)
			}
		}
	}
	putInt(len(d.Name))
	h.Write([]byte(d.Name))
	putInt(d.Prompts)
	putInt(d.Responses)
	putInt(len(d.ResponseNames))
	for _, n := range d.ResponseNames {
		putInt(len(n))
		h.Write([]byte(n))
	}
	putMatrix(d.RefLogits)
	putInt(len(d.Features))
	for _, m := range d.Features {
		putMatrix(m)
	}
	if d.Oracle == nil {
		putInt(-1)
	} else {
		putMatrix(d.Oracle)
	}
	putInt(len(d.Pairs))
	for _, p := range d.Pairs {
		putInt(p.Prompt)
		putInt(p.Chosen)
		putInt(p.Rejected)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SqueezeToy is the smallest demonstration of DPO's degeneracy: one prompt,
// four responses with log-linear features a=(1,0), b=(1,1), c=(0,1), d=(0,−1),
// a uniform π_ref (zero logits), a single training pair a ≻ b, and an oracle
// reward consistent with it: r*(a, b, c, d) = (1, 0.5, 0, −1), a best, d worst.
//
// With a log-linear policy, DPO only sees h(a) − h(b) = −θ₂, so it drives
// θ₂ → −∞, which sends π(d) → 1 and π(a) → 0 although a was preferred.
func SqueezeToy() *FiniteData {
	return &FiniteData{
		Name:          "SqueezeToy",
		Prompts:       1,
		Responses:     4,
		ResponseNames: []string{"a", "b", "c", "d"},
		RefLogits:     [][]float64{{0, 0, 0, 0}},
		Features:      [][][]float64{{{1, 0}, {1, 1}, {0, 1}, {0, -1}}},
		Oracle:        [][]float64{{1, 0.5, 0, -1}},
		Pairs:         []FinitePair{{Prompt: 0, Chosen: 0, Rejected: 1}},
	}
}
