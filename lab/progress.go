package lab

import (
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
)

// progressEvery is the minimum interval between two redraws of a progress bar.
const progressEvery = 250 * time.Millisecond

// runProgressDelay is how long a single run (Train, TrainSeq) goes before
// its progress bar appears: shorter runs print nothing.
const runProgressDelay = 2 * time.Second

// ProgressEnv names the environment variable that controls progress bars:
// "0" turns every bar off (a single run's and a sweep's, in a terminal and in
// a notebook); "1" draws a single run's bar on stderr even when stderr is not
// a terminal or the program is a test. Unset, a single run's bar is drawn in a
// GoNB notebook (an output block updated in place) and on stderr when stderr
// is a terminal and the program is not a test (go test prints nothing).
// Sweep's bar follows SweepOptions.
const ProgressEnv = "ROBUSTPO_PROGRESS"

// progress is a bar with an ETA for long loops: a line redrawn in place
// ("\r") on a terminal writer, and a transient output block updated in place
// in a GoNB notebook. Units are whatever the caller counts (config-steps for
// sweeps, optimizer steps for a single run). It is safe for concurrent use,
// and a nil *progress does nothing.
type progress struct {
	mu          sync.Mutex
	label       string
	total, done int
	start, last time.Time
	w           io.Writer // terminal output; nil: none
	nbID        string    // notebook display id; "": none
	now         func() time.Time
	update      func(id, html string) // gonbui.UpdateHTML

	// A single run's bar (newRunProgress) sets these.
	steps    bool          // the line shows "step n/N" and the last loss
	delay    time.Duration // nothing is drawn before start+delay
	erase    bool          // finish erases a drawn bar instead of ending its line
	loss     float64       // last reported loss (NaN: none)
	origin   time.Time     // the first report: the ETA's rate counts from here
	fromDone int           // units done at origin
	drawn    bool          // something was drawn
	width    int           // length of the last terminal line drawn
}

// newProgress starts a bar of total units. Output goes to w (nil: none) and,
// inside a notebook, to an updating output block.
func newProgress(label string, total int, w io.Writer) *progress {
	if os.Getenv(ProgressEnv) == "0" {
		return nil
	}
	p := &progress{label: label, total: total, w: w, now: time.Now, update: gonbui.UpdateHTML, loss: math.NaN()}
	if gonbui.IsNotebook {
		p.nbID = "robustpo_progress_" + gonbui.UniqueId()
		p.w = nil
	}
	p.start = p.now()
	return p
}

// newRunProgress starts the bar of a single run of total optimizer steps:
// in a notebook an output block, else on stderr when runProgressWriter says
// so; nil when there is nowhere to draw or nothing to count. It appears only
// after runProgressDelay, shows the step, the last loss and an ETA, and is
// erased by finish.
func newRunProgress(label string, total int) *progress {
	if total <= 0 || os.Getenv(ProgressEnv) == "0" {
		return nil
	}
	var nbID string
	if gonbui.IsNotebook {
		nbID = "robustpo_progress_" + gonbui.UniqueId()
	}
	w := runProgressWriter()
	if nbID == "" && w == nil {
		return nil
	}
	return newRunProgressTo(label, total, w, nbID, time.Now)
}

// newRunProgressTo is newRunProgress drawing on w (nil: none) and on the
// notebook block nbID ("": none), reading the time from now.
func newRunProgressTo(label string, total int, w io.Writer, nbID string, now func() time.Time) *progress {
	p := &progress{label: label, total: total, w: w, nbID: nbID, now: now, update: gonbui.UpdateHTML,
		steps: true, delay: runProgressDelay, erase: true, loss: math.NaN()}
	if nbID != "" {
		p.w = nil
	}
	p.start = now()
	return p
}

// runProgressWriter returns where a single run's terminal bar goes: stderr
// when $ROBUSTPO_PROGRESS is "1", or when stderr is a terminal and this is not
// a test binary; else nil.
func runProgressWriter() io.Writer {
	switch os.Getenv(ProgressEnv) {
	case "0":
		return nil
	case "1":
		return os.Stderr
	}
	if testing.Testing() {
		return nil
	}
	if fi, err := os.Stderr.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return os.Stderr
}

// add records n more units done and redraws at most every progressEvery.
func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addLocked(n)
}

// report records n more steps done, the last with loss, and redraws at most
// every progressEvery (the trainers' callback).
func (p *progress) report(n int, loss float64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loss = loss
	p.addLocked(n)
}

func (p *progress) addLocked(n int) {
	t := p.now()
	if p.origin.IsZero() {
		// The first chunk includes compiling the step: the rate starts after it.
		p.origin, p.fromDone = t, p.done+n
	}
	p.done = min(p.total, p.done+n)
	if t.Sub(p.start) >= p.delay && t.Sub(p.last) >= progressEvery {
		p.last = t
		p.drawLocked()
	}
}

// finish ends the bar. A sweep's bar draws its final state and ends the line
// (terminal) or removes the transient block (notebook); a single run's bar is
// erased if it was drawn, and nothing is printed if it was not.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.erase {
		if !p.drawn {
			return
		}
		if p.w != nil {
			fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
		}
		if p.nbID != "" {
			p.update(p.nbID, "")
		}
		return
	}
	p.drawLocked()
	if p.w != nil {
		fmt.Fprintln(p.w)
	}
	if p.nbID != "" {
		p.update(p.nbID, "")
	}
}

func (p *progress) drawLocked() {
	t := p.now()
	var line string
	if p.steps {
		eta := time.Duration(-1)
		if p.done > p.fromDone {
			eta = time.Duration(float64(t.Sub(p.origin)) * float64(p.total-p.done) / float64(p.done-p.fromDone))
		} else if p.done >= p.total {
			eta = 0
		}
		line = stepProgressLine(p.label, p.done, p.total, p.loss, t.Sub(p.start), eta, 30)
	} else {
		line = progressLine(p.label, p.done, p.total, t.Sub(p.start), 30)
	}
	p.drawn = true
	if p.w != nil {
		pad := ""
		if n := len([]rune(line)); n < p.width {
			pad = strings.Repeat(" ", p.width-n)
		} else {
			p.width = n
		}
		fmt.Fprintf(p.w, "\r%s%s", line, pad)
	}
	if p.nbID != "" {
		p.update(p.nbID, "<pre>"+html.EscapeString(line)+"</pre>")
	}
}

// progressLine renders "label [#####.....]  50% 128/256  elapsed 2s  ETA 2s"
// with a bar of width characters. The ETA extrapolates the mean rate so far,
// elapsed·(total − done)/done, and reads "?" until something is done.
func progressLine(label string, done, total int, elapsed time.Duration, width int) string {
	eta := time.Duration(-1)
	switch {
	case done >= total:
		eta = 0
	case done > 0:
		eta = time.Duration(float64(elapsed) * float64(total-done) / float64(done))
	}
	return fmt.Sprintf("%s %s %d/%d  elapsed %s  ETA %s", label, progressBar(done, total, width), done, total,
		roundDuration(elapsed), etaString(eta))
}

// stepProgressLine renders a single run's bar,
// "label [#####.....]  50% step 500/1000  loss 0.6931  elapsed 4s  ETA 3.9s",
// with the loss left out when NaN and the ETA "?" when negative.
func stepProgressLine(label string, done, total int, loss float64, elapsed, eta time.Duration, width int) string {
	l := ""
	if !math.IsNaN(loss) {
		l = fmt.Sprintf("  loss %.4g", loss)
	}
	return fmt.Sprintf("%s %s step %d/%d%s  elapsed %s  ETA %s", label, progressBar(done, total, width), done, total, l,
		roundDuration(elapsed), etaString(eta))
}

// progressBar renders "[#####.....]  50%" with a bar of width characters.
func progressBar(done, total, width int) string {
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	filled := min(width, int(frac*float64(width)))
	return fmt.Sprintf("[%s%s] %3.0f%%", strings.Repeat("#", filled), strings.Repeat(".", width-filled), 100*frac)
}

// etaString is the rounded eta, or "?" when it is negative (unknown).
func etaString(eta time.Duration) string {
	if eta < 0 {
		return "?"
	}
	return roundDuration(eta).String()
}

// roundDuration rounds d to 0.1 s below a minute and to 1 s above.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
