//go:build cgo

package lab

import "github.com/gomlx/go-xla/compute/xla"

// xlaLinked reports whether the XLA (PJRT) backend is linked in: it is
// whenever the build uses cgo.
const xlaLinked = true

func init() {
	// The lab never downloads plugins: Backend only offers plugins found on
	// the machine (see Discovery).
	xla.EnableAutoInstall(false)
}
