// Package htmlexport renders an executed notebook as one standalone HTML page.
//
// Markdown cells are rendered with goldmark (GitHub-flavoured: tables,
// strikethrough, autolinks, task lists; raw HTML kept). Code cells show their
// source and, below it, their outputs: streams as preformatted text (stderr
// tinted), errors with their traceback (ANSI colour codes removed), and rich
// outputs inline, choosing per output the first MIME type present among
// image/svg+xml, image/png, image/jpeg, image/gif, text/html, text/markdown,
// text/plain. A figure bundle (PNG, SVG, PDF and text/plain) shows its SVG
// inline, without its XML prolog; PNG and JPEG become data: URI images; a
// table (text/html with a text/plain copy) shows the HTML. Binary data
// (base64) is never printed as text: a bundle with nothing displayable shows
// a note naming its MIME types.
// Go source is highlighted (chroma, GitHub's colours; GoNB magics such as
// %% stay plain text). TeX math in markdown ($...$, $$...$$) is kept
// verbatim and typeset in the browser by MathJax: the machine's own copy when
// there is one (Debian's libjs-mathjax, see LocalMathJax), so the page reads
// offline, else (or when that copy fails to load) MathJax v3 from a CDN. CSS
// is embedded, images are data URIs or inline SVG. Where no MathJax loads, the
// TeX source is shown as is, in a monospace style, so the page stays readable.
package htmlexport

import (
	"bytes"
	"fmt"
	"html"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/robustpo/robustpo/kernel/nbformat"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
)

// css is the page style: a readable single column, monospace code blocks.
const css = `
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; line-height: 1.55;
  color: #1f2328; background: #fff; max-width: 980px; margin: 2em auto; padding: 0 1.2em; }
h1, h2, h3 { line-height: 1.25; border-bottom: 1px solid #d8dee4; padding-bottom: .25em; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.88em; }
pre { margin: 0; white-space: pre-wrap; word-wrap: break-word; tab-size: 4; }
table { border-collapse: collapse; } th, td { border: 1px solid #d0d7de; padding: .3em .7em; }
.cell { margin: 1.2em 0; }
.code .source { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .7em 1em; }
.prompt { color: #57606a; font-family: ui-monospace, monospace; font-size: .8em; margin-bottom: .2em; }
.output { padding: .4em 1em; border-left: 3px solid #d0d7de; margin-top: .4em; overflow-x: auto; }
.output.stderr { background: #fff8e6; border-left-color: #d4a72c; }
.output.error { background: #ffebe9; border-left-color: #cf222e; }
.output img, .output svg { max-width: 100%; height: auto; }
.raw, .note { color: #57606a; }
html:not(.mathjax) .math { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em;
  color: #0b3d91; background: #f3f6fb; border-radius: 3px; padding: 0 .2em; white-space: pre-wrap; }
.math.display { display: block; margin: .7em 0; overflow-x: auto; }
html:not(.mathjax) .math.display { padding: .4em .8em; }
`

// mathJax3 is the page head's MathJax v3 set-up (the CDN copy): TeX between
// \( \) (inline) and \[ \] (display), as written by the math extension.
// The "mathjax" class set on <html> once the script has loaded turns the
// offline style of the TeX source off before typesetting.
const mathJax3 = `<script>
function robustpoMathJax3() {
  window.MathJax = {
    tex: { inlineMath: [['\\(', '\\)']], displayMath: [['\\[', '\\]']] },
    startup: { ready: function () { document.documentElement.classList.add('mathjax'); MathJax.startup.defaultReady(); } }
  };
  var s = document.createElement('script');
  s.src = 'https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js';
  s.defer = true;
  document.head.appendChild(s);
}
</script>
`

// mathJax2 loads a local MathJax 2 (%s: its URL) with the same delimiters
// and SVG output, and falls back to the CDN's MathJax 3 when it does not load.
const mathJax2 = `<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  jax: ["input/TeX", "output/SVG"], extensions: ["tex2jax.js"],
  TeX: { extensions: ["AMSmath.js", "AMSsymbols.js"] },
  tex2jax: { inlineMath: [['\\(', '\\)']], displayMath: [['\\[', '\\]']], processEscapes: false },
  showMathMenu: false, messageStyle: "none"
});
</script>
<script src="%s" onload="document.documentElement.classList.add('mathjax')" onerror="robustpoMathJax3()"></script>
`

// mathJaxPaths are where Linux distributions install MathJax 2 (Debian and
// Ubuntu: libjs-mathjax).
var mathJaxPaths = []string{"/usr/share/javascript/mathjax/MathJax.js", "/usr/share/mathjax/MathJax.js"}

// MathJaxEnv names a MathJax 2 MathJax.js (a path or URL) to use instead of
// the one LocalMathJax finds.
const MathJaxEnv = "ROBUSTPO_MATHJAX"

// LocalMathJax returns the MathJax 2 script a page should load: $ROBUSTPO_MATHJAX
// when set, else the first of mathJaxPaths that exists, as a file:// URL; ""
// when there is none (the page then uses the CDN).
func LocalMathJax() string {
	if v := os.Getenv(MathJaxEnv); v != "" {
		if strings.Contains(v, "://") {
			return v
		}
		return fileURL(v)
	}
	for _, p := range mathJaxPaths {
		if _, err := os.Stat(p); err == nil {
			return fileURL(p)
		}
	}
	return ""
}

// fileURL returns the file:// URL of a path (made absolute).
func fileURL(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
}

// mathHead returns the head's MathJax set-up for the MathJax 2 script at
// local ("" for the CDN's MathJax 3 only).
func mathHead(local string) string {
	if local == "" {
		return mathJax3 + "<script>robustpoMathJax3();</script>\n"
	}
	return mathJax3 + fmt.Sprintf(mathJax2, local+"?config=TeX-AMS_SVG")
}

// Go highlighting: chroma's Go lexer (coalesced), HTML with CSS classes, and
// GitHub's colours.
var (
	goLexer       = chroma.Coalesce(lexers.Get("go"))
	codeFormatter = chromahtml.New(chromahtml.WithClasses(true), chromahtml.PreventSurroundingPre(true))
	codeStyle     = styles.Get("github")
	codeCSS       = func() string {
		var b strings.Builder
		if err := codeFormatter.WriteCSS(&b, codeStyle); err != nil {
			panic(err) // writing to a strings.Builder cannot fail
		}
		return b.String()
	}()
)

// highlightGo returns src as highlighted HTML (spans with chroma's classes,
// HTML-escaped). Tokens the Go lexer cannot place (GoNB's magics: %%,
// %noautoget, !shell) are plain text, not errors.
func highlightGo(src string) string {
	it, err := goLexer.Tokenise(nil, src)
	if err != nil {
		return html.EscapeString(src)
	}
	var toks []chroma.Token
	for t := it(); t != chroma.EOF; t = it() {
		if t.Type == chroma.Error {
			t.Type = chroma.Text
		}
		toks = append(toks, t)
	}
	var b strings.Builder
	if err := codeFormatter.Format(&b, codeStyle, chroma.Literator(toks...)); err != nil {
		return html.EscapeString(src)
	}
	return b.String()
}

var ansiRe = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// StripANSI removes terminal escape sequences (colours) from s.
func StripANSI(s string) string { return ansiRe.ReplaceAllString(s, "") }

var md = goldmark.New(
	goldmark.WithExtensions(extension.GFM, mathExtension{}),
	goldmark.WithRendererOptions(gmhtml.WithUnsafe()),
)

// Markdown renders markdown source to HTML, TeX math as MathJax-delimited
// spans and divs.
func Markdown(src string) (string, error) {
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return "", fmt.Errorf("rendering markdown: %w", err)
	}
	return buf.String(), nil
}

// mimeOrder is the preference order for rich outputs.
var mimeOrder = []string{"image/svg+xml", "image/png", "image/jpeg", "image/gif", "text/html", "text/markdown", "text/plain"}

// Render returns the standalone HTML page for nb, titled title, typesetting
// math with LocalMathJax (the CDN's MathJax 3 without one).
func Render(nb *nbformat.Notebook, title string) ([]byte, error) {
	return RenderWith(nb, title, LocalMathJax())
}

// RenderWith is Render with the MathJax 2 script given: a URL, or "" for the
// CDN's MathJax 3 only.
func RenderWith(nb *nbformat.Notebook, title, mathJax string) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"+
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n<style>%s%s</style>\n%s</head>\n<body>\n",
		html.EscapeString(title), css, codeCSS, mathHead(mathJax))
	for i, c := range nb.Cells {
		switch c.CellType {
		case "markdown":
			h, err := Markdown(c.Source.Text)
			if err != nil {
				return nil, fmt.Errorf("cell %d: %w", i+1, err)
			}
			fmt.Fprintf(&b, "<div class=\"cell markdown\">\n%s</div>\n", h)
		case "raw":
			fmt.Fprintf(&b, "<div class=\"cell raw\"><pre>%s</pre></div>\n", html.EscapeString(c.Source.Text))
		case "code":
			count := " "
			if c.ExecutionCount != nil {
				count = fmt.Sprint(*c.ExecutionCount)
			}
			fmt.Fprintf(&b, "<div class=\"cell code\">\n<div class=\"prompt\">In [%s]:</div>\n<pre class=\"source chroma\"><code class=\"language-go\">%s</code></pre>\n",
				count, highlightGo(c.Source.Text))
			for _, o := range c.Outputs {
				s, err := renderOutput(o)
				if err != nil {
					return nil, fmt.Errorf("cell %d: %w", i+1, err)
				}
				b.WriteString(s)
			}
			b.WriteString("</div>\n")
		}
	}
	b.WriteString("</body>\n</html>\n")
	return []byte(b.String()), nil
}

func renderOutput(o *nbformat.Output) (string, error) {
	switch o.OutputType {
	case "stream":
		class := "output stream"
		if o.Name == "stderr" {
			class += " stderr"
		}
		return fmt.Sprintf("<div class=\"%s\"><pre>%s</pre></div>\n", class, html.EscapeString(StripANSI(o.TextString()))), nil
	case "error":
		text := strings.Join(o.Traceback, "\n")
		if text == "" {
			text = o.EName + ": " + o.EValue
		}
		return fmt.Sprintf("<div class=\"output error\"><pre>%s</pre></div>\n", html.EscapeString(StripANSI(text))), nil
	case "display_data", "execute_result":
		for _, mime := range mimeOrder {
			v, ok := o.Data[mime]
			if !ok {
				continue
			}
			body := v.Text
			switch mime {
			case "image/svg+xml":
				return "<div class=\"output rich\">" + inlineSVG(body) + "</div>\n", nil
			case "text/html":
				return "<div class=\"output rich\">" + body + "</div>\n", nil
			case "image/png", "image/jpeg", "image/gif":
				b64 := strings.Join(strings.Fields(body), "")
				return fmt.Sprintf("<div class=\"output rich\"><img alt=\"output\" src=\"data:%s;base64,%s\"></div>\n", mime, b64), nil
			case "text/markdown":
				h, err := Markdown(body)
				if err != nil {
					return "", err
				}
				return "<div class=\"output rich\">" + h + "</div>\n", nil
			default:
				return fmt.Sprintf("<div class=\"output\"><pre>%s</pre></div>\n", html.EscapeString(StripANSI(body))), nil
			}
		}
		if len(o.Data) > 0 {
			mimes := slices.Sorted(maps.Keys(o.Data))
			return fmt.Sprintf("<div class=\"output note\">[%s output not shown]</div>\n", html.EscapeString(strings.Join(mimes, ", "))), nil
		}
	}
	return "", nil
}

// svgProlog matches what may precede the <svg> element of an SVG file: the
// XML declaration, a DOCTYPE, comments and white space. None belongs inside
// an HTML page.
var svgProlog = regexp.MustCompile(`^(?:\s+|<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--(?s:.*?)-->)*`)

// inlineSVG returns an SVG document ready to inline in HTML.
func inlineSVG(svg string) string { return svgProlog.ReplaceAllString(svg, "") }
