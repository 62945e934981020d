package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"
	"github.com/robustpo/robustpo/datasets"
)

// interruptChildEnv names the variable that makes a test binary re-executed
// by an interruption test run the child's side: the training a SIGINT stops.
const interruptChildEnv = "ROBUSTPO_TEST_INTERRUPT_CHILD"

// interruptChild runs the child's side of test t when this process is the
// child (the parent re-executes the test binary for t's name alone): it says
// "training" on stdout, then calls train, which a SIGINT interrupts. A
// notebook-mode child never returns from train; a plain one reports what
// train returned on stdout. It returns false in the parent.
func interruptChild(t *testing.T, train func() (*Run, error)) bool {
	if os.Getenv(interruptChildEnv) == "" {
		return false
	}
	fmt.Println("training")
	run, err := train()
	steps, last := -1, -1
	if run != nil {
		steps = run.StepsDone
		if n := run.History.Len(); n > 0 {
			last = run.History.Steps[n-1]
		}
	}
	fmt.Printf("returned interrupted=%v steps=%d last=%d marked=%v err=%v\n",
		errors.Is(err, ErrInterrupted), steps, last, run != nil && run.Interrupted, err)
	return true
}

// interruptResult is what a child did after its SIGINT.
type interruptResult struct {
	code           int
	stdout, stderr string
	afterSignal    time.Duration
	pipe           string // the fake GoNB pipe's file ("" outside notebook mode)
}

// runInterrupted re-executes the test binary for test t as a child (see
// interruptChild), in a faked GoNB cell when notebook (GONB_PIPE and
// GONB_PIPE_BACK name plain files, so gonbui.IsNotebook holds and its
// messages can be read back; GONB_TMP_DIR is set), with the run cache in
// cacheDir. Once the child trains (in notebook mode: once its progress block
// has been drawn, which takes 2 s), it sends SIGINT, as GoNB does, and waits.
func runInterrupted(t *testing.T, notebook bool, cacheDir string) interruptResult {
	t.Helper()
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(exe, "-test.run=^"+t.Name()+"$", "-test.count=1")
	env := []string{interruptChildEnv + "=1", CacheDirEnv + "=" + cacheDir, NoCacheEnv + "=", ProgressEnv + "="}
	var res interruptResult
	if notebook {
		res.pipe = filepath.Join(dir, "pipe")
		back := filepath.Join(dir, "pipe_back")
		for _, f := range []string{res.pipe, back} {
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		env = append(env, protocol.GONB_PIPE_ENV+"="+res.pipe, protocol.GONB_PIPE_BACK_ENV+"="+back, "GONB_TMP_DIR="+dir)
	} else {
		env = append(env, protocol.GONB_PIPE_ENV+"=", protocol.GONB_PIPE_BACK_ENV+"=")
	}
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var stdout strings.Builder
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			stdout.WriteString(sc.Text() + "\n")
			if sc.Text() == "training" {
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		t.Fatalf("the child did not start training; stderr %q", stderr.String())
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		time.Sleep(300 * time.Millisecond)
		if !notebook {
			break // it is training a long run: interrupt it mid-run
		}
		if fi, err := os.Stat(res.pipe); err == nil && fi.Size() > 0 {
			break // the progress block was drawn
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress block after 60 s; stderr %q", stderr.String())
		}
	}
	time.Sleep(300 * time.Millisecond)
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-done
	err = cmd.Wait()
	res.afterSignal = time.Since(signalled)
	res.code = cmd.ProcessState.ExitCode()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatal(err)
	}
	res.stdout, res.stderr = stdout.String(), stderr.String()
	return res
}

// partialLine is the one line an interrupted notebook run ends with.
var partialLine = regexp.MustCompile(`^lab: interrupted at step (\d+) of (\d+); partial run kept in (\S+\.partial\.json)\n$`)

// checkNotebookInterrupt checks what an interrupted notebook cell left: exit
// status 130 well before GoNB's kill (5 s), one line on stderr and no stack
// trace, and a partial run file that loads with the step the line names and
// that the run cache does not serve. It returns the partial run.
func checkNotebookInterrupt(t *testing.T, res interruptResult, steps int) *Run {
	t.Helper()
	if res.code != interruptExitCode {
		t.Fatalf("exit status %d, want %d; stdout %q, stderr %q", res.code, interruptExitCode, res.stdout, res.stderr)
	}
	if res.afterSignal > 4*time.Second {
		t.Errorf("exited %v after SIGINT: GoNB kills a cell 5 s after it", res.afterSignal)
	}
	if strings.Contains(res.stderr, "goroutine") || strings.Contains(res.stderr, "panic") {
		t.Errorf("stderr has a stack trace: %q", res.stderr)
	}
	m := partialLine.FindStringSubmatch(res.stderr)
	if m == nil {
		t.Fatalf("stderr %q, want the one line %q", res.stderr, partialLine)
	}
	t.Log(strings.TrimSpace(res.stderr))
	if m[2] != fmt.Sprint(steps) {
		t.Errorf("line names %s steps in all, want %d", m[2], steps)
	}
	run, err := LoadRun(m[3])
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(run.StepsDone) != m[1] || run.StepsDone <= 0 || !run.Interrupted || run.Config.Steps != steps {
		t.Errorf("partial run: %d steps done of %d, interrupted %v; the line says %s", run.StepsDone, run.Config.Steps, run.Interrupted, m[1])
	}
	key := strings.TrimSuffix(filepath.Base(m[3]), ".partial.json")
	if _, err := os.Stat(filepath.Join(filepath.Dir(m[3]), key+".json")); err == nil {
		t.Errorf("the run cache serves key %s as a finished run", key)
	}
	if strings.Contains(res.stdout, "returned") {
		t.Errorf("Train returned in a notebook cell: %q", res.stdout)
	}
	return run
}

// checkProgressBlock reads the gonbui messages the child wrote to the fake
// GoNB pipe and checks that a progress block showed the step and loss and
// was cleared before the process ended.
func checkProgressBlock(t *testing.T, pipe string) {
	t.Helper()
	f, err := os.Open(pipe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := gob.NewDecoder(f)
	var shown bool
	last := map[string]string{}
	for {
		var d protocol.DisplayData
		if err := dec.Decode(&d); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("decoding the GoNB pipe: %v", err)
			}
			break
		}
		if !strings.HasPrefix(d.DisplayID, "robustpo_progress_") {
			continue
		}
		h, _ := d.Data[protocol.MIMETextHTML].(string)
		last[d.DisplayID] = h
		shown = shown || (strings.Contains(h, "step ") && strings.Contains(h, "loss ") && strings.Contains(h, "ETA "))
	}
	if !shown {
		t.Error("no progress block showed the step, loss and ETA")
	}
	for id, h := range last {
		if h != "" {
			t.Errorf("progress block %s left showing %q", id, h)
		}
	}
}

// TestInterruptTrainNotebook interrupts Train in a faked GoNB cell: the
// process ends in one line with status 130 and the partial run loads back.
func TestInterruptTrainNotebook(t *testing.T) {
	const steps = 50_000_000
	cfg := Config{Method: DPO, Steps: steps, LogEvery: 1000}
	if interruptChild(t, func() (*Run, error) { return Train(cfg, datasets.SqueezeToy()) }) {
		return
	}
	cache := t.TempDir()
	res := runInterrupted(t, true, cache)
	t.Setenv(CacheDirEnv, cache)
	run := checkNotebookInterrupt(t, res, steps)
	if n := run.History.Len(); n < 2 || run.History.Steps[n-1] != run.StepsDone {
		t.Errorf("partial History logs steps %v…, want it to end at the step reached, %d", run.History.Steps[:min(n, 3)], run.StepsDone)
	}
	if len(run.Final) == 0 || len(run.Theta) == 0 {
		t.Error("partial run without its policy")
	}
	checkProgressBlock(t, res.pipe)
}

// TestInterruptTrainSeqNotebook is TestInterruptTrainNotebook for TrainSeq.
func TestInterruptTrainSeqNotebook(t *testing.T) {
	const steps = 1_000_000
	cfg := tinySeqConfig(DPO)
	cfg.Steps, cfg.LogEvery, cfg.NoCache = steps, 5, false
	if interruptChild(t, func() (*Run, error) { return TrainSeq(cfg, tinyTask(t, 4, 2)) }) {
		return
	}
	cache := t.TempDir()
	res := runInterrupted(t, true, cache)
	t.Setenv(CacheDirEnv, cache)
	run := checkNotebookInterrupt(t, res, steps)
	if run.Seq == nil || len(run.Seq.StepLosses) != run.StepsDone || run.History.Len() < 1 {
		t.Errorf("partial sequence run: %d step losses, %d steps done", len(run.Seq.StepLosses), run.StepsDone)
	}
	checkProgressBlock(t, res.pipe)
}

// TestInterruptTrainPlain interrupts Train outside a notebook: it returns
// the partial Run, History to the step reached, with an error wrapping
// ErrInterrupted that names the step, and prints nothing.
func TestInterruptTrainPlain(t *testing.T) {
	cfg := Config{Method: DPO, Steps: 50_000_000, LogEvery: 1000, NoCache: true}
	if interruptChild(t, func() (*Run, error) { return Train(cfg, datasets.SqueezeToy()) }) {
		return
	}
	res := runInterrupted(t, false, t.TempDir())
	m := regexp.MustCompile(`returned interrupted=true steps=(\d+) last=(\d+) marked=true err=lab: training interrupted at step (\d+) of 50000000: context canceled\n`).
		FindStringSubmatch(res.stdout)
	if res.code != 0 || m == nil || m[1] != m[2] || m[1] != m[3] || m[1] == "0" {
		t.Fatalf("exit %d, stdout %q: want Train to return the partial run with ErrInterrupted naming its step", res.code, res.stdout)
	}
	if res.stderr != "" {
		t.Errorf("stderr %q, want nothing", res.stderr)
	}
}

// TestInterruptSweepNotebook interrupts Sweep in a faked GoNB cell: one
// line saying how many configs finished and where the partial runs are,
// status 130.
func TestInterruptSweepNotebook(t *testing.T) {
	base := Config{Method: DPO, Steps: 50_000_000, LogEvery: 1000}
	grid := Grid{Vary("Beta", 0.1, 0.5)}
	if interruptChild(t, func() (*Run, error) {
		_, err := Sweep(base, grid, datasets.SqueezeToy())
		return nil, err
	}) {
		return
	}
	cache := t.TempDir()
	res := runInterrupted(t, true, cache)
	if res.code != interruptExitCode || strings.Count(res.stderr, "\n") != 1 || strings.Contains(res.stderr, "goroutine") {
		t.Fatalf("exit %d, stderr %q: want one line and status %d", res.code, res.stderr, interruptExitCode)
	}
	// The two configs train in two shards, each at its own pace: one step
	// is named only when they stopped at the same one.
	want := regexp.MustCompile(`^lab: interrupted: sweep of 2 configs stopped with 0 finished; partial runs of 2 configs( at step \d+ of 50000000)? kept in (\S+) as <cache key>\.partial\.json\n$`)
	m := want.FindStringSubmatch(res.stderr)
	if m == nil || m[2] != cache {
		t.Fatalf("stderr %q, want %q with the cache %s", res.stderr, want, cache)
	}
	t.Log(strings.TrimSpace(res.stderr))
	files, _ := filepath.Glob(filepath.Join(cache, "*.partial.json"))
	if len(files) != 2 {
		t.Fatalf("partial files %q, want 2", files)
	}
	for _, f := range files {
		run, err := LoadRun(f)
		if err != nil {
			t.Fatal(err)
		}
		if run.StepsDone <= 0 || !run.Interrupted || (m[1] != "" && !strings.Contains(m[1], fmt.Sprintf(" %d ", run.StepsDone))) {
			t.Errorf("%s: %d steps, interrupted %v; the line says%s", f, run.StepsDone, run.Interrupted, m[1])
		}
	}
}

// TestInterruptHandler checks the wrappers' choice: outside a notebook or
// for another error nothing happens; in a notebook an interruption prints
// the line and exits with 130.
func TestInterruptHandler(t *testing.T) {
	var buf bytes.Buffer
	code := -1
	h := interruptHandler{stderr: &buf, exit: func(c int) { code = c }}
	line := func() string { return "lab: interrupted at step 3 of 9" }
	interrupted := fmt.Errorf("%w at step 3 of 9: %w", ErrInterrupted, context.Canceled)
	h.stop(interrupted, line)
	if buf.Len() != 0 || code != -1 {
		t.Errorf("outside a notebook: printed %q, exit %d; want nothing", buf.String(), code)
	}
	h.notebook = true
	h.stop(errors.New("lab: DPO step 3: metric loss = NaN"), line)
	h.stop(nil, line)
	if buf.Len() != 0 || code != -1 {
		t.Errorf("another error: printed %q, exit %d; want nothing", buf.String(), code)
	}
	h.stop(interrupted, line)
	if buf.String() != "lab: interrupted at step 3 of 9\n" || code != 130 {
		t.Errorf("interrupted: printed %q, exit %d; want the line and 130", buf.String(), code)
	}
	if gonbui.IsNotebook != cellInterrupt().notebook {
		t.Error("cellInterrupt does not follow gonbui.IsNotebook")
	}
}

// TestInterruptedLine checks the line and the partial file of runs stopped
// in the loop and before it, and of a run whose partial cannot be written.
func TestInterruptedLine(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(CacheDirEnv, cache)
	run := &Run{Config: Config{Steps: 5000}, StepsDone: 1234, History: newHistory(), Interrupted: true}
	run.History.add(1234, []string{"loss"}, map[string]float64{"loss": 0.5})
	err := fmt.Errorf("%w at step 1234 of 5000: %w", ErrInterrupted, context.Canceled)
	path := filepath.Join(cache, "abc.partial.json")
	if got, want := interruptedLine(run, "abc", err), "lab: interrupted at step 1234 of 5000; partial run kept in "+path; got != want {
		t.Errorf("line %q, want %q", got, want)
	}
	if back, err := LoadRun(path); err != nil || back.StepsDone != 1234 || back.History.Last("loss") != 0.5 {
		t.Errorf("LoadRun: %+v, %v", back, err)
	}
	sft := fmt.Errorf("%w: SFT step 12 of 300: %w", ErrInterrupted, context.Canceled)
	run.StepsDone = 0
	if got := interruptedLine(run, "abc", sft); !strings.HasPrefix(got, "lab: interrupted at step 0 of 5000 (SFT step 12 of 300); partial run kept in ") {
		t.Errorf("before the first step: %q", got)
	}
	if got := interruptedLine(nil, "", sft); got != "lab: interrupted before training started (SFT step 12 of 300)" {
		t.Errorf("no run: %q", got)
	}
	t.Setenv(CacheDirEnv, filepath.Join(path, "not-a-dir"))
	if got := interruptedLine(run, "abc", err); !strings.Contains(got, "; the partial run could not be kept: ") {
		t.Errorf("unwritable cache: %q", got)
	}
}
