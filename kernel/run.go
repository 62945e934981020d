package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/robustpo/robustpo/kernel/htmlexport"
	"github.com/robustpo/robustpo/kernel/jupyter"
	"github.com/robustpo/robustpo/kernel/kernelspec"
	"github.com/robustpo/robustpo/kernel/nbformat"
)

// runConfig holds the flags of `kernel run`.
type runConfig struct {
	OutDir  string
	Timeout time.Duration
	HTML    bool
	Kernel  string
	AutoGet bool
	Verbose bool
}

// knownKernels are the kernelspec names this runner executes: all run GoNB.
// Checkout kernelspec names (robustpo-<hash>, kernelspec.CheckoutName) are
// accepted too. Whatever the name, the runner starts this checkout's own
// gonb on this checkout, never the kernelspec installed under that name.
var knownKernels = []string{kernelspec.DefaultName, "gonb", "go"}

// parseInterleaved parses flags that may appear before or after positional
// arguments, returning the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := runConfig{}
	fs.StringVar(&cfg.OutDir, "o", "out", "directory for the executed notebooks (and HTML pages)")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "per-cell time limit")
	fs.BoolVar(&cfg.HTML, "html", false, "also write DIR/<name>.html, a standalone page")
	fs.StringVar(&cfg.Kernel, "kernel", "", "kernel name (default: the notebook's kernelspec, else "+kernelspec.DefaultName+")")
	fs.BoolVar(&cfg.AutoGet, "autoget", false, "keep GoNB's automatic `go get` before each cell (off: imports resolve from the repository's go.work)")
	fs.BoolVar(&cfg.Verbose, "v", false, "copy the kernel's log to stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./kernel run [-o DIR] [--timeout 10m] [--html] [--kernel NAME] [--autoget] [-v] NB.ipynb...")
		fs.PrintDefaults()
	}
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadInput
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "kernel run: no notebook given")
		return exitBadInput
	}
	if cfg.Timeout <= 0 {
		fmt.Fprintf(stderr, "kernel run: --timeout must be positive, got %v\n", cfg.Timeout)
		return exitBadInput
	}

	// Validate every input before starting anything: bad input writes nothing.
	nbs := make([]*nbformat.Notebook, len(paths))
	outs := map[string]string{}
	for i, p := range paths {
		nb, err := nbformat.Load(p)
		if err != nil {
			fmt.Fprintf(stderr, "kernel run: %v\n", oneLine(err))
			return exitBadInput
		}
		name := cfg.Kernel
		if name == "" {
			name = nb.KernelName()
		}
		if name != "" && !isKnownKernel(name) {
			fmt.Fprintf(stderr, "kernel run: %s: unknown kernel name %q (this runner runs GoNB: %s)\n", p, name, strings.Join(knownKernels, ", ")+", "+kernelspec.DefaultName+"-<hash>")
			return exitBadInput
		}
		base := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		if prev, dup := outs[base]; dup {
			fmt.Fprintf(stderr, "kernel run: %s: same output name %q as %s\n", p, base, prev)
			return exitBadInput
		}
		outs[base] = p
		nbs[i] = nb
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		fmt.Fprintf(stderr, "kernel run: creating output dir: %v\n", err)
		return exitFailed
	}

	status := exitOK
	for i, p := range paths {
		st := runNotebook(ctx, cfg, p, nbs[i], stdout, stderr)
		if st != exitOK {
			status = st
		}
		if ctx.Err() != nil {
			break
		}
	}
	return status
}

func isKnownKernel(name string) bool {
	if rest, ok := strings.CutPrefix(name, kernelspec.DefaultName+"-"); ok && rest != "" && kernelspec.ValidName(name) == nil {
		return true
	}
	for _, k := range knownKernels {
		if k == name {
			return true
		}
	}
	return false
}

// oneLine keeps the first line of an error message.
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// runNotebook executes one notebook in a fresh kernel and writes its outputs.
func runNotebook(ctx context.Context, cfg runConfig, path string, nb *nbformat.Notebook, stdout, stderr io.Writer) int {
	name := filepath.Base(path)
	base := strings.TrimSuffix(name, filepath.Ext(name))
	outPath := filepath.Join(cfg.OutDir, base+".ipynb")
	htmlPath := filepath.Join(cfg.OutDir, base+".html")

	t0 := time.Now()
	hasCode := false
	for _, c := range nb.Cells {
		hasCode = hasCode || c.CellType == "code" && strings.TrimSpace(c.Source.Text) != ""
	}
	if !hasCode {
		if err := writeOutputs(nb, outPath, htmlPath, cfg.HTML, base); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "%s: no code cells; wrote %s\n", name, outPath)
		return exitOK
	}
	client, err := startKernel(ctx, kernelOptions{AutoGet: cfg.AutoGet, Verbose: cfg.Verbose, Log: stderr})
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "%s: %s while starting the kernel\n", name, stopReason(stopCause(ctx)))
			return stopStatus(ctx)
		}
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitFailed
	}
	defer func() { _ = client.Close() }()
	fmt.Fprintf(stdout, "%s: kernel started in %.1fs\n", name, time.Since(t0).Seconds())
	kernelName := cfg.Kernel
	if kernelName == "" {
		kernelName = nb.KernelName()
	}
	root := ""
	if wd, err := os.Getwd(); err == nil {
		root, _ = kernelspec.RepoRoot(wd)
	}
	recordKernel(nb, kernelName, root, client.KernelInfo())

	// Clear stale outputs; cells after a failure keep none.
	for _, c := range nb.Cells {
		if c.CellType == "code" {
			c.Outputs, c.ExecutionCount = nil, nil
		}
	}
	status := exitOK
	for i, c := range nb.Cells {
		if c.CellType != "code" || strings.TrimSpace(c.Source.Text) == "" {
			continue
		}
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "%s: %s before cell %d\n", name, stopReason(stopCause(ctx)), i+1)
			status = stopStatus(ctx)
			break
		}
		cellStart := time.Now()
		fail := executeCell(ctx, client, c, cfg.Timeout)
		secs := time.Since(cellStart).Seconds()
		if fail == nil {
			fmt.Fprintf(stdout, "%s: cell %d: %.1fs ok\n", name, i+1, secs)
			continue
		}
		fmt.Fprintf(stdout, "%s: cell %d: %.1fs FAILED\n", name, i+1, secs)
		fmt.Fprintf(stderr, "%s: cell %d failed: %s\n", name, i+1, fail.Reason)
		for _, l := range fail.Lines {
			fmt.Fprintf(stderr, "    %s\n", l)
		}
		status = exitFailed
		if ctx.Err() != nil {
			status = stopStatus(ctx)
		}
		break
	}
	if err := writeOutputs(nb, outPath, htmlPath, cfg.HTML, base); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s: wrote %s", name, outPath)
	if cfg.HTML {
		fmt.Fprintf(stdout, " and %s", htmlPath)
	}
	fmt.Fprintf(stdout, " (%.1fs)\n", time.Since(t0).Seconds())
	return status
}

// recordKernel sets the notebook metadata Jupyter's frontend sets once its
// kernel is ready, so that opening the written notebook in Jupyter and
// saving it changes nothing: language_info is the kernel_info_reply's
// object as is (removed when the reply has none), and kernelspec names the
// kernelspec run: {name, display_name, language}. This runner always runs
// the repository's GoNB kernelspec (display name kernelspec.DisplayName);
// under another name (gonb, go) an existing display_name and language of
// that name are kept, as Jupyter shows those of the spec installed there.
func recordKernel(nb *nbformat.Notebook, name, root string, info jupyter.KernelInfo) {
	if name == "" {
		name = kernelspec.DefaultName
	}
	display := kernelspec.DisplayName
	if strings.HasPrefix(name, kernelspec.DefaultName+"-") && root != "" {
		// A per-checkout kernel: the display name its install wrote, so
		// that Jupyter finds the metadata unchanged.
		display = kernelspec.DisplayNameFor(name, root)
	}
	ks := map[string]any{"name": name, "display_name": display, "language": "go"}
	if old, ok := nb.Metadata["kernelspec"].(map[string]any); ok && name != kernelspec.DefaultName && old["name"] == name {
		for _, k := range []string{"display_name", "language"} {
			if v, ok := old[k].(string); ok && v != "" {
				ks[k] = v
			}
		}
	}
	if nb.Metadata == nil {
		nb.Metadata = map[string]any{}
	}
	nb.Metadata["kernelspec"] = ks
	if info.LanguageInfo == nil {
		delete(nb.Metadata, "language_info")
	} else {
		nb.Metadata["language_info"] = info.LanguageInfo
	}
}

func writeOutputs(nb *nbformat.Notebook, outPath, htmlPath string, withHTML bool, title string) error {
	data, err := nb.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(outPath, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", outPath, err)
	}
	if withHTML {
		page, err := htmlexport.Render(nb, title)
		if err != nil {
			return fmt.Errorf("rendering %s: %w", htmlPath, err)
		}
		if err := os.WriteFile(htmlPath, page, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", htmlPath, err)
		}
	}
	return nil
}

// outputCollector turns iopub messages into nbformat outputs of one cell.
type outputCollector struct {
	outputs    []*nbformat.Output
	displays   map[string]*nbformat.Output // display_id → output
	stderr     strings.Builder
	clearNext  bool
	errOutputs []*nbformat.Output
}

func toMIME(data map[string]any) map[string]nbformat.MultilineString {
	out := make(map[string]nbformat.MultilineString, len(data))
	for k, v := range data {
		if s, ok := v.(string); ok {
			out[k] = nbformat.MultilineString{Text: s}
			continue
		}
		raw, _ := jsonMarshal(v)
		out[k] = nbformat.MultilineString{Text: string(raw), Raw: true}
	}
	return out
}

func (oc *outputCollector) add(o *nbformat.Output) {
	if oc.clearNext {
		oc.outputs, oc.clearNext = nil, false
	}
	oc.outputs = append(oc.outputs, o)
}

// kept returns the outputs to save: all but display outputs whose content
// was cleared (every MIME value empty, as a progress block leaves when it is
// erased by updating its display to ""), which show nothing.
func (oc *outputCollector) kept() []*nbformat.Output {
	var out []*nbformat.Output
	for _, o := range oc.outputs {
		if (o.OutputType == "display_data" || o.OutputType == "execute_result") && emptyBundle(o.Data) {
			continue
		}
		out = append(out, o)
	}
	return out
}

// emptyBundle reports whether every value of a MIME bundle is empty text.
func emptyBundle(data map[string]nbformat.MultilineString) bool {
	for _, v := range data {
		if v.Raw || v.Text != "" {
			return false
		}
	}
	return true
}

// handle consumes one iopub message.
func (oc *outputCollector) handle(m *jupyter.Message) {
	switch m.Type() {
	case "stream":
		var s jupyter.StreamContent
		if m.Decode(&s) != nil {
			return
		}
		if s.Name == "stderr" {
			oc.stderr.WriteString(s.Text)
		}
		if n := len(oc.outputs); n > 0 && !oc.clearNext && oc.outputs[n-1].OutputType == "stream" && oc.outputs[n-1].Name == s.Name {
			oc.outputs[n-1].Text.Text += s.Text
			return
		}
		oc.add(&nbformat.Output{OutputType: "stream", Name: s.Name, Text: &nbformat.MultilineString{Text: s.Text}})
	case "display_data", "execute_result", "update_display_data":
		var d jupyter.DisplayContent
		if m.Decode(&d) != nil {
			return
		}
		id, _ := d.Transient["display_id"].(string)
		md := d.Metadata
		if md == nil {
			md = map[string]any{}
		}
		if m.Type() == "update_display_data" {
			if o := oc.displays[id]; o != nil {
				o.Data, o.Metadata = toMIME(d.Data), md
			}
			return
		}
		o := &nbformat.Output{OutputType: m.Type(), Data: toMIME(d.Data), Metadata: md}
		if m.Type() == "execute_result" {
			n := d.ExecutionCount
			o.ExecutionCount = &n
		}
		if id != "" {
			if oc.displays == nil {
				oc.displays = map[string]*nbformat.Output{}
			}
			oc.displays[id] = o
		}
		oc.add(o)
	case "error":
		var e jupyter.ErrorContent
		if m.Decode(&e) != nil {
			return
		}
		o := &nbformat.Output{OutputType: "error", EName: e.EName, EValue: e.EValue, Traceback: e.Traceback}
		if o.Traceback == nil {
			o.Traceback = []string{}
		}
		oc.errOutputs = append(oc.errOutputs, o)
		oc.add(o)
	case "clear_output":
		var c struct {
			Wait bool `json:"wait"`
		}
		_ = m.Decode(&c)
		if c.Wait {
			oc.clearNext = true
		} else {
			oc.outputs = nil
		}
	}
}

// executeCell runs one code cell, storing its outputs and execution count,
// and returns why it failed, or nil.
func executeCell(ctx context.Context, k *gonbKernel, c *nbformat.Cell, timeout time.Duration) *cellFailure {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	oc := &outputCollector{}
	reply, err := k.Execute(cctx, c.Source.Text, oc.handle)
	c.Outputs = oc.kept()
	if reply != nil && reply.ExecutionCount > 0 {
		n := reply.ExecutionCount
		c.ExecutionCount = &n
	}
	return classify(k, reply, err, oc, timeout, stopCause(ctx))
}
