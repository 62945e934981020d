package lab

import (
	"testing"
	"time"

	"github.com/robustpo/robustpo/datasets"
)

// BenchmarkDPOLogLinearBandit measures full-batch DPO optimizer steps per
// second on a 64-prompt × 32-response log-linear bandit (16 features, 1024
// pairs), metrics logged once per 500 steps, run cache off.
func BenchmarkDPOLogLinearBandit(b *testing.B) {
	data, err := datasets.RandomBandit(datasets.BanditConfig{Prompts: 64, Responses: 32, Features: 16, Pairs: 1024, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	const steps = 500
	cfg := Config{Method: DPO, Steps: steps, LogEvery: steps, NoCache: true}
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := Train(cfg, data); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(steps*b.N)/total.Seconds(), "steps/s")
}
