package lab

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

// DefaultGoBackend is the pure-Go backend's configuration for finite runs
// (Train, Sweep) when GOMLX_BACKEND is unset or exactly "go", unless
// $ROBUSTPO_GO_BACKEND names another. "ops_sequential" runs a graph's ops
// one after another on the calling goroutine, each op splitting its own work
// (matmuls, GELU, softmax) over the backend's worker pool. Finite graphs are
// many tiny ops, for which starting a goroutine per op (the parallel modes)
// costs more than the op: a loop of 256 tabular Train runs took 62 s with
// DefaultSeqGoBackend against 22.6 s with this.
const DefaultGoBackend = "go:ops_sequential"

// DefaultSeqGoBackend is the pure-Go backend's configuration for sequence
// models (TrainSeq, SweepSeq, SeqBackend), with the same overrides as
// DefaultGoBackend. "ops_parallel" runs independent ops of a graph
// concurrently (a transformer's backward has many: the weight and input
// gradients of every layer), which made the tiny DPO step 1.3–1.5× faster
// than ops_sequential on 2 cores (`go run ./kernel bench --sweep=false`,
// alternating runs: 0.33–0.38 s/step against 0.49–0.52). "parallelism=-1"
// (an unbounded worker pool) is what makes that mode safe: with the
// backend's bounded pool (2·GOMAXPROCS workers) an op that holds a worker
// waits in WaitToStart/Saturate for workers held by other such ops, and the
// step deadlocks within a few steps (goroutine dump: every pool goroutine in
// sync.Cond.Wait); an unbounded pool starts every task at once.
const DefaultSeqGoBackend = "go:ops_parallel,parallelism=-1"

// GoBackendEnv names the environment variable that overrides
// DefaultGoBackend and DefaultSeqGoBackend.
const GoBackendEnv = "ROBUSTPO_GO_BACKEND"

// Backend returns a new compute backend (the caller Finalizes it), chosen
// by Discovery's Candidates, best first: $GOMLX_BACKEND when set; an
// NVIDIA GPU with a CUDA PJRT plugin ("xla:<abs path>"); an installed XLA CPU
// plugin ("xla:cpu"); the pure-Go backend (DefaultGoBackend). The first call
// prints the choice in one line to stdout, as information, not an error (in a
// GoNB notebook, under the first cell that starts a backend, and again only
// when the choice changes); a candidate that fails to start is skipped with
// one "lab: warning: …" line on stderr saying why and what runs instead.
// Nothing is ever downloaded. It never
// panics: when the last candidate fails too (or $GOMLX_BACKEND names a backend
// that does not start) the error names the configuration.
//
// XLA backends need go-xla's PJRT loader linked in: build with cgo and the
// tag "xla" (go build -tags xla ..., or GOFLAGS=-tags=xla for go run, go
// test and GoNB). A build without it falls back from a discovered plugin
// with a line saying so. The tag is opt-in because the XLA backend makes
// every link about 3 s slower (cgo's external linker; measured 4.1 s vs
// 1.2 s for a small program importing lab) and the binary 16 MB larger.
func Backend() (compute.Backend, error) {
	b, _, err := StartBackend(BackendCandidates())
	return b, err
}

// BackendCandidates returns the backends Backend tries, best first: this
// machine's Discovery, with $ROBUSTPO_GO_BACKEND as the pure-Go backend's
// configuration when set.
func BackendCandidates() []BackendCandidate {
	return Discovery{GoConfig: os.Getenv(GoBackendEnv)}.Candidates()
}

// SeqBackend is Backend for sequence models: the same choice, except that
// the pure-Go backend runs with DefaultSeqGoBackend. TrainSeq and SweepSeq
// use it; so should a notebook that builds lab/seqmodel models itself.
func SeqBackend() (compute.Backend, error) {
	b, _, err := StartBackend(SeqBackendCandidates())
	return b, err
}

// SeqBackendCandidates returns the backends SeqBackend tries, best first.
func SeqBackendCandidates() []BackendCandidate {
	goConfig := os.Getenv(GoBackendEnv)
	if goConfig == "" {
		goConfig = DefaultSeqGoBackend
	}
	return Discovery{GoConfig: goConfig}.Candidates()
}

// StartBackend starts the first of cands that works, as Backend does (same
// one-time line on stdout, one warning line on stderr per fallback), and
// returns it with the candidate that started.
func StartBackend(cands []BackendCandidate) (compute.Backend, BackendCandidate, error) {
	return startBackend(cands, stdout{}, os.Stderr, &printOnce)
}

// stdout writes to os.Stdout as it is at each write (newQuietly swaps it
// while a backend starts).
type stdout struct{}

func (stdout) Write(p []byte) (int, error) { return os.Stdout.Write(p) }

// MustBackend is Backend for notebooks and examples: it panics on error.
func MustBackend() compute.Backend {
	b, err := Backend()
	if err != nil {
		panic(err)
	}
	return b
}

// printOnce guards the one line Backend prints about its choice.
var printOnce sync.Once

// startBackend starts the first candidate that works. It reports the
// choice on info once per once (information: a notebook shows stdout plainly),
// and each failure that falls back on warn as a warning line (a notebook shows
// stderr in red).
func startBackend(cands []BackendCandidate, info, warn io.Writer, once *sync.Once) (compute.Backend, BackendCandidate, error) {
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
		return nil, BackendCandidate{}, errors.New("lab: no backend candidates")
	}
	return nil, BackendCandidate{}, errs[len(errs)-1]
}

// kernelChoiceFile is where kernelSaw keeps the last choice line, in the
// GoNB kernel's temporary directory.
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

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
