package lab

import (
	"math"
	"testing"
)

// The evaluation at step 0 is π_ref against itself: win rate ½ exactly, the
// policy's oracle reward and length are π_ref's, and ReferenceSamples returns
// the samples behind RefOracleReward and RefMeanLength.
func TestSeqStepZeroIsReference(t *testing.T) {
	t.Setenv("ROBUSTPO_CACHE_DIR", t.TempDir())
	task := tinyTask(t, 3, 2)
	cfg := tinySeqConfig(DPO)
	cfg.NoCache = false
	cfg.Model.Seed = 5
	run, err := TrainSeq(cfg, task)
	if err != nil {
		t.Fatal(err)
	}
	h := run.History
	if w := h.Values["winrate/vs_ref"][0]; w != 0.5 {
		t.Errorf("win rate at step 0 = %v, want 0.5", w)
	}
	ref, err := ReferenceSamples(cfg, task)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.withSeqDefaults(task)
	if len(ref) != d.EvalPrompts*d.EvalSamples {
		t.Fatalf("%d reference samples, want %d", len(ref), d.EvalPrompts*d.EvalSamples)
	}
	var r, l float64
	for i, s := range ref {
		if s.Prompt != i/d.EvalSamples || len(s.Response) != s.Length || s.Reward != task.Oracle(task.EvalPrompts[s.Prompt], s.Response) {
			t.Fatalf("sample %d: %+v is not a scored sample of prompt %d", i, s, i/d.EvalSamples)
		}
		r, l = r+s.Reward, l+float64(s.Length)
	}
	n := float64(len(ref))
	if math.Abs(r/n-run.Seq.RefOracleReward) > 1e-12 || math.Abs(l/n-run.Seq.RefMeanLength) > 1e-12 {
		t.Errorf("reference samples' means r* %v, length %v; the run's π_ref %v, %v", r/n, l/n, run.Seq.RefOracleReward, run.Seq.RefMeanLength)
	}
	if o := h.Values["oracle/reward"][0]; math.Abs(o-run.Seq.RefOracleReward) > 1e-12 {
		t.Errorf("oracle/reward at step 0 = %v, π_ref's %v", o, run.Seq.RefOracleReward)
	}
	// Model.Seed reaches π_ref: another seed, another SFT initialisation and other samples.
	other := cfg
	other.Model.Seed = 6
	ref2, err := ReferenceSamples(other, task)
	if err != nil {
		t.Fatal(err)
	}
	same := len(ref2) == len(ref)
	for i := range ref2 {
		same = same && ref2[i].Reward == ref[i].Reward && ref2[i].Length == ref[i].Length && slicesEqual(ref2[i].Response, ref[i].Response)
	}
	if same {
		t.Error("Model.Seed 5 and 6 gave the same π_ref samples")
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRewardLengthSlope(t *testing.T) {
	// r* = 1 + 0.5·length exactly: slope 0.5, correlation 1.
	var s []SeqSample
	for l := range 5 {
		s = append(s, SeqSample{Length: l, Reward: 1 + 0.5*float64(l)})
	}
	got := RewardLengthSlope(s)
	if math.Abs(got.Slope-0.5) > 1e-12 || math.Abs(got.Corr-1) > 1e-12 || got.N != 5 {
		t.Errorf("RewardLengthSlope = %+v, want slope 0.5, corr 1, N 5", got)
	}
	// Lengths 0,0,2,2 with rewards 1,3,0,2: slope −0.5, r = −1/√5·… computed by hand:
	// mx = 1, my = 1.5, sxy = (−1)(−0.5)+(−1)(1.5)+(1)(−1.5)+(1)(0.5) = −2, sxx = 4, syy = 5.
	got = RewardLengthSlope([]SeqSample{{Length: 0, Reward: 1}, {Length: 0, Reward: 3}, {Length: 2, Reward: 0}, {Length: 2, Reward: 2}})
	if math.Abs(got.Slope+0.5) > 1e-12 || math.Abs(got.Corr+2/math.Sqrt(20)) > 1e-12 {
		t.Errorf("RewardLengthSlope = %+v, want slope −0.5, corr %v", got, -2/math.Sqrt(20))
	}
	if got := RewardLengthSlope([]SeqSample{{Length: 3, Reward: 1}, {Length: 3, Reward: 2}}); !math.IsNaN(got.Slope) {
		t.Errorf("equal lengths: slope %v, want NaN", got.Slope)
	}
}

// SeqLines draws one panel per metric, a line per method with the seeds'
// mean, and π_ref's level as a reference line.
func TestSeqLines(t *testing.T) {
	mk := func(m Method, seed int64, rho, win, reward, refReward float64, fp string) Row {
		return Row{Config: Config{Method: m, Seed: seed, Rho: rho},
			Metrics: map[string]float64{"winrate/vs_ref": win, "oracle/reward": reward},
			Run:     &Run{Seq: &SeqResult{EvalFingerprint: fp, RefOracleReward: refReward}}}
	}
	tab := &Table{Fields: []string{"Rho", "Method"}, Metrics: []string{"winrate/vs_ref", "oracle/reward"}, Rows: []Row{
		mk(DPO, 1, 0.2, 0.4, 1, 2, "a"), mk(DPO, 2, 0.2, 0.6, 3, 4, "b"),
		mk(EDPO, 1, 0.2, 0.5, 2, 2, "a"), mk(EDPO, 2, 0.2, 0.5, 2, 4, "b"),
		mk(DPO, 1, 0.8, 0.7, 1, 2, "a"), mk(DPO, 2, 0.8, 0.7, 1, 4, "b"),
		mk(EDPO, 1, 0.8, 0.5, 2, 2, "a"), mk(EDPO, 2, 0.8, 0.5, 2, 4, "b"),
	}}
	f := tab.SeqLines("Rho", "Method", "winrate/vs_ref", "oracle/reward", "grad_weight")
	if f.Panels() != 3 {
		t.Fatalf("%d panels, want 3", f.Panels())
	}
	wantRef := []float64{0.5, 3, math.NaN()} // π_ref: ½; the mean of the two π_refs' r*; none
	for i, p := range f.spec.Panels {
		var ref []float64
		lines := 0
		for _, l := range p.Lines {
			if l.Reference {
				ref = l.Y
			} else if len(l.X) > 0 {
				lines++
			}
		}
		if math.IsNaN(wantRef[i]) {
			if ref != nil {
				t.Errorf("panel %d: a π_ref line at %v, want none", i, ref)
			}
			continue
		}
		if len(ref) != 2 || ref[0] != wantRef[i] || lines != 2 {
			t.Errorf("panel %d: π_ref line %v (want %v) and %d method lines (want 2)", i, ref, wantRef[i], lines)
		}
	}
	if y := f.spec.Panels[0].Lines[0].Y[0]; math.Abs(y-0.5) > 1e-12 {
		t.Errorf("DPO's win rate at ρ=0.2 is drawn at %v, want the seeds' mean 0.5", y)
	}
}
