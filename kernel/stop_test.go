package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/robustpo/robustpo/kernel/jupyter"
	"github.com/robustpo/robustpo/kernel/nbformat"
)

// stopBudget is how long a stopped run may take to leave nothing behind.
const stopBudget = 5 * time.Second

// kernelBinary builds this command once, into the tests' bin dir (so
// assertNoGonbLeft also looks for it).
var kernelBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(testBinDir, "robustpo-kernel")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// sleeperCell returns a cell whose program starts `sleep 300` in a process
// group of its own (out of GoNB's reach), writes "CELLPID CHILDPID" to
// marker, then sleeps; a stubborn one ignores SIGINT and SIGTERM.
func sleeperCell(marker string, stubborn bool) string {
	ignore := ""
	if stubborn {
		ignore = "signal.Ignore(syscall.SIGINT, syscall.SIGTERM)\n"
	}
	return fmt.Sprintf(`import ("fmt"; "os"; "os/exec"; "os/signal"; "syscall"; "time")
%%%%
var _ = signal.Ignore
`+ignore+`child := exec.Command("sleep", "300")
child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
if err := child.Start(); err != nil {
	panic(err)
}
_ = os.WriteFile(%[1]q+".tmp", []byte(fmt.Sprintf("%%d %%d", os.Getpid(), child.Process.Pid)), 0o644)
_ = os.Rename(%[1]q+".tmp", %[1]q)
time.Sleep(10 * time.Minute)`, marker)
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(s[i+1:], " Z")
}

// processTree lists pid and its descendants.
func processTree(pid int) []int {
	kids := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 {
			pp, _ := strconv.Atoi(f[1])
			kids[pp] = append(kids[pp], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, kids[out[i]]...)
	}
	return out
}

// leftoverFiles lists what runs leave in tmp that is theirs: connection
// directories and GoNB's work directories and named pipes (the go
// command's own go-build* directories are not).
func leftoverFiles(tmp string) []string {
	var out []string
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, "robustpo-kernel-") || strings.HasPrefix(n, "gonb_") {
			out = append(out, n)
		}
	}
	return out
}

type signalCase struct {
	name    string
	goRun   bool           // start `go run . run ...` instead of the built binary
	sig     syscall.Signal // sent once the sleeping cell runs
	toGroup bool           // to the process group (as a terminal's Ctrl-C), not the process
	// The cell program ignores SIGINT and SIGTERM: the interrupt fails and
	// the kernel must be stopped by force.
	stubborn bool
	// The process's end: an exit code, or a signal when wantSig != 0.
	wantCode int
	wantSig  syscall.Signal
	// What stderr must say (empty: not checked).
	wantStderr string
}

// TestStopBySignal stops runs while a cell program (and a program it
// started in a process group of its own) sleeps, in each way an IDE, a
// supervisor, a terminal or the OOM killer stops one, and checks that within
// stopBudget no process of the run is left, no connection file and no GoNB
// temporary file, and the exit status.
func TestStopBySignal(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs Linux /proc")
	}
	cases := []signalCase{
		{name: "INT to binary", sig: syscall.SIGINT, wantCode: 130, wantStderr: "cell 3 failed: interrupted (SIGINT)"},
		{name: "TERM to binary", sig: syscall.SIGTERM, wantCode: 143, wantStderr: "cell 3 failed: stopped by SIGTERM"},
		{name: "KILL to binary", sig: syscall.SIGKILL, wantSig: syscall.SIGKILL},
		{name: "TERM to binary, stubborn cell", sig: syscall.SIGTERM, stubborn: true, wantCode: 143, wantStderr: "cell 3 failed: stopped by SIGTERM"},
		// go run ignores SIGINT; a terminal's Ctrl-C reaches the program
		// through the process group. The go command reports the program's
		// 130 as its own 1.
		{name: "INT to go run group", goRun: true, sig: syscall.SIGINT, toGroup: true, wantCode: 1, wantStderr: "exit status 130"},
		// SIGTERM kills the go command; the program sees its parent go.
		{name: "TERM to go run", goRun: true, sig: syscall.SIGTERM, wantSig: syscall.SIGTERM},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { testStopBySignal(t, c) })
	}
}

func testStopBySignal(t *testing.T, c signalCase) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "pids")
	nb := writeNotebook(t, dir, "sleepy", "%%\nfmt.Println(\"first\")", sleeperCell(marker, c.stubborn))
	args := []string{"run", "--timeout", "5m", "-o", dir, nb}
	var cmd *exec.Cmd
	if c.goRun {
		cmd = exec.Command("go", append([]string{"run", "."}, args...)...)
	} else {
		bin, err := kernelBinary()
		if err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(bin, args...)
	}
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	stderr, _ := os.Create(filepath.Join(dir, "stderr"))
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}()
	output := func() string {
		o, _ := os.ReadFile(stdout.Name())
		e, _ := os.ReadFile(stderr.Name())
		return "stdout:\n" + string(o) + "stderr:\n" + string(e)
	}

	// Wait for the sleeping cell, then note every process of the run.
	var cellPid, childPid int
	deadline := time.Now().Add(3 * time.Minute)
	for {
		data, err := os.ReadFile(marker)
		if err == nil {
			if _, err := fmt.Sscan(string(data), &cellPid, &childPid); err != nil {
				t.Fatalf("marker %q: %v", data, err)
			}
			break
		}
		select {
		case <-exited:
			t.Fatalf("the run ended before the cell slept\n%s", output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sleeping cell did not start\n%s", output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	procs := processTree(cmd.Process.Pid)
	for _, want := range []int{cellPid, childPid} {
		if !containsInt(procs, want) {
			t.Fatalf("pid %d is not in the run's process tree %v", want, procs)
		}
	}
	if len(leftoverFiles(tmp)) == 0 {
		t.Fatalf("no connection directory or GoNB directory in %s while the run runs: the test checks nothing", tmp)
	}

	target := cmd.Process.Pid
	if c.toGroup {
		target = -target
	}
	t0 := time.Now()
	if err := syscall.Kill(target, c.sig); err != nil {
		t.Fatal(err)
	}
	var left []int
	var files []string
	stopped := false
	for time.Since(t0) < 3*stopBudget {
		left = left[:0]
		for _, p := range procs {
			if p != cmd.Process.Pid && alive(p) {
				left = append(left, p)
			}
		}
		files = leftoverFiles(tmp)
		select {
		case <-exited:
			stopped = len(left) == 0 && len(files) == 0
		default:
		}
		if stopped {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(t0)
	if !stopped {
		t.Fatalf("%v after %s: processes still running %v, files left %v\n%s", took, c.name, left, files, output())
	}
	t.Logf("%s: everything stopped in %v", c.name, took.Round(time.Millisecond))
	if took > stopBudget {
		t.Errorf("stopping took %v, want at most %v", took, stopBudget)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case c.wantSig != 0 && !(ws.Signaled() && ws.Signal() == c.wantSig):
		t.Errorf("process ended with %v, want killed by %v\n%s", cmd.ProcessState, c.wantSig, output())
	case c.wantSig == 0 && cmd.ProcessState.ExitCode() != c.wantCode:
		t.Errorf("exit status %v, want %d\n%s", cmd.ProcessState, c.wantCode, output())
	}
	if c.wantStderr != "" && !strings.Contains(output(), c.wantStderr) {
		t.Errorf("output lacks %q\n%s", c.wantStderr, output())
	}
	if c.wantSig == 0 {
		// Stopped cleanly: the notebook is written with what ran.
		out, err := nbformat.Load(filepath.Join(dir, "sleepy.ipynb"))
		if err != nil {
			t.Fatalf("the stopped run wrote no notebook: %v\n%s", err, output())
		}
		if got := out.Cells[1].Outputs; len(got) != 1 || got[0].TextString() != "first\n" {
			t.Errorf("the cell before the stop lost its output: %+v", got)
		}
	}
	assertNoGonbLeft(t)
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestKernelDeathNamesCause kills GoNB from a cell: the failure names how
// the kernel ended and shows its log, and the cell program, which outlives
// GoNB, and GoNB's files are gone when the run ends.
func TestKernelDeathNamesCause(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	marker := filepath.Join(dir, "pid")
	p := writeNotebook(t, dir, "kdie", "%%\nfmt.Println(\"first\")",
		fmt.Sprintf("import (\"os\"; \"syscall\"; \"time\")\n%%%%\n_ = os.WriteFile(%q, []byte(fmt.Sprint(os.Getpid())), 0o644)\n_ = syscall.Kill(os.Getppid(), syscall.SIGKILL)\ntime.Sleep(10 * time.Minute)", marker),
		"%%\nfmt.Println(\"must not run\")")
	code, stdout, stderr := runKernelCmd(t, "run", "--timeout", "2m", "-o", dir, p)
	if code != exitFailed {
		t.Errorf("exit %d, want %d\n%s\n%s", code, exitFailed, stdout, stderr)
	}
	for _, want := range []string{"kdie.ipynb: cell 3 failed: the kernel (GoNB) died: killed by signal KILL", "kernel log (last 20 lines):", "kernel created"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "<nil>") {
		t.Errorf("stderr says <nil>:\n%s", stderr)
	}
	data, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("the cell did not run: %v", err)
	}
	pid, _ := strconv.Atoi(string(data))
	if alive(pid) {
		t.Errorf("the cell program %d outlived the run", pid)
	}
	if files := leftoverFiles(tmp); len(files) > 0 {
		t.Errorf("files left in TMPDIR: %v", files)
	}
	assertNoGonbLeft(t)
}

// TestVerdictFromProcess: text a cell prints never decides its verdict;
// how its process ended does.
func TestVerdictFromProcess(t *testing.T) {
	dir := t.TempDir()
	p := writeNotebook(t, dir, "printed",
		"import (\"fmt\"; \"os\")\n%%\nfmt.Fprintln(os.Stderr, \"exit status 1\")",
		"%%\nfmt.Fprintln(os.Stderr, \"exit status 0\")\nfmt.Fprintln(os.Stderr, \"signal: killed\")",
		"%%\nfmt.Println(\"next cell ran\")")
	code, stdout, stderr := runKernelCmd(t, "run", "-o", dir, p)
	if code != exitOK || strings.Contains(stdout, "FAILED") {
		t.Fatalf("cells that print an exit status and exit 0 failed: exit %d\n%s\n%s", code, stdout, stderr)
	}
	nb, err := nbformat.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := nb.Cells[3].Outputs; len(got) != 1 || got[0].TextString() != "next cell ran\n" {
		t.Errorf("the last cell did not run: %+v", got)
	}
	assertNoGonbLeft(t)
}

func TestProgramExit(t *testing.T) {
	for _, c := range []struct {
		ename, evalue string
		traceback     []string
		want          string // "" for not a program exit
	}{
		{"ERROR", "exit status 3", []string{"exit status 3"}, "exit status 3"},
		{"ERROR", "signal: killed", []string{"signal: killed"}, "killed by signal KILL"},
		{"ERROR", "signal: interrupt", []string{"signal: interrupt"}, "killed by signal INT"},
		{"ERROR", "signal: segmentation fault (core dumped)", []string{"signal: segmentation fault (core dumped)"}, "killed by signal SEGV"},
		{"ERROR", "exit status 0", []string{"exit status 0"}, ""},
		// Compile errors: the go tool's output, one traceback line each.
		{"ERROR", "# gonb_1\n./main.go:3:2: undefined: x\nexit status 1", []string{"# gonb_1", "./main.go:3:2: undefined: x"}, ""},
		{"ERROR", "exit status 1", []string{"# gonb_1", "exit status 1"}, ""},
		{"ERROR", "failed: exit status 1", []string{"failed: exit status 1"}, ""},
		{"ERROR", "exit status 1x", []string{"exit status 1x"}, ""},
		{"ERROR", "signal: nonsense", []string{"signal: nonsense"}, ""},
		{"Panic", "exit status 2", []string{"exit status 2"}, ""},
	} {
		es, ok := programExit(errorContent(c.ename, c.evalue, c.traceback))
		got := ""
		if ok {
			got = es.String()
		}
		if got != c.want {
			t.Errorf("programExit(%q, %q, %q) = %q, want %q", c.ename, c.evalue, c.traceback, got, c.want)
		}
	}
}

func TestStopStatus(t *testing.T) {
	for sig, want := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143, syscall.SIGHUP: 129} {
		ctx, cancel := contextWithCause(&stopSignal{sig: sig})
		if got := stopStatus(ctx); got != want {
			t.Errorf("stopStatus(%v) = %d, want %d", sig, got, want)
		}
		cancel()
	}
	ctx, cancel := contextWithCause(errors.New("plain cancel"))
	defer cancel()
	if got := stopStatus(ctx); got != exitInterrupt {
		t.Errorf("stopStatus(no signal) = %d, want %d", got, exitInterrupt)
	}
}

func errorContent(ename, evalue string, traceback []string) jupyter.ErrorContent {
	return jupyter.ErrorContent{EName: ename, EValue: evalue, Traceback: traceback}
}

// contextWithCause returns a context already canceled with cause.
func contextWithCause(cause error) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	return ctx, func() {}
}

func TestGonbLeftovers(t *testing.T) {
	traces := jupyter.KernelTraces{
		Env:    []string{"TMPDIR=/work/tmp/", "HOME=/root"},
		Output: []byte("I1201 22:30:12.865126   16605 main.go:222] \x1b[7;39;32m[fb0785af]\x1b[0m kernel created\n"),
		Environs: [][]string{
			{"GONB_TMP_DIR=/work/tmp/gonb_fb0785af", "GONB_PIPE=/work/tmp/gonb_pipe_123", "GONB_PIPE_BACK=/work/tmp/gonb_pipe_456"},
			// Not GoNB's forms, or not in the kernel's TMPDIR: kept.
			{"GONB_TMP_DIR=/home/me", "GONB_PIPE=/work/tmp/../etc/gonb_pipe_1", "GONB_PIPE_BACK=/work/tmp/gonb_cache_ABC"},
		},
	}
	got := strings.Join(gonbLeftovers(traces), " ")
	want := "/work/tmp/gonb_fb0785af /work/tmp/gonb_pipe_123 /work/tmp/gonb_pipe_456"
	if got != want {
		t.Errorf("gonbLeftovers = %s, want %s", got, want)
	}
	if got := gonbLeftovers(jupyter.KernelTraces{Output: []byte("[0123abcd] x")}); len(got) != 1 || got[0] != "/tmp/gonb_0123abcd" {
		t.Errorf("without TMPDIR: %v", got)
	}
}
