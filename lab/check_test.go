package lab

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

func TestCheckPrintsClaim(t *testing.T) {
	var buf bytes.Buffer
	check(&buf, true, "π(a) = %.2e < 0.01 and a 95%% interval", 0.00123)
	check(&buf, 1 < 2, "no arguments")
	if want := "✓ π(a) = 1.23e-03 < 0.01 and a 95% interval\n✓ no arguments\n"; buf.String() != want {
		t.Errorf("printed %q, want %q", buf.String(), want)
	}
}

func TestCheckPanicsOnFalseClaim(t *testing.T) {
	var buf bytes.Buffer
	defer func() {
		r := recover()
		if want := "claim failed: ρ = 0.412 is between 0.6 and 0.8"; r != want {
			t.Errorf("panic value %#v, want %q", r, want)
		}
		if buf.Len() != 0 {
			t.Errorf("a failed claim printed %q", buf.String())
		}
	}()
	check(&buf, false, "ρ = %.3f is between 0.6 and 0.8", 0.412)
	t.Error("no panic")
}

func TestCheckWritesToStdout(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	Check(true, "%d seeds", 5)
	os.Stdout = stdout
	w.Close()
	out, err := io.ReadAll(r)
	if err != nil || string(out) != "✓ 5 seeds\n" {
		t.Errorf("Check printed %q (%v), want %q", out, err, "✓ 5 seeds\n")
	}
}

// TestMarkdownOutsideNotebook checks that Markdown prints its formatted text
// when there is no notebook to send it to.
func TestMarkdownOutsideNotebook(t *testing.T) {
	var b strings.Builder
	markdown(&b, false, "win rate %.3f [%.3f, %.3f], %d%%", 0.5, 0.4, 0.6, 7)
	if got, want := b.String(), "win rate 0.500 [0.400, 0.600], 7%\n"; got != want {
		t.Errorf("Markdown printed %q, want %q", got, want)
	}
}
