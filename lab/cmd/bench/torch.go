package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// torchLine is one line of torch_dpo.py's output.
type torchLine struct {
	Mode       string  `json:"mode"`
	Device     string  `json:"device"`
	Torch      string  `json:"torch"`
	Threads    int     `json:"threads"`
	Steps      int     `json:"steps"`
	SecPerStep float64 `json:"s_per_step"`
	TokensPerS float64 `json:"tokens_per_s"`
}

// benchTorch runs the embedded torch_dpo.py for o.size and o.steps and
// returns one Result per mode it ran. Its stderr goes to stderr.
func benchTorch(ctx context.Context, o options, stderr io.Writer) ([]Result, error) {
	dir, err := os.MkdirTemp("", "robustpo-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "torch_dpo.py")
	if err := os.WriteFile(script, torchScript, 0o644); err != nil {
		return nil, err
	}
	s := o.size
	args := []string{script}
	for _, n := range []int{s.Vocab, s.DModel, s.Layers, s.Heads, s.T, s.Pairs, o.steps} {
		args = append(args, strconv.Itoa(n))
	}
	args = append(args, o.torchModes)
	cmd := exec.CommandContext(ctx, o.python, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", o.python, script, err)
	}
	return parseTorch(&out, s)
}

// parseTorch reads torch_dpo.py's JSON lines.
func parseTorch(r io.Reader, s Size) ([]Result, error) {
	var rs []Result
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		var l torchLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return rs, fmt.Errorf("torch output line %d %q: %w", n, sc.Text(), err)
		}
		if l.SecPerStep <= 0 || l.TokensPerS <= 0 {
			return rs, fmt.Errorf("torch output line %d: non-positive timing %q", n, sc.Text())
		}
		rs = append(rs, Result{
			Name: "torch " + l.Mode + " dpo-step", Backend: fmt.Sprintf("%s %s (%s)", l.Torch, l.Device, threads(l.Threads)),
			Size: s.Name, Steps: l.Steps, SecPerStep: l.SecPerStep, StepsPerSec: 1 / l.SecPerStep, TokensPerS: l.TokensPerS,
		})
	}
	if err := sc.Err(); err != nil {
		return rs, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("torch printed no results")
	}
	return rs, nil
}

// threads says "1 thread" or "n threads".
func threads(n int) string {
	if n == 1 {
		return "1 thread"
	}
	return fmt.Sprintf("%d threads", n)
}
