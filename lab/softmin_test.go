package lab

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/robustpo/robustpo/losses"
)

func TestSoftMinTemperatureConfig(t *testing.T) {
	cfg := Config{Method: EDPO, Beta: 0.5, SoftMinTemperature: 0.1}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if l := cfg.Label(); !strings.Contains(l, "MinPerBatch τ=0.1") {
		t.Errorf("Label %q does not show the temperature", l)
	}
	if l := (Config{Method: EDPO}).Label(); strings.Contains(l, "τ") {
		t.Errorf("Label %q shows a temperature of 0", l)
	}
	for _, bad := range []Config{
		{Method: EDPO, SoftMinTemperature: -1},
		{Method: EDPO, SoftMinTemperature: math.NaN()},
		{Method: EDPO, SoftMinTemperature: math.Inf(1)},
		{Method: EDPO, Aggregation: losses.Hull, SoftMinTemperature: 0.1},
	} {
		if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "SoftMinTemperature") {
			t.Errorf("%+v: error %v, want one naming SoftMinTemperature", bad, err)
		}
	}
	if err := (Config{Method: DPO, SoftMinTemperature: 0.1}).Validate(); err != nil {
		t.Errorf("DPO ignores SoftMinTemperature, got %v", err)
	}
}

// seqObjective's EDPO (the logged loss of sequence runs) is
// losses.EnsembleDistillSoft in float64, for every aggregation and
// temperature.
func TestSeqObjectiveMatchesLosses(t *testing.T) {
	backend, err := Backend()
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Finalize()
	r := rand.New(rand.NewPCG(5, 5))
	const n, k = 7, 3
	h1, h2, flat := make([]float64, n), make([]float64, n), make([]float64, n*k)
	margins := make([][]float64, n)
	for j := range n {
		h1[j], h2[j] = r.NormFloat64(), r.NormFloat64()
		margins[j] = flat[j*k : (j+1)*k]
		for i := range k {
			margins[j][i] = 2 * r.NormFloat64()
		}
	}
	for _, c := range []struct {
		agg losses.Aggregation
		tau float64
	}{{losses.MinPerBatch, 0}, {losses.MinPerBatch, 0.3}, {losses.MinPerExample, 0}, {losses.MinPerExample, 2}, {losses.Hull, 0}} {
		cfg := Config{Method: EDPO, Beta: 0.7, Aggregation: c.agg, SoftMinTemperature: c.tau}
		e, err := NewExec(backend, func(a, b, m *Node) *Node {
			return losses.EnsembleDistillSoft(a, b, m, cfg.Beta, c.agg, c.tau)
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Call(h1, h2, tensors.FromFlatDataAndDimensions(flat, n, k))
		if err != nil {
			t.Fatal(err)
		}
		if out[0].DType() != dtypes.Float64 {
			t.Fatalf("dtype %s", out[0].DType())
		}
		want := out[0].Value().(float64)
		if got := seqObjective(t, cfg, h1, h2, margins); math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
			t.Errorf("%s τ=%g: seqObjective %.17g, losses %.17g", c.agg, c.tau, got, want)
		}
	}
}

// A sweep over SoftMinTemperature puts each temperature in its own batched
// graph: every row equals Train of its config.
func TestSweepSoftMinTemperature(t *testing.T) {
	t.Setenv(NoCacheEnv, "1")
	data := testBandit(t, 3, 5, 0, 24)
	base := Config{Method: EDPO, Beta: 0.4, Steps: 20, LogEvery: 10, RewardSteps: 30}
	tab, err := SweepWith(context.Background(), base, Grid{Vary("SoftMinTemperature", 0, 0.05, 1), Vary("Seed", 1, 2)}, data, SweepOptions{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Batches != 3 {
		t.Errorf("%d batched graphs, want one per temperature", tab.Batches)
	}
	for _, row := range tab.Rows {
		if row.Err != nil {
			t.Fatal(row.Err)
		}
		want := mustTrain(t, row.Config, data)
		if !reflect.DeepEqual(row.Run.History, want.History) || !reflect.DeepEqual(row.Run.Theta, want.Theta) {
			t.Errorf("%s: the sweep's run differs from Train's", row.Config.Label())
		}
	}
	loss := func(tau float64) float64 {
		return tab.Where("SoftMinTemperature", tau).Where("Seed", int64(1)).Rows[0].Run.History.Last("loss")
	}
	if a, b := loss(0), loss(0.05); a == b {
		t.Errorf("τ = 0 and τ = 0.05 give the same final loss %v", a)
	}
}
