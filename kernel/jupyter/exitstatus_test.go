package jupyter

import (
	"os/exec"
	"syscall"
	"testing"
)

// TestParseProcessStateRoundTrip parses the text of real process states:
// an exit code and deaths by signal.
func TestParseProcessStateRoundTrip(t *testing.T) {
	for _, c := range []struct {
		script string
		want   string
	}{
		{"exit 3", "exit status 3"},
		{"kill -KILL $$", "killed by signal KILL"},
		{"kill -TERM $$", "killed by signal TERM"},
		{"kill -INT $$", "killed by signal INT"},
		{"kill -SEGV $$", "killed by signal SEGV"},
	} {
		err := exec.Command("/bin/sh", "-c", c.script).Run()
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", c.script, err)
		}
		es, ok := ParseProcessState(ee.Error())
		if !ok || es.String() != c.want {
			t.Errorf("%s: ParseProcessState(%q) = %v, %v; want %s", c.script, ee.Error(), es, ok, c.want)
		}
		if got := ExitStatusOf(ee.ProcessState); got != es {
			t.Errorf("%s: ExitStatusOf = %v, parsed %v", c.script, got, es)
		}
	}
	for _, s := range []string{"", "exit status", "exit status x", "exit status 01", "exit status 1\n", "signal: ", "signal: nope", "Signal: killed"} {
		if es, ok := ParseProcessState(s); ok {
			t.Errorf("ParseProcessState(%q) = %v, want no match", s, es)
		}
	}
	if got := SignalName(syscall.Signal(64)); got == "" {
		t.Errorf("SignalName(64) is empty")
	}
}
