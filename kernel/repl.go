package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/peterh/liner"
	"github.com/robustpo/robustpo/kernel/jupyter"
)

// lineReader reads one line with a prompt (liner.State implements it).
// It returns io.EOF at end of input (Ctrl-D) and liner.ErrPromptAborted
// when the user presses Ctrl-C at the prompt.
type lineReader interface {
	Prompt(prompt string) (string, error)
}

// repl is the terminal REPL: it reads cells (an empty line ends a cell),
// runs them on the kernel, streams text as it arrives and saves rich
// outputs (SVG, PNG, JPEG, HTML) to files whose paths it prints.
type repl struct {
	client  *jupyter.Client
	out     io.Writer
	errOut  io.Writer
	richDir string
	saved   int // files saved so far, for unique names
}

// readCell reads lines until an empty line. It returns io.EOF when input
// ends before any line of a cell was typed; Ctrl-C at the prompt drops the
// cell being typed and starts over.
func (r *repl) readCell(lr lineReader) (string, error) {
	var lines []string
	for {
		prompt := "go> "
		if len(lines) > 0 {
			prompt = "... "
		}
		line, err := lr.Prompt(prompt)
		switch {
		case errors.Is(err, liner.ErrPromptAborted):
			lines = nil
			fmt.Fprintln(r.out, "^C")
			continue
		case errors.Is(err, io.EOF):
			if len(lines) > 0 {
				return strings.Join(lines, "\n"), nil
			}
			return "", io.EOF
		case err != nil:
			return "", fmt.Errorf("reading input: %w", err)
		}
		if strings.TrimSpace(line) == "" {
			if len(lines) == 0 {
				continue
			}
			return strings.Join(lines, "\n"), nil
		}
		lines = append(lines, line)
	}
}

// richExt maps the MIME types saved to files to their file extensions, in
// order of preference.
var richExt = []struct{ mime, ext string }{
	{"image/svg+xml", ".svg"}, {"image/png", ".png"}, {"image/jpeg", ".jpg"}, {"text/html", ".html"},
}

// display prints or saves one display_data / execute_result bundle.
func (r *repl) display(d jupyter.DisplayContent) {
	for _, re := range richExt {
		v, ok := d.Data[re.mime]
		if !ok {
			continue
		}
		s, _ := v.(string)
		data := []byte(s)
		if re.mime == "image/png" || re.mime == "image/jpeg" {
			dec, err := decodeBase64(s)
			if err != nil {
				fmt.Fprintf(r.errOut, "[%s output not decodable: %v]\n", re.mime, err)
				return
			}
			data = dec
		} else if re.mime == "text/html" {
			data = []byte("<!DOCTYPE html>\n<meta charset=\"utf-8\">\n" + s + "\n")
		}
		if err := os.MkdirAll(r.richDir, 0o755); err != nil {
			fmt.Fprintf(r.errOut, "[cannot save %s: %v]\n", re.mime, err)
			return
		}
		r.saved++
		path := filepath.Join(r.richDir, fmt.Sprintf("output-%03d%s", r.saved, re.ext))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			fmt.Fprintf(r.errOut, "[cannot save %s: %v]\n", re.mime, err)
			return
		}
		fmt.Fprintf(r.out, "[%s saved to %s]\n", re.mime, path)
		return
	}
	for _, mime := range []string{"text/markdown", "text/plain"} {
		if s, ok := d.Data[mime].(string); ok {
			fmt.Fprintln(r.out, strings.TrimRight(s, "\n"))
			return
		}
	}
}

// runCell executes code, printing outputs as they arrive. It returns why
// the cell failed, or nil. GoNB magics (%%, %help, !cmd, ...) pass through
// unchanged.
func (r *repl) runCell(ctx context.Context, code string) *cellFailure {
	oc := &outputCollector{}
	reply, err := r.client.Execute(ctx, code, func(m *jupyter.Message) {
		oc.handle(m)
		switch m.Type() {
		case "stream":
			var s jupyter.StreamContent
			if m.Decode(&s) == nil {
				w := r.out
				if s.Name == "stderr" {
					w = r.errOut
				}
				fmt.Fprint(w, s.Text)
			}
		case "display_data", "execute_result", "update_display_data":
			var d jupyter.DisplayContent
			if m.Decode(&d) == nil {
				r.display(d)
			}
		case "error":
			var e jupyter.ErrorContent
			if m.Decode(&e) == nil {
				fmt.Fprintln(r.errOut, strings.TrimRight(strings.Join(e.Traceback, "\n"), "\n"))
			}
		}
	})
	return classify(reply, err, oc, 0, false)
}

// loop reads and runs cells until end of input. interrupts delivers Ctrl-C
// presses that arrive while a cell runs; each sends interrupt_request.
func (r *repl) loop(ctx context.Context, lr lineReader, interrupts <-chan os.Signal, record func(string)) error {
	for {
		code, err := r.readCell(lr)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if record != nil {
			record(code)
		}
		done := make(chan struct{})
		go func() {
			// After a Ctrl-C, repeat the interrupt every second until the
			// cell ends: GoNB only interrupts a running cell program, so a
			// request that arrives while it still compiles would be lost.
			var repeat <-chan time.Time
			for {
				select {
				case <-interrupts:
					fmt.Fprintln(r.errOut, "^C: interrupting the cell")
					_ = r.client.Interrupt()
					if repeat == nil {
						tick := time.NewTicker(time.Second)
						defer tick.Stop()
						repeat = tick.C
					}
				case <-repeat:
					_ = r.client.Interrupt()
				case <-done:
					return
				}
			}
		}()
		fail := r.runCell(ctx, code)
		close(done)
		if fail != nil {
			fmt.Fprintf(r.errOut, "[cell failed: %s]\n", fail.Reason)
		}
		select {
		case <-r.client.Exited():
			return errors.New("the kernel exited")
		default:
		}
	}
}

func cmdRepl(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("repl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outDir := fs.String("out", filepath.Join("out", "repl"), "directory for rich outputs (SVG, PNG, HTML)")
	autoGet := fs.Bool("autoget", false, "keep GoNB's automatic `go get` before each cell")
	verbose := fs.Bool("v", false, "copy the kernel's log to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadInput
	}
	client, err := startKernel(ctx, kernelOptions{AutoGet: *autoGet, Verbose: *verbose, Log: stderr})
	if err != nil {
		fmt.Fprintf(stderr, "kernel repl: %v\n", err)
		return exitFailed
	}
	defer func() { _ = client.Close() }()

	// Ctrl-C while a cell runs interrupts it; at the prompt liner reports it.
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	defer signal.Stop(interrupts)

	ln := liner.NewLiner()
	defer ln.Close()
	ln.SetCtrlCAborts(true)
	ln.SetMultiLineMode(true)
	histPath := ""
	if cache, err := os.UserCacheDir(); err == nil {
		histPath = filepath.Join(cache, "robustpo", "repl_history")
		if f, err := os.Open(histPath); err == nil {
			_, _ = ln.ReadHistory(f)
			_ = f.Close()
		}
	}
	fmt.Fprintln(stdout, "GoNB REPL for robustpo: an empty line runs the cell, Ctrl-C interrupts, Ctrl-D quits. %help lists GoNB magics.")
	r := &repl{client: client, out: stdout, errOut: stderr, richDir: *outDir}
	err = r.loop(ctx, ln, interrupts, func(code string) { ln.AppendHistory(code) })
	if histPath != "" {
		if mkErr := os.MkdirAll(filepath.Dir(histPath), 0o755); mkErr == nil {
			if f, ferr := os.Create(histPath); ferr == nil {
				_, _ = ln.WriteHistory(f)
				_ = f.Close()
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "kernel repl: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, "bye")
	return exitOK
}
