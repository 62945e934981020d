package lab

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// fakeTree makes the files (paths of the inspected system) under a new root.
func fakeTree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, f)
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func configs(cs []BackendCandidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Config
	}
	return out
}

const jaxCUDA = "/opt/venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so"

func TestCandidates(t *testing.T) {
	noSMI := func() bool { return false }
	tests := []struct {
		name  string
		files []string
		env   map[string]string
		smi   bool
		want  []string
	}{
		{name: "bare machine: pure Go", want: []string{DefaultGoBackend}},
		{name: "GOMLX_BACKEND wins over a GPU and plugins",
			files: []string{"/dev/nvidia0", "/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so"},
			env:   map[string]string{"GOMLX_BACKEND": "xla:cpu"}, want: []string{"xla:cpu"}},
		{name: "GOMLX_BACKEND=go gets the lab's go settings",
			env: map[string]string{"GOMLX_BACKEND": "go"}, want: []string{DefaultGoBackend}},
		{name: "GOMLX_BACKEND with go options kept as given",
			env: map[string]string{"GOMLX_BACKEND": "go:parallelism=3"}, want: []string{"go:parallelism=3"}},
		{name: "GPU device and go-xla CUDA plugin in /usr/local",
			files: []string{"/dev/nvidia0", "/dev/nvidiactl", "/usr/local/lib/go-xla/nvidia/pjrt_c_api_cuda_plugin.so"},
			want:  []string{"xla:/usr/local/lib/go-xla/nvidia/pjrt_c_api_cuda_plugin.so", DefaultGoBackend}},
		{name: "GPU, user's go-xla dir searched before /usr/local",
			files: []string{"/dev/nvidia3", "/home/u/.local/lib/go-xla/pjrt_c_api_cuda_v0.9_plugin.so",
				"/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so"},
			env:  map[string]string{"HOME": "/home/u"},
			want: []string{"xla:/home/u/.local/lib/go-xla/pjrt_c_api_cuda_v0.9_plugin.so", DefaultGoBackend}},
		{name: "GPU by nvidia-smi only, jax wheel in a venv on PATH",
			files: []string{jaxCUDA, "/opt/venv/bin/python3"}, smi: true,
			env:  map[string]string{"PATH": "/usr/bin:/opt/venv/bin"},
			want: []string{"xla:" + jaxCUDA, DefaultGoBackend}},
		{name: "jax wheel via VIRTUAL_ENV, newest CUDA first",
			files: []string{"/dev/nvidia0", "/opt/venv/lib/python3.12/site-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so", jaxCUDA},
			env:   map[string]string{"VIRTUAL_ENV": "/opt/venv"},
			want:  []string{"xla:" + jaxCUDA, DefaultGoBackend}},
		{name: "jax wheel in a conda env's dist-packages",
			files: []string{"/dev/nvidia0", "/opt/conda/lib/python3.11/dist-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so"},
			want:  []string{"xla:/opt/conda/lib/python3.11/dist-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so", DefaultGoBackend}},
		{name: "CUDA plugin but no GPU: skipped",
			files: []string{"/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so", jaxCUDA},
			env:   map[string]string{"VIRTUAL_ENV": "/opt/venv"},
			want:  []string{DefaultGoBackend}},
		{name: "GPU but no CUDA plugin: XLA CPU plugin",
			files: []string{"/dev/nvidia0", "/usr/local/lib/go-xla/pjrt_c_api_cpu_v0.83.1_plugin.so"},
			want:  []string{"xla:cpu", DefaultGoBackend}},
		{name: "GPU, CUDA and CPU plugins: both, CUDA first",
			files: []string{"/dev/nvidia0", "/usr/local/lib/go-xla/pjrt_c_api_cpu_plugin.so", "/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so"},
			want:  []string{"xla:/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so", "xla:cpu", DefaultGoBackend}},
		{name: "PJRT_PLUGIN_LIBRARY_PATH replaces the standard dirs",
			files: []string{"/dev/nvidia0", "/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so", "/p2/pjrt_plugin_cuda.so"},
			env:   map[string]string{"PJRT_PLUGIN_LIBRARY_PATH": "/p1::/p2"},
			want:  []string{"xla:/p2/pjrt_plugin_cuda.so", DefaultGoBackend}},
		{name: "a directory named like /dev/nvidia0 is no GPU",
			files: []string{"/dev/nvidia0/", "/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so"},
			want:  []string{DefaultGoBackend}},
		{name: "a directory named like a plugin is no plugin",
			files: []string{"/usr/local/lib/go-xla/pjrt_c_api_cpu_plugin.so/"},
			want:  []string{DefaultGoBackend}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			smi := noSMI
			if tc.smi {
				smi = func() bool { return true }
			}
			env := tc.env
			if env == nil {
				env = map[string]string{}
			}
			d := Discovery{Getenv: envOf(env), Root: fakeTree(t, tc.files...), NvidiaSMI: smi}
			if got := configs(d.Candidates()); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Candidates() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCandidatesGoConfig(t *testing.T) {
	d := Discovery{Getenv: envOf(nil), Root: fakeTree(t), NvidiaSMI: func() bool { return false }, GoConfig: "go:parallelism=2"}
	if got := configs(d.Candidates()); !reflect.DeepEqual(got, []string{"go:parallelism=2"}) {
		t.Errorf("Candidates() = %q", got)
	}
}

func TestSitePackagesOrderAndDedup(t *testing.T) {
	root := fakeTree(t, "/v/lib/python3.12/site-packages/", "/usr/lib/python3/dist-packages/",
		"/usr/lib/python3.11/dist-packages/", "/pp/")
	d := Discovery{Getenv: envOf(map[string]string{"VIRTUAL_ENV": "/v", "PATH": "/v/bin:/usr/bin:relative", "PYTHONPATH": "/pp:/missing"}), Root: root}
	want := []string{"/pp", "/v/lib/python3.12/site-packages", "/usr/lib/python3.11/dist-packages", "/usr/lib/python3/dist-packages"}
	if got := d.SitePackages(); !reflect.DeepEqual(got, want) {
		t.Errorf("SitePackages() = %q, want %q", got, want)
	}
}

// TestStartBackendFallsBack checks that a failing candidate is skipped with
// one warning line on the warning writer (stderr: red in a notebook) and the
// choice goes, once, to the information writer (stdout).
func TestStartBackendFallsBack(t *testing.T) {
	var info, warn bytes.Buffer
	var once sync.Once
	cands := []BackendCandidate{{"nosuchbackend:x", "test"}, {"go:ops_sequential", "fallback"}}
	b, c, err := startBackend(cands, &info, &warn, &once)
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
	b2, _, err := startBackend(cands[1:], &info, &warn, &once)
	if err != nil {
		t.Fatal(err)
	}
	b2.Finalize()
	if info.Len()+warn.Len() != 0 {
		t.Errorf("second start printed %q and %q, want nothing", info.String(), warn.String())
	}
}

// TestStartBackendChoiceOnStdout checks that StartBackend's choice line goes
// to os.Stdout, not os.Stderr (a notebook shows stderr as an error box).
func TestStartBackendChoiceOnStdout(t *testing.T) {
	t.Setenv("GONB_TMP_DIR", "")
	var warn bytes.Buffer
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stdout
	os.Stdout = w
	b, _, err := startBackend([]BackendCandidate{{"go:ops_sequential", "stdout test"}}, stdout{}, &warn, new(sync.Once))
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

// TestStartBackendOncePerKernel checks that under GoNB (each cell a new
// process, $GONB_TMP_DIR shared) the choice is printed by the first cell
// only, and again when it changes.
func TestStartBackendOncePerKernel(t *testing.T) {
	t.Setenv("GONB_TMP_DIR", t.TempDir())
	cands := []BackendCandidate{{"go:ops_sequential", "cell"}}
	start := func(cands []BackendCandidate) string {
		var out bytes.Buffer
		b, _, err := startBackend(cands, &out, &out, new(sync.Once)) // a new process: a fresh Once
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
	if got := start([]BackendCandidate{{"go:ops_sequential", "changed"}}); !strings.Contains(got, "changed") {
		t.Errorf("a changed choice printed %q, want the new choice", got)
	}
	// Cells alternating between two choices (finite and sequence runs) print each once.
	if got := start(cands) + start([]BackendCandidate{{"go:ops_sequential", "changed"}}); got != "" {
		t.Errorf("alternating known choices printed %q, want nothing", got)
	}
}

// TestSeqBackendCandidates checks the sequence models' pure-Go configuration
// and its overrides.
func TestSeqBackendCandidates(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go")
	t.Setenv(GoBackendEnv, "")
	if c := SeqBackendCandidates(); len(c) != 1 || c[0].Config != DefaultSeqGoBackend {
		t.Errorf("GOMLX_BACKEND=go: SeqBackendCandidates() = %+v, want %s", c, DefaultSeqGoBackend)
	}
	if c := BackendCandidates(); len(c) != 1 || c[0].Config != DefaultGoBackend {
		t.Errorf("GOMLX_BACKEND=go: BackendCandidates() = %+v, want %s", c, DefaultGoBackend)
	}
	t.Setenv(GoBackendEnv, "go:parallelism=3")
	if c := SeqBackendCandidates(); c[0].Config != "go:parallelism=3" {
		t.Errorf("%s set: SeqBackendCandidates() = %+v, want the override", GoBackendEnv, c)
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
	b, err := newBackend(DefaultSeqGoBackend)
	os.Stdout = orig
	w.Close()
	out, _ := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	b.Finalize()
	if len(out) != 0 {
		t.Errorf("starting %s printed %q to stdout, want nothing", DefaultSeqGoBackend, out)
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

func TestStartBackendAllFail(t *testing.T) {
	var out bytes.Buffer
	_, _, err := startBackend([]BackendCandidate{{"nosuch1:", "a"}, {"nosuch2:", "b"}}, &out, &out, new(sync.Once))
	if err == nil || !strings.Contains(err.Error(), `"nosuch2:"`) {
		t.Errorf("err = %v, want one naming the last candidate", err)
	}
	if _, _, err := startBackend(nil, &out, &out, new(sync.Once)); err == nil {
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
