package lab

import (
	"fmt"
	"io"
	"os"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"
	"github.com/robustpo/robustpo/lab/internal/render"
)

// Check states a claim of a notebook and verifies it: when ok it prints
// "✓ <claim>" on its own line to standard output, else it panics with
// "claim failed: <claim>", which fails the cell (and the headless notebook
// run). The claim is formatted with args as by fmt.Sprintf, so a literal
// percent sign is written %%:
//
//	lab.Check(pi[0] < 0.01, "π(a) = %.2e < 0.01: the preferred response has all but vanished", pi[0])
//
// Word the claim as a statement of what holds ("ρ = 0.712 is between 0.6 and
// 0.8"), with the measured values in it: it is the line a reader sees when
// the claim holds and the panic when it does not.
func Check(ok bool, claim string, args ...any) {
	check(os.Stdout, ok, claim, args...)
}

// check is Check writing to w.
func check(w io.Writer, ok bool, claim string, args ...any) {
	msg := fmt.Sprintf(claim, args...)
	if !ok {
		panic("claim failed: " + msg)
	}
	fmt.Fprintln(w, "✓ "+msg)
}

// Markdown shows a paragraph of prose whose numbers come from code: in a
// notebook as one text/markdown output (with text/plain beside it, for
// exports that keep only text), elsewhere printed to standard output. The
// text is formatted with args as by fmt.Sprintf; LaTeX math ($\pi_{ref}$)
// renders in Jupyter:
//
//	lab.Markdown("At ρ = %.1f e-DPO's win rate is %v, DPO's %v.", rho, e.CI("winrate"), d.CI("winrate"))
func Markdown(format string, args ...any) {
	markdown(os.Stdout, gonbui.IsNotebook, format, args...)
}

// markdown is Markdown writing to w outside a notebook.
func markdown(w io.Writer, notebook bool, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	if !notebook {
		fmt.Fprintln(w, text)
		return
	}
	render.Send(&protocol.DisplayData{Data: map[protocol.MIMEType]any{
		protocol.MIMETextMarkdown: text,
		protocol.MIMETextPlain:    text,
	}})
}
