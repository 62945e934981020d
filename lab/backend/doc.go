// Package backend chooses and starts the GoMLX compute backend the lab runs
// on. Notebooks call lab.Backend or lab.SeqBackend, which are
// Start(Candidates(DefaultGo)) and Start(Candidates(DefaultSeqGo)); this
// package is for code that needs the pieces: which backends this machine
// offers and why (Candidates, Discovery), starting a given list (Start), and
// the pure-Go backend's configurations (DefaultGo, DefaultSeqGo, GoEnv).
//
// # Choice
//
// Candidates lists, best first:
//
//  1. $GOMLX_BACKEND when set, alone ("go" alone means the lab's pure-Go
//     configuration, so its scheduling settings apply);
//  2. an NVIDIA GPU (/dev/nvidia<N> or nvidia-smi) with a CUDA PJRT plugin,
//     in go-xla's plugin directories or a jax wheel's
//     jax_plugins/xla_cuda*/xla_cuda_plugin.so: "xla:<absolute path>";
//  3. an installed XLA CPU PJRT plugin: "xla:cpu";
//  4. the pure-Go backend: $ROBUSTPO_GO_BACKEND (GoEnv) when set, else
//     DefaultGo for finite runs (many tiny ops: one at a time) or
//     DefaultSeqGo for sequence models (independent ops at once, on an
//     unbounded worker pool).
//
// Discovery only looks at files and environment variables: nothing is
// downloaded or loaded. Start tries the candidates in order and prints its
// choice once to stdout ("lab: backend <config>: <reason>"), once per GoNB
// kernel rather than once per cell (it remembers the line in
// $GONB_TMP_DIR), and one "lab: warning: …" line on stderr for each
// candidate that fails and falls back. It never panics.
//
// # Build tags
//
// XLA backends need go-xla's PJRT loader linked in: build with cgo and the
// tag "xla" (go build -tags xla ..., or GOFLAGS=-tags=xla for go run, go
// test and GoNB). A build without it falls back from a discovered plugin
// with a line saying so. The tag is opt-in because the XLA backend makes
// every link about 3 s slower (cgo's external linker; measured 4.1 s vs
// 1.2 s for a small program importing lab) and the binary 16 MB larger,
// which every notebook cell would pay. With the tag, go-xla's automatic
// plugin download is turned off.
package backend
