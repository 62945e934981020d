package lab

import (
	"strings"
	"testing"

	"github.com/gomlx/compute"

	"github.com/robustpo/robustpo/lab/backend"
)

// TestBackendGoEnv checks that Backend and SeqBackend start the pure-Go
// backend under GOMLX_BACKEND=go and honour $ROBUSTPO_GO_BACKEND: a bad
// value there is the configuration they fail on, with an error naming it
// and no panic.
func TestBackendGoEnv(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go")
	t.Setenv("GONB_TMP_DIR", "")
	starts := map[string]func() (compute.Backend, error){"Backend": Backend, "SeqBackend": SeqBackend}
	t.Setenv(backend.GoEnv, "")
	for name, start := range starts {
		b, err := start()
		if err != nil {
			t.Fatalf("%s(): %v", name, err)
		}
		b.Finalize()
	}
	t.Setenv(backend.GoEnv, "go:parallelism=many")
	for name, start := range starts {
		b, err := start()
		if err == nil {
			b.Finalize()
			t.Fatalf("%s() with %s=go:parallelism=many: no error", name, backend.GoEnv)
		}
		if !strings.Contains(err.Error(), `"go:parallelism=many"`) {
			t.Errorf("%s(): err = %v, want one naming go:parallelism=many", name, err)
		}
	}
}
