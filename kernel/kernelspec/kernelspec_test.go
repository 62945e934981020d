package kernelspec

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRepoRootAndPins(t *testing.T) {
	root, err := RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "kernel", "kernelspec", "kernelspec.go")); err != nil {
		t.Errorf("RepoRoot = %s, which does not hold this package: %v", root, err)
	}
	ver, err := PinnedVersion(root, "github.com/janpfeifer/gonb")
	if err != nil || ver != "v0.11.4" {
		t.Errorf("pinned gonb = %q, %v; want v0.11.4", ver, err)
	}
	if _, err := PinnedVersion(root, "example.com/absent"); err == nil {
		t.Errorf("absent module: no error")
	}
	if _, err := RepoRoot(t.TempDir()); err == nil {
		t.Errorf("RepoRoot outside the repo: no error")
	}
}

func TestBinDir(t *testing.T) {
	root, _ := RepoRoot(".")
	t.Setenv(BinDirEnv, "")
	t.Setenv("XDG_CACHE_HOME", "/tmp/xdg-cache-test")
	d, err := BinDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d, "/tmp/xdg-cache-test/robustpo/bin/gonb-v0.11.4-go") || strings.ContainsAny(d, ": ") || strings.Contains(d, "X_") {
		t.Errorf("BinDir = %q: want the cache dir, keyed by versions, no ':' or spaces (it goes into PATH)", d)
	}
	t.Setenv(BinDirEnv, "/opt/tools")
	if d, _ := BinDir(root); d != "/opt/tools" {
		t.Errorf("BinDir with %s set = %q", BinDirEnv, d)
	}
}

func TestSanitizeGoflags(t *testing.T) {
	cases := map[string]string{
		"":                       "",
		"-mod=mod":               "",
		"-mod=mod -trimpath":     "-trimpath",
		"-tags=x --mod=readonly": "-tags=x",
	}
	for in, want := range cases {
		if got := sanitizeGoflags(in); got != want {
			t.Errorf("sanitizeGoflags(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	got := MergeEnv([]string{"A=1", "PATH=/bin", "B=2"}, map[string]string{"PATH": "/x:/bin", "C": "3"})
	slices.Sort(got)
	want := []string{"A=1", "B=2", "C=3", "PATH=/x:/bin"}
	if !slices.Equal(got, want) {
		t.Errorf("MergeEnv = %q, want %q", got, want)
	}
}

func TestWriteFindIdempotent(t *testing.T) {
	dir := t.TempDir()
	tools := ToolsIn("/opt/bin")
	spec, err := NewSpec(tools, "/src/robustpo", DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(spec.Argv, " "); got != "/opt/bin/gonb --kernel {connection_file} -go_work=/src/robustpo" {
		t.Errorf("argv %q", got)
	}
	p, changed, err := Write(dir, "k1", spec)
	if err != nil || !changed || p != filepath.Join(dir, "kernels", "k1", "kernel.json") {
		t.Fatalf("first Write: %s %v %v", p, changed, err)
	}
	if _, changed, err := Write(dir, "k1", spec); err != nil || changed {
		t.Errorf("second Write: changed=%v err=%v, want unchanged", changed, err)
	}
	fp, found, err := Find([]string{t.TempDir(), dir}, "k1")
	if err != nil || fp != p || found.DisplayName != DisplayName || found.Env["GOEXPERIMENT"] != "simd" {
		t.Errorf("Find = %s %+v %v", fp, found, err)
	}
	if _, _, err := Find([]string{dir}, "other"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Find of a missing kernel: %v", err)
	}
	if _, _, err := Write(dir, "bad/name", spec); err == nil {
		t.Errorf("a name with a slash was accepted")
	}
	// Write never leaves dir/kernels.
	for _, bad := range []string{"..", ".", "../escape", "a/../../b"} {
		if _, _, err := Write(dir, bad, spec); err == nil {
			t.Errorf("Write accepted %q", bad)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "kernels" {
		t.Errorf("Write created %v in the data dir, want only kernels/", entries)
	}
}

func TestValidName(t *testing.T) {
	cases := map[string]bool{
		"robustpo": true, "robustpo-1a2b3c4d": true, "Go_1.26": true, "a": true, "...": true,
		"": false, ".": false, "..": false, "a/b": false, `a\b`: false, "../x": false,
		"has space": false, "é": false, "a:b": false, "x\n": false,
	}
	for name, want := range cases {
		err := ValidName(name)
		if (err == nil) != want {
			t.Errorf("ValidName(%q) = %v, want valid=%v", name, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), NameRule) {
			t.Errorf("ValidName(%q) error %q does not state the rule", name, err)
		}
	}
}

func TestCheckoutNames(t *testing.T) {
	a, b := "/src/one/robustpo", "/src/two/robustpo"
	na, nb := CheckoutName(a), CheckoutName(b)
	if na == nb {
		t.Errorf("two checkouts share the kernel name %q", na)
	}
	for _, n := range []string{na, nb} {
		if !strings.HasPrefix(n, "robustpo-") || len(n) != len("robustpo-")+8 || ValidName(n) != nil {
			t.Errorf("CheckoutName = %q, want robustpo-<8 hex digits>, a valid name", n)
		}
	}
	if CheckoutName(a+"/") != na || CheckoutName(a) != na {
		t.Errorf("CheckoutName is not stable for one root")
	}
	if got := DisplayNameFor(na, a); got != "Go (robustpo: robustpo)" {
		t.Errorf("DisplayNameFor(%q) = %q", na, got)
	}
	if got := DisplayNameFor(DefaultName, a); got != DisplayName {
		t.Errorf("DisplayNameFor(DefaultName) = %q, want %q (notebooks' metadata)", got, DisplayName)
	}
	tools := ToolsIn("/opt/bin")
	sa, _ := NewSpec(tools, a, na)
	sb, _ := NewSpec(tools, b, nb)
	if ok, _ := PointsAt(sa, a); !ok {
		t.Errorf("spec of %s does not point at it: %q", a, sa.Argv)
	}
	if ok, other := PointsAt(sb, a); ok || other != b {
		t.Errorf("PointsAt(spec of %s, %s) = %v, %q", b, a, ok, other)
	}
	if ok, other := PointsAt(&Spec{Argv: []string{"gonb", "--kernel", "x"}}, a); ok || other != "" {
		t.Errorf("PointsAt without -go_work = %v, %q", ok, other)
	}
}

func TestEnvPathMinimal(t *testing.T) {
	t.Setenv("PATH", os.Getenv("PATH")+string(os.PathListSeparator)+"/home/someone/private/bin")
	tools := ToolsIn("/opt/bin")
	env, err := Env(tools)
	if err != nil {
		t.Fatal(err)
	}
	goCmd, _ := GoCommand()
	want := strings.Join([]string{"/opt/bin", "/opt/bin/lsp", filepath.Dir(goCmd), "/usr/local/bin", "/usr/bin", "/bin"}, string(os.PathListSeparator))
	if env["PATH"] != want {
		t.Errorf("kernel PATH = %q, want %q (not the installing shell's PATH)", env["PATH"], want)
	}
}

func TestVersionNameDropsExperiments(t *testing.T) {
	for in, want := range map[string]string{
		"go1.26.8": "go1.26.8", "go1.26.8-X:simd": "go1.26.8", "go1.26.8-X:simd,jsonv2": "go1.26.8",
		"go1.27rc1 X:simd": "go1.27rc1", "devel go1.27-abcdef": "devel", "": "unknown",
	} {
		if got := versionName(in); got != want {
			t.Errorf("versionName(%q) = %q, want %q", in, got, want)
		}
	}
	env := toolEnv()
	n := 0
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOEXPERIMENT=") {
			n++
			if kv != "GOEXPERIMENT=" {
				t.Errorf("tools built with %s", kv)
			}
		}
	}
	if n != 1 {
		t.Errorf("toolEnv sets GOEXPERIMENT %d times, want once (empty)", n)
	}
}

func TestWithoutGopls(t *testing.T) {
	withGopls, plain, goDir := t.TempDir(), t.TempDir(), t.TempDir()
	for _, d := range []string{withGopls, goDir} {
		if err := os.WriteFile(filepath.Join(d, "gopls"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sep := string(os.PathListSeparator)
	got := WithoutGopls(strings.Join([]string{plain, withGopls, goDir}, sep), goDir)
	if want := plain + sep + goDir; got != want {
		t.Errorf("WithoutGopls = %q, want %q", got, want)
	}
}
