package jupyter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
)

// Options configures Start. The zero value of every duration means its
// documented default.
type Options struct {
	// Argv is the kernel command line, as in a kernelspec's "argv": the
	// literal "{connection_file}" is replaced by the connection file path.
	Argv []string
	// Env is the kernel's full environment; nil means os.Environ().
	Env []string
	// Dir is the kernel's working directory; "" means the current one.
	Dir string
	// Stderr receives the kernel process's own stdout and stderr (its logs);
	// nil discards them.
	Stderr io.Writer
	// StartTimeout bounds the wait for the first kernel_info_reply (default 2m:
	// a cold kernel may compile its first dependencies).
	StartTimeout time.Duration
	// ShutdownGrace is how long Close waits for the kernel to exit after
	// shutdown_request before stopping it by force (default 5s).
	ShutdownGrace time.Duration
	// InterruptGrace is how long Execute waits, once its context ends and
	// interrupt_request is sent, for the cell to end (default 5s).
	InterruptGrace time.Duration
	// Guard starts the kernel under a guard process (Linux only; elsewhere
	// it is ignored): a second run of this program, which must then call
	// RunGuard (see GuardArg). The guard stops the kernel, everything the
	// kernel started (even programs that left its process group) and
	// removes the connection file and the kernel's Leftovers when the
	// client closes or dies in any way, SIGKILL included.
	Guard bool
}

// ErrKernelDied is returned when the kernel process exits while a request
// is pending. The error wrapping it says how the kernel ended.
var ErrKernelDied = errors.New("jupyter: kernel process exited")

// guardStopWait bounds Close's wait for a guard's cleanup before it kills
// the guard.
const guardStopWait = 5 * time.Second

// connectionFile is the JSON written for the kernel (the standard Jupyter
// connection file format).
type connectionFile struct {
	ShellPort       int    `json:"shell_port"`
	IOPubPort       int    `json:"iopub_port"`
	StdinPort       int    `json:"stdin_port"`
	ControlPort     int    `json:"control_port"`
	HBPort          int    `json:"hb_port"`
	IP              string `json:"ip"`
	Key             string `json:"key"`
	Transport       string `json:"transport"`
	SignatureScheme string `json:"signature_scheme"`
	KernelName      string `json:"kernel_name"`
}

// envelope is a received message tagged with the channel it came from.
type envelope struct {
	channel string // "shell", "control" or "iopub"
	msg     *Message
}

// waiter receives the messages whose parent is one request; done is closed
// when the requester stops listening, so routing never blocks on it.
type waiter struct {
	ch   chan envelope
	done chan struct{}
}

// Client is a connection to one kernel process it started. Methods are not
// safe for concurrent use, except Interrupt, which may be called while
// Execute runs.
type Client struct {
	opts     Options
	key      []byte
	session  string
	cmd      *exec.Cmd  // the kernel, or its guard
	guard    *guardLink // nil when the kernel runs without a guard
	connDir  string
	exited   chan struct{}
	exitDesc string // how the kernel ended ("exit status 1", "killed by signal KILL"), once exited is closed
	ctx      context.Context
	cancel   context.CancelFunc
	shell    zmq4.Socket
	control  zmq4.Socket
	iopub    zmq4.Socket
	sendMu   sync.Mutex
	mu       sync.Mutex
	waiters  map[string]*waiter
	closed   bool
	closeErr error
	info     KernelInfo // the kernel_info_reply of the start handshake
}

// freePorts reserves n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("jupyter: reserving a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Start launches the kernel described by opts and returns a connected client
// once the kernel answers kernel_info_request on shell and its iopub channel
// delivers messages. On error nothing is left running.
func Start(ctx context.Context, opts Options) (*Client, error) {
	if len(opts.Argv) == 0 {
		return nil, errors.New("jupyter: empty kernel argv")
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	if opts.ShutdownGrace == 0 {
		opts.ShutdownGrace = 5 * time.Second
	}
	if opts.InterruptGrace == 0 {
		opts.InterruptGrace = 5 * time.Second
	}
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	keyBytes := make([]byte, 32)
	_, _ = randRead(keyBytes)
	conn := connectionFile{
		ShellPort: ports[0], IOPubPort: ports[1], StdinPort: ports[2], ControlPort: ports[3], HBPort: ports[4],
		IP: "127.0.0.1", Key: fmt.Sprintf("%x", keyBytes), Transport: "tcp", SignatureScheme: "hmac-sha256",
	}
	connDir, err := os.MkdirTemp("", "robustpo-kernel-")
	if err != nil {
		return nil, fmt.Errorf("jupyter: creating connection dir: %w", err)
	}
	connPath := filepath.Join(connDir, "connection.json")
	data, _ := json.MarshalIndent(conn, "", "  ")
	if err := os.WriteFile(connPath, data, 0o600); err != nil {
		_ = os.RemoveAll(connDir)
		return nil, fmt.Errorf("jupyter: writing connection file %s: %w", connPath, err)
	}

	argv := make([]string, len(opts.Argv))
	for i, a := range opts.Argv {
		argv[i] = strings.ReplaceAll(a, "{connection_file}", connPath)
	}
	var cmd *exec.Cmd
	var guard *guardLink
	if opts.Guard && guardSupported {
		cmd, guard, err = startGuarded(opts, argv, connDir)
		if err != nil {
			_ = os.RemoveAll(connDir)
			return nil, err
		}
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
		cmd.Env = opts.Env
		cmd.Dir = opts.Dir
		if opts.Stderr != nil {
			cmd.Stdout, cmd.Stderr = opts.Stderr, opts.Stderr
		}
		setProcessGroup(cmd)
		if err := cmd.Start(); err != nil {
			_ = os.RemoveAll(connDir)
			return nil, fmt.Errorf("jupyter: starting kernel %q: %w", argv[0], err)
		}
	}

	cctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		opts: opts, key: []byte(conn.Key), session: newID(), cmd: cmd, guard: guard, connDir: connDir,
		exited: make(chan struct{}), ctx: cctx, cancel: cancel, waiters: map[string]*waiter{},
	}
	go func() {
		_ = cmd.Wait()
		if guard != nil {
			c.exitDesc = guard.kernelExit(cmd.ProcessState)
		} else {
			c.exitDesc = ExitStatusOf(cmd.ProcessState).String()
		}
		close(c.exited)
	}()

	if err := c.connect(ctx, conn); err != nil {
		_ = c.Close()
		return nil, err
	}
	// The kernel has read the connection file: its key need not stay on disk.
	_ = os.Remove(connPath)
	return c, nil
}

// KernelInfo returns the kernel's kernel_info_reply, received when the
// client connected.
func (c *Client) KernelInfo() KernelInfo { return c.info }

// Pid returns the kernel process id (also its process group id on Unix).
func (c *Client) Pid() int {
	if c.guard != nil {
		return c.guard.pid()
	}
	return c.cmd.Process.Pid
}

// Exited is closed when the kernel process has exited (and, under a
// guard, everything it started has been stopped and its files removed).
func (c *Client) Exited() <-chan struct{} { return c.exited }

// ExitDescription says how the kernel ended ("exit status 1", "killed by
// signal KILL"); "" while it runs.
func (c *Client) ExitDescription() string {
	select {
	case <-c.exited:
		return c.exitDesc
	default:
		return ""
	}
}

func (c *Client) connect(ctx context.Context, conn connectionFile) error {
	endpoint := func(port int) string { return fmt.Sprintf("tcp://%s:%d", conn.IP, port) }
	retries := int(c.opts.StartTimeout / (250 * time.Millisecond))
	dopts := []zmq4.Option{zmq4.WithDialerRetry(250 * time.Millisecond), zmq4.WithDialerMaxRetries(retries)}
	c.shell = zmq4.NewDealer(c.ctx, dopts...)
	c.control = zmq4.NewDealer(c.ctx, dopts...)
	c.iopub = zmq4.NewSub(c.ctx, dopts...)

	// Dialing retries until the kernel has bound its sockets; fail fast if
	// the kernel process dies meanwhile.
	dialed := make(chan error, 1)
	go func() {
		for _, d := range []struct {
			name string
			sck  zmq4.Socket
			port int
		}{{"iopub", c.iopub, conn.IOPubPort}, {"shell", c.shell, conn.ShellPort}, {"control", c.control, conn.ControlPort}} {
			if err := d.sck.Dial(endpoint(d.port)); err != nil {
				dialed <- fmt.Errorf("jupyter: connecting %s channel: %w", d.name, err)
				return
			}
		}
		dialed <- nil
	}()
	select {
	case err := <-dialed:
		if err != nil {
			return err
		}
	case <-c.exited:
		return fmt.Errorf("jupyter: kernel exited during startup (%s): %w", c.exitDesc, ErrKernelDied)
	case <-ctx.Done():
		return fmt.Errorf("jupyter: connecting to kernel: %w", ctx.Err())
	}
	if err := c.iopub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		return fmt.Errorf("jupyter: subscribing to iopub: %w", err)
	}
	go c.recvLoop("shell", c.shell)
	go c.recvLoop("control", c.control)
	go c.recvLoop("iopub", c.iopub)

	// kernel_info handshake: repeat until both the reply (shell) and the
	// kernel's idle status for that request (iopub) arrive, which proves the
	// iopub subscription is live (no output of the first cell is lost).
	deadline := time.Now().Add(c.opts.StartTimeout)
	for {
		ok, err := c.kernelInfo(ctx, 2*time.Second)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("jupyter: kernel did not answer kernel_info_request within %v", c.opts.StartTimeout)
		}
	}
}

// kernelInfo sends one kernel_info_request and reports whether its reply and
// its iopub idle status both arrived within wait.
func (c *Client) kernelInfo(ctx context.Context, wait time.Duration) (bool, error) {
	h, ch, err := c.request(c.shell, "kernel_info_request", map[string]any{})
	if err != nil {
		return false, err
	}
	defer c.unregister(h.MsgID)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	gotReply, gotIdle := false, false
	for !gotReply || !gotIdle {
		select {
		case env := <-ch:
			switch {
			case env.channel == "shell" && env.msg.Type() == "kernel_info_reply":
				gotReply = true
				var info KernelInfo
				if err := env.msg.Decode(&info); err != nil {
					return false, err
				}
				c.info = info
			case env.channel == "iopub" && env.msg.Type() == "status":
				var st StatusContent
				if env.msg.Decode(&st) == nil && st.ExecutionState == "idle" {
					gotIdle = true
				}
			}
		case <-timer.C:
			return false, nil
		case <-c.exited:
			return false, fmt.Errorf("jupyter: kernel exited during startup (%s): %w", c.exitDesc, ErrKernelDied)
		case <-ctx.Done():
			return false, fmt.Errorf("jupyter: waiting for kernel_info_reply: %w", ctx.Err())
		}
	}
	return true, nil
}

// recvLoop decodes messages from one socket and routes them, by parent
// msg_id, to the registered waiter. Messages nobody waits for are dropped.
func (c *Client) recvLoop(channel string, sck zmq4.Socket) {
	for {
		zm, err := sck.Recv()
		if err != nil {
			return // socket closed
		}
		m, err := decode(c.key, zm.Frames)
		if err != nil {
			continue // unsigned or malformed: ignore, as Jupyter clients do
		}
		c.mu.Lock()
		w := c.waiters[m.ParentID()]
		c.mu.Unlock()
		if w != nil {
			select {
			case w.ch <- envelope{channel, m}:
			case <-w.done:
			case <-c.ctx.Done():
				return
			}
		}
	}
}

// request sends a request on sck and registers a waiter for its replies.
func (c *Client) request(sck zmq4.Socket, msgType string, content any) (Header, chan envelope, error) {
	h := newHeader(c.session, msgType)
	frames, err := encode(c.key, h, Header{}, nil, content)
	if err != nil {
		return h, nil, err
	}
	w := &waiter{ch: make(chan envelope, 256), done: make(chan struct{})}
	c.mu.Lock()
	c.waiters[h.MsgID] = w
	c.mu.Unlock()
	c.sendMu.Lock()
	err = sck.SendMulti(zmq4.NewMsgFrom(frames...))
	c.sendMu.Unlock()
	if err != nil {
		c.unregister(h.MsgID)
		return h, nil, fmt.Errorf("jupyter: sending %s: %w", msgType, err)
	}
	return h, w.ch, nil
}

func (c *Client) unregister(id string) {
	c.mu.Lock()
	if w := c.waiters[id]; w != nil {
		close(w.done)
		delete(c.waiters, id)
	}
	c.mu.Unlock()
}

// Execute runs code as one cell. Every iopub message caused by the request
// (stream, display_data, update_display_data, execute_result, error,
// execute_input, status, ...) is passed to onMsg, in arrival order, from the
// calling goroutine. It returns once the execute_reply and the kernel's idle
// status have both arrived. If ctx ends first, Execute sends an
// interrupt_request, waits up to the interrupt grace period for the reply
// and returns ctx's error (wrapped) along with whatever reply arrived. If
// the kernel dies first, the error wraps ErrKernelDied and says how it
// ended.
func (c *Client) Execute(ctx context.Context, code string, onMsg func(*Message)) (*ExecuteReply, error) {
	return c.execute(ctx, code, false, onMsg)
}

// ExecuteSilent runs code with silent=true and store_history=false: the
// execution counter does not advance and no execute_input is broadcast (used
// for setup such as GoNB magics). Outputs, if any, are discarded.
func (c *Client) ExecuteSilent(ctx context.Context, code string) (*ExecuteReply, error) {
	return c.execute(ctx, code, true, nil)
}

func (c *Client) execute(ctx context.Context, code string, silent bool, onMsg func(*Message)) (*ExecuteReply, error) {
	content := map[string]any{
		"code": code, "silent": silent, "store_history": !silent,
		"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true,
	}
	h, ch, err := c.request(c.shell, "execute_request", content)
	if err != nil {
		return nil, err
	}
	defer c.unregister(h.MsgID)
	var reply *ExecuteReply
	idle := false
	var ctxErr error
	var grace <-chan time.Time
	done := ctx.Done()
	for reply == nil || !idle {
		select {
		case env := <-ch:
			if env.channel == "shell" && env.msg.Type() == "execute_reply" {
				reply = &ExecuteReply{}
				if err := env.msg.Decode(reply); err != nil {
					return nil, err
				}
				continue
			}
			if env.channel != "iopub" {
				continue
			}
			if env.msg.Type() == "status" {
				var st StatusContent
				if env.msg.Decode(&st) == nil && st.ExecutionState == "idle" {
					idle = true
				}
			}
			if onMsg != nil {
				onMsg(env.msg)
			}
		case <-done:
			ctxErr = ctx.Err()
			done = nil
			_ = c.Interrupt()
			grace = time.After(c.opts.InterruptGrace)
		case <-grace:
			return reply, fmt.Errorf("jupyter: cell did not stop within %v of interrupt: %w", c.opts.InterruptGrace, ctxErr)
		case <-c.exited:
			return reply, fmt.Errorf("jupyter: the kernel died while executing a cell (%s): %w", c.exitDesc, ErrKernelDied)
		}
	}
	if ctxErr != nil {
		return reply, fmt.Errorf("jupyter: cell interrupted: %w", ctxErr)
	}
	return reply, nil
}

// Interrupt asks the kernel to interrupt the running cell (interrupt_request
// on the control channel, the protocol's "message" interrupt mode, which
// GoNB implements). It does not wait for the reply.
func (c *Client) Interrupt() error {
	h, _, err := c.request(c.control, "interrupt_request", map[string]any{})
	if err == nil {
		// The reply carries nothing we need; stop routing it after a while.
		time.AfterFunc(10*time.Second, func() { c.unregister(h.MsgID) })
	}
	return err
}

// Close shuts the kernel down: shutdown_request on control, a wait of up to
// the shutdown grace period for the process to exit, then a forced stop:
// under a guard, the guard's cleanup (see Options.Guard), else SIGKILL to
// the kernel's whole process group (which also ends any cell program or
// compiler it started). It is safe to call more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.closeErr
	}
	c.closed = true
	c.mu.Unlock()

	select {
	case <-c.exited:
	default:
		if c.control != nil {
			if h, _, err := c.request(c.control, "shutdown_request", map[string]any{"restart": false}); err == nil {
				defer c.unregister(h.MsgID)
			}
		}
		select {
		case <-c.exited:
		case <-time.After(c.opts.ShutdownGrace):
		}
	}
	if c.guard != nil {
		c.guard.stop()
		select {
		case <-c.exited:
		case <-time.After(guardStopWait):
			// The guard is stuck: its process group, and with it (through
			// the parent-death signal) the kernel, is all that is left.
			killProcessGroup(c.cmd)
		}
	} else {
		killProcessGroup(c.cmd)
	}
	<-c.exited
	c.cancel()
	for _, s := range []zmq4.Socket{c.shell, c.control, c.iopub} {
		if s != nil {
			_ = s.Close()
		}
	}
	if err := os.RemoveAll(c.connDir); err != nil {
		c.closeErr = fmt.Errorf("jupyter: removing connection dir: %w", err)
	}
	return c.closeErr
}
