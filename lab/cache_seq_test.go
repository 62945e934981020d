package lab

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/robustpo/robustpo/lab/seqmodel"
)

// seqCacheFiles returns the entries of a sequence run in dir: the run's,
// the SFT reference's and the reward margins'.
func seqCacheFiles(t *testing.T, dir string) (run, ref, rm string) {
	t.Helper()
	all, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, p := range all {
		switch b := filepath.Base(p); {
		case strings.HasPrefix(b, "seqref-") && strings.HasSuffix(b, ".gob"):
			ref = p
		case strings.HasPrefix(b, "seqrm-") && strings.HasSuffix(b, ".json"):
			rm = p
		case strings.HasSuffix(b, ".json"):
			run = p
		}
	}
	if run == "" || ref == "" || rm == "" {
		t.Fatalf("cache %s holds %v: want a run, a seqref and a seqrm entry", dir, all)
	}
	return run, ref, rm
}

// editRefEntry rewrites the SFT reference entry at path: edit changes the
// reference, and the checksum is recomputed unless keepSum.
func editRefEntry(t *testing.T, path string, keepSum bool, edit func(*seqReference)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e cacheEntry
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&e); err != nil {
		t.Fatal(err)
	}
	var ref seqReference
	if err := gob.NewDecoder(bytes.NewReader(e.Payload)).Decode(&ref); err != nil {
		t.Fatal(err)
	}
	edit(&ref)
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(ref); err != nil {
		t.Fatal(err)
	}
	e.Payload = buf.Bytes()
	if !keepSum {
		sum := sha256.Sum256(e.Payload)
		e.SHA256 = hex.EncodeToString(sum[:])
	}
	var out bytes.Buffer
	if err := gob.NewEncoder(&out).Encode(e); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSeqCacheCorruptEntries corrupts each of a sequence run's three cache
// entries (the run, its SFT reference .gob, its reward margins .json): each
// bad entry is retrained with one warning naming the file and the fault,
// the run is the same, and the entry is rewritten valid. New entries are
// 0644 under umask 022.
func TestSeqCacheCorruptEntries(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	task := tinyTask(t, 4, 2)
	cfg := tinySeqConfig(EDPO) // three learned reward members
	cfg.NoCache = false
	type files struct{ run, ref, rm string }
	cases := []struct {
		name    string
		file    func(f files) string // the entry corrupted
		corrupt func(t *testing.T, path string)
		want    string
	}{
		{"run: history only", func(f files) string { return f.run }, func(t *testing.T, p string) {
			os.WriteFile(p, []byte(`{"history":{}}`), 0o644)
		}, "not a cache entry (no format, key inputs or checksum)"},
		{"run: no sequence result", func(f files) string { return f.run }, func(t *testing.T, p string) {
			editEntry(t, p, false, func(r map[string]any) { delete(r, "seq") })
		}, "no sequence result"},
		{"run: step losses cut", func(f files) string { return f.run }, func(t *testing.T, p string) {
			editEntry(t, p, false, func(r map[string]any) {
				s := r["seq"].(map[string]any)
				s["step_losses"] = s["step_losses"].([]any)[:1]
			})
		}, "1 step losses, want 3"},
		{"run: interrupted", func(f files) string { return f.run }, func(t *testing.T, p string) {
			editEntry(t, p, false, func(r map[string]any) { r["interrupted"] = true })
		}, "interrupted run (partial: step 3 of 3)"},
		{"seqref: truncated", func(f files) string { return f.ref }, func(t *testing.T, p string) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, "unreadable (unexpected EOF)"},
		{"seqref: bad checksum", func(f files) string { return f.ref }, func(t *testing.T, p string) {
			editRefEntry(t, p, true, func(r *seqReference) { r.Params[0].Data[0] += 1 })
		}, "checksum mismatch"},
		{"seqref: SFT losses cut", func(f files) string { return f.ref }, func(t *testing.T, p string) {
			editRefEntry(t, p, false, func(r *seqReference) { r.SFTLoss = r.SFTLoss[:1] })
		}, "1 SFT losses, want 4"},
		{"seqref: parameter shape", func(f files) string { return f.ref }, func(t *testing.T, p string) {
			editRefEntry(t, p, false, func(r *seqReference) {
				for i := range r.Params {
					if len(r.Params[i].Dims) == 2 {
						r.Params[i].Dims = []int{1, len(r.Params[i].Data)}
						return
					}
				}
			})
		}, "parameter " + seqmodel.ModelScope + "/"},
		{"seqref: samples missing", func(f files) string { return f.ref }, func(t *testing.T, p string) {
			editRefEntry(t, p, false, func(r *seqReference) { r.Eval = r.Eval[:1] })
		}, "π_ref samples of 1 held-out prompts, want 4"},
		{"seqrm: margins shape", func(f files) string { return f.rm }, func(t *testing.T, p string) {
			editEntry(t, p, false, func(m map[string]any) { m["margins"] = []any{[]any{1.0}} })
		}, "margins are 1×1, want 8×3"},
		{"seqrm: bad checksum", func(f files) string { return f.rm }, func(t *testing.T, p string) {
			editEntry(t, p, true, func(m map[string]any) { m["accuracy"] = []any{1.0, 1.0, 1.0} })
		}, "checksum mismatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			_, warn := withCacheDisk(t, dir)
			want, err := TrainSeq(cfg, task)
			if err != nil || want.Cached || warn.Len() > 0 {
				t.Fatalf("first run: cached %v, %v, warnings %q", want.Cached, err, warn.String())
			}
			run, ref, rm := seqCacheFiles(t, dir)
			for _, p := range []string{run, ref, rm} {
				if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
					t.Errorf("%s: mode %v, %v; want 0644", filepath.Base(p), fi.Mode().Perm(), err)
				}
			}
			f := files{run, ref, rm}
			path := c.file(f)
			c.corrupt(t, path)
			if path != run {
				os.Remove(run) // so that the run retrains and reads the corrupted artifact
			}
			got, err := TrainSeq(cfg, task)
			if err != nil {
				t.Fatalf("after the corruption: %v", err)
			}
			line := "lab: warning: cache entry " + path + ": " + c.want
			t.Log(strings.TrimSpace(warn.String()))
			if w := warn.String(); strings.Count(w, "\n") != 1 || !strings.HasPrefix(w, line) || !strings.HasSuffix(w, "; retraining\n") {
				t.Errorf("warnings %q, want one line %q…; retraining", w, line)
			}
			if got.Cached || !reflect.DeepEqual(got.History, want.History) || !reflect.DeepEqual(got.Seq.StepLosses, want.Seq.StepLosses) {
				t.Errorf("retrained run: cached %v, or it differs from the original", got.Cached)
			}
			// The entry was rewritten valid: served without a warning (for an
			// artifact, by a run that has to read it).
			warn.Reset()
			if path != run {
				os.Remove(run)
			}
			again, err := TrainSeq(cfg, task)
			if err != nil || warn.Len() > 0 || (path == run) != again.Cached {
				t.Errorf("after retraining: cached %v, %v, warnings %q", again.Cached, err, warn.String())
			}
		})
	}
}

// TestSweepSeqCorruptEntry: SweepSeq over a corrupted run entry retrains
// that row, with one warning, and the row is the run's.
func TestSweepSeqCorruptEntry(t *testing.T) {
	dir := t.TempDir()
	_, warn := withCacheDisk(t, dir)
	task := tinyTask(t, 4, 2)
	base := tinySeqConfig(DPO)
	base.NoCache = false
	grid := Grid{Vary("Seed", 0, 1)}
	first, err := SweepSeqWith(t.Context(), base, grid, task, SweepOptions{Quiet: true})
	if err != nil || len(first.Errors()) > 0 {
		t.Fatalf("first sweep: %v %v", err, first.Errors())
	}
	cfg := base
	cfg.Seed = 1
	cfg = cfg.withSeqDefaults(task)
	d, err := newSeqData(task, cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := seqRunSpec(cfg, d, first.Rows[1].Run.Backend, "").path()
	editEntry(t, path, false, func(r map[string]any) { delete(r, "seq") })
	warn.Reset()
	second, err := SweepSeqWith(t.Context(), base, grid, task, SweepOptions{Quiet: true})
	if err != nil || len(second.Errors()) > 0 {
		t.Fatalf("second sweep: %v %v", err, second.Errors())
	}
	if w := warn.String(); w != "lab: warning: cache entry "+path+": no sequence result; retraining\n" {
		t.Errorf("warnings %q", w)
	}
	r0, r1 := second.Rows[0], second.Rows[1]
	if !r0.Run.Cached || r1.Run.Cached || r1.Run.Seq == nil {
		t.Fatalf("rows cached %v %v, want true false", r0.Run.Cached, r1.Run.Cached)
	}
	if !reflect.DeepEqual(r1.Run.History, first.Rows[1].Run.History) || r1.Metrics["winrate/vs_ref"] != first.Rows[1].Metrics["winrate/vs_ref"] {
		t.Error("row 1 differs from the first sweep's")
	}
}

// TestSeqCacheUnwritable: a sequence run and a sequence sweep with a cache
// dir that is a file return with nil errors and one warning.
func TestSeqCacheUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, warn := withCacheDisk(t, file)
	task := tinyTask(t, 4, 2)
	cfg := tinySeqConfig(EDPO) // writes a reference, margins and the run
	cfg.NoCache = false
	for range 2 {
		if run, err := TrainSeq(cfg, task); err != nil || run.Cached || run.Seq == nil {
			t.Fatalf("TrainSeq: %v", err)
		}
	}
	tab, err := SweepSeqWith(t.Context(), cfg, Grid{Vary("Method", "DPO", "Distill")}, task, SweepOptions{Quiet: true})
	if err != nil || len(tab.Errors()) > 0 {
		t.Fatalf("SweepSeq: %v %v", err, tab.Errors())
	}
	line := regexp.MustCompile(`^lab: warning: cannot write the run cache in ` + regexp.QuoteMeta(file) + ` \(creating cache dir .*not a directory\); finished runs are returned but not cached in this process\n$`)
	if w := warn.String(); !line.MatchString(w) {
		t.Errorf("warnings %q, want one line %q", w, line)
	}
}
