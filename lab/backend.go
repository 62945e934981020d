package lab

import (
	"strings"

	"github.com/gomlx/compute"

	"github.com/robustpo/robustpo/lab/backend"
)

// Backend returns a new compute backend for finite runs (the caller
// Finalizes it): the best of this machine's backend.Candidates that starts,
// $GOMLX_BACKEND when set, else an NVIDIA GPU with a CUDA PJRT plugin, an
// installed XLA CPU plugin, or the pure-Go backend (backend.DefaultGo, or
// $ROBUSTPO_GO_BACKEND when set). It prints its choice once to stdout (once
// per GoNB kernel) and one warning line on stderr per fallback, never
// downloads anything, and never panics: when no backend starts the error
// names the configuration. XLA backends need a build with cgo and the tag
// "xla". Train and Sweep use it; see package backend for the details.
func Backend() (compute.Backend, error) {
	b, _, err := backend.Start(backend.Candidates(backend.DefaultGo))
	return b, err
}

// SeqBackend is Backend for sequence models: the same choice, except that
// the pure-Go backend runs with backend.DefaultSeqGo (independent ops at
// once, which the transformer's backward has many of). TrainSeq and SweepSeq
// use it; so should a notebook that builds lab/seqmodel models itself.
func SeqBackend() (compute.Backend, error) {
	b, _, err := backend.Start(backend.Candidates(backend.DefaultSeqGo))
	return b, err
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
