package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/robustpo/robustpo/kernel/kernelspec"
)

// cmdInstall builds the tools, writes the kernelspec and prebuilds the
// packages notebooks import (unless --no-prebuild). It is idempotent
// and prints one line per thing it changed or found already in place.
// The kernelspec is named after the checkout (kernelspec.CheckoutName)
// unless --name says otherwise; a name Jupyter refuses exits 2 before
// anything is built.
func cmdInstall(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "kernelspec name (default: this checkout's, robustpo-<hash of its path>; "+kernelspec.DefaultName+" is the name notebooks' metadata carry)")
	dataDir := fs.String("jupyter-data-dir", "", "Jupyter data dir (default $JUPYTER_DATA_DIR or the platform's, e.g. ~/.local/share/jupyter)")
	noPrebuild := fs.Bool("no-prebuild", false, "skip prebuilding the packages notebooks import (the first cell then builds them)")
	withGopls := fs.Bool("with-gopls", false, "also install gopls "+kernelspec.GoplsVersion+" (autocomplete and contextual help)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadInput
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kernel install: unexpected argument %q\n", fs.Arg(0))
		return exitBadInput
	}
	if *name != "" {
		if err := kernelspec.ValidName(*name); err != nil {
			fmt.Fprintf(stderr, "kernel install: %v\n", err)
			return exitBadInput
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "kernel install: %v\n", err)
		return exitFailed
	}
	root, err := kernelspec.RepoRoot(wd)
	if err != nil {
		fmt.Fprintf(stderr, "kernel install: %v\n", err)
		return exitFailed
	}
	if *name == "" {
		*name = kernelspec.CheckoutName(root)
	}
	bin, err := kernelspec.BinDir(root)
	if err != nil {
		fmt.Fprintf(stderr, "kernel install: %v\n", err)
		return exitFailed
	}
	tools := kernelspec.ToolsIn(bin)
	built, err := kernelspec.Build(ctx, root, tools, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "kernel install: %v\n", err)
		return exitFailed
	}
	if built {
		fmt.Fprintf(stdout, "built %s and %s\n", tools.Gonb, tools.Goimports)
	} else {
		fmt.Fprintf(stdout, "unchanged: %s and %s already built\n", tools.Gonb, tools.Goimports)
	}
	if *withGopls {
		got, err := kernelspec.InstallGopls(ctx, tools, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "kernel install: %v\n", err)
			return exitFailed
		}
		if got {
			fmt.Fprintf(stdout, "installed %s\n", tools.Gopls)
		} else {
			fmt.Fprintf(stdout, "unchanged: %s already installed\n", tools.Gopls)
		}
	}
	dir, err := kernelspec.DataDir(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "kernel install: %v\n", err)
		return exitFailed
	}
	spec, err := kernelspec.NewSpec(tools, root, *name)
	if err != nil {
		fmt.Fprintf(stderr, "kernel install: %v\n", err)
		return exitFailed
	}
	path, changed, err := kernelspec.Write(dir, *name, spec)
	if err != nil {
		fmt.Fprintf(stderr, "kernel install: %v\n", err)
		return exitBadInput
	}
	if changed {
		fmt.Fprintf(stdout, "wrote kernelspec %q (%s) to %s\n", *name, spec.DisplayName, path)
	} else {
		fmt.Fprintf(stdout, "unchanged: kernelspec %q at %s\n", *name, path)
	}
	if !*noPrebuild {
		if err := reportPrebuild(ctx, root, kernelspec.MergeEnv(os.Environ(), spec.Env), stdout); err != nil {
			fmt.Fprintf(stderr, "kernel install: %v\n", err)
			return exitFailed
		}
	}
	return exitOK
}
