package seqmodel

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/gomlx/compute"
)

// Benchmark size of BenchmarkDPOStepTiny (mirrored by the PyTorch peer in lab/cmd/bench/torch_dpo.py; `go run ./kernel bench --torch` prints both and their ratio).
const (
	benchVocab, benchDModel, benchLayers, benchHeads = 64, 128, 2, 4
	benchLen, benchPairs, benchPrompt                = 48, 32, 16
)

// benchPairBatches returns chosen and rejected batches of benchPairs rows of
// benchLen tokens (prompt benchPrompt, response benchLen−benchPrompt).
func benchPairBatches(tb testing.TB) (chosen, rejected Batch) {
	rng := rand.New(rand.NewPCG(1, 1))
	prompts := randomRows(rng, benchPairs, benchPrompt, benchPrompt, benchVocab)
	c := randomRows(rng, benchPairs, benchLen-benchPrompt, benchLen-benchPrompt, benchVocab)
	r := randomRows(rng, benchPairs, benchLen-benchPrompt, benchLen-benchPrompt, benchVocab)
	var err error
	if chosen, err = NewBatch(prompts, c, 0, benchLen); err != nil {
		tb.Fatal(err)
	}
	if rejected, err = NewBatch(prompts, r, 0, benchLen); err != nil {
		tb.Fatal(err)
	}
	return chosen, rejected
}

// BenchmarkDPOStepTiny measures one DPO training step (policy forward and
// backward on 32 chosen and 32 rejected sequences of 48 tokens, Adam update;
// vocab 64, d_model 128, 2 layers, 4 heads) on the go backend, as tokens/s
// with tokens = 2·32·48 per step. SEQMODEL_BENCH_BACKEND overrides the
// backend config (default "go:ops_parallel,parallelism=-1", the lab's
// backend.DefaultSeqGo).
func BenchmarkDPOStepTiny(b *testing.B) {
	config := os.Getenv("SEQMODEL_BENCH_BACKEND")
	if config == "" {
		config = "go:ops_parallel,parallelism=-1"
	}
	backend, err := compute.NewWithConfig(config)
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{VocabSize: benchVocab, DModel: benchDModel, Layers: benchLayers, Heads: benchHeads, MaxLen: benchLen}
	policy, err := NewPolicy(backend, cfg)
	if err != nil {
		b.Fatal(err)
	}
	ref, err := policy.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	ref.Freeze()
	chosen, rejected := benchPairBatches(b)
	refC, err := ref.LogProbs(chosen)
	if err != nil {
		b.Fatal(err)
	}
	refR, err := ref.LogProbs(rejected)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := NewDPOTrainer(policy, DPOConfig{Beta: 0.1, Adam: AdamConfig{LearningRate: 1e-4}})
	if err != nil {
		b.Fatal(err)
	}
	// Warm-up: compiles the graph.
	if _, err := tr.Step(chosen, rejected, refC, refR); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := tr.Step(chosen, rejected, refC, refR); err != nil {
			b.Fatal(err)
		}
	}
	tokens := float64(2 * benchPairs * benchLen)
	b.ReportMetric(tokens*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
	b.ReportMetric(0, "ns/op") // tokens/s is the figure of merit
	fmt.Fprintf(os.Stderr, "backend %s: %s\n", config, backend.Description())
}
