package datasets

import (
	"math"
	"strings"
	"testing"
)

func TestExtrapolationShapesAndOracle(t *testing.T) {
	cfg := ExtrapolationConfig{Prompts: 5, Seen: 3, Unseen: 2, Pairs: 400, SeenSpread: 0.2, Far: 4, UnseenShift: -1, Seed: 9}
	d, err := Extrapolation(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d.Prompts != 5 || d.Responses != 5 || d.NumFeatures() != 2 || len(d.Pairs) != 400 {
		t.Fatalf("P=%d R=%d F=%d pairs=%d, want 5, 5, 2, 400", d.Prompts, d.Responses, d.NumFeatures(), len(d.Pairs))
	}
	var sSeen, qSeen, qUnseen []float64
	for x := range d.Prompts {
		for y := range d.Responses {
			phi := d.Features[x][y]
			if d.Oracle[x][y] != phi[0] {
				t.Fatalf("r*[%d][%d] = %v, want the quality %v", x, y, d.Oracle[x][y], phi[0])
			}
			if d.RefLogits[x][y] != 0 {
				t.Fatalf("π_ref logit [%d][%d] = %v, want 0 (uniform)", x, y, d.RefLogits[x][y])
			}
			if y < 3 {
				sSeen = append(sSeen, phi[1])
				qSeen = append(qSeen, phi[0])
			} else {
				if math.Abs(phi[1]) != 4 {
					t.Fatalf("unseen response [%d][%d] has style %v, want ±4", x, y, phi[1])
				}
				qUnseen = append(qUnseen, phi[0])
			}
		}
	}
	for _, s := range sSeen {
		if math.Abs(s) > 5*0.2 {
			t.Errorf("a seen response has style %v, more than 5 spreads from 0", s)
		}
	}
	if m := mean(qUnseen) - mean(qSeen); m > 0 {
		t.Errorf("unseen quality − seen quality = %v with UnseenShift −1, want < 0", m)
	}
	for x, row := range d.Support() {
		for y, s := range row {
			if s != (y < 3) {
				t.Errorf("prompt %d response %d: in a pair = %v, want %v (pairs compare seen responses only)", x, y, s, y < 3)
			}
		}
	}
	// Bradley–Terry labels: the better response wins with the mean of σ(|Δr*|).
	var agree, want float64
	for _, p := range d.Pairs {
		dr := d.Oracle[p.Prompt][p.Chosen] - d.Oracle[p.Prompt][p.Rejected]
		if dr > 0 {
			agree++
		}
		want += 1 / (1 + math.Exp(-math.Abs(dr)))
	}
	n := float64(len(d.Pairs))
	if math.Abs(agree/n-want/n) > 0.06 {
		t.Errorf("labels agree with r* in %.3f of pairs, Bradley–Terry expectation %.3f", agree/n, want/n)
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func TestExtrapolationDefaultsAndSeed(t *testing.T) {
	a, err := Extrapolation(ExtrapolationConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a.Prompts != 8 || a.Responses != 8 || len(a.Pairs) != 128 {
		t.Errorf("defaults: P=%d R=%d pairs=%d, want 8, 8, 128", a.Prompts, a.Responses, len(a.Pairs))
	}
	if s := a.Features[0][7][1]; math.Abs(s) != 5 {
		t.Errorf("default Far: unseen style %v, want ±5", s)
	}
	b, _ := Extrapolation(ExtrapolationConfig{Seed: 1})
	c, _ := Extrapolation(ExtrapolationConfig{Seed: 2})
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("the same seed gave different data")
	}
	if a.Fingerprint() == c.Fingerprint() {
		t.Error("different seeds gave the same data")
	}
}

func TestExtrapolationValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg   ExtrapolationConfig
		field string
	}{
		{ExtrapolationConfig{Prompts: -1}, "Prompts"},
		{ExtrapolationConfig{Seen: 1}, "Seen"},
		{ExtrapolationConfig{Unseen: -1}, "Unseen"},
		{ExtrapolationConfig{Pairs: -3}, "Pairs"},
		{ExtrapolationConfig{SeenSpread: -0.1}, "SeenSpread"},
		{ExtrapolationConfig{Far: math.Inf(1)}, "Far"},
		{ExtrapolationConfig{UnseenShift: math.NaN()}, "UnseenShift"},
	} {
		_, err := Extrapolation(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("Extrapolation(%+v) error = %v, want one naming %s", tc.cfg, err, tc.field)
		}
	}
}
