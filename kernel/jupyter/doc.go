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
// the control channel, waits a grace period, then kills the kernel's whole
// process group, so no compiled cell program outlives the client.
//
// Messages are signed as the protocol specifies: the signature is the
// hex-encoded HMAC-SHA256, keyed by the connection key, of the serialized
// header, parent_header, metadata and content frames, in that order.
package jupyter
