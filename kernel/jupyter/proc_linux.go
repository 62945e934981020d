package jupyter

import "syscall"

// setParentDeathSignal makes Linux kill the kernel if this process dies
// without running Close (for example on SIGKILL).
func setParentDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
