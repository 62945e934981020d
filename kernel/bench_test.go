package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBenchEnv(t *testing.T) {
	got := benchEnv([]string{"PATH=/bin", "GOEXPERIMENT=none"})
	want := []string{"PATH=/bin", "GOEXPERIMENT=none", "GOMLX_NO_AUTO_INSTALL=1"}
	if !slices.Equal(got, want) {
		t.Errorf("benchEnv = %q, want %q", got, want)
	}
	got = benchEnv(nil)
	if !slices.Equal(got, []string{"GOEXPERIMENT=simd", "GOMLX_NO_AUTO_INSTALL=1"}) {
		t.Errorf("benchEnv(nil) = %q", got)
	}
}

func TestBenchRepoRootFromSubdir(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if root != filepath.Dir(wd) { // the tests run in <root>/kernel
		t.Errorf("repoRoot = %q, want %q", root, filepath.Dir(wd))
	}
	t.Chdir(t.TempDir())
	if _, err := repoRoot(); err == nil {
		t.Error("outside the repository: want an error")
	}
}

// TestBenchBuildsAndRuns builds the benchmark program and runs it with
// every measurement off (it prints its header and exits 0), then with a
// bad flag, whose exit status 2 must come through.
func TestBenchBuildsAndRuns(t *testing.T) {
	var out, errb strings.Builder
	code := cmdBench(context.Background(), []string{"--dpo=false", "--loop=false", "--sweep=false"}, &out, &errb)
	if code != exitOK || !strings.Contains(out.String(), "bench: size tiny") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := cmdBench(context.Background(), []string{"--size", "huge"}, &out, &errb); code != exitBadInput ||
		!strings.Contains(errb.String(), `--size="huge"`) {
		t.Errorf("bad size: exit %d, stderr %q", code, errb.String())
	}
	out.Reset()
	if code := cmdBench(context.Background(), []string{"--help"}, &out, &errb); code != exitOK || !strings.Contains(out.String(), "usage: go run ./kernel bench") ||
		!strings.Contains(out.String(), "--sweep-loop-configs") {
		t.Errorf("--help: exit %d, stdout %q", code, out.String())
	}
}
