package lab

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/comms"
	"github.com/janpfeifer/gonb/gonbui/dom"
	"github.com/janpfeifer/gonb/gonbui/protocol"
	"github.com/janpfeifer/gonb/gonbui/widgets"
	"github.com/robustpo/robustpo/lab/internal/render"
)

// probeWait is how long each try of noFrontEnd waits for the front end's
// reply once its probe is sent, and probeTries the number of tries (GoNB
// itself first waits up to 3 s for a front end to open its comms channel
// at each). A browser answers the first try within a fraction of a second;
// nbconvert, which has no browser, pays probeTries × (3 s + probeWait) once
// per explorer cell.
const (
	probeWait  = 2 * time.Second
	probeTries = 3
)

// gonbConnectWait bounds GoNB's wait for a front end to open its comms
// channel (its comms.WaitForConnectionTimeout, 3 s in v0.11.4), plus a margin.
const gonbConnectWait = 5 * time.Second

// jupyterEnv is set by Jupyter's kernel launcher (jupyter_client, used by
// the notebook server, JupyterLab and nbconvert) in the environment of the
// kernels it starts, which GoNB passes on to cell programs.
const jupyterEnv = "JPY_PARENT_PID"

// noFrontEnd returns why no front end that runs GoNB's comms (Jupyter with
// a live kernel, in a browser) can answer this cell, or "" when one answers.
//
// A kernel that Jupyter did not start (`go run ./kernel run`, the REPL; see
// jupyterEnv) has none, and noFrontEnd says so at once, sending nothing.
// Otherwise it probes up to probeTries times: it subscribes to a fresh
// address, which makes GoNB install its WebSocket JavaScript in the front
// end (or check with a heartbeat that the one installed still answers) and
// wait up to 3 s for it to connect, then sends a script that replies on that
// address, and waits wait for the reply. Another try is needed when GoNB's
// script gave up on a connection that was slow to be acknowledged (it waits
// 500 ms for that, and a loaded machine can take longer): the next try's
// heartbeat finds it gone and installs it again. Without a browser
// (nbconvert) nothing replies; GoNB's installation script then stays in the
// cell's output there (GoNB removes it only when a front end connects).
//
// The addresses stay subscribed: GoNB v0.11.4's comms dispatcher never
// unlocks its subscription table when a value arrives for an address nobody
// listens to, so a late reply to a closed address would freeze every later
// widget.
func noFrontEnd(ctx context.Context, wait time.Duration) string {
	switch {
	case !gonbui.IsNotebook:
		return "not in a notebook"
	case os.Getenv(jupyterEnv) == "":
		return "this kernel was not started by Jupyter"
	case gonbui.Open() != nil:
		return fmt.Sprintf("no connection to GoNB: %v", gonbui.Error())
	}
	replies := make(chan struct{}, probeTries)
	for range probeTries {
		addr := "/robustpo/explore/probe/" + gonbui.UniqueId()
		c := comms.Listen[int](addr).LatestOnly()
		go func() {
			<-c.C
			replies <- struct{}{}
		}()
		sent := make(chan struct{})
		go func() {
			dom.TransientJavascript(fmt.Sprintf(`(() => { const c = globalThis.gonb_comm; if (c) { c.send(%q, 1); } })();`, addr))
			close(sent)
		}()
		select {
		case <-sent:
		case <-replies:
			return ""
		case <-ctx.Done():
			return ctx.Err().Error()
		case <-time.After(gonbConnectWait + wait):
			return "GoNB did not take the probe"
		}
		select {
		case <-replies:
			return ""
		case <-ctx.Done():
			return ctx.Err().Error()
		case <-time.After(wait):
		}
	}
	return fmt.Sprintf("no answer from a front end to %d probes", probeTries)
}

// change is a control moved to a position.
type change struct{ control, pos int }

// trained is the outcome of training the setting at pos.
type trained struct {
	pos  []int
	run  *Run
	err  error
	took time.Duration
}

// live shows the controls and the view and runs until Stop, SIGINT or ctx
// ends; it then leaves the last view as a static figure and returns its Run.
func (s *explorerState) live(ctx context.Context) (*Run, error) {
	uid := gonbui.UniqueId()
	controlsID, viewID := "robustpo_explore_controls_"+uid, "robustpo_explore_view_"+uid
	root := "robustpo-explore-" + uid
	pos := s.start

	var b strings.Builder
	fmt.Fprintf(&b, `<div id="%s" class="robustpo-explore-controls" style="font-family: sans-serif; font-size: 90%%"><table>`, root)
	for i, c := range s.controls {
		value := ""
		if c.names == nil {
			value = html.EscapeString(c.valueName(pos[i]))
		}
		fmt.Fprintf(&b, `<tr data-control="%s"><td style="text-align: right">%s</td><td id="%s-slot-%d"></td><td id="%s-value-%d" style="min-width: 4em; text-align: left">%s</td></tr>`,
			html.EscapeString(c.label), html.EscapeString(c.label), root, i, root, i, value)
	}
	fmt.Fprintf(&b, `<tr><td></td><td id="%s-stop"></td><td></td></tr></table></div>`, root)
	gonbui.UpdateHTML(controlsID, b.String())

	changes := make(chan change, 64)
	var script strings.Builder
	for i, c := range s.controls {
		slot := fmt.Sprintf("%s-slot-%d", root, i)
		htmlID := fmt.Sprintf("%s-control-%d", root, i)
		var ch *comms.AddressChan[int]
		if c.names != nil {
			ch = widgets.Select(c.names).SetDefault(pos[i]).WithHtmlId(htmlID).AppendTo(slot).Done().Listen().LatestOnly()
		} else {
			ch = widgets.Slider(0, len(c.values)-1, pos[i]).WithHtmlId(htmlID).AppendTo(slot).Done().Listen().LatestOnly()
			names := make([]string, len(c.values))
			for j := range names {
				names[j] = c.valueName(j)
			}
			js, _ := json.Marshal(names)
			// The value beside a slider follows it as it moves, before the
			// program hears of it.
			fmt.Fprintf(&script, `(() => { const s = document.getElementById(%q), v = document.getElementById(%q), n = %s;
	if (s && v) { s.addEventListener("input", () => { v.textContent = n[s.value]; }); } })();
`, htmlID, fmt.Sprintf("%s-value-%d", root, i), js)
		}
		go func() {
			for p := range ch.C {
				changes <- change{i, p}
			}
		}()
	}
	stop := widgets.Button("Stop").WithHtmlId(root + "-stop-button").AppendTo(root + "-stop").Done().Listen().LatestOnly()
	if script.Len() > 0 {
		dom.TransientJavascript(script.String())
	}

	shown, shownPos := s.loop(ctx, changes, stop.C, func(t trained, seq int) {
		if t.err != nil {
			gonbui.UpdateHTML(viewID, fmt.Sprintf(`<div class="robustpo-explore-view robustpo-explore-error" data-seq="%d"><pre>%s: %s</pre></div>`,
				seq, html.EscapeString(s.describe(t.pos)), html.EscapeString(t.err.Error())))
			return
		}
		gonbui.UpdateHTML(viewID, s.viewHTML(t.run, seq, t.took))
	})
	return s.finish(shown, shownPos, controlsID, viewID)
}

// loop trains the setting the controls select, from s.start on, and calls
// view with each run that finishes while the controls still select it (seq
// counts the runs shown; a failed run is passed with its error and the
// previous seq). A change (a control moved to a position) cancels the run in
// flight, the next starting once it has returned. It ends on a value from
// stop or when ctx ends, cancelling the run in flight, and returns the last
// Run shown and its positions (nil when none was).
func (s *explorerState) loop(ctx context.Context, changes <-chan change, stop <-chan int, view func(t trained, seq int)) (*Run, []int) {
	pos := slices.Clone(s.start)
	done := make(chan trained, 1)
	var cancel context.CancelFunc // of the run in flight; nil when none
	start := func() {
		var tctx context.Context
		tctx, cancel = context.WithCancel(ctx)
		p := slices.Clone(pos)
		go func() {
			t0 := time.Now()
			run, err := s.train(tctx, p)
			done <- trained{p, run, err, time.Since(t0)}
		}()
	}
	var shown *Run
	var shownPos []int
	seq := 0
	start()
loop:
	for {
		select {
		case c := <-changes:
			if c.pos < 0 || c.pos >= s.controls[c.control].positions() || pos[c.control] == c.pos {
				continue
			}
			pos[c.control] = c.pos
			if cancel != nil {
				cancel() // the next run starts when this one has returned
			} else {
				start()
			}
		case t := <-done:
			cancel()
			cancel = nil
			if !slices.Equal(t.pos, pos) {
				start() // the controls moved on while it trained
				continue
			}
			if t.err != nil {
				if ctx.Err() != nil {
					break loop
				}
				view(t, seq)
				continue
			}
			seq++
			shown, shownPos = t.run, t.pos
			view(t, seq)
		case <-stop:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	if cancel != nil {
		cancel()
		<-done
	}
	return shown, shownPos
}

// finish replaces the live view by the static figure of run (the bundle
// Figure.Display sends) and its metrics table, and the controls by one line
// naming the setting shown.
func (s *explorerState) finish(run *Run, pos []int, controlsID, viewID string) (*Run, error) {
	line := "Explorer stopped before a run finished: run the cell again to explore."
	if run != nil {
		line = fmt.Sprintf("Explorer stopped at %s (%s): run the cell again to explore.", s.describe(pos), run.Label)
	}
	render.Send(&protocol.DisplayData{DisplayID: controlsID, Data: map[protocol.MIMEType]any{
		protocol.MIMETextHTML:  `<p style="font-family: sans-serif; font-size: 90%">` + html.EscapeString(line) + `</p>`,
		protocol.MIMETextPlain: line,
	}})
	if run == nil {
		gonbui.UpdateHTML(viewID, "")
		return nil, nil
	}
	bundle := s.e.figure(run).bundle()
	bundle.DisplayID = viewID
	render.Send(bundle)
	sendSummary(run, "")
	return run, nil
}

// viewHTML is the live view of run: a caption, the figure as an SVG image
// and the metrics table, in a div whose data attributes give the run's label,
// Config (JSON) and final policy π[x][y] (JSON, every digit) to scripts and
// tests, and seq, the number of views shown so far.
func (s *explorerState) viewHTML(run *Run, seq int, took time.Duration) string {
	svg, err := s.e.figure(run).SVG()
	img := ""
	if err != nil {
		img = "<pre>" + html.EscapeString(err.Error()) + "</pre>"
	} else {
		img = `<img alt="` + html.EscapeString(run.Label) + `" src="data:image/svg+xml;base64,` + base64.StdEncoding.EncodeToString(svg) + `">`
	}
	cfg, _ := json.Marshal(run.Config)
	probs, _ := json.Marshal(run.Final)
	htmlTable, _ := summaryTables(run)
	return fmt.Sprintf(`<div class="robustpo-explore-view" data-seq="%d" data-label="%s" data-config="%s" data-probs="%s">`+
		`<div style="font-family: sans-serif; font-size: 90%%">%s</div>%s%s</div>`,
		seq, html.EscapeString(run.Label), html.EscapeString(string(cfg)), html.EscapeString(string(probs)),
		html.EscapeString(runCaption(run, took)), img, htmlTable)
}

// runCaption says what run is and how it was obtained.
func runCaption(run *Run, took time.Duration) string {
	how := fmt.Sprintf("trained in %v", took.Round(time.Millisecond))
	if run.Cached {
		how = fmt.Sprintf("from the run cache (%v)", took.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s: %d steps, %s", run.Label, run.StepsDone, how)
}

// summaryRow is a metric of the explorer's table, its label in words.
type summaryRow struct{ metric, label string }

var summaryRows = []summaryRow{
	{"mass/train_support", "mass on the training support"},
	{"implicit_reward/max_abs", "largest implicit reward max|β·h|"},
	{"kl/forward", "KL(π_ref‖π)"},
	{"kl/reverse", "KL(π‖π_ref)"},
	{"oracle/normalized_regret", "normalized regret (0: π_ref, 1: π*)"},
	{"rewards/accuracies", "pairs ranked as labelled"},
	{"loss", "training loss"},
}

// summaryTables returns the explorer's metrics table of run, as HTML and as
// text: each metric the run logged, its value for π and, where it is a
// function of the policy, for π_ref and π*.
func summaryTables(run *Run) (htmlTable, text string) {
	num := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	var h strings.Builder
	var t strings.Builder
	tw := tabwriter.NewWriter(&t, 0, 0, 2, ' ', 0)
	h.WriteString(`<table class="robustpo-explore-metrics"><thead><tr><th style="text-align: left">metric</th><th>π</th><th>π_ref</th><th>π*</th></tr></thead><tbody>`)
	fmt.Fprintln(tw, "metric\tπ\tπ_ref\tπ*")
	for _, r := range summaryRows {
		if run.History == nil || run.History.Series(r.metric) == nil {
			continue
		}
		ref, opt := baselines(run, r.metric)
		if r.metric == "oracle/normalized_regret" {
			ref, opt = 0, 1
		}
		cells := []string{num(run.History.Last(r.metric)), num(ref), num(opt)}
		fmt.Fprintf(&h, `<tr data-metric="%s"><td style="text-align: left">%s</td>`, html.EscapeString(r.metric), html.EscapeString(r.label))
		for _, c := range cells {
			fmt.Fprintf(&h, "<td>%s</td>", c)
		}
		h.WriteString("</tr>")
		fmt.Fprintf(tw, "%s\t%s\n", r.label, strings.Join(cells, "\t"))
	}
	h.WriteString("</tbody></table>")
	_ = tw.Flush()
	return h.String(), strings.TrimRight(t.String(), "\n")
}

// sendSummary displays run's metrics table (text/html beside text/plain),
// as a new output, or in place of displayID when it is not "".
func sendSummary(run *Run, displayID string) {
	htmlTable, text := summaryTables(run)
	caption := run.Label + ", made on: " + run.Provenance.String()
	render.Send(&protocol.DisplayData{DisplayID: displayID, Data: map[protocol.MIMEType]any{
		protocol.MIMETextHTML:  htmlTable + `<p style="font-size: 80%">` + html.EscapeString(caption) + `</p>`,
		protocol.MIMETextPlain: text + "\n" + caption,
	}})
}
