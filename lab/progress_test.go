package lab

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
)

// fakeClock is a time source the test advances by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// TestRunProgressTerminal drives a single run's terminal bar with a fake
// clock: nothing before 2 s, then a line with the step, the loss and the ETA,
// erased when the run finishes; a run under 2 s prints nothing.
func TestRunProgressTerminal(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	var buf bytes.Buffer
	p := newRunProgressTo("DPO β=0.1", 1000, &buf, "", clock.now)
	// 8 steps every 100 ms: the first report (after compiling) is the ETA's origin.
	for range 19 {
		clock.advance(100 * time.Millisecond)
		p.report(8, 0.6931)
	}
	if buf.Len() != 0 {
		t.Fatalf("before 2 s the bar printed %q, want nothing", buf.String())
	}
	clock.advance(100 * time.Millisecond)
	p.report(8, 0.6931) // t = 2 s, done = 160
	clock.advance(100 * time.Millisecond)
	p.report(8, 0.5) // t = 2.1 s, done = 168: redraws are 250 ms apart, so nothing new
	clock.advance(200 * time.Millisecond)
	p.report(8, 0.25) // t = 2.3 s, done = 176
	out := buf.String()
	// At 2.3 s: 168 steps in 2.2 s since the origin (0.1 s, 8 steps), 824 to go.
	want := "\rDPO β=0.1 [#####.........................]  18% step 176/1000  loss 0.25  elapsed 2.3s  ETA 10.8s"
	if !strings.HasSuffix(out, want) {
		t.Fatalf("bar %q, want it to end with %q", out, want)
	}
	if n := strings.Count(out, "\r"); n != 2 {
		t.Errorf("%d redraws (%q), want 2 (at 2 s and 2.3 s)", n, out)
	}
	buf.Reset()
	p.finish()
	if got, want := buf.String(), "\r"+strings.Repeat(" ", len([]rune(want))-1)+"\r"; got != want {
		t.Errorf("finish wrote %q, want the line erased: %q", got, want)
	}

	// A run under 2 s prints nothing, not even at finish.
	buf.Reset()
	q := newRunProgressTo("short", 100, &buf, "", clock.now)
	for range 19 {
		clock.advance(100 * time.Millisecond)
		q.report(5, 1)
	}
	q.finish()
	if buf.Len() != 0 {
		t.Errorf("a 1.9 s run printed %q, want nothing", buf.String())
	}
}

// TestRunProgressNotebook checks a single run's notebook block: no update
// before 2 s, then the line in an updating block, cleared at finish; a short
// run sends nothing.
func TestRunProgressNotebook(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	type update struct{ id, html string }
	var got []update
	p := newRunProgressTo("IPO β=1", 50, nil, "nb1", clock.now)
	p.update = func(id, html string) { got = append(got, update{id, html}) }
	for range 3 {
		clock.advance(time.Second / 2)
		p.report(1, 0.125)
	}
	if len(got) != 0 {
		t.Fatalf("before 2 s: updates %q, want none", got)
	}
	clock.advance(3 * time.Second / 2)
	p.report(1, 0.125) // t = 3 s, done = 4: 3 steps in 2.5 s since the origin, 46 to go
	want := "<pre>IPO β=1 [##............................]   8% step 4/50  loss 0.125  elapsed 3s  ETA 38.3s</pre>"
	if len(got) != 1 || got[0] != (update{"nb1", want}) {
		t.Fatalf("updates %q, want one %q", got, want)
	}
	p.finish()
	if len(got) != 2 || got[1] != (update{"nb1", ""}) {
		t.Errorf("finish: updates %q, want the block cleared", got)
	}

	got = nil
	q := newRunProgressTo("short", 50, nil, "nb2", clock.now)
	q.update = p.update
	clock.advance(time.Second)
	q.report(50, 0.1)
	q.finish()
	if len(got) != 0 {
		t.Errorf("a 1 s run sent %q, want nothing", got)
	}
}

// TestStepProgressLine checks the line's format, an unknown ETA and a missing loss.
func TestStepProgressLine(t *testing.T) {
	got := stepProgressLine("DPO", 500, 1000, 0.69314718, 4*time.Second, 3900*time.Millisecond, 10)
	if want := "DPO [#####.....]  50% step 500/1000  loss 0.6931  elapsed 4s  ETA 3.9s"; got != want {
		t.Errorf("stepProgressLine = %q, want %q", got, want)
	}
	if got := stepProgressLine("x", 1, 10, math.NaN(), 0, -1, 2); got != "x [..]  10% step 1/10  elapsed 0s  ETA ?" {
		t.Errorf("no loss, no ETA: %q", got)
	}
}

// TestRunProgressWhere checks where a single run's bar goes: nowhere under
// go test by default or with ROBUSTPO_PROGRESS=0, stderr with
// ROBUSTPO_PROGRESS=1.
func TestRunProgressWhere(t *testing.T) {
	if gonbui.IsNotebook {
		t.Skip("the test process runs in a notebook")
	}
	t.Setenv(ProgressEnv, "")
	if p := newRunProgress("x", 10); p != nil {
		t.Errorf("under go test: a bar on %v, want none", p.w)
	}
	t.Setenv(ProgressEnv, "0")
	if p := newRunProgress("x", 10); p != nil {
		t.Error("ROBUSTPO_PROGRESS=0: a bar, want none")
	}
	if p := newProgress("sweep", 10, &bytes.Buffer{}); p != nil {
		t.Error("ROBUSTPO_PROGRESS=0: a sweep bar, want none")
	}
	t.Setenv(ProgressEnv, "1")
	if p := newRunProgress("x", 10); p == nil || p.w == nil {
		t.Error("ROBUSTPO_PROGRESS=1: no terminal bar")
	}
	if p := newRunProgress("x", 0); p != nil {
		t.Error("no steps: a bar, want none")
	}
}
