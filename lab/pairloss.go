package lab

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/robustpo/robustpo/losses"
)

// fingerprintBetas and fingerprintMargins are the grid a Config.PairLoss is
// fingerprinted on: 4 β × 33 margins Δh, spread over the values training
// visits (|β·Δh| from 0 to about 300), at irregular points so that simple
// functions that differ anywhere in that range differ on the grid.
var (
	fingerprintBetas   = []float64{0.05, 0.5, 1.3, 7}
	fingerprintMargins = func() []float64 {
		m := []float64{0}
		for _, x := range []float64{0.013, 0.1, 0.25, 0.5, 0.77, 1, 1.5, 2, 2.9, 4, 5.5, 8, 13, 21, 34, 45} {
			m = append(m, x, -x)
		}
		return m
	}()
)

// pairLossFingerprint returns the identity of a Config.PairLoss for the run
// cache and the sweep's batching: "pairloss-" and the first 16 bytes (hex) of
// the SHA-256 of its values and derivatives ∂ℓ/∂Δh on the grid of
// fingerprintBetas × fingerprintMargins, evaluated in Float64 on backend with
// margins [4, 33] and β [4, 1] (so it also checks that f keeps leading axes
// and broadcasts β), each printed to 10 significant digits so that
// rounding-level differences between backends do not change it. An error
// says why f cannot be trained: it panics while the graph is built (the
// panic's message), returns another shape than its margins', or returns NaN.
func pairLossFingerprint(backend compute.Backend, f losses.PairLoss) (string, error) {
	nb, nm := len(fingerprintBetas), len(fingerprintMargins)
	margins := make([]float64, 0, nb*nm)
	for range nb {
		margins = append(margins, fingerprintMargins...)
	}
	f = errorPanics(f)
	exec, err := NewExec(backend, func(m, b *Node) (*Node, *Node) {
		l := f(m, b)
		if l == nil || !l.Shape().Equal(m.Shape()) {
			got := "nil"
			if l != nil {
				got = l.Shape().String()
			}
			panic(fmt.Errorf("it returns %s for margins %s, want the margins' shape", got, m.Shape()))
		}
		return l, Gradient(ReduceAllSum(l), m)[0]
	})
	if err != nil {
		return "", fmt.Errorf("lab: Config.PairLoss: %w", err)
	}
	defer exec.Finalize()
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(margins, nb, nm),
		tensors.FromFlatDataAndDimensions(fingerprintBetas, nb, 1))
	if err != nil {
		return "", fmt.Errorf("lab: Config.PairLoss: %w", err)
	}
	h := sha256.New()
	for k, t := range out {
		for i, v := range tensors.MustCopyFlatData[float64](t) {
			if math.IsNaN(v) {
				what := [2]string{"loss", "derivative"}[k]
				return "", fmt.Errorf("lab: Config.PairLoss: its %s is NaN at Δh = %g, β = %g", what, margins[i], fingerprintBetas[i/nm])
			}
			h.Write(strconv.AppendFloat(nil, v, 'g', 10, 64))
			h.Write([]byte{' '})
		}
		h.Write([]byte{'\n'})
	}
	return "pairloss-" + hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// pairLossID returns the identity of cfg's pair loss: "" for its method's own,
// the fingerprint of cfg.PairLoss otherwise (see pairLossFingerprint).
func pairLossID(backend compute.Backend, cfg Config) (string, error) {
	if cfg.PairLoss == nil {
		return "", nil
	}
	return pairLossFingerprint(backend, cfg.PairLoss)
}

// errorPanics returns f with any panic of f that is not an error re-raised
// as one, as GoMLX's graph building expects: Exec turns an error panic into
// the error it returns, while another value (a notebook's panic("…")) left
// the graph's execution waiting forever.
func errorPanics(f losses.PairLoss) losses.PairLoss {
	return func(margin, beta *Node) *Node {
		defer func() {
			if r := recover(); r != nil {
				if err, ok := r.(error); ok {
					panic(err)
				}
				panic(fmt.Errorf("Config.PairLoss panicked: %v", r))
			}
		}()
		return f(margin, beta)
	}
}
