// Package kernelspec builds the GoNB kernel tools at the versions pinned in
// this repository's go.mod and writes the Jupyter kernelspec that runs them.
//
// Tools live in a stable bin dir, keyed by the pinned GoNB version and the Go
// version (see BinDir). Nothing is downloaded at run time beyond what the Go
// command resolves from go.mod/go.sum (the module cache or the proxy); gopls
// is the one exception, installed only when asked (InstallGopls).
//
// The kernelspec (DIR/kernels/NAME/kernel.json) runs
//
//	gonb --kernel {connection_file} -go_work=<repo root>
//
// so that GoNB starts every notebook with a go.work that uses the repository:
// cells import github.com/robustpo/robustpo/... and its pinned dependencies
// without `go get`. Its env sets GOEXPERIMENT=simd, GOMLX_NO_AUTO_INSTALL=1,
// GOFLAGS without -mod (workspace mode rejects -mod=mod) and a minimal PATH:
// the bin dir (goimports, gopls), the Go toolchain's bin dir and the system
// dirs (SystemPath), not the installing shell's PATH.
//
// Each checkout installs its own kernelspec, named CheckoutName(root)
// ("robustpo-<hash of the root path>", shown as "Go (robustpo: <dir>)"),
// so that two clones get two kernels and Jupyter never runs one clone's
// cells against the other's code. Notebooks' metadata name DefaultName
// ("robustpo"); when no kernelspec of that name is installed Jupyter asks
// which kernel to use, and the user picks the checkout's.
package kernelspec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// ModulePath is this repository's module path.
const ModulePath = "github.com/robustpo/robustpo"

// DefaultName is the kernelspec name notebooks' metadata carry. `kernel
// install` writes CheckoutName(root) unless asked for another name
// (--name robustpo installs this name, tied to that one checkout).
const DefaultName = "robustpo"

// DisplayName is the display name recorded in notebooks' metadata and of a
// kernelspec installed as DefaultName.
const DisplayName = "Go (robustpo)"

// CheckoutName returns the kernelspec name of the checkout at root:
// "robustpo-" and 8 hex digits of the SHA-256 of the cleaned absolute root
// path, so that each clone installs its own kernel.
func CheckoutName(root string) string {
	sum := sha256.Sum256([]byte(filepath.Clean(root)))
	return DefaultName + "-" + hex.EncodeToString(sum[:4])
}

// DisplayNameFor returns the display name of kernelspec name for the
// checkout at root: DisplayName for DefaultName (so that saving a notebook
// in Jupyter keeps its metadata), else "Go (robustpo: <root's dir name>)".
func DisplayNameFor(name, root string) string {
	if name == DefaultName {
		return DisplayName
	}
	return "Go (robustpo: " + filepath.Base(root) + ")"
}

// NameRule states Jupyter's rule for kernelspec names.
const NameRule = "kernelspec names may contain only ASCII letters, digits, '.', '_' and '-', and may not be \".\" or \"..\""

var nameRe = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// ValidName reports whether name is a kernelspec name Jupyter accepts
// (jupyter_client's rule, which also rules out path separators).
func ValidName(name string) error {
	if !nameRe.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("kernelspec: invalid kernel name %q: %s", name, NameRule)
	}
	return nil
}

// PointsAt reports whether spec runs GoNB on the checkout at root (its argv
// has -go_work=<root>), and returns the root it uses ("" when none).
func PointsAt(spec *Spec, root string) (bool, string) {
	for _, a := range spec.Argv {
		if r, ok := strings.CutPrefix(a, "-go_work="); ok {
			return filepath.Clean(r) == filepath.Clean(root), r
		}
	}
	return false, ""
}

// GoplsVersion is the gopls version installed by InstallGopls (the newest
// that builds with Go 1.26).
const GoplsVersion = "v0.23.0"

// BinDirEnv overrides the tools directory when set.
const BinDirEnv = "ROBUSTPO_BIN_DIR"

// RepoRoot walks up from dir to the directory whose go.mod declares
// ModulePath.
func RepoRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("kernelspec: resolving %s: %w", dir, err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && modulePathOf(data) == ModulePath {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("kernelspec: no go.mod for module %s in %s or its parents", ModulePath, abs)
		}
	}
}

var moduleRe = regexp.MustCompile(`(?m)^module\s+(\S+)`)

func modulePathOf(gomod []byte) string {
	m := moduleRe.FindSubmatch(gomod)
	if m == nil {
		return ""
	}
	return strings.Trim(string(m[1]), `"`)
}

// PinnedVersion returns the version of module mod required by root/go.mod.
func PinnedVersion(root, mod string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("kernelspec: %w", err)
	}
	re := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(mod) + `\s+(v\S+)`)
	m := re.FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("kernelspec: %s: no requirement for %s", filepath.Join(root, "go.mod"), mod)
	}
	return string(m[1]), nil
}

// BinDir returns the tools directory: $ROBUSTPO_BIN_DIR when set, otherwise
// <user cache dir>/robustpo/bin/gonb-<pinned version>-<go version>
// (e.g. ~/.cache/robustpo/bin/gonb-v0.11.4-go1.26.8 on Linux).
func BinDir(root string) (string, error) {
	if d := os.Getenv(BinDirEnv); d != "" {
		return filepath.Abs(d)
	}
	ver, err := PinnedVersion(root, "github.com/janpfeifer/gonb")
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("kernelspec: locating the user cache dir (set %s): %w", BinDirEnv, err)
	}
	return filepath.Join(cache, "robustpo", "bin", "gonb-"+ver+"-"+goVersion()), nil
}

// goVersion returns the Go release, e.g. "go1.26.8". runtime.Version()
// carries the experiments this program was built with ("go1.26.8-X:simd"):
// they are dropped, so that the bin dir does not depend on the GOEXPERIMENT
// of the shell that ran `go run ./kernel` (the tools are built without it).
func goVersion() string {
	return versionName(runtime.Version())
}

func versionName(rv string) string {
	v := strings.Fields(rv)
	if len(v) == 0 {
		return "unknown"
	}
	base, _, _ := strings.Cut(v[0], "-X:")
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, base)
}

func exe(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// Tools names the executables in a bin dir. gopls sits in its own
// sub-directory (GoplsDir) so that headless runs can leave it off PATH: GoNB
// starts gopls whenever it finds one, which only helps interactive editing.
type Tools struct {
	Dir       string
	Gonb      string
	Goimports string
	GoplsDir  string
	Gopls     string
}

// ToolsIn returns the tool paths in dir (they may not exist yet).
func ToolsIn(dir string) Tools {
	lsp := filepath.Join(dir, "lsp")
	return Tools{Dir: dir, Gonb: filepath.Join(dir, exe("gonb")),
		Goimports: filepath.Join(dir, exe("goimports")), GoplsDir: lsp, Gopls: filepath.Join(lsp, exe("gopls"))}
}

func exists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// Built reports whether gonb and goimports are present.
func (t Tools) Built() bool { return exists(t.Gonb) && exists(t.Goimports) }

// HasGopls reports whether gopls is present.
func (t Tools) HasGopls() bool { return exists(t.Gopls) }

// GoCommand returns the go executable: the one on PATH, else GOROOT/bin/go.
func GoCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return filepath.Abs(p)
	}
	p := filepath.Join(runtime.GOROOT(), "bin", exe("go"))
	if exists(p) {
		return p, nil
	}
	return "", errors.New("kernelspec: the go command is not on PATH")
}

// toolEnv is the environment for go build/install: GOWORK=off so that a
// stray go.work cannot change the versions pinned by the repository's go.mod,
// and GOEXPERIMENT empty so that the tools are the same whatever the
// caller's GOEXPERIMENT (the bin dir's name does not carry it; the cells get
// GOEXPERIMENT=simd from the kernelspec's env).
func toolEnv() []string {
	return MergeEnv(os.Environ(), map[string]string{"GOWORK": "off", "GOEXPERIMENT": ""})
}

// Build builds gonb and goimports from the repository's go.mod pins into
// t.Dir unless both are present. It reports whether it built them.
func Build(ctx context.Context, root string, t Tools, log io.Writer) (bool, error) {
	if t.Built() {
		return false, nil
	}
	goCmd, err := GoCommand()
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(t.Dir, 0o755); err != nil {
		return false, fmt.Errorf("kernelspec: creating bin dir: %w", err)
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", t.Dir+string(filepath.Separator),
		"github.com/janpfeifer/gonb", "golang.org/x/tools/cmd/goimports")
	cmd.Dir = root
	cmd.Env = toolEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if log != nil {
		fmt.Fprintf(log, "building gonb and goimports into %s (pinned by %s)\n", t.Dir, filepath.Join(root, "go.mod"))
	}
	if err := cmd.Run(); err != nil {
		return false, fmt.Errorf("kernelspec: %s in %s: %w\n%s", strings.Join(cmd.Args, " "), root, err, out.String())
	}
	return true, nil
}

// InstallGopls installs gopls GoplsVersion into t.Dir unless present.
func InstallGopls(ctx context.Context, t Tools, log io.Writer) (bool, error) {
	if t.HasGopls() {
		return false, nil
	}
	goCmd, err := GoCommand()
	if err != nil {
		return false, err
	}
	cmd := exec.CommandContext(ctx, goCmd, "install", "golang.org/x/tools/gopls@"+GoplsVersion)
	cmd.Env = MergeEnv(toolEnv(), map[string]string{"GOBIN": t.GoplsDir, "GOFLAGS": ""})
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if log != nil {
		fmt.Fprintf(log, "installing gopls %s into %s\n", GoplsVersion, t.Dir)
	}
	if err := cmd.Run(); err != nil {
		return false, fmt.Errorf("kernelspec: %s: %w\n%s", strings.Join(cmd.Args, " "), err, out.String())
	}
	return true, nil
}

// sanitizeGoflags drops -mod=... from a GOFLAGS value: GoNB runs the cells
// in workspace mode, where only -mod=readonly or vendor is allowed.
func sanitizeGoflags(v string) string {
	var keep []string
	for _, f := range strings.Fields(v) {
		if strings.HasPrefix(f, "-mod=") || strings.HasPrefix(f, "--mod=") {
			continue
		}
		keep = append(keep, f)
	}
	return strings.Join(keep, " ")
}

// SystemPath is the tail of the kernel's PATH: the system dirs, where the C
// toolchain and the usual commands live.
func SystemPath() string {
	if runtime.GOOS == "windows" {
		root := os.Getenv("SystemRoot")
		return strings.Join([]string{filepath.Join(root, "System32"), root}, string(os.PathListSeparator))
	}
	return "/usr/local/bin:/usr/bin:/bin"
}

// Env returns the variables the kernel needs, as a map (kernelspec form):
// GOEXPERIMENT=simd, GOMLX_NO_AUTO_INSTALL=1, GOFLAGS (sanitized) and PATH
// = bin dir, its gopls dir, Go's bin dir, then SystemPath (not the
// installing shell's PATH, which a kernelspec would freeze).
func Env(t Tools) (map[string]string, error) {
	goCmd, err := GoCommand()
	if err != nil {
		return nil, err
	}
	path := strings.Join([]string{t.Dir, t.GoplsDir, filepath.Dir(goCmd), SystemPath()}, string(os.PathListSeparator))
	return map[string]string{
		"GOEXPERIMENT":          "simd",
		"GOMLX_NO_AUTO_INSTALL": "1",
		"GOFLAGS":               sanitizeGoflags(os.Getenv("GOFLAGS")),
		"PATH":                  path,
	}, nil
}

// MergeEnv returns base (KEY=VALUE list) with the keys of env replaced.
func MergeEnv(base []string, env map[string]string) []string {
	out := make([]string, 0, len(base)+len(env))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := env[k]; !ok {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// Argv returns the kernel command line with the {connection_file} placeholder.
func Argv(t Tools, root string) []string {
	return []string{t.Gonb, "--kernel", "{connection_file}", "-go_work=" + root}
}

// Spec is a Jupyter kernelspec (kernel.json).
type Spec struct {
	Argv          []string          `json:"argv"`
	DisplayName   string            `json:"display_name"`
	Language      string            `json:"language"`
	InterruptMode string            `json:"interrupt_mode,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	Metadata      map[string]any    `json:"metadata,omitempty"`
}

// NewSpec returns the kernelspec for the tools in t and the repo at root,
// to be installed as name (see DisplayNameFor).
func NewSpec(t Tools, root, name string) (*Spec, error) {
	env, err := Env(t)
	if err != nil {
		return nil, err
	}
	return &Spec{Argv: Argv(t, root), DisplayName: DisplayNameFor(name, root), Language: "go",
		InterruptMode: "message", Env: env}, nil
}

// DataDir returns the Jupyter data dir: dir if non-empty, else
// $JUPYTER_DATA_DIR, else the platform default (~/.local/share/jupyter on
// Linux, $XDG_DATA_HOME/jupyter when set, ~/Library/Jupyter on macOS,
// %APPDATA%\jupyter on Windows).
func DataDir(dir string) (string, error) {
	if dir != "" {
		return filepath.Abs(dir)
	}
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return filepath.Abs(d)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("kernelspec: locating home dir (use --jupyter-data-dir): %w", err)
	}
	switch runtime.GOOS {
	case "darwin":
		return filepath.Join(home, "Library", "Jupyter"), nil
	case "windows":
		return filepath.Join(os.Getenv("APPDATA"), "jupyter"), nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "jupyter"), nil
	}
	return filepath.Join(home, ".local", "share", "jupyter"), nil
}

// SearchDirs returns the Jupyter data dirs searched for kernelspecs, in
// Jupyter's order: the user data dir, $JUPYTER_PATH entries, then the system
// dirs.
func SearchDirs(dataDir string) []string {
	dirs := []string{dataDir}
	for _, p := range filepath.SplitList(os.Getenv("JUPYTER_PATH")) {
		if p != "" {
			dirs = append(dirs, p)
		}
	}
	return append(dirs, "/usr/local/share/jupyter", "/usr/share/jupyter")
}

// Find returns the path and contents of the installed kernelspec name in
// dirs, or os.ErrNotExist (wrapped) when none is installed.
func Find(dirs []string, name string) (string, *Spec, error) {
	for _, d := range dirs {
		p := filepath.Join(d, "kernels", name, "kernel.json")
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var s Spec
		if err := json.Unmarshal(data, &s); err != nil {
			return p, nil, fmt.Errorf("kernelspec: %s: invalid JSON: %w", p, err)
		}
		return p, &s, nil
	}
	return "", nil, fmt.Errorf("kernelspec %q in %s: %w", name, strings.Join(dirs, ", "), os.ErrNotExist)
}

// Write writes spec to dataDir/kernels/name/kernel.json. It reports whether
// the file changed (false when identical content was already there). A name
// Jupyter refuses (ValidName) is an error.
func Write(dataDir, name string, spec *Spec) (path string, changed bool, err error) {
	if err := ValidName(name); err != nil {
		return "", false, err
	}
	dir := filepath.Join(dataDir, "kernels", name)
	path = filepath.Join(dir, "kernel.json")
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return path, false, fmt.Errorf("kernelspec: encoding %s: %w", path, err)
	}
	data = append(data, '\n')
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return path, false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return path, false, fmt.Errorf("kernelspec: creating %s: %w", dir, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return path, false, fmt.Errorf("kernelspec: writing %s: %w", path, err)
	}
	return path, true, nil
}

// WithoutGopls returns a PATH value without the entries that hold a gopls
// executable, except keep (the Go toolchain's dir, needed for go itself).
// Headless runs use it so GoNB does not start a language server.
func WithoutGopls(path, keep string) string {
	var out []string
	for _, d := range filepath.SplitList(path) {
		if d != keep && d != "" && exists(filepath.Join(d, exe("gopls"))) {
			continue
		}
		out = append(out, d)
	}
	return strings.Join(out, string(os.PathListSeparator))
}
