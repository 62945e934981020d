package datasets

import (
	"math"
	"strings"
	"testing"
)

func TestSqueezeToy(t *testing.T) {
	d := SqueezeToy()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.NumFeatures() != 2 || d.Prompts != 1 || d.Responses != 4 {
		t.Fatalf("shape: F=%d P=%d R=%d", d.NumFeatures(), d.Prompts, d.Responses)
	}
	// h(a) − h(b) under a log-linear policy is θ·(φ(a) − φ(b)) = −θ₂.
	a, b := d.Features[0][0], d.Features[0][1]
	if a[0]-b[0] != 0 || a[1]-b[1] != -1 {
		t.Errorf("φ(a) − φ(b) = (%v, %v), want (0, −1)", a[0]-b[0], a[1]-b[1])
	}
	r := d.Oracle[0]
	if !(r[0] > r[1] && r[0] > r[2] && r[0] > r[3] && r[3] < r[1] && r[3] < r[2]) {
		t.Errorf("oracle %v: want a best and d worst", r)
	}
	p := d.Pairs[0]
	if r[p.Chosen] <= r[p.Rejected] {
		t.Errorf("oracle disagrees with the pair a ≻ b")
	}
	for _, v := range d.RefProbs()[0] {
		if math.Abs(v-0.25) > 1e-15 {
			t.Errorf("π_ref not uniform: %v", d.RefProbs()[0])
		}
	}
	s := d.Support()[0]
	if !s[0] || !s[1] || s[2] || s[3] {
		t.Errorf("support = %v, want [true true false false]", s)
	}
}

func TestRandomBanditDeterministicAndShapes(t *testing.T) {
	cfg := BanditConfig{Prompts: 3, Responses: 5, Features: 2, Pairs: 40, Seed: 7}
	d1, err := RandomBandit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := RandomBandit(cfg)
	if d1.Fingerprint() != d2.Fingerprint() {
		t.Error("same seed gave different data")
	}
	cfg.Seed = 8
	d3, _ := RandomBandit(cfg)
	if d1.Fingerprint() == d3.Fingerprint() {
		t.Error("different seeds gave the same data")
	}
	if d1.NumFeatures() != 2 || len(d1.Pairs) != 40 {
		t.Fatalf("F=%d pairs=%d", d1.NumFeatures(), len(d1.Pairs))
	}
	// r* is one linear function of the features: solve θ* from two responses
	// of prompt 0 and check it predicts every other response of every prompt.
	phi := d1.Features[0]
	r := d1.Oracle[0]
	det := phi[0][0]*phi[1][1] - phi[0][1]*phi[1][0]
	th0 := (r[0]*phi[1][1] - r[1]*phi[0][1]) / det
	th1 := (phi[0][0]*r[1] - phi[1][0]*r[0]) / det
	for x := range d1.Prompts {
		for y := range d1.Responses {
			want := th0*d1.Features[x][y][0] + th1*d1.Features[x][y][1]
			if math.Abs(want-d1.Oracle[x][y]) > 1e-9 {
				t.Fatalf("oracle[%d][%d] = %v, linear prediction %v", x, y, d1.Oracle[x][y], want)
			}
		}
	}
}

func TestRandomBanditCoverageAndLabels(t *testing.T) {
	d, err := RandomBandit(BanditConfig{Prompts: 2, Responses: 10, Pairs: 2000, Coverage: 0.3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for x, row := range d.Support() {
		n := 0
		for _, s := range row {
			if s {
				n++
			}
		}
		if n != 3 {
			t.Errorf("prompt %d: %d responses in pairs, want ⌈0.3·10⌉ = 3", x, n)
		}
	}
	// Without label noise the Bradley–Terry labels agree with r* on average
	// with probability E σ(|Δr*|) > 1/2; with noise 0.5 they are coin flips.
	agree := func(d *FiniteData) float64 {
		n := 0
		for _, p := range d.Pairs {
			if d.Oracle[p.Prompt][p.Chosen] > d.Oracle[p.Prompt][p.Rejected] {
				n++
			}
		}
		return float64(n) / float64(len(d.Pairs))
	}
	var want float64
	for _, p := range d.Pairs {
		dr := math.Abs(d.Oracle[p.Prompt][p.Chosen] - d.Oracle[p.Prompt][p.Rejected])
		want += 1 / (1 + math.Exp(-dr))
	}
	want /= float64(len(d.Pairs))
	if got := agree(d); math.Abs(got-want) > 0.04 {
		t.Errorf("label agreement %.3f, Bradley–Terry expectation %.3f", got, want)
	}
	noisy, _ := RandomBandit(BanditConfig{Prompts: 2, Responses: 10, Pairs: 2000, Coverage: 0.3, LabelNoise: 0.5, Seed: 1})
	if got := agree(noisy); math.Abs(got-0.5) > 0.04 {
		t.Errorf("label agreement with noise 0.5: %.3f, want ≈ 0.5", got)
	}
}

func TestRandomBanditValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg   BanditConfig
		field string
	}{
		{BanditConfig{Responses: 1}, "Responses"},
		{BanditConfig{Prompts: -1}, "Prompts"},
		{BanditConfig{Features: -2}, "Features"},
		{BanditConfig{Pairs: -5}, "Pairs"},
		{BanditConfig{LabelNoise: 0.7}, "LabelNoise"},
		{BanditConfig{LabelNoise: math.NaN()}, "LabelNoise"},
		{BanditConfig{Coverage: 1.5}, "Coverage"},
	} {
		_, err := RandomBandit(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("RandomBandit(%+v) error = %v, want one naming %s", tc.cfg, err, tc.field)
		}
	}
}

func TestFiniteDataValidate(t *testing.T) {
	d := SqueezeToy()
	d.Pairs = append(d.Pairs, FinitePair{Prompt: 0, Chosen: 2, Rejected: 2})
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "Pairs[1]") {
		t.Errorf("self-pair: %v", err)
	}
	d = SqueezeToy()
	d.RefLogits[0][3] = math.Inf(1)
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "RefLogits[0][3]") {
		t.Errorf("inf logit: %v", err)
	}
	d = SqueezeToy()
	d.Features[0][2] = []float64{1}
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "Features[0][2]") {
		t.Errorf("ragged features: %v", err)
	}
}
