//go:build unix && !linux

package jupyter

import "syscall"

func setParentDeathSignal(*syscall.SysProcAttr) {}
