package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
)

// cellLines reads the lines of REPL cells.
type cellLines interface {
	// ReadLine shows prompt and reads one line. pasted reports that the
	// line arrived in a bracketed paste, where a blank line is part of the
	// pasted code rather than the end of the cell. It returns io.EOF at the
	// end of input (Ctrl-D on an empty line) and errAborted when the user
	// presses Ctrl-C at the prompt.
	ReadLine(prompt string) (line string, pasted bool, err error)
}

// errAborted is Ctrl-C at the prompt: the cell being typed is dropped.
var errAborted = errors.New("input aborted")

// termLines reads cells from a terminal with golang.org/x/term's line
// editor: raw mode only while a line is read (so Ctrl-C during a cell is
// SIGINT, which interrupts it), bracketed paste on (a pasted notebook cell
// arrives whole: its blank lines and tabs kept), a Tab key that inserts a
// tab, and the history of lines.
type termLines struct {
	fd   int
	t    *term.Terminal
	in   *ctrlCWatch
	hist *lineHistory
}

// newTermLines returns a termLines on the terminal in/out.
func newTermLines(in *os.File, out io.Writer, hist *lineHistory) *termLines {
	watch := &ctrlCWatch{r: in}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{watch, out}, "")
	t.History = hist
	t.AutoCompleteCallback = func(line string, pos int, key rune) (string, int, bool) {
		if key != '\t' {
			return "", 0, false
		}
		return line[:pos] + "\t" + line[pos:], pos + 1, true
	}
	t.SetBracketedPasteMode(true)
	return &termLines{fd: int(in.Fd()), t: t, in: watch, hist: hist}
}

// ReadLine implements cellLines.
func (tl *termLines) ReadLine(prompt string) (string, bool, error) {
	old, err := term.MakeRaw(tl.fd)
	if err != nil {
		return "", false, err
	}
	defer func() { _ = term.Restore(tl.fd, old) }()
	if w, h, err := term.GetSize(tl.fd); err == nil {
		_ = tl.t.SetSize(w, h)
	}
	tl.t.SetPrompt(prompt)
	tl.in.reset()
	line, err := tl.t.ReadLine()
	switch {
	case err == nil && line == "" && tl.in.sawCtrlC():
		return "", false, errAborted
	case errors.Is(err, term.ErrPasteIndicator):
		return line, true, nil
	}
	return line, false, err
}

// Close turns bracketed paste off again.
func (tl *termLines) Close() { tl.t.SetBracketedPasteMode(false) }

// ctrlCWatch passes a terminal's bytes through, but turns Ctrl-C (0x03)
// into ^E ^U Enter (end of line, erase it, submit the now empty line) and
// notes it: x/term would report Ctrl-C as io.EOF, like Ctrl-D, and keep the
// aborted text in its line buffer for the next prompt.
type ctrlCWatch struct {
	r       io.Reader
	mu      sync.Mutex
	seen    bool
	pending []byte
}

// ctrlCKeys is what a Ctrl-C becomes: ^E, ^U, Enter.
var ctrlCKeys = []byte{5, 21, '\r'}

func (c *ctrlCWatch) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	n, err := c.r.Read(p)
	if n == 0 || bytes.IndexByte(p[:n], 3) < 0 {
		return n, err
	}
	var out []byte
	for _, b := range p[:n] {
		if b == 3 {
			out = append(out, ctrlCKeys...)
		} else {
			out = append(out, b)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = true
	m := copy(p, out)
	c.pending = append(c.pending, out[m:]...)
	return m, err
}

func (c *ctrlCWatch) reset() {
	c.mu.Lock()
	c.seen = false
	c.mu.Unlock()
}

func (c *ctrlCWatch) sawCtrlC() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen
}

// pipeLines reads cells from input that is not a terminal (a script piped
// in): one line at a time, none of them pasted.
type pipeLines struct{ s *bufio.Scanner }

func newPipeLines(r io.Reader) *pipeLines {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 16<<20)
	return &pipeLines{s: s}
}

// ReadLine implements cellLines.
func (p *pipeLines) ReadLine(string) (string, bool, error) {
	if p.s.Scan() {
		return strings.TrimSuffix(p.s.Text(), "\r"), false, nil
	}
	if err := p.s.Err(); err != nil {
		return "", false, err
	}
	return "", false, io.EOF
}

// lineHistory is the REPL's history of lines (x/term's History), at most
// maxHistory, kept across sessions in a file.
type lineHistory struct {
	lines []string // oldest first
}

const maxHistory = 1000

// Add implements term.History; blank lines and repeats of the last line
// are not kept.
func (h *lineHistory) Add(l string) {
	if strings.TrimSpace(l) == "" || (len(h.lines) > 0 && h.lines[len(h.lines)-1] == l) {
		return
	}
	h.lines = append(h.lines, l)
	if len(h.lines) > maxHistory {
		h.lines = h.lines[len(h.lines)-maxHistory:]
	}
}

// Len implements term.History.
func (h *lineHistory) Len() int { return len(h.lines) }

// At implements term.History: 0 is the most recent line.
func (h *lineHistory) At(i int) string { return h.lines[len(h.lines)-1-i] }

// load reads a history file (one line per line, oldest first); a missing
// file is an empty history.
func (h *lineHistory) load(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(data), "\n") {
		h.Add(l)
	}
}

// save writes the history to path.
func (h *lineHistory) save(path string) error {
	return os.WriteFile(path, []byte(strings.Join(h.lines, "\n")+"\n"), 0o644)
}
