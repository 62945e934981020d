package backend

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestStartFallsBack checks that a failing candidate is skipped with
// one warning line on the warning writer (stderr: red in a notebook) and the
// choice goes, once, to the information writer (stdout).
func TestStartFallsBack(t *testing.T) {
	var info, warn bytes.Buffer
	var once sync.Once
	cands := []Candidate{{"nosuchbackend:x", "test"}, {"go:ops_sequential", "fallback"}}
	b, c, err := start(cands, &info, &warn, &once)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if c != cands[1] {
		t.Errorf("started %+v, want %+v", c, cands[1])
	}
	w := warn.String()
	if strings.Count(w, "\n") != 1 || !strings.HasPrefix(w, "lab: warning: starting backend ") || !strings.Contains(w, `"nosuchbackend:x"`) ||
		!strings.HasSuffix(w, "; falling back to go:ops_sequential\n") {
		t.Errorf("warnings %q: want one line \"lab: warning: starting backend \\\"nosuchbackend:x\\\": …; falling back to go:ops_sequential\"", w)
	}
	if got := info.String(); got != "lab: backend go:ops_sequential: fallback\n" {
		t.Errorf("information %q: want the choice alone", got)
	}
	// The choice is printed once.
	info.Reset()
	warn.Reset()
	b2, _, err := start(cands[1:], &info, &warn, &once)
	if err != nil {
		t.Fatal(err)
	}
	b2.Finalize()
	if info.Len()+warn.Len() != 0 {
		t.Errorf("second start printed %q and %q, want nothing", info.String(), warn.String())
	}
}

// TestStartChoiceOnStdout checks that Start's choice line goes
// to os.Stdout, not os.Stderr (a notebook shows stderr as an error box).
func TestStartChoiceOnStdout(t *testing.T) {
	t.Setenv("GONB_TMP_DIR", "")
	var warn bytes.Buffer
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stdout
	os.Stdout = w
	b, _, err := start([]Candidate{{"go:ops_sequential", "stdout test"}}, stdout{}, &warn, new(sync.Once))
	os.Stdout = orig
	w.Close()
	out, _ := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	b.Finalize()
	if string(out) != "lab: backend go:ops_sequential: stdout test\n" || warn.Len() != 0 {
		t.Errorf("stdout %q, stderr %q: want the choice on stdout only", out, warn.String())
	}
}

// TestStartOncePerKernel checks that under GoNB (each cell a new
// process, $GONB_TMP_DIR shared) the choice is printed by the first cell
// only, and again when it changes.
func TestStartOncePerKernel(t *testing.T) {
	t.Setenv("GONB_TMP_DIR", t.TempDir())
	cands := []Candidate{{"go:ops_sequential", "cell"}}
	start := func(cands []Candidate) string {
		var out bytes.Buffer
		b, _, err := start(cands, &out, &out, new(sync.Once)) // a new process: a fresh Once
		if err != nil {
			t.Fatal(err)
		}
		b.Finalize()
		return out.String()
	}
	if got := start(cands); !strings.HasPrefix(got, "lab: backend go:ops_sequential: cell") {
		t.Errorf("first cell printed %q, want the choice", got)
	}
	if got := start(cands); got != "" {
		t.Errorf("second cell printed %q, want nothing", got)
	}
	if got := start([]Candidate{{"go:ops_sequential", "changed"}}); !strings.Contains(got, "changed") {
		t.Errorf("a changed choice printed %q, want the new choice", got)
	}
	// Cells alternating between two choices (finite and sequence runs) print each once.
	if got := start(cands) + start([]Candidate{{"go:ops_sequential", "changed"}}); got != "" {
		t.Errorf("alternating known choices printed %q, want nothing", got)
	}
}

// TestCandidatesGoEnv checks the pure-Go defaults Candidates is given (the
// finite and the sequence configurations) and $ROBUSTPO_GO_BACKEND's
// override of both.
func TestCandidatesGoEnv(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go")
	t.Setenv(GoEnv, "")
	for _, def := range []string{DefaultGo, DefaultSeqGo} {
		if c := Candidates(def); len(c) != 1 || c[0].Config != def {
			t.Errorf("GOMLX_BACKEND=go: Candidates(%q) = %+v, want %s", def, c, def)
		}
	}
	if c := Candidates(""); len(c) != 1 || c[0].Config != DefaultGo {
		t.Errorf(`Candidates("") = %+v, want %s`, c, DefaultGo)
	}
	t.Setenv(GoEnv, "go:parallelism=3")
	for _, def := range []string{DefaultGo, DefaultSeqGo} {
		if c := Candidates(def); len(c) != 1 || c[0].Config != "go:parallelism=3" {
			t.Errorf("%s set: Candidates(%q) = %+v, want the override", GoEnv, def, c)
		}
	}
}

// TestNewBackendQuiet checks that starting the go backend with a parallelism
// option prints nothing to stdout (the backend itself prints a line).
func TestNewBackendQuiet(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stdout
	os.Stdout = w
	b, err := newBackend(DefaultSeqGo)
	os.Stdout = orig
	w.Close()
	out, _ := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	b.Finalize()
	if len(out) != 0 {
		t.Errorf("starting %s printed %q to stdout, want nothing", DefaultSeqGo, out)
	}
	if os.Stdout != orig {
		t.Error("os.Stdout not restored")
	}
	// A bad value fails with an error naming the configuration, and stdout is back.
	if _, err := newBackend("go:parallelism=many"); err == nil || !strings.Contains(err.Error(), `"go:parallelism=many"`) {
		t.Errorf("bad parallelism: err = %v, want an error naming the config", err)
	}
	if os.Stdout != orig {
		t.Error("os.Stdout not restored after a failed start")
	}
}

func TestStartAllFail(t *testing.T) {
	var out bytes.Buffer
	_, _, err := start([]Candidate{{"nosuch1:", "a"}, {"nosuch2:", "b"}}, &out, &out, new(sync.Once))
	if err == nil || !strings.Contains(err.Error(), `"nosuch2:"`) {
		t.Errorf("err = %v, want one naming the last candidate", err)
	}
	if _, _, err := start(nil, &out, &out, new(sync.Once)); err == nil {
		t.Error("no candidates: want an error")
	}
}

// TestXLAMissingPluginNoDownload starts an XLA backend on a plugin path that
// does not exist: it must fail quickly with an error (no download, no panic).
func TestXLAMissingPluginNoDownload(t *testing.T) {
	_, err := newBackend("xla:" + filepath.Join(t.TempDir(), "pjrt_c_api_cuda_plugin.so"))
	if err == nil {
		t.Fatal("want an error for a missing plugin")
	}
	if !strings.Contains(err.Error(), "lab: starting backend") {
		t.Errorf("err = %v", err)
	}
	if !xlaLinked && !strings.Contains(err.Error(), "-tags xla") {
		t.Errorf("err = %v: want the advice to build with -tags xla", err)
	}
}
