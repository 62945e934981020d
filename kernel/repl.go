package main

import (
	"context"
	"fmt"
	"io"
)

func cmdRepl(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "kernel repl: not yet")
	return exitFailed
}
