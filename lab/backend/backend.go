package backend

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // The pure-Go backend, the fallback.
)

// DefaultGo is the pure-Go backend's configuration for finite runs (the
// lab's Train and Sweep, lab.Backend) when GOMLX_BACKEND is unset or exactly
// "go", unless $ROBUSTPO_GO_BACKEND (GoEnv) names another. "ops_sequential"
// runs a graph's ops one after another on the calling goroutine, each op
// splitting its own work (matmuls, GELU, softmax) over the backend's worker
// pool. Finite graphs are many tiny ops, for which starting a goroutine per
// op (the parallel modes) costs more than the op: a loop of 256 tabular
// Train runs took 62 s with DefaultSeqGo against 22.6 s with this.
const DefaultGo = "go:ops_sequential"

// DefaultSeqGo is the pure-Go backend's configuration for sequence models
// (the lab's TrainSeq and SweepSeq, lab.SeqBackend), with the same overrides
// as DefaultGo. "ops_parallel" runs independent ops of a graph concurrently
// (a transformer's backward has many: the weight and input gradients of
// every layer), which made the tiny DPO step 1.3–1.5× faster than
// ops_sequential on 2 cores (`go run ./kernel bench --sweep=false`,
// alternating runs: 0.33–0.38 s/step against 0.49–0.52). "parallelism=-1"
// (an unbounded worker pool) is what makes that mode safe: with the
// backend's bounded pool (2·GOMAXPROCS workers) an op that holds a worker
// waits in WaitToStart/Saturate for workers held by other such ops, and the
// step deadlocks within a few steps (goroutine dump: every pool goroutine in
// sync.Cond.Wait); an unbounded pool starts every task at once.
const DefaultSeqGo = "go:ops_parallel,parallelism=-1"

// GoEnv names the environment variable that, when set, replaces DefaultGo
// and DefaultSeqGo as the pure-Go backend's configuration.
const GoEnv = "ROBUSTPO_GO_BACKEND"

// Candidates returns the backends to try on this machine, best first: its
// Discovery, with $ROBUSTPO_GO_BACKEND (GoEnv) as the pure-Go backend's
// configuration when set, else goDefault (DefaultGo for finite runs,
// DefaultSeqGo for sequence models; "" means DefaultGo).
func Candidates(goDefault string) []Candidate {
	goConfig := os.Getenv(GoEnv)
	if goConfig == "" {
		goConfig = goDefault
	}
	return Discovery{GoConfig: goConfig}.Candidates()
}

// Start returns a new compute backend (the caller Finalizes it): the first
// of cands that starts, with that candidate. The first start in a process
// prints the choice in one line to stdout, as information, not an error
// ("lab: backend <config>: <reason>"; in a GoNB notebook under the first
// cell that starts a backend, and again only when the choice changes); a
// candidate that fails to start is skipped with one "lab: warning: …" line
// on stderr saying why and what runs instead. It never panics: when the last
// candidate fails too the error names its configuration.
func Start(cands []Candidate) (compute.Backend, Candidate, error) {
	return start(cands, stdout{}, os.Stderr, &printOnce)
}

// stdout writes to os.Stdout as it is at each write (newQuietly swaps it
// while a backend starts).
type stdout struct{}

func (stdout) Write(p []byte) (int, error) { return os.Stdout.Write(p) }

// printOnce guards the one line Start prints about its choice. It is
// package state because "once" is a property of the process (a notebook
// cell), not of a call.
var printOnce sync.Once

// start starts the first candidate that works. It reports the choice on
// info once per once (information: a notebook shows stdout plainly), and
// each failure that falls back on warn as a warning line (a notebook shows
// stderr in red).
func start(cands []Candidate, info, warn io.Writer, once *sync.Once) (compute.Backend, Candidate, error) {
	var errs []error
	for i, c := range cands {
		b, err := newBackend(c.Config)
		if err == nil {
			once.Do(func() {
				line := fmt.Sprintf("lab: backend %s: %s\n", c.Config, c.Reason)
				if !kernelSaw(line) {
					fmt.Fprint(info, line)
				}
			})
			return b, c, nil
		}
		errs = append(errs, err)
		if i+1 < len(cands) {
			fmt.Fprintf(warn, "lab: warning: %s; falling back to %s\n",
				strings.TrimPrefix(firstLine(err.Error()), "lab: "), cands[i+1].Config)
		}
	}
	if len(errs) == 0 {
		return nil, Candidate{}, errors.New("lab: no backend candidates")
	}
	return nil, Candidate{}, errs[len(errs)-1]
}

// kernelChoiceFile is where kernelSaw keeps the choice lines printed so
// far, in the GoNB kernel's temporary directory.
const kernelChoiceFile = "robustpo-backend-choice"

// kernelSaw reports whether this process runs a GoNB cell and the kernel's
// previous cells already printed line (GoNB runs each cell as a new process,
// so "once per process" would repeat the choice under every cell). It
// records line for the next cells. Outside GoNB ($GONB_TMP_DIR unset) it
// returns false.
func kernelSaw(line string) bool {
	dir := os.Getenv("GONB_TMP_DIR")
	if dir == "" {
		return false
	}
	path := filepath.Join(dir, kernelChoiceFile)
	prev, _ := os.ReadFile(path)
	for _, l := range strings.SplitAfter(string(prev), "\n") {
		if l == line {
			return true
		}
	}
	_ = os.WriteFile(path, append(prev, line...), 0o644) // best effort: at worst the line repeats
	return false
}

// newBackend starts config, turning a panic into an error naming config.
func newBackend(config string) (b compute.Backend, err error) {
	if !xlaLinked && (config == "xla" || strings.HasPrefix(config, "xla:")) {
		return nil, fmt.Errorf("lab: starting backend %q: the XLA backend is not linked in this build (build with -tags xla, e.g. GOFLAGS=-tags=xla, with cgo)", config)
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("lab: starting backend %q: panic: %v", config, r)
		}
	}()
	if strings.Contains(config, "parallelism=") {
		b, err = newQuietly(config)
	} else {
		b, err = compute.NewWithConfig(config)
	}
	if err != nil {
		return nil, fmt.Errorf("lab: starting backend %q: %w", config, err)
	}
	return b, nil
}

// stdoutMu serialises newQuietly's swaps of os.Stdout.
var stdoutMu sync.Mutex

// parallelismLine matches what the go backend prints to stdout when its
// configuration sets the parallelism ("Go backend: parallelism set to -1").
var parallelismLine = regexp.MustCompile(`^Go backend: parallelism set to -?\d+\n`)

// newQuietly starts config with os.Stdout redirected to a pipe and writes
// back everything but the go backend's "parallelism set to" line, which
// would otherwise appear in the output of every notebook cell that trains.
func newQuietly(config string) (compute.Backend, error) {
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	r, w, err := os.Pipe()
	if err != nil {
		return compute.NewWithConfig(config)
	}
	orig := os.Stdout
	captured := make(chan []byte, 1) // buffered: a panic below leaves nobody to receive
	go func() {
		data, _ := io.ReadAll(r)
		r.Close()
		captured <- data
	}()
	os.Stdout = w
	b, err := func() (compute.Backend, error) {
		defer func() { os.Stdout = orig; w.Close() }()
		return compute.NewWithConfig(config)
	}()
	if rest := parallelismLine.ReplaceAll(<-captured, nil); len(rest) > 0 {
		_, _ = orig.Write(rest)
	}
	return b, err
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
