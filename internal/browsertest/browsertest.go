// Package browsertest drives headless Chromium for the tests that check what
// a reader sees (notebooks in Jupyter, exported HTML pages): finding the
// browser, starting it, and waiting on the page's JavaScript state.
package browsertest

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of a Chromium or Chrome executable on PATH, or "".
func Chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Require returns the Chromium to test with, skipping the test (with the
// Debian package to install) when there is none, and under -short.
func Require(t testing.TB) string {
	t.Helper()
	path := Chromium()
	if path == "" {
		t.Skip("no Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
	}
	if testing.Short() {
		t.Skip("starts Chromium (skipped with -short)")
	}
	return path
}

// Start starts headless Chromium at path (no sandbox, no GPU, a 1280×1024
// window, plus extra options) and opens url in it; the browser is closed when
// the test ends. It returns the browser's context, with no deadline: give the
// actions after the first their own timeouts.
func Start(t testing.TB, path, url string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 1024))
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	// The first action starts the browser, which lives as long as that
	// action's context: no timeout on it.
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s in Chromium: %v", url, err)
	}
	return bctx
}

// Offline is the Chromium option that sends every request through a proxy
// that does not exist, so a page reaches nothing beyond file:// URLs.
var Offline = chromedp.ProxyServer("http://127.0.0.1:9")

// WaitJS polls the JavaScript expression cond until it is true.
func WaitJS(ctx context.Context, cond string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("waiting for %s: %w", cond, err)
			}
			return fmt.Errorf("still false after %v: %s", timeout, cond)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
