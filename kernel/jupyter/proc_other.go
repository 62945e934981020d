//go:build !unix

package jupyter

import (
	"crypto/rand"
	"os/exec"
)

var randRead = rand.Read

func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
