package lab

import (
	"fmt"
	"io"
	"os"
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
