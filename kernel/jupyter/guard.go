package jupyter

// GuardArg is the first argument of a program started as a kernel's guard
// (see Options.Guard): a program that sets Options.Guard must begin main
// with
//
//	if len(os.Args) > 1 && os.Args[1] == jupyter.GuardArg {
//		os.Exit(jupyter.RunGuard(os.Args[2:], leftovers))
//	}
const GuardArg = "__jupyter-kernel-guard"

// KernelTraces is what a guard knows about its kernel when it cleans up,
// for a Leftovers function to find the files the kernel left behind.
type KernelTraces struct {
	// Env is the environment the kernel was started with.
	Env []string
	// Output is the start (up to 16 KiB) of what the kernel wrote to its
	// stdout and stderr.
	Output []byte
	// Environs are the environments of the processes the kernel had
	// started that were still running when the cleanup began.
	Environs [][]string
}

// Leftovers names the files and directories a kernel creates and removes
// itself when it stops cleanly, which its guard removes when the kernel
// could not (it was killed, or crashed). Nil means none.
type Leftovers func(KernelTraces) []string

// guardOutputHead is how much of the kernel's output a guard keeps for
// KernelTraces.Output.
const guardOutputHead = 16 << 10
