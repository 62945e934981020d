//go:build !cgo || !xla

package backend

// xlaLinked reports whether the XLA (PJRT) backend is linked in: it needs
// cgo and the build tag "xla", which this build lacks.
const xlaLinked = false
