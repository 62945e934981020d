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
	if !strings.HasPrefix(d, "/tmp/xdg-cache-test/robustpo/bin/gonb-v0.11.4-go") || strings.ContainsAny(d, ": ") {
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
	spec, err := NewSpec(tools, "/src/robustpo")
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
