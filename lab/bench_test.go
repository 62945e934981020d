package lab

import (
	"testing"
	"time"

	"github.com/robustpo/robustpo/datasets"
)

// BenchmarkDPOLogLinearBandit measures full-batch DPO optimizer steps per
// second on a 64-prompt × 32-response log-linear bandit (16 features, 1024
// pairs), 2000 steps per Train call (graph compilation included), metrics
// logged once at the end, run cache off.
func BenchmarkDPOLogLinearBandit(b *testing.B) {
	data, err := datasets.RandomBandit(datasets.BanditConfig{Prompts: 64, Responses: 32, Features: 16, Pairs: 1024, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	const steps = 2000
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

// BenchmarkCachedTrain measures a Train call answered by the run cache (a
// 3000-step SqueezeToy run with 121 logged rows), the cost a notebook cell
// pays to get a run trained by an earlier cell.
func BenchmarkCachedTrain(b *testing.B) {
	b.Setenv(CacheDirEnv, b.TempDir())
	b.Setenv(NoCacheEnv, "")
	cfg := Config{Method: DPO, Beta: 0.5, Steps: 3000, LogEvery: 25}
	if _, err := Train(cfg, datasets.SqueezeToy()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		run, err := Train(cfg, datasets.SqueezeToy())
		if err != nil || !run.Cached {
			b.Fatalf("cached=%v err=%v", run != nil && run.Cached, err)
		}
	}
}
