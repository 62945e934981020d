package lab

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/robustpo/robustpo/datasets"
)

// withCacheDisk points the run cache at dir (created when missing unless
// dir is ""), turns it on, and gives the test a fresh cacheDisk whose
// warnings it returns; both are restored when the test ends.
func withCacheDisk(t *testing.T, dir string) (*cacheDisk, *bytes.Buffer) {
	t.Helper()
	t.Setenv(CacheDirEnv, dir)
	t.Setenv(NoCacheEnv, "")
	var warn bytes.Buffer
	d := newCacheDisk()
	d.warn = &warn
	old := disk
	disk = d
	t.Cleanup(func() { disk = old })
	return d, &warn
}

// cacheTestData is a 4-prompt, 6-response problem with an oracle.
func cacheTestData(t *testing.T) *datasets.FiniteData {
	t.Helper()
	d, err := datasets.RandomBandit(datasets.BanditConfig{Prompts: 4, Responses: 6, Pairs: 24, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// editEntry rewrites the JSON cache entry at path: edit changes its payload
// (decoded as generic JSON), and the checksum is recomputed unless keepSum.
func editEntry(t *testing.T, path string, keepSum bool, edit func(payload map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e cacheEntry
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(e.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	edit(payload)
	if e.Payload, err = json.Marshal(payload); err != nil {
		t.Fatal(err)
	}
	if !keepSum {
		sum := sha256.Sum256(e.Payload)
		e.SHA256 = hex.EncodeToString(sum[:])
	}
	if b, err = json.Marshal(e); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tmpFiles returns the *.tmp files in dir.
func tmpFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCacheCorruptEntries overwrites a finished run's cache entry in each way
// an entry can be wrong: each is retrained with one warning naming the file
// and the fault, gives the same Run, and is rewritten as a valid entry.
func TestCacheCorruptEntries(t *testing.T) {
	data := cacheTestData(t)
	cfg := Config{Method: EDPO, Beta: 0.5, Gamma: 0.1, Steps: 20, LogEvery: 5, RewardSteps: 50}
	other := cfg
	other.Beta = 0.3
	cases := []struct {
		name    string
		corrupt func(t *testing.T, path, otherPath string)
		want    string // the fault, as the warning names it
	}{
		{"history only", func(t *testing.T, path, _ string) {
			os.WriteFile(path, []byte(`{"history":{}}`), 0o644)
		}, "not a cache entry (no format, key inputs or checksum)"},
		{"bare run of the old format", func(t *testing.T, path, _ string) {
			run, _ := LoadRun(path)
			b, _ := json.Marshal(run)
			os.WriteFile(path, b, 0o644)
		}, "not a cache entry (no format, key inputs or checksum)"},
		{"truncated JSON", func(t *testing.T, path, _ string) {
			b, _ := os.ReadFile(path)
			os.WriteFile(path, b[:len(b)/2], 0o644)
		}, "unreadable (unexpected end of JSON input)"},
		{"bad checksum", func(t *testing.T, path, _ string) {
			editEntry(t, path, true, func(p map[string]any) { p["steps_done"] = 19.0 })
		}, "checksum mismatch"},
		{"copied under another key", func(t *testing.T, path, otherPath string) {
			b, _ := os.ReadFile(otherPath)
			os.WriteFile(path, b, 0o644)
		}, "recorded for other key inputs (config.Beta = 0.3, want 0.5)"},
		{"older format", func(t *testing.T, path, _ string) {
			b, _ := os.ReadFile(path)
			was, older := fmt.Sprintf(`{"format":%d,`, CacheFormat), fmt.Sprintf(`{"format":%d,`, CacheFormat-1)
			os.WriteFile(path, bytes.Replace(b, []byte(was), []byte(older), 1), 0o644)
		}, fmt.Sprintf("cache format %d, want %d", CacheFormat-1, CacheFormat)},
		{"empty history", func(t *testing.T, path, _ string) {
			editEntry(t, path, false, func(p map[string]any) { p["history"] = map[string]any{} })
		}, "empty history"},
		{"wrong-shaped final policy", func(t *testing.T, path, _ string) {
			editEntry(t, path, false, func(p map[string]any) { p["final"] = []any{[]any{0.5}} })
		}, "final policy is 1×1, want 4×6"},
		{"no final policy", func(t *testing.T, path, _ string) {
			editEntry(t, path, false, func(p map[string]any) { delete(p, "final") })
		}, "final policy is missing, want 4×6"},
		{"wrong θ", func(t *testing.T, path, _ string) {
			editEntry(t, path, false, func(p map[string]any) { p["theta"] = []any{1.0, 2.0} })
		}, "θ has 2 parameters, want 24 (Tabular)"},
		{"missing reward members", func(t *testing.T, path, _ string) {
			editEntry(t, path, false, func(p map[string]any) { delete(p, "rewards") })
		}, "0 reward members, want 3"},
		{"no optimal policy", func(t *testing.T, path, _ string) {
			editEntry(t, path, false, func(p map[string]any) { delete(p, "optimal") })
		}, "optimal policy is missing, want 4×6"},
		{"steps short", func(t *testing.T, path, _ string) {
			editEntry(t, path, false, func(p map[string]any) { p["steps_done"] = 15.0 })
		}, "15 steps done, want 20"},
		{"history without loss", func(t *testing.T, path, _ string) {
			editEntry(t, path, false, func(p map[string]any) {
				h := p["history"].(map[string]any)
				delete(h["values"].(map[string]any), "loss")
				h["metrics"] = h["metrics"].([]any)[1:]
			})
		}, "history lacks metric loss"},
		{"history rows", func(t *testing.T, path, _ string) {
			editEntry(t, path, false, func(p map[string]any) {
				h := p["history"].(map[string]any)
				h["steps"] = []any{0.0, 5.0, 10.0, 15.0, 21.0}
			})
		}, "history row 4 is step 21, want 20"},
		{"interrupted run", func(t *testing.T, path, _ string) {
			editEntry(t, path, false, func(p map[string]any) { p["interrupted"] = true })
		}, "interrupted run (partial: step 20 of 20)"},
		{"sequence result on a finite run", func(t *testing.T, path, _ string) {
			editEntry(t, path, false, func(p map[string]any) { p["seq"] = map[string]any{} })
		}, "holds a sequence result, want a finite run"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			_, warn := withCacheDisk(t, dir)
			want, err := Train(cfg, data)
			if err != nil || want.Cached {
				t.Fatalf("first run: cached %v, %v", want.Cached, err)
			}
			if _, err := Train(other, data); err != nil {
				t.Fatal(err)
			}
			path := finiteRunSpec(cfg.WithDefaults(), data, want.Backend, "").path()
			otherPath := finiteRunSpec(other.WithDefaults(), data, want.Backend, "").path()
			c.corrupt(t, path, otherPath)
			warn.Reset()

			got, err := Train(cfg, data)
			if err != nil {
				t.Fatalf("after the corruption: %v", err)
			}
			line := "lab: warning: cache entry " + path + ": " + c.want
			t.Log(strings.TrimSpace(warn.String()))
			if w := warn.String(); strings.Count(w, "\n") != 1 || !strings.HasPrefix(w, line) || !strings.HasSuffix(w, "; retraining\n") {
				t.Errorf("warnings %q, want one line %q…; retraining", w, line)
			}
			if got.Cached || !reflect.DeepEqual(got.History, want.History) || !reflect.DeepEqual(got.Final, want.Final) {
				t.Errorf("retrained run: cached %v, or it differs from the original", got.Cached)
			}
			warn.Reset()
			again, err := Train(cfg, data)
			if err != nil || !again.Cached || warn.Len() > 0 {
				t.Errorf("after retraining: cached %v, %v, warnings %q; want the rewritten entry served", again.Cached, err, warn.String())
			}
			if again != nil && !reflect.DeepEqual(again.History, want.History) {
				t.Error("the rewritten entry differs from the original run")
			}
		})
	}
}

// TestCacheEntryServed checks what a valid entry gives: the same Run
// (LoadRun reads the entry file too), each shape checked against the data.
func TestCacheEntryServed(t *testing.T) {
	data := cacheTestData(t)
	for _, cfg := range []Config{
		{Method: DPO, Steps: 12, LogEvery: 5},
		{Method: RLHF, RewardSource: OracleReward, Steps: 7},                   // closed form: no steps
		{Method: Distill, Policy: Tabular, RewardSteps: 20, Steps: 3, Seed: 2}, // one reward member
	} {
		dir := t.TempDir()
		_, warn := withCacheDisk(t, dir)
		a, err := Train(cfg, data)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Train(cfg, data)
		if err != nil || !b.Cached || warn.Len() > 0 {
			t.Fatalf("%s: cached %v, %v, warnings %q", cfg.Label(), b.Cached, err, warn.String())
		}
		if !reflect.DeepEqual(a.History, b.History) || !reflect.DeepEqual(a.Rewards, b.Rewards) || !reflect.DeepEqual(a.Theta, b.Theta) {
			t.Errorf("%s: cached run differs", cfg.Label())
		}
		l, err := LoadRun(finiteRunSpec(cfg.WithDefaults(), data, a.Backend, "").path())
		if err != nil || !reflect.DeepEqual(l.History, a.History) {
			t.Errorf("%s: LoadRun of the entry: %v", cfg.Label(), err)
		}
	}
}

// TestCacheServesTodaysLabel: an entry written under an earlier label (the
// lab once named CDPO "CDPO", now "cDPO") is served under the label this lab
// gives the config; labels are not results.
func TestCacheServesTodaysLabel(t *testing.T) {
	data := cacheTestData(t)
	cfg := Config{Method: CDPO, Epsilon: 0.1, Steps: 12, LogEvery: 5}
	withCacheDisk(t, t.TempDir())
	a, err := Train(cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	old := *a
	old.Label = "CDPO β=0.1 ε=0.1"
	storeRun(finiteRunSpec(cfg.WithDefaults(), data, a.Backend, ""), &old)
	b, err := Train(cfg, data)
	if err != nil || !b.Cached || b.Label != cfg.Label() || b.Label != "cDPO β=0.1 ε=0.1" {
		t.Errorf("served %q (cached %v, %v), want today's label %q", b.Label, b.Cached, err, cfg.Label())
	}
}

// TestSweepCorruptEntry: a Sweep over a corrupted entry retrains that
// config, with one warning, and its row is the run's.
func TestSweepCorruptEntry(t *testing.T) {
	data := cacheTestData(t)
	dir := t.TempDir()
	_, warn := withCacheDisk(t, dir)
	base := Config{Method: DPO, Steps: 20, LogEvery: 5}
	grid := Grid{Vary("Beta", 0.1, 0.5)}
	first, err := SweepWith(t.Context(), base, grid, data, SweepOptions{Quiet: true})
	if err != nil || len(first.Errors()) > 0 {
		t.Fatalf("first sweep: %v %v", err, first.Errors())
	}
	cfg := base
	cfg.Beta = 0.5
	path := finiteRunSpec(cfg.WithDefaults(), data, first.Rows[1].Run.Backend, "").path()
	editEntry(t, path, false, func(p map[string]any) { p["history"] = map[string]any{} })
	warn.Reset()
	second, err := SweepWith(t.Context(), base, grid, data, SweepOptions{Quiet: true})
	if err != nil || len(second.Errors()) > 0 {
		t.Fatalf("second sweep: %v %v", err, second.Errors())
	}
	if w := warn.String(); w != "lab: warning: cache entry "+path+": empty history; retraining\n" {
		t.Errorf("warnings %q", w)
	}
	r0, r1 := second.Rows[0], second.Rows[1]
	if !r0.Run.Cached || r1.Run.Cached {
		t.Errorf("cached rows %v %v, want true false", r0.Run.Cached, r1.Run.Cached)
	}
	if got, want := r1.Metrics["loss"], first.Rows[1].Metrics["loss"]; got != want || math.IsNaN(got) {
		t.Errorf("row 1 loss %v, want %v", got, want)
	}
	if !reflect.DeepEqual(r1.Run.History, first.Rows[1].Run.History) {
		t.Error("row 1's run differs from the first sweep's")
	}
}

// failingFile is a temporary cache file that fails at one stage.
type failingFile struct {
	*os.File
	stage string // "write", "sync" or "close"
}

var errNoSpace = syscall.ENOSPC

func (f failingFile) Write(p []byte) (int, error) {
	if f.stage == "write" {
		f.File.Write(p[:len(p)/2])
		return len(p) / 2, errNoSpace
	}
	return f.File.Write(p)
}

func (f failingFile) Sync() error {
	if f.stage == "sync" {
		return errNoSpace
	}
	return f.File.Sync()
}

func (f failingFile) Close() error {
	err := f.File.Close()
	if f.stage == "close" {
		return errNoSpace
	}
	return err
}

// TestCacheUnwritable: a cache that cannot be written never fails a run.
// Two runs (and a sweep) return with a nil error and the process warns once
// why, without retrying; no temporary file is left.
func TestCacheUnwritable(t *testing.T) {
	data := cacheTestData(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		dir   func(t *testing.T) string
		fault string // "", or the stage an injected fault hits: write, sync, close, rename
		want  string // in the warning
	}{
		{"cache dir is a file", func(*testing.T) string { return file }, "", "not a directory"},
		{"cache dir under a file", func(*testing.T) string { return filepath.Join(file, "runs") }, "", "not a directory"},
		{"read-only dir", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "ro")
			os.Mkdir(d, 0o555)
			return d
		}, "", "permission denied"},
		{"disk full at write", nil, "write", "no space left on device"},
		{"disk full at sync", nil, "sync", "no space left on device"},
		{"disk full at close", nil, "close", "no space left on device"},
		{"rename fails", nil, "rename", "no space left on device"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.dir != nil {
				dir = c.dir(t)
			}
			d, warn := withCacheDisk(t, dir)
			create := createTemp
			if c.name == "read-only dir" && os.Geteuid() == 0 {
				// Root ignores permission bits: creating the file fails as it would for anyone else.
				t.Log("running as root: the read-only directory's EACCES is injected")
				create = func(dir, base string) (cacheFile, error) {
					return nil, &os.PathError{Op: "open", Path: filepath.Join(dir, base+".tmp"), Err: syscall.EACCES}
				}
			}
			if c.fault != "" {
				create = func(dir, base string) (cacheFile, error) {
					f, err := createTemp(dir, base)
					if err != nil {
						return nil, err
					}
					return failingFile{f.(*os.File), c.fault}, nil
				}
				if c.fault == "rename" {
					d.rename = func(string, string) error { return errNoSpace }
				}
			}
			creates := 0
			d.create = func(dir, base string) (cacheFile, error) {
				creates++
				return create(dir, base)
			}
			for _, beta := range []float64{0.1, 0.2} {
				run, err := Train(Config{Method: DPO, Beta: beta, Steps: 10}, data)
				if err != nil || run == nil || run.StepsDone != 10 {
					t.Fatalf("β=%v: %v", beta, err)
				}
			}
			tab, err := SweepWith(t.Context(), Config{Method: IPO, Steps: 10}, Grid{Vary("Beta", 0.1, 0.2, 0.3)}, data, SweepOptions{Quiet: true})
			if err != nil || len(tab.Errors()) > 0 {
				t.Fatalf("sweep: %v %v", err, tab.Errors())
			}
			w := warn.String()
			t.Log(strings.TrimSpace(w))
			line := regexp.MustCompile(`^lab: warning: cannot write the run cache in (.+) \((.+)\); finished runs are returned but not cached in this process\n$`)
			m := line.FindStringSubmatch(w)
			if m == nil || !strings.Contains(m[2], c.want) {
				t.Errorf("warnings %q, want one line %q naming %q", w, line, c.want)
			}
			if creates > 1 {
				t.Errorf("%d cache writes tried, want 1 (no retry once writing failed)", creates)
			}
			if left := tmpFiles(t, dir); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// TestCacheWriteCleansUp: each failure of writeFile, including a failed
// create, leaves no temporary file and returns an error naming the step.
func TestCacheWriteCleansUp(t *testing.T) {
	for _, fault := range []string{"write", "sync", "close", "rename"} {
		dir := t.TempDir()
		d := newCacheDisk()
		d.create = func(dir, base string) (cacheFile, error) {
			f, err := createTemp(dir, base)
			if err != nil {
				return nil, err
			}
			return failingFile{f.(*os.File), fault}, nil
		}
		if fault == "rename" {
			d.rename = func(string, string) error { return errNoSpace }
		}
		err := d.writeFile(filepath.Join(dir, "k.json"), bytes.Repeat([]byte("x"), 63<<10))
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), map[string]string{
			"write": "writing", "sync": "syncing", "close": "closing", "rename": "renaming"}[fault]) {
			t.Errorf("%s: error %v", fault, err)
		}
		if left := tmpFiles(t, dir); len(left) > 0 {
			t.Errorf("%s: temporary files left: %v", fault, left)
		}
		if _, err := os.Stat(filepath.Join(dir, "k.json")); err == nil {
			t.Errorf("%s: the entry exists", fault)
		}
	}
}

// TestCachePermissions: with umask 022 a new cache directory is 0755 and an
// entry 0644, so a cache shared by a group is readable by it.
func TestCachePermissions(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	root := t.TempDir()
	dir := filepath.Join(root, "robustpo", "runs")
	_, warn := withCacheDisk(t, dir)
	run, err := Train(Config{Method: DPO, Steps: 5}, cacheTestData(t))
	if err != nil || warn.Len() > 0 {
		t.Fatalf("%v, warnings %q", err, warn.String())
	}
	for _, p := range []string{filepath.Join(root, "robustpo"), dir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, %v; want 0755", p, fi.Mode().Perm(), err)
		}
	}
	path := finiteRunSpec(run.Config, cacheTestData(t), run.Backend, "").path()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("entry mode %v, %v; want 0644", fi.Mode().Perm(), err)
	}
}
