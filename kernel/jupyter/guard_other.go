//go:build !linux

package jupyter

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// Guards need Linux (PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG, /proc):
// elsewhere Start runs the kernel directly.
const guardSupported = false

type guardLink struct{}

func startGuarded(Options, []string, string) (*exec.Cmd, *guardLink, error) {
	return nil, nil, errors.New("jupyter: kernel guards need Linux")
}

func (*guardLink) pid() int                           { return 0 }
func (*guardLink) kernelExit(*os.ProcessState) string { return "" }
func (*guardLink) stop()                              {}

// RunGuard reports that guards need Linux.
func RunGuard([]string, Leftovers) int {
	fmt.Fprintln(os.Stderr, "jupyter guard: kernel guards need Linux")
	return 2
}
