// Package jupyter is a minimal client for the Jupyter messaging protocol
// (version 5.x) over ZeroMQ, enough to drive a kernel such as GoNB headlessly.
//
// A Client owns one kernel process: Start writes a connection file (TCP on
// 127.0.0.1, five free ports, a random HMAC-SHA256 key), launches the kernel
// command with {connection_file} substituted, connects the shell, control,
// stdin (DEALER), iopub (SUB) and heartbeat (REQ) sockets, and waits for a
// kernel_info_reply. Execute sends one execute_request and streams the iopub
// messages it causes to a callback until both the execute_reply and the
// kernel's return to "idle" have been seen. Close sends shutdown_request on
// the control channel, waits a grace period, then stops the kernel by
// force, so no compiled cell program outlives the client. The connection
// file is removed as soon as the kernel has connected.
//
// With Options.Guard (Linux), the kernel runs under a guard: this program
// run again (RunGuard), a child subreaper that stops the kernel and every
// process it started, and removes the connection directory and the files
// the kernel could not remove (Leftovers), when the client closes or dies
// in any way, SIGKILL included. Without a guard, the forced stop kills the
// kernel's process group.
//
// A kernel that dies is reported as ErrKernelDied, wrapped in an error
// that says how it ended ("killed by signal KILL"; see ExitStatus).
//
// Messages are signed as the protocol specifies: the signature is the
// hex-encoded HMAC-SHA256, keyed by the connection key, of the serialized
// header, parent_header, metadata and content frames, in that order.
package jupyter
