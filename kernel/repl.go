package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/robustpo/robustpo/kernel/jupyter"
)

// repl is the terminal REPL: it reads cells (an empty line typed at the
// prompt ends a cell; blank lines inside pasted text do not), runs them on
// the kernel, streams text as it arrives, draws progress on one terminal
// line, prints tables as text and saves figures (PNG and SVG) and other rich
// outputs (HTML) to files whose paths it prints.
type repl struct {
	client  *gonbKernel
	out     io.Writer
	errOut  io.Writer
	richDir string
	// session prefixes the names of saved outputs (the session's start
	// time), so a new session never overwrites an earlier one's files.
	session string
	saved   int // rich outputs saved so far, for unique names

	progressOpen bool // a progress line without its newline is on the terminal
}

// readCell reads lines until an empty line typed at the prompt (blank lines
// of a bracketed paste are kept, as are tabs). It returns io.EOF when input
// ends before any line of a cell was typed; Ctrl-C at the prompt drops the
// cell being typed and starts over.
func (r *repl) readCell(lr cellLines) (string, error) {
	var lines []string
	for {
		prompt := "go> "
		if len(lines) > 0 {
			prompt = "... "
		}
		line, pasted, err := lr.ReadLine(prompt)
		switch {
		case errors.Is(err, errAborted):
			lines = nil
			fmt.Fprintln(r.out, "^C")
			continue
		case errors.Is(err, io.EOF):
			if len(lines) > 0 {
				return trimBlankLines(lines), nil
			}
			return "", io.EOF
		case err != nil:
			return "", fmt.Errorf("reading input: %w", err)
		}
		if strings.TrimSpace(line) == "" && !pasted {
			if len(lines) == 0 {
				continue
			}
			return trimBlankLines(lines), nil
		}
		if len(lines) == 0 && strings.TrimSpace(line) == "" {
			continue // pasted blank lines before any code
		}
		lines = append(lines, line)
	}
}

// trimBlankLines joins lines, leaving out blank lines at the end.
func trimBlankLines(lines []string) string {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
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
		files := map[string][]byte{}
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
			files[ie.ext] = data
		}
		r.save("figure", files)
		return
	}
	for _, mime := range []string{"text/plain", "text/markdown"} {
		if s, ok := d.Data[mime].(string); ok {
			fmt.Fprintln(r.out, strings.TrimRight(s, "\n"))
			return
		}
	}
	if s, ok := d.Data["text/html"].(string); ok {
		r.save("HTML", map[string][]byte{".html": []byte("<!DOCTYPE html>\n<meta charset=\"utf-8\">\n" + s + "\n")})
	}
}

// save writes one rich output, files by extension, as
// richDir/<session>-NNN.<ext> with the first NNN after r.saved whose files
// do not exist yet (so nothing is ever overwritten), and prints one line
// naming them: "[figure: out/repl/20261202-101500-001.png .svg]".
func (r *repl) save(what string, files map[string][]byte) {
	if len(files) == 0 {
		return
	}
	if err := os.MkdirAll(r.richDir, 0o755); err != nil {
		fmt.Fprintf(r.errOut, "[cannot save the %s: %v]\n", what, err)
		return
	}
	exts := slices.Sorted(maps.Keys(files))
	for {
		r.saved++
		base := filepath.Join(r.richDir, fmt.Sprintf("%s-%03d", r.session, r.saved))
		written, err := writeNew(base, exts, files)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			fmt.Fprintf(r.errOut, "[cannot save the %s: %v]\n", what, err)
			return
		}
		fmt.Fprintf(r.out, "[%s: %s]\n", what, strings.Join(written, " "))
		return
	}
}

// writeNew creates base+ext for every ext, failing with fs.ErrExist (and
// removing what it created) when any of them exists. It returns the first
// path and the other extensions, for printing.
func writeNew(base string, exts []string, files map[string][]byte) ([]string, error) {
	var created []string
	for _, ext := range exts {
		f, err := os.OpenFile(base+ext, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = f.Write(files[ext])
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			created = append(created, base+ext)
		}
		if err != nil {
			for _, p := range created {
				_ = os.Remove(p)
			}
			return nil, err
		}
	}
	shown := []string{created[0]}
	for _, ext := range exts[1:] {
		shown = append(shown, ext)
	}
	return shown, nil
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
func (r *repl) loop(ctx context.Context, lr cellLines, interrupts <-chan os.Signal, record func(string)) error {
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

	hist := &lineHistory{}
	histPath := ""
	if cache, err := os.UserCacheDir(); err == nil {
		histPath = filepath.Join(cache, "robustpo", "repl_history")
		hist.load(histPath)
	}
	var lines cellLines = newPipeLines(stdin)
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tl := newTermLines(f, stdout, hist)
		defer tl.Close()
		lines = tl
	}
	fmt.Fprintln(stdout, "GoNB REPL for robustpo: an empty line runs the cell (pasted cells arrive whole), Ctrl-C interrupts, Ctrl-D quits. %help lists GoNB magics.")
	r := &repl{client: client, out: stdout, errOut: stderr, richDir: *outDir, session: time.Now().Format("20060102-150405")}
	err = r.loop(ctx, lines, interrupts, nil)
	if histPath != "" {
		if mkErr := os.MkdirAll(filepath.Dir(histPath), 0o755); mkErr == nil {
			_ = hist.save(histPath)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "kernel repl: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, "bye")
	return exitOK
}
