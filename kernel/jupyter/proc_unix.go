//go:build unix

package jupyter

import (
	"crypto/rand"
	"os/exec"
	"syscall"
)

var randRead = rand.Read

// setProcessGroup makes the kernel the leader of a new process group, so
// killProcessGroup reaches the programs it starts.
func setProcessGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	setParentDeathSignal(cmd.SysProcAttr)
}

// killProcessGroup sends SIGKILL to the kernel's process group (the group
// may outlive its leader when cell programs are still running).
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
