package jupyter

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A guard is a second run of the client's program (os.Executable, first
// argument GuardArg) that sits between the client and the kernel:
//
//	client ──fd 3: control pipe──▶ guard ──▶ kernel (own process group) ──▶ cell programs
//	client ◀─fd 4: status pipe──── guard
//
// The guard is a child subreaper (PR_SET_CHILD_SUBREAPER), so programs the
// kernel started that lose their parent are re-parented to it rather than
// to init, and it starts the kernel with PR_SET_PDEATHSIG=SIGKILL. It runs
// in its own process group, so a terminal's Ctrl-C reaches only the client.
// It stops the kernel when the control pipe reaches end of file: when the
// client closes it, or when the client dies in any way, SIGKILL included
// (the kernel closes it). It also stops on SIGTERM, SIGINT or SIGHUP sent
// to it. Stopping kills every process the kernel started, asks the kernel
// to exit with SIGTERM (so it removes its own temporary files), kills it
// after guardTermWait, kills whatever was re-parented to the guard, then
// removes the Leftovers and the connection directory. When the kernel
// exits on its own the guard does the same cleanup at once.
//
// On the status pipe the guard writes "pid N" once the kernel runs (or
// "error TEXT" if it could not start it) and "exit CODE SIGNAL" once the
// kernel has exited and the cleanup is done; then it exits 0.

const (
	// guardTermWait is how long the guard waits for the kernel to exit
	// after SIGTERM before killing it.
	guardTermWait = time.Second
	// guardReapWait bounds the loop that kills and reaps re-parented
	// processes.
	guardReapWait = 2 * time.Second
	// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER of prctl(2).
	prSetChildSubreaper = 36
)

const guardSupported = true

// guardLink is the client's side of a running guard.
type guardLink struct {
	ctrl      *os.File      // write end of the control pipe; closing it stops the guard
	pidKnown  chan struct{} // closed once kernelPid is set, or done is closed
	done      chan struct{} // closed when the status pipe reaches end of file
	mu        sync.Mutex
	kernelPid int
	exit      *ExitStatus // the kernel's exit, once the guard reported it
	startErr  string      // why the guard could not start the kernel
}

// startGuarded starts the kernel argv under a guard and waits until the
// guard reports the kernel's pid.
func startGuarded(opts Options, argv []string, connDir string) (*exec.Cmd, *guardLink, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("jupyter: locating this program to run the kernel's guard: %w", err)
	}
	ctrlR, ctrlW, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("jupyter: guard control pipe: %w", err)
	}
	statR, statW, err := os.Pipe()
	if err != nil {
		_, _ = ctrlR.Close(), ctrlW.Close()
		return nil, nil, fmt.Errorf("jupyter: guard status pipe: %w", err)
	}
	cmd := exec.Command(exe, append([]string{GuardArg, connDir, "--"}, argv...)...)
	cmd.Env = opts.Env
	cmd.Dir = opts.Dir
	if opts.Stderr != nil {
		cmd.Stdout, cmd.Stderr = opts.Stderr, opts.Stderr
	}
	cmd.ExtraFiles = []*os.File{ctrlR, statW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	_, _ = ctrlR.Close(), statW.Close()
	if err != nil {
		_, _ = ctrlW.Close(), statR.Close()
		return nil, nil, fmt.Errorf("jupyter: starting the kernel's guard %s: %w", exe, err)
	}
	g := &guardLink{ctrl: ctrlW, pidKnown: make(chan struct{}), done: make(chan struct{})}
	go g.readStatus(statR)
	// A guard that reported an error or died is left to the caller's wait
	// goroutine, which reports it.
	select {
	case <-g.pidKnown:
	case <-time.After(opts.StartTimeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return cmd, g, nil
}

// readStatus parses the guard's status lines until end of file.
func (g *guardLink) readStatus(r *os.File) {
	defer r.Close()
	defer close(g.done)
	known := false
	markKnown := func() {
		if !known {
			known = true
			close(g.pidKnown)
		}
	}
	defer markKnown()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		word, rest, _ := strings.Cut(sc.Text(), " ")
		g.mu.Lock()
		switch word {
		case "pid":
			g.kernelPid, _ = strconv.Atoi(rest)
		case "exit":
			var es ExitStatus
			var sig int
			if _, err := fmt.Sscanf(rest, "%d %d", &es.Code, &sig); err == nil {
				es.Signal = syscall.Signal(sig)
				g.exit = &es
			}
		case "error":
			g.startErr = rest
		}
		g.mu.Unlock()
		if word == "pid" || word == "error" {
			markKnown()
		}
	}
}

func (g *guardLink) pid() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.kernelPid
}

// kernelExit describes how the kernel ended, once the guard has exited
// (guardState is the guard's own process state).
func (g *guardLink) kernelExit(guardState *os.ProcessState) string {
	<-g.done
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.exit != nil:
		return g.exit.String()
	case g.startErr != "":
		return "not started: " + g.startErr
	case guardState != nil:
		return "its guard process ended first (" + ExitStatusOf(guardState).String() + ")"
	}
	return "its guard process ended first"
}

// stop closes the control pipe: the guard stops the kernel and cleans up.
func (g *guardLink) stop() { _ = g.ctrl.Close() }

// RunGuard is the main function of a kernel's guard (see GuardArg). args
// are the connection directory, "--" and the kernel's command line;
// leftovers, if not nil, names the kernel's files to remove when it could
// not remove them itself. It returns the guard's exit status.
func RunGuard(args []string, leftovers Leftovers) int {
	if len(args) < 3 || args[1] != "--" {
		fmt.Fprintf(os.Stderr, "jupyter guard: usage: %s CONNECTION_DIR -- KERNEL_ARGV...\n", GuardArg)
		return 2
	}
	connDir, argv := args[0], args[2:]
	ctrl, status := os.NewFile(3, "guard-control"), os.NewFile(4, "guard-status")
	if ctrl == nil || status == nil {
		fmt.Fprintln(os.Stderr, "jupyter guard: started without its control and status pipes")
		return 2
	}
	// The kernel must not inherit the pipes: the status pipe's end of file
	// tells the client the guard is done.
	syscall.CloseOnExec(3)
	syscall.CloseOnExec(4)
	// The client may be gone: writes to its pipes must fail, not kill us.
	signal.Ignore(syscall.SIGPIPE)
	stopSig := make(chan os.Signal, 1)
	signal.Notify(stopSig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		fmt.Fprintf(os.Stderr, "jupyter guard: prctl(PR_SET_CHILD_SUBREAPER): %v\n", errno)
	}

	k := &guardedKernel{env: os.Environ()}
	if err := k.start(argv); err != nil {
		fmt.Fprintf(status, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		_ = os.RemoveAll(connDir)
		return 1
	}
	fmt.Fprintf(status, "pid %d\n", k.pid)

	ctrlClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, ctrl)
		close(ctrlClosed)
	}()
	select {
	case <-k.exited:
	case <-ctrlClosed:
	case <-stopSig:
	}
	es := k.stopAndClean(leftovers)
	_ = os.RemoveAll(connDir)
	fmt.Fprintf(status, "exit %d %d\n", es.Code, int(es.Signal))
	_ = status.Close()
	return 0
}

// guardedKernel is the guard's side of the kernel process.
type guardedKernel struct {
	env    []string
	pid    int
	exited chan struct{} // closed when the kernel has exited and been reaped
	status ExitStatus    // valid once exited is closed

	outMu  sync.Mutex
	outBuf []byte        // the head of the kernel's output
	outEOF chan struct{} // closed when the kernel's output pipe is drained
}

// start runs the kernel in its own process group with SIGKILL as its
// parent-death signal. The goroutine that starts and waits for it stays
// locked to its OS thread: Linux sends the parent-death signal when the
// thread that forked the child exits, not the process.
func (k *guardedKernel) start(argv []string) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = k.env
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	k.exited = make(chan struct{})
	k.outEOF = make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		k.pid = cmd.Process.Pid
		started <- nil
		_ = cmd.Wait()
		if cmd.ProcessState != nil {
			k.status = ExitStatusOf(cmd.ProcessState)
		}
		close(k.exited)
	}()
	err = <-started
	_ = pw.Close()
	if err != nil {
		_ = pr.Close()
		return fmt.Errorf("starting %s: %w", argv[0], err)
	}
	go k.copyOutput(pr)
	return nil
}

// copyOutput forwards the kernel's output to the guard's stderr (the
// client's kernel log), keeping its head.
func (k *guardedKernel) copyOutput(r *os.File) {
	defer close(k.outEOF)
	defer r.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			k.outMu.Lock()
			if room := guardOutputHead - len(k.outBuf); room > 0 {
				k.outBuf = append(k.outBuf, buf[:min(n, room)]...)
			}
			k.outMu.Unlock()
			_, _ = os.Stderr.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// stopAndClean stops the kernel and everything it started, removes the
// kernel's leftovers and returns how the kernel ended.
func (k *guardedKernel) stopAndClean(leftovers Leftovers) ExitStatus {
	self := os.Getpid()
	procs := descendants(self)
	traces := KernelTraces{Env: k.env}
	for _, pid := range procs {
		if pid != k.pid {
			if env := environ(pid); env != nil {
				traces.Environs = append(traces.Environs, env)
			}
		}
	}
	// The programs the kernel started first, so that a live kernel sees
	// them end and removes what it made for them.
	for _, pid := range procs {
		if pid != k.pid {
			killTree(pid, k.pid)
		}
	}
	select {
	case <-k.exited:
	default:
		_ = syscall.Kill(k.pid, syscall.SIGTERM)
		select {
		case <-k.exited:
		case <-time.After(guardTermWait):
		}
	}
	_ = syscall.Kill(-k.pid, syscall.SIGKILL)
	_ = syscall.Kill(k.pid, syscall.SIGKILL)
	<-k.exited
	reapOrphans(self, k.pid)
	select {
	case <-k.outEOF:
	case <-time.After(200 * time.Millisecond):
	}
	if leftovers != nil {
		k.outMu.Lock()
		traces.Output = append([]byte(nil), k.outBuf...)
		k.outMu.Unlock()
		for _, p := range leftovers(traces) {
			_ = os.RemoveAll(p)
		}
	}
	return k.status
}

// killTree sends SIGKILL to pid and, when pid leads a process group other
// than the kernel's, to that group.
func killTree(pid, kernelPid int) {
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid && pid != kernelPid {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// reapOrphans kills and reaps the processes re-parented to the guard (the
// subreaper) until it has no child left, for at most guardReapWait.
func reapOrphans(self, kernelPid int) {
	deadline := time.Now().Add(guardReapWait)
	for {
		for _, pid := range children(self) {
			killTree(pid, kernelPid)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if errors.Is(err, syscall.ECHILD) {
				return
			}
			if err != nil && !errors.Is(err, syscall.EINTR) || pid == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// parents maps every process id in /proc to its parent's.
func parents() map[int]int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make(map[int]int, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(pid); ok {
			out[pid] = ppid
		}
	}
	return out
}

// parentOf reads the parent process id from /proc/PID/stat.
func parentOf(pid int) (int, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	for p, pp := range parents() {
		if pp == pid {
			out = append(out, p)
		}
	}
	return out
}

// descendants lists the processes below pid in the process tree.
func descendants(pid int) []int {
	kids := map[int][]int{}
	for p, pp := range parents() {
		kids[pp] = append(kids[pp], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range kids[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// environ reads the environment a process was started with, or nil.
func environ(pid int) []string {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}
