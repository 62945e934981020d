package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
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
// runs them on the kernel, streams text as it arrives, prints tables as
// text and saves figures (PNG, SVG) and other rich outputs (HTML) to files
// whose paths it prints.
type repl struct {
	client  *gonbKernel
	out     io.Writer
	errOut  io.Writer
	richDir string
	saved   int // rich outputs saved so far, for unique names

	progressOpen bool // a progress line without its newline is on the terminal
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

// imageExt maps the image MIME types of a bundle to the file extensions
// they are saved under.
var imageExt = []struct{ mime, ext string }{
	{"image/png", ".png"}, {"image/svg+xml", ".svg"}, {"image/jpeg", ".jpg"},
}

// display prints or saves one display_data / execute_result bundle:
//   - a figure (any of PNG, SVG, JPEG): each image to richDir as
//     output-NNN.png, .svg, .jpg (one NNN per bundle), paths printed;
//   - else text/plain (a table's plain copy), then text/markdown: printed;
//   - else text/html: saved as output-NNN.html.
//
// Outputs with a display_id (progress bars and other live updates, sent
// again with update_display_data) save no file: their text is shown on
// one terminal line, rewritten at each update.
func (r *repl) display(d jupyter.DisplayContent) {
	if id, _ := d.Transient["display_id"].(string); id != "" {
		r.showProgress(d)
		return
	}
	r.endProgress()
	var images []struct{ mime, ext string }
	for _, ie := range imageExt {
		if _, ok := d.Data[ie.mime].(string); ok {
			images = append(images, ie)
		}
	}
	if len(images) > 0 {
		r.saved++
		for _, ie := range images {
			s := d.Data[ie.mime].(string)
			data := []byte(s)
			if ie.mime != "image/svg+xml" {
				dec, err := decodeBase64(s)
				if err != nil {
					fmt.Fprintf(r.errOut, "[%s output not decodable: %v]\n", ie.mime, err)
					continue
				}
				data = dec
			}
			r.save(ie.mime, ie.ext, data)
		}
		return
	}
	for _, mime := range []string{"text/plain", "text/markdown"} {
		if s, ok := d.Data[mime].(string); ok {
			fmt.Fprintln(r.out, strings.TrimRight(s, "\n"))
			return
		}
	}
	if s, ok := d.Data["text/html"].(string); ok {
		r.saved++
		r.save("text/html", ".html", []byte("<!DOCTYPE html>\n<meta charset=\"utf-8\">\n"+s+"\n"))
	}
}

// save writes one rich output as richDir/output-NNN.ext (NNN = r.saved)
// and prints its path.
func (r *repl) save(mime, ext string, data []byte) {
	if err := os.MkdirAll(r.richDir, 0o755); err != nil {
		fmt.Fprintf(r.errOut, "[cannot save %s: %v]\n", mime, err)
		return
	}
	path := filepath.Join(r.richDir, fmt.Sprintf("output-%03d%s", r.saved, ext))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		fmt.Fprintf(r.errOut, "[cannot save %s: %v]\n", mime, err)
		return
	}
	fmt.Fprintf(r.out, "[%s saved to %s]\n", mime, path)
}

var htmlTag = regexp.MustCompile(`<[^>]*>`)

// showProgress rewrites the terminal's progress line with the text of a
// live display (text/plain, else text/html without its tags).
func (r *repl) showProgress(d jupyter.DisplayContent) {
	text, ok := d.Data["text/plain"].(string)
	if !ok {
		h, _ := d.Data["text/html"].(string)
		text = html.UnescapeString(htmlTag.ReplaceAllString(h, " "))
	}
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		r.endProgress()
		return
	}
	fmt.Fprintf(r.out, "\r%s\x1b[K", text)
	r.progressOpen = true
}

// endProgress ends the progress line, if one is shown.
func (r *repl) endProgress() {
	if r.progressOpen {
		fmt.Fprintln(r.out)
		r.progressOpen = false
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
				r.endProgress()
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
				r.endProgress()
				fmt.Fprintln(r.errOut, strings.TrimRight(strings.Join(e.Traceback, "\n"), "\n"))
			}
		}
	})
	r.endProgress()
	return classify(r.client, reply, err, oc, 0, nil)
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
			fmt.Fprintf(r.errOut, "kernel log (last %d lines):\n", logLines)
			for _, l := range r.client.logTail(logLines) {
				fmt.Fprintf(r.errOut, "  %s\n", l)
			}
			return fmt.Errorf("the kernel (GoNB) exited: %s", r.client.ExitDescription())
		default:
		}
	}
}

func cmdRepl(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("repl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outDir := fs.String("out", filepath.Join("out", "repl"), "directory for rich outputs (figures as PNG and SVG, HTML)")
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
