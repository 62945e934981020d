package lab

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// runLayoutFormat is the CacheFormat that runLayout was recorded for.
const runLayoutFormat = 5

// runLayout is the layout of the cache payloads as CacheFormat
// runLayoutFormat writes them: every field of Run (JSON), seqReference (gob)
// and seqMargins (JSON) and of the types inside them, "Type.name Go type
// [,tag options]" (see jsonLayout).
var runLayout = []string{
	"lab.Run.config lab.Config",
	"lab.Run.label string",
	"lab.Run.backend string",
	"lab.Run.seed int64",
	"lab.Run.wall_time time.Duration",
	"lab.Run.dataset string",
	"lab.Run.data_fingerprint string",
	"lab.Run.history *lab.History (own encoding)",
	"lab.Run.provenance lab.Provenance",
	"lab.Run.policy lab.PolicyKind",
	"lab.Run.theta []float64",
	"lab.Run.final [][]float64",
	"lab.Run.ref [][]float64",
	"lab.Run.optimal [][]float64,omitempty",
	"lab.Run.support [][]bool",
	"lab.Run.response_names []string,omitempty",
	"lab.Run.rewards [][][]float64,omitempty",
	"lab.Run.reward_disagreement float64",
	"lab.Run.steps_done int",
	"lab.Run.seq *lab.SeqResult,omitempty",
	"lab.Run.interrupted bool,omitempty",
	"lab.Config.Name string",
	"lab.Config.Method lab.Method",
	"lab.Config.Policy lab.PolicyKind",
	"lab.Config.Beta float64",
	"lab.Config.Gamma float64",
	"lab.Config.Epsilon float64",
	"lab.Config.Steps int",
	"lab.Config.LearningRate float64",
	"lab.Config.Optimizer lab.Optimizer",
	"lab.Config.BatchSize int",
	"lab.Config.Seed int64",
	"lab.Config.EnsembleSize int",
	"lab.Config.EnsembleSampling lab.EnsembleSampling",
	"lab.Config.Aggregation losses.Aggregation",
	"lab.Config.SoftMinTemperature float64,omitzero",
	"lab.Config.DistillPairs lab.DistillPairs",
	"lab.Config.RefPairs int",
	"lab.Config.RewardSource lab.RewardSource",
	"lab.Config.RewardL2 float64",
	"lab.Config.RewardSteps int",
	"lab.Config.RewardLearningRate float64",
	"lab.Config.LogEvery int",
	"lab.Config.NoCache bool",
	"lab.Config.Rho float64,omitzero",
	"lab.Config.Model seqmodel.Config,omitzero",
	"lab.Config.SFTSteps int,omitzero",
	"lab.Config.SFTLearningRate float64,omitzero",
	"lab.Config.RefSamples int,omitzero",
	"lab.Config.KLPrompts int,omitzero",
	"lab.Config.KLBatch int,omitzero",
	"lab.Config.EvalSamples int,omitzero",
	"lab.Config.EvalPrompts int,omitzero",
	"seqmodel.Config.VocabSize int",
	"seqmodel.Config.DModel int",
	"seqmodel.Config.Layers int",
	"seqmodel.Config.Heads int",
	"seqmodel.Config.MaxLen int",
	"seqmodel.Config.MLPRatio int",
	"seqmodel.Config.UntiedOutput bool",
	"seqmodel.Config.InitStd float64",
	"seqmodel.Config.LayerNormEpsilon float64",
	"seqmodel.Config.Seed uint64",
	"lab.historyJSON.steps []int",
	"lab.historyJSON.metrics []string",
	"lab.historyJSON.values map[string][]lab.jsonFloat",
	"lab.Provenance.backend string",
	"lab.Provenance.platform string",
	"lab.Provenance.simd string",
	"lab.Provenance.simd_env string,omitempty",
	"lab.Provenance.goexperiment string",
	"lab.Provenance.go string",
	"lab.Provenance.gomlx string",
	"lab.Provenance.gomlx_compute string",
	"lab.SeqResult.task string",
	"lab.SeqResult.train_pairs int",
	"lab.SeqResult.examples int",
	"lab.SeqResult.rho float64",
	"lab.SeqResult.eval_fingerprint string",
	"lab.SeqResult.win_rate lab.WinRate",
	"lab.SeqResult.oracle_reward float64",
	"lab.SeqResult.mean_length float64",
	"lab.SeqResult.ref_oracle_reward float64",
	"lab.SeqResult.ref_mean_length float64",
	"lab.SeqResult.kl_reverse float64",
	"lab.SeqResult.kl_forward float64",
	"lab.SeqResult.step_losses []float64",
	"lab.SeqResult.sft_loss []float64",
	"lab.SeqResult.reward_accuracy []float64,omitempty",
	"lab.SeqResult.num_parameters int",
	"lab.SeqResult.heldout_pairs int,omitempty",
	"lab.SeqResult.heldout_accuracy float64,omitempty",
	"lab.SeqResult.reward_heldout_accuracy []float64,omitempty",
	"lab.SeqResult.ensemble_heldout_accuracy float64,omitempty",
	"lab.WinRate.rate float64",
	"lab.WinRate.lo float64",
	"lab.WinRate.hi float64",
	"lab.WinRate.per_prompt []float64",
	"lab.WinRate.samples int",
	"lab.seqReference.Params []lab.savedParam",
	"lab.seqReference.SFTLoss []float64",
	"lab.seqReference.KL []lab.refSample",
	"lab.seqReference.Eval [][]lab.refSample",
	"lab.seqReference.Cached bool",
	"lab.savedParam.Path string",
	"lab.savedParam.Dims []int",
	"lab.savedParam.Data []float32",
	"lab.refSample.Prompt int",
	"lab.refSample.Response []int",
	"lab.refSample.LogProb float64",
	"lab.refSample.Reward float64",
	"lab.refSample.Length int",
	"lab.seqMargins.margins [][]float64",
	"lab.seqMargins.accuracy []float64",
	"lab.seqMargins.loss []float64",
	"lab.seqMargins.heldout_accuracy []float64,omitempty",
	"lab.seqMargins.heldout_ensemble_accuracy float64,omitempty",
}

// TestRunJSONLayout fails when the JSON layout of Run (any field of Run or of
// a type inside it: added, removed, renamed, retyped), or of the sequence
// caches' payloads, changes without CacheFormat being bumped: cached entries
// of the old layout would be decoded into the new one. Bump CacheFormat, then
// set runLayoutFormat to it and runLayout to the layout this test prints.
func TestRunJSONLayout(t *testing.T) {
	got := jsonLayout(reflect.TypeFor[Run](), reflect.TypeFor[seqReference](), reflect.TypeFor[seqMargins]())
	if runLayoutFormat != CacheFormat {
		t.Fatalf("CacheFormat is %d but runLayout was recorded for %d: record the layout of format %d:\n%s",
			CacheFormat, runLayoutFormat, CacheFormat, layoutLiteral(got))
	}
	if !slices.Equal(got, runLayout) {
		var added, removed []string
		for _, l := range got {
			if !slices.Contains(runLayout, l) {
				added = append(added, l)
			}
		}
		for _, l := range runLayout {
			if !slices.Contains(got, l) {
				removed = append(removed, l)
			}
		}
		t.Fatalf("the JSON layout of Run changed without a CacheFormat bump (still %d)\nadded: %q\nremoved: %q\n"+
			"bump CacheFormat in cache.go, then set runLayoutFormat to it and runLayout to:\n%s", CacheFormat, added, removed, layoutLiteral(got))
	}
}

// layoutLiteral formats a layout as the Go literal of runLayout.
func layoutLiteral(l []string) string {
	var b strings.Builder
	b.WriteString("var runLayout = []string{\n")
	for _, s := range l {
		b.WriteString("\t" + strconv.Quote(s) + ",\n")
	}
	b.WriteString("}")
	return b.String()
}

// jsonWire maps types with a MarshalJSON to the type whose layout they write.
var jsonWire = map[reflect.Type]reflect.Type{
	reflect.TypeFor[History](): reflect.TypeFor[historyJSON](),
}

// jsonLayout lists the JSON fields of the struct types roots and of every struct type
// reachable from it, in a stable order: "Type.name GoType,options" per field,
// a type with its own MarshalJSON or MarshalText marked (and, for those in
// jsonWire, the fields of the type it writes).
func jsonLayout(roots ...reflect.Type) []string {
	var out []string
	seen := map[reflect.Type]bool{}
	marshaler := reflect.TypeFor[json.Marshaler]()
	texter := reflect.TypeFor[encoding.TextMarshaler]()
	var walk func(t reflect.Type)
	visit := func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			if t.Kind() == reflect.Map {
				visitKey := t.Key()
				if visitKey.Kind() == reflect.Struct {
					walk(visitKey)
				}
			}
			t = t.Elem()
		}
		if w, ok := jsonWire[t]; ok {
			walk(w)
			return
		}
		if t.Kind() == reflect.Struct {
			walk(t)
		}
	}
	walk = func(t reflect.Type) {
		if seen[t] {
			return
		}
		seen[t] = true
		if t.Implements(marshaler) || reflect.PointerTo(t).Implements(marshaler) || t.Implements(texter) || reflect.PointerTo(t).Implements(texter) {
			out = append(out, t.String()+" has its own JSON encoding")
			return
		}
		var inner []reflect.Type
		for f := range t.Fields() {
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if name == "" {
				name = f.Name
			}
			ft := f.Type
			desc := ft.String()
			for _, x := range []reflect.Type{ft, reflect.PointerTo(ft)} {
				if x.Implements(marshaler) || x.Implements(texter) {
					desc += " (own encoding)"
					break
				}
			}
			if f.Anonymous {
				desc += " (embedded)"
			}
			if opts != "" {
				desc += "," + opts
			}
			out = append(out, t.String()+"."+name+" "+desc)
			inner = append(inner, ft)
		}
		for _, ft := range inner {
			visit(ft)
		}
	}
	for _, t := range roots {
		walk(t)
	}
	return out
}
