package lab

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/cpu"
)

// Provenance records what a Run's numbers depend on besides its Config and
// data: where it was made. The same Config and data give bitwise the same Run
// on the same machine, backend and build, but on another CPU or backend only
// the same within statistical error (the README's "Reproducibility"), so a
// cached or saved Run says where it came from.
type Provenance struct {
	// Backend is the compute backend's name, as in Run.Backend.
	Backend string `json:"backend"`
	// Platform is GOOS/GOARCH, e.g. "linux/amd64".
	Platform string `json:"platform"`
	// SIMD is the widest vector instruction set of this CPU that the pure-Go
	// backend's SIMD matrix products (GOEXPERIMENT=simd builds, amd64) may
	// use: "avx512" (AVX-512 F, CD, BW, DQ and VL, the set Go's simd/archsimd
	// requires), "avx2" or "none"; the environment variables in SIMDEnv lower
	// it as they lower the backend's choice. The width sets the order in which
	// the products add, so the last bits of every result depend on it.
	SIMD string `json:"simd"`
	// SIMDEnv lists the GoMLX variables that restrict the SIMD kernels
	// (GOMLX_DOT_MATMUL, GOMLX_SIMD_AVX512, GOMLX_SIMD_AVX2) as NAME=value,
	// comma-separated, when any is set.
	SIMDEnv string `json:"simd_env,omitempty"`
	// GOEXPERIMENT is the experiments the binary was built with, from its
	// build settings ("simd" for GOEXPERIMENT=simd, the build the README asks
	// for; "" for none).
	GOEXPERIMENT string `json:"goexperiment"`
	// Go is the toolchain's version, runtime.Version().
	Go string `json:"go"`
	// GoMLX and Compute are the versions of the modules github.com/gomlx/gomlx
	// and github.com/gomlx/compute (which holds the pure-Go backend) the
	// binary was built with; "" when it records no module versions (test
	// binaries do not).
	GoMLX   string `json:"gomlx"`
	Compute string `json:"gomlx_compute"`
}

// simdEnvVars are GoMLX's switches of its SIMD matrix products, in the order
// they apply: all off, AVX-512 off, AVX2 off.
var simdEnvVars = []string{"GOMLX_DOT_MATMUL", "GOMLX_SIMD_AVX512", "GOMLX_SIMD_AVX2"}

// newProvenance returns the Provenance of a run made now, in this process,
// on the backend named backend.
func newProvenance(backend string) Provenance {
	p := Provenance{Backend: backend, Platform: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOEXPERIMENT" {
				p.GOEXPERIMENT = s.Value
			}
		}
		for _, d := range bi.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			switch d.Path {
			case "github.com/gomlx/gomlx":
				p.GoMLX = d.Version
			case "github.com/gomlx/compute":
				p.Compute = d.Version
			}
		}
	}
	allowed := map[string]bool{}
	var set []string
	for _, name := range simdEnvVars {
		allowed[name] = true
		if v, ok := os.LookupEnv(name); ok {
			set = append(set, name+"="+v)
			if b, err := strconv.ParseBool(v); err == nil {
				allowed[name] = b
			}
		}
	}
	p.SIMDEnv = strings.Join(set, ",")
	x := cpu.X86
	avx512 := x.HasAVX512F && x.HasAVX512CD && x.HasAVX512BW && x.HasAVX512DQ && x.HasAVX512VL
	switch {
	case !allowed["GOMLX_DOT_MATMUL"]:
		p.SIMD = "none"
	case avx512 && allowed["GOMLX_SIMD_AVX512"]:
		p.SIMD = "avx512"
	case x.HasAVX2 && allowed["GOMLX_SIMD_AVX2"]:
		p.SIMD = "avx2"
	default:
		p.SIMD = "none"
	}
	return p
}

// String returns the provenance in one line, e.g. "Go Backend, linux/amd64,
// avx512, GOEXPERIMENT=simd, go1.26.8, gomlx v0.28.0"; unknown parts (the
// module versions in a test binary) are left out, and the GOMLX_* variables
// that restrict SIMD follow the width.
func (p Provenance) String() string {
	var parts []string
	if b := p.Backend; b != "" {
		if !strings.HasSuffix(strings.ToLower(b), "backend") {
			b += " backend" // "Go Backend" reads as it is; "xla:cuda" becomes "xla:cuda backend"
		}
		parts = append(parts, b)
	}
	if p.Platform != "" {
		parts = append(parts, p.Platform)
	}
	if p.SIMD != "" {
		s := p.SIMD
		if p.SIMDEnv != "" {
			s += " (" + p.SIMDEnv + ")"
		}
		parts = append(parts, s)
	}
	if p.GOEXPERIMENT != "" {
		parts = append(parts, "GOEXPERIMENT="+p.GOEXPERIMENT)
	}
	if p.Go != "" {
		// runtime.Version() adds the experiments ("go1.26.8 X:simd"), said just before.
		parts = append(parts, strings.Fields(strings.ReplaceAll(p.Go, "-X:", " X:"))[0])
	}
	if p.GoMLX != "" {
		parts = append(parts, "gomlx "+p.GoMLX)
	}
	return strings.Join(parts, ", ")
}
