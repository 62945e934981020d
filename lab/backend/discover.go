package backend

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Candidate is one backend configuration that Start may start, with the
// reason it was chosen, e.g. {"xla:/opt/venv/…/xla_cuda_plugin.so",
// "NVIDIA GPU (/dev/nvidia0) and jax's CUDA PJRT plugin …"}.
type Candidate struct {
	Config string // a GOMLX_BACKEND value: "xla:/abs/plugin.so", "xla:cpu", "go:…"
	Reason string // one line: why this backend, where it was found
}

// Discovery describes the machine whose backends Discovery.Candidates
// lists. Its zero value inspects this machine: the process environment, the real file
// system, the user's home directory and nvidia-smi on $PATH. Tests set Root to
// a fake directory tree.
type Discovery struct {
	// Getenv reads an environment variable; nil means os.Getenv.
	Getenv func(string) string
	// Root is prepended to every absolute path searched ("" means "/"):
	// /dev/nvidia*, go-xla's plugin directories, site-packages. Paths found
	// are returned without Root, as the running system would see them.
	Root string
	// Home is the user's home directory; "" means $HOME.
	Home string
	// NvidiaSMI reports whether nvidia-smi is runnable; nil means
	// exec.LookPath("nvidia-smi") (under a non-empty Root, a file
	// Root/usr/bin/nvidia-smi).
	NvidiaSMI func() bool
	// GoConfig is the pure-Go backend's configuration; "" means DefaultGo.
	GoConfig string
}

func (d Discovery) getenv(key string) string {
	if d.Getenv != nil {
		return d.Getenv(key)
	}
	return os.Getenv(key)
}

// host maps a path of the inspected system to the path to open here.
func (d Discovery) host(p string) string {
	if d.Root == "" {
		return p
	}
	return filepath.Join(d.Root, p)
}

// guest maps a path opened here back to the inspected system's path.
func (d Discovery) guest(p string) string {
	if d.Root == "" {
		return p
	}
	rel, err := filepath.Rel(d.Root, p)
	if err != nil {
		return p
	}
	return "/" + filepath.ToSlash(rel)
}

func (d Discovery) home() string {
	if d.Home != "" {
		return d.Home
	}
	return d.getenv("HOME")
}

// glob returns the inspected system's paths matching pattern, sorted.
func (d Discovery) glob(pattern string) []string {
	matches, err := filepath.Glob(d.host(pattern))
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && !st.IsDir() { // files and device nodes
			out = append(out, d.guest(m))
		}
	}
	slices.Sort(out)
	return out
}

// NVIDIAGPU reports whether the machine has an NVIDIA GPU: a device node
// /dev/nvidia<N> or an nvidia-smi on $PATH. It returns the evidence found.
func (d Discovery) NVIDIAGPU() (string, bool) {
	if devs := d.glob("/dev/nvidia[0-9]*"); len(devs) > 0 {
		return devs[0], true
	}
	smi := d.NvidiaSMI
	if smi == nil {
		if d.Root != "" {
			smi = func() bool { _, err := os.Stat(d.host("/usr/bin/nvidia-smi")); return err == nil }
		} else {
			smi = func() bool { _, err := exec.LookPath("nvidia-smi"); return err == nil }
		}
	}
	if smi() {
		return "nvidia-smi", true
	}
	return "", false
}

// PluginDirs returns the directories searched for PJRT plugins, in order:
// $PJRT_PLUGIN_LIBRARY_PATH (a ":" list) when set, else go-xla's standard
// directories ~/.local/lib/go-xla{,/nvidia}, ~/.local/lib/gomlx/pjrt,
// /usr/local/lib/go-xla{,/nvidia}, /usr/local/lib/gomlx/pjrt.
func (d Discovery) PluginDirs() []string {
	if env := d.getenv("PJRT_PLUGIN_LIBRARY_PATH"); env != "" {
		var dirs []string
		for _, p := range strings.Split(env, ":") {
			if p != "" {
				dirs = append(dirs, p)
			}
		}
		return dirs
	}
	var dirs []string
	if h := d.home(); h != "" {
		dirs = append(dirs, filepath.Join(h, ".local/lib/go-xla"), filepath.Join(h, ".local/lib/go-xla/nvidia"),
			filepath.Join(h, ".local/lib/gomlx/pjrt"))
	}
	return append(dirs, "/usr/local/lib/go-xla", "/usr/local/lib/go-xla/nvidia", "/usr/local/lib/gomlx/pjrt")
}

// pluginPatterns are go-xla's plugin file names for a plugin called name.
func pluginPatterns(name string) []string {
	return []string{"pjrt_c_api_" + name + "*_plugin.so", "pjrt-plugin-" + name + "*.so", "pjrt_plugin_" + name + "*.so"}
}

// findPlugin returns the first plugin called name (cuda, cpu, …, with an
// optional version suffix) in PluginDirs.
func (d Discovery) findPlugin(name string) (string, bool) {
	for _, dir := range d.PluginDirs() {
		for _, pat := range pluginPatterns(name) {
			if m := d.glob(filepath.Join(dir, pat)); len(m) > 0 {
				return m[0], true
			}
		}
	}
	return "", false
}

// SitePackages returns the Python site-packages directories where a jax
// CUDA wheel may be installed: those of $VIRTUAL_ENV, $CONDA_PREFIX, the
// entries of $PYTHONPATH, every <dir>/../lib/python3*/{site,dist}-packages for
// <dir> on $PATH (venvs and conda envs whose bin is on $PATH), ~/.local,
// /usr/local, /usr and /opt/conda. Only existing directories are returned,
// each once.
func (d Discovery) SitePackages() []string {
	var prefixes []string
	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if p := d.getenv(env); p != "" {
			prefixes = append(prefixes, p)
		}
	}
	for _, dir := range strings.Split(d.getenv("PATH"), ":") {
		if filepath.IsAbs(dir) {
			prefixes = append(prefixes, filepath.Dir(dir))
		}
	}
	if h := d.home(); h != "" {
		prefixes = append(prefixes, filepath.Join(h, ".local"))
	}
	prefixes = append(prefixes, "/usr/local", "/usr", "/opt/conda")

	var dirs []string
	seen := map[string]bool{}
	add := func(p string) {
		p = filepath.Clean(p)
		if seen[p] {
			return
		}
		seen[p] = true
		if st, err := os.Stat(d.host(p)); err == nil && st.IsDir() {
			dirs = append(dirs, p)
		}
	}
	for _, p := range strings.Split(d.getenv("PYTHONPATH"), ":") {
		if filepath.IsAbs(p) {
			add(p)
		}
	}
	for _, prefix := range prefixes {
		for _, kind := range []string{"site-packages", "dist-packages"} {
			matches, _ := filepath.Glob(d.host(filepath.Join(prefix, "lib", "python3*", kind)))
			slices.Sort(matches)
			for _, m := range matches {
				add(d.guest(m))
			}
		}
	}
	return dirs
}

// findJaxCUDA returns the first jax CUDA PJRT plugin,
// <site-packages>/jax_plugins/xla_cuda*/xla_cuda_plugin.so.
func (d Discovery) findJaxCUDA() (string, bool) {
	for _, sp := range d.SitePackages() {
		if m := d.glob(filepath.Join(sp, "jax_plugins", "xla_cuda*", "xla_cuda_plugin.so")); len(m) > 0 {
			return m[len(m)-1], true // the newest CUDA (xla_cuda13 after xla_cuda12)
		}
	}
	return "", false
}

// Candidates returns the backends to try, best first; the last is always
// the pure-Go backend. The order:
//
//  1. $GOMLX_BACKEND when set: that one only ("go" alone means the lab's
//     GoConfig, so the lab's parallelism settings apply);
//  2. an NVIDIA GPU (/dev/nvidia<N> or nvidia-smi) and a CUDA PJRT plugin, in
//     PluginDirs or a jax wheel's jax_plugins/xla_cuda*/xla_cuda_plugin.so
//     under SitePackages: "xla:<absolute path>";
//  3. an XLA CPU plugin in PluginDirs: "xla:cpu";
//  4. the pure-Go backend, GoConfig.
//
// Nothing is downloaded or loaded: it only looks at files.
func (d Discovery) Candidates() []Candidate {
	goConfig := d.GoConfig
	if goConfig == "" {
		goConfig = DefaultGo
	}
	if env := d.getenv("GOMLX_BACKEND"); env != "" {
		if env == "go" {
			return []Candidate{{goConfig, "GOMLX_BACKEND=go (lab settings " + goConfig + ")"}}
		}
		return []Candidate{{env, "GOMLX_BACKEND=" + env}}
	}
	var cs []Candidate
	if gpu, ok := d.NVIDIAGPU(); ok {
		if p, ok := d.findPlugin("cuda"); ok {
			cs = append(cs, Candidate{"xla:" + p, "NVIDIA GPU (" + gpu + ") and CUDA PJRT plugin " + p})
		} else if p, ok := d.findJaxCUDA(); ok {
			cs = append(cs, Candidate{"xla:" + p, "NVIDIA GPU (" + gpu + ") and jax's CUDA PJRT plugin " + p})
		}
	}
	if p, ok := d.findPlugin("cpu"); ok {
		cs = append(cs, Candidate{"xla:cpu", "XLA CPU PJRT plugin " + p})
	}
	return append(cs, Candidate{goConfig, "pure-Go backend (no GPU with a CUDA PJRT plugin, no XLA CPU plugin found)"})
}
