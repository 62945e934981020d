//go:build !cgo

package lab

// xlaLinked reports whether the XLA (PJRT) backend is linked in: it needs
// cgo, which this build does not use.
const xlaLinked = false
