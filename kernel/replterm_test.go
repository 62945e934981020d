package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyPair opens a pseudo-terminal: the REPL's side (tty) and the user's
// (ptmx). Everything the REPL writes to the terminal is collected in the
// returned buffer (read continuously, so writes never block).
func ptyPair(t *testing.T) (ptmx, tty *os.File, screen *lockedBuffer) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	_ = pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120})
	screen = &lockedBuffer{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(screen, ptmx)
	}()
	t.Cleanup(func() {
		_ = tty.Close()
		_ = ptmx.Close()
		<-done
	})
	return ptmx, tty, screen
}

// pastedCell is a notebook cell as a terminal pastes it (bracketed, lines
// ended by CR): blank lines between declarations and inside a function,
// tab indentation, then the %% part.
const pastedCell = "// sq squares.\rfunc sq(x int) int {\r\ty := x * x\r\r\treturn y\r}\r\r%%\rfmt.Println(\"sq:\", sq(7))\r"

// TestTermLinesPaste reads cells through a real pseudo-terminal: a
// bracketed paste arrives as one cell with its blank lines and tabs, a
// typed Tab inserts a tab, Ctrl-C at the prompt drops the typed line, and
// Ctrl-D ends the input.
func TestTermLinesPaste(t *testing.T) {
	ptmx, tty, screen := ptyPair(t)
	tl := newTermLines(tty, tty, &lineHistory{})
	defer tl.Close()
	r := &repl{out: io.Discard}
	cells := make(chan string, 4)
	errs := make(chan error, 1)
	go func() {
		for {
			c, err := r.readCell(tl)
			if err != nil {
				errs <- err
				return
			}
			cells <- c
		}
	}()
	// Each input is written once the terminal shows the prompt it answers
	// (the reader is in raw mode only while it reads a line, as a user
	// typing at the prompt would find it).
	prompts := 0
	waitPrompt := func() {
		t.Helper()
		prompts++
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(screen.String(), "go> ") < prompts {
			if time.Now().After(deadline) {
				t.Fatalf("no prompt %d; the terminal shows:\n%q", prompts, screen.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
	}
	type step struct{ input, want string }
	for _, s := range []step{
		{"\x1b[200~" + pastedCell + "\x1b[201~\r", "// sq squares.\nfunc sq(x int) int {\n\ty := x * x\n\n\treturn y\n}\n\n%%\nfmt.Println(\"sq:\", sq(7))"},
		{"\tx := 1\r\r", "\tx := 1"},
		{"dropped\x03", ""},
		{"kept\r\r", "kept"},
	} {
		waitPrompt()
		if _, err := ptmx.WriteString(s.input); err != nil {
			t.Fatal(err)
		}
		if s.want == "" {
			continue
		}
		select {
		case got := <-cells:
			if got != s.want {
				t.Errorf("input %q: cell %q, want %q", s.input, got, s.want)
			}
		case err := <-errs:
			t.Fatalf("input %q: %v", s.input, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("input %q: no cell after 10 s; the terminal shows:\n%q", s.input, screen.String())
		}
	}
	waitPrompt()
	if _, err := ptmx.WriteString("\x04"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if err != io.EOF {
			t.Errorf("Ctrl-D: %v, want io.EOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl-D did not end the input")
	}
	if !strings.Contains(screen.String(), "\x1b[?2004h") {
		t.Errorf("bracketed paste was not turned on: %q", screen.String())
	}
}

// TestReplUnderPTY runs `kernel repl` on the real kernel in a pseudo-
// terminal: a pasted notebook cell (blank lines, tabs) runs as one cell, a
// figure is saved as PNG and SVG under the session's name with its path
// printed once, and Ctrl-D quits.
func TestReplUnderPTY(t *testing.T) {
	if testing.Short() {
		t.Skip("starts GoNB (skipped with -short)")
	}
	ptmx, tty, screen := ptyPair(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	code := make(chan int, 1)
	var errOut lockedBuffer
	go func() { code <- cmdRepl(ctx, []string{"-out", out}, tty, tty, &errOut) }()
	waitFor := func(what string) {
		t.Helper()
		for !strings.Contains(screen.String(), what) {
			select {
			case c := <-code:
				t.Fatalf("the REPL exited (%d) before %q:\n%s\n%s", c, what, screen.String(), errOut.String())
			case <-ctx.Done():
				t.Fatalf("no %q on the terminal:\n%s\n%s", what, screen.String(), errOut.String())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	waitFor("go> ")
	ptmx.WriteString("\x1b[200~" + pastedCell + "\x1b[201~\r")
	waitFor("sq: 49")
	png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
	figure := "import \"github.com/janpfeifer/gonb/gonbui\"\rimport \"github.com/janpfeifer/gonb/gonbui/protocol\"\r\r%%\r" +
		"gonbui.SendData(&protocol.DisplayData{Data: map[protocol.MIMEType]any{\r" +
		"\t\"image/png\": \"" + png + "\",\r\t\"image/svg+xml\": `<svg xmlns=\"http://www.w3.org/2000/svg\"/>`,\r\t\"text/plain\": \"fig\"}})\rgonbui.Sync()\r"
	ptmx.WriteString("\x1b[200~" + figure + "\x1b[201~\r")
	waitFor("[figure: ")
	ptmx.WriteString("\x04")
	select {
	case c := <-code:
		if c != exitOK {
			t.Errorf("exit %d\n%s", c, errOut.String())
		}
	case <-ctx.Done():
		t.Fatal("Ctrl-D did not quit the REPL")
	}
	files, _ := filepath.Glob(filepath.Join(out, "*"))
	if len(files) != 2 || !strings.HasSuffix(files[0], "-001.png") || !strings.HasSuffix(files[1], "-001.svg") {
		t.Fatalf("saved %v, want one figure as <session>-001.png and .svg", files)
	}
	if n := strings.Count(screen.String(), "[figure: "); n != 1 {
		t.Errorf("the figure's path printed %d times, want once:\n%s", n, screen.String())
	}
	if data, _ := os.ReadFile(files[0]); !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Errorf("%s is not a PNG", files[0])
	}
}

// TestSaveNeverOverwrites checks that saved outputs skip names already
// taken (an earlier session's, or another process's) and keep a figure's
// files under one number.
func TestSaveNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s-001.svg"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r := &repl{out: &out, errOut: &out, richDir: dir, session: "s"}
	r.save("figure", map[string][]byte{".png": []byte("p"), ".svg": []byte("s")})
	if old, _ := os.ReadFile(filepath.Join(dir, "s-001.svg")); string(old) != "old" {
		t.Errorf("s-001.svg was overwritten")
	}
	if _, err := os.Stat(filepath.Join(dir, "s-001.png")); err == nil {
		t.Errorf("a half-saved s-001.png was left behind")
	}
	want := "[figure: " + filepath.Join(dir, "s-002.png") + " .svg]\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}
