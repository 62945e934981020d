package lab

import (
	"fmt"
	"os"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // The pure-Go backend, the default.
)

// DefaultBackend is the backend configuration used when GOMLX_BACKEND is unset:
// GoMLX's pure-Go backend.
const DefaultBackend = "go"

// Backend returns the compute backend named by $GOMLX_BACKEND (e.g. "go", or
// "xla:/abs/path/plugin.so" when a PJRT plugin is linked in), or the pure-Go
// backend when it is unset. It never panics: a backend that fails to start is
// returned as an error naming its configuration. Only the pure-Go backend is
// linked into this package; others must be registered by the caller's imports.
func Backend() (b compute.Backend, err error) {
	config := os.Getenv(compute.ConfigEnvVar)
	if config == "" {
		config = DefaultBackend
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("lab: starting backend %q (from %s): panic: %v", config, compute.ConfigEnvVar, r)
		}
	}()
	b, err = compute.NewWithConfig(config)
	if err != nil {
		return nil, fmt.Errorf("lab: starting backend %q (from %s): %w", config, compute.ConfigEnvVar, err)
	}
	return b, nil
}

// MustBackend is Backend for notebooks and examples: it panics on error.
func MustBackend() compute.Backend {
	b, err := Backend()
	if err != nil {
		panic(err)
	}
	return b
}
