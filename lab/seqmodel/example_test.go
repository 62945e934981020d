package seqmodel_test

import (
	"fmt"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/robustpo/robustpo/lab/seqmodel"
)

// The reference policy is a frozen snapshot of the SFT policy; DPO trains
// another snapshot. Before the first update π_θ = π_ref, so every log-ratio
// is 0 and the DPO loss is log 2.
func Example() {
	backend, err := compute.NewWithConfig("go:ops_sequential")
	if err != nil {
		panic(err)
	}
	sft, err := seqmodel.NewPolicy(backend, seqmodel.Config{VocabSize: 16, DModel: 32, Layers: 1, Heads: 2, MaxLen: 12})
	if err != nil {
		panic(err)
	}
	prompts := [][]int{{1, 2}, {3}}
	sftBatch, _ := seqmodel.NewBatch(prompts, [][]int{{4, 5, 15}, {6, 15}}, 0, 0)
	sftTrainer, err := seqmodel.NewSFTTrainer(sft, seqmodel.AdamConfig{})
	if err != nil {
		panic(err)
	}
	for range 5 {
		if _, err := sftTrainer.Step(sftBatch); err != nil {
			panic(err)
		}
	}

	ref, _ := sft.Snapshot()
	ref.Freeze()
	policy, _ := sft.Snapshot()

	chosen, _ := seqmodel.NewBatch(prompts, [][]int{{4, 5, 15}, {6, 15}}, 0, 6)
	rejected, _ := seqmodel.NewBatch(prompts, [][]int{{7, 15}, {8, 9, 10, 15}}, 0, 6)
	refChosen, _ := ref.LogProbs(chosen)
	refRejected, _ := ref.LogProbs(rejected)
	dpo, err := seqmodel.NewDPOTrainer(policy, seqmodel.DPOConfig{Beta: 0.1})
	if err != nil {
		panic(err)
	}
	step, err := dpo.Step(chosen, rejected, refChosen, refRejected)
	if err != nil {
		panic(err)
	}
	fmt.Printf("first DPO loss %.4f\n", step.Loss)

	responses, _ := policy.Sample(prompts, seqmodel.SampleConfig{Seed: 1, MaxNewTokens: 4, UseEOS: true, EOS: 15})
	fmt.Println(len(responses), "responses, at most 4 tokens each:", len(responses[0]) <= 4, len(responses[1]) <= 4)
	// Output:
	// first DPO loss 0.6931
	// 2 responses, at most 4 tokens each: true true
}
