//go:build cgo && xla

package backend

import "github.com/gomlx/go-xla/compute/xla"

// xlaLinked reports whether the XLA (PJRT) backend is linked in: it is in
// builds with cgo and the build tag "xla" (go build -tags xla, or
// GOFLAGS=-tags=xla). It is opt-in because linking it (cgo, external linker)
// makes every build of a program that imports lab about 3 s slower and
// 16 MB larger, which every notebook cell would pay.
const xlaLinked = true

func init() {
	// The lab never downloads plugins: Start only gets plugins found on
	// the machine (see Discovery).
	xla.EnableAutoInstall(false)
}
