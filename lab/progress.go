package lab

import (
	"fmt"
	"html"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
)

// progressEvery is the minimum interval between two redraws of a progress bar.
const progressEvery = 250 * time.Millisecond

// progress is a bar with an ETA for long loops: a line redrawn in place
// ("\r") on a terminal writer, and a transient output block updated in place
// in a GoNB notebook. Units are whatever the caller counts (config-steps for
// sweeps). It is safe for concurrent use.
type progress struct {
	mu          sync.Mutex
	label       string
	total, done int
	start, last time.Time
	w           io.Writer // terminal output; nil: none
	nbID        string    // notebook display id; "": none
	now         func() time.Time
}

// newProgress starts a bar of total units. Output goes to w (nil: none) and,
// inside a notebook, to an updating output block.
func newProgress(label string, total int, w io.Writer) *progress {
	p := &progress{label: label, total: total, w: w, now: time.Now}
	if gonbui.IsNotebook {
		p.nbID = "robustpo_progress_" + gonbui.UniqueId()
		p.w = nil
	}
	p.start = p.now()
	return p
}

// add records n more units done and redraws at most every progressEvery.
func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = min(p.total, p.done+n)
	if t := p.now(); t.Sub(p.last) >= progressEvery {
		p.last = t
		p.drawLocked()
	}
}

// finish draws the final state and ends the line (terminal) or removes the
// transient block (notebook).
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawLocked()
	if p.w != nil {
		fmt.Fprintln(p.w)
	}
	if p.nbID != "" {
		gonbui.UpdateHTML(p.nbID, "")
	}
}

func (p *progress) drawLocked() {
	line := progressLine(p.label, p.done, p.total, p.now().Sub(p.start), 30)
	if p.w != nil {
		fmt.Fprintf(p.w, "\r%s", line)
	}
	if p.nbID != "" {
		gonbui.UpdateHTML(p.nbID, "<pre>"+html.EscapeString(line)+"</pre>")
	}
}

// progressLine renders "label [#####.....]  50% 128/256  elapsed 2s  ETA 2s"
// with a bar of width characters. The ETA extrapolates the mean rate so far,
// elapsed·(total − done)/done, and reads "?" until something is done.
func progressLine(label string, done, total int, elapsed time.Duration, width int) string {
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	filled := min(width, int(frac*float64(width)))
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	eta := "?"
	switch {
	case done >= total:
		eta = "0s"
	case done > 0:
		eta = roundDuration(time.Duration(float64(elapsed) * float64(total-done) / float64(done))).String()
	}
	return fmt.Sprintf("%s [%s] %3.0f%% %d/%d  elapsed %s  ETA %s", label, bar, 100*frac, done, total,
		roundDuration(elapsed), eta)
}

// roundDuration rounds d to 0.1 s below a minute and to 1 s above.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
