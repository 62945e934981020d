package backend

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
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

func configs(cs []Candidate) []string {
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
		{name: "bare machine: pure Go", want: []string{DefaultGo}},
		{name: "GOMLX_BACKEND wins over a GPU and plugins",
			files: []string{"/dev/nvidia0", "/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so"},
			env:   map[string]string{"GOMLX_BACKEND": "xla:cpu"}, want: []string{"xla:cpu"}},
		{name: "GOMLX_BACKEND=go gets the lab's go settings",
			env: map[string]string{"GOMLX_BACKEND": "go"}, want: []string{DefaultGo}},
		{name: "GOMLX_BACKEND with go options kept as given",
			env: map[string]string{"GOMLX_BACKEND": "go:parallelism=3"}, want: []string{"go:parallelism=3"}},
		{name: "GPU device and go-xla CUDA plugin in /usr/local",
			files: []string{"/dev/nvidia0", "/dev/nvidiactl", "/usr/local/lib/go-xla/nvidia/pjrt_c_api_cuda_plugin.so"},
			want:  []string{"xla:/usr/local/lib/go-xla/nvidia/pjrt_c_api_cuda_plugin.so", DefaultGo}},
		{name: "GPU, user's go-xla dir searched before /usr/local",
			files: []string{"/dev/nvidia3", "/home/u/.local/lib/go-xla/pjrt_c_api_cuda_v0.9_plugin.so",
				"/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so"},
			env:  map[string]string{"HOME": "/home/u"},
			want: []string{"xla:/home/u/.local/lib/go-xla/pjrt_c_api_cuda_v0.9_plugin.so", DefaultGo}},
		{name: "GPU by nvidia-smi only, jax wheel in a venv on PATH",
			files: []string{jaxCUDA, "/opt/venv/bin/python3"}, smi: true,
			env:  map[string]string{"PATH": "/usr/bin:/opt/venv/bin"},
			want: []string{"xla:" + jaxCUDA, DefaultGo}},
		{name: "jax wheel via VIRTUAL_ENV, newest CUDA first",
			files: []string{"/dev/nvidia0", "/opt/venv/lib/python3.12/site-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so", jaxCUDA},
			env:   map[string]string{"VIRTUAL_ENV": "/opt/venv"},
			want:  []string{"xla:" + jaxCUDA, DefaultGo}},
		{name: "jax wheel in a conda env's dist-packages",
			files: []string{"/dev/nvidia0", "/opt/conda/lib/python3.11/dist-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so"},
			want:  []string{"xla:/opt/conda/lib/python3.11/dist-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so", DefaultGo}},
		{name: "CUDA plugin but no GPU: skipped",
			files: []string{"/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so", jaxCUDA},
			env:   map[string]string{"VIRTUAL_ENV": "/opt/venv"},
			want:  []string{DefaultGo}},
		{name: "GPU but no CUDA plugin: XLA CPU plugin",
			files: []string{"/dev/nvidia0", "/usr/local/lib/go-xla/pjrt_c_api_cpu_v0.83.1_plugin.so"},
			want:  []string{"xla:cpu", DefaultGo}},
		{name: "GPU, CUDA and CPU plugins: both, CUDA first",
			files: []string{"/dev/nvidia0", "/usr/local/lib/go-xla/pjrt_c_api_cpu_plugin.so", "/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so"},
			want:  []string{"xla:/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so", "xla:cpu", DefaultGo}},
		{name: "PJRT_PLUGIN_LIBRARY_PATH replaces the standard dirs",
			files: []string{"/dev/nvidia0", "/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so", "/p2/pjrt_plugin_cuda.so"},
			env:   map[string]string{"PJRT_PLUGIN_LIBRARY_PATH": "/p1::/p2"},
			want:  []string{"xla:/p2/pjrt_plugin_cuda.so", DefaultGo}},
		{name: "a directory named like /dev/nvidia0 is no GPU",
			files: []string{"/dev/nvidia0/", "/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so"},
			want:  []string{DefaultGo}},
		{name: "a directory named like a plugin is no plugin",
			files: []string{"/usr/local/lib/go-xla/pjrt_c_api_cpu_plugin.so/"},
			want:  []string{DefaultGo}},
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
