package htmlexport

import (
	"strings"
	"testing"

	"github.com/robustpo/robustpo/kernel/nbformat"
)

const mathJaxURL = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js"

func TestMarkdownMath(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // substrings of the HTML
		not       []string // substrings that must be absent
	}{
		{
			name: "inline TeX kept byte for byte",
			src:  `Policy $\pi^*_r(y\mid x)$ and $\{a_1, b_2\}\,\!\|x\|_*$ end.`,
			want: []string{
				`<span class="math inline">\(\pi^*_r(y\mid x)\)</span>`,
				`<span class="math inline">\(\{a_1, b_2\}\,\!\|x\|_*\)</span>`,
				"end.",
			},
			not: []string{"<em>", "<strong>"},
		},
		{
			name: "emphasis outside math still works",
			src:  `*a* $x_1 * y_2$ _b_ **c**`,
			want: []string{`<em>a</em>`, `<span class="math inline">\(x_1 * y_2\)</span>`, `<em>b</em>`, `<strong>c</strong>`},
		},
		{
			name: "emphasis around math",
			src:  `*see $a_b$ here*`,
			want: []string{`<em>see <span class="math inline">\(a_b\)</span> here</em>`},
		},
		{
			name: "escaped dollars are text",
			src:  `costs \$5 and \$6 today`,
			want: []string{`costs $5 and $6 today`},
			not:  []string{"math"},
		},
		{
			name: "dollar amounts are not math",
			src:  `between $5 and $6 today`,
			want: []string{`between $5 and $6 today`},
			not:  []string{"math"},
		},
		{
			name: "lone dollar",
			src:  `a $ b and c`,
			want: []string{`a $ b and c`},
			not:  []string{"math"},
		},
		{
			name: "closing dollar not preceded by space",
			src:  `$a $ b`,
			want: []string{`$a $ b`},
			not:  []string{"math"},
		},
		{
			name: "dollar in code span",
			src:  "run `echo $HOME_DIR $x_1$` now",
			want: []string{"<code>echo $HOME_DIR $x_1$</code>"},
			not:  []string{"math"},
		},
		{
			name: "dollar in fenced code",
			src:  "```\n$$x_1$$ and $a*b$\n```\n",
			want: []string{"<pre><code>$$x_1$$ and $a*b$\n</code></pre>"},
			not:  []string{"math"},
		},
		{
			name: "display block across lines",
			src:  "Loss:\n$$\n\\mathcal{L} = -\\log\\sigma\\Big(\\beta \\log \\frac{\\pi(y_w)}{\\pi_{ref}(y_w)}\\Big)\n\\quad a*b*c\n$$\nafter",
			want: []string{
				"<p>Loss:</p>",
				"<div class=\"math display\">\\[\\mathcal{L} = -\\log\\sigma\\Big(\\beta \\log \\frac{\\pi(y_w)}{\\pi_{ref}(y_w)}\\Big)\n\\quad a*b*c\n\\]</div>",
				"<p>after</p>",
			},
			not: []string{"<em>"},
		},
		{
			name: "display block on one line",
			src:  "$$ x_i^* = \\arg\\max_y r(y) $$\n",
			want: []string{`<div class="math display">\[ x_i^* = \arg\max_y r(y) \]</div>`},
		},
		{
			name: "display with content on delimiter lines",
			src:  "$$a_1 +\nb_2 $$\n",
			want: []string{"<div class=\"math display\">\\[a_1 +\nb_2 \\]</div>"},
		},
		{
			name: "display inside a paragraph",
			src:  "so $$a_1 < b_2$$ holds",
			want: []string{`<p>so <span class="math display">\[a_1 &lt; b_2\]</span> holds</p>`},
		},
		{
			name: "inline math across lines",
			src:  "where $a_1 +\nb_2$ is",
			want: []string{"<span class=\"math inline\">\\(a_1 +\nb_2\\)</span> is"},
		},
		{
			name: "unclosed display is text",
			src:  "$$ a_1\n\nrest _x_",
			want: []string{"$$ a_1", "<em>x</em>"},
			not:  []string{"math"},
		},
		{
			name: "HTML in math is escaped",
			src:  `$a<b & c>d$`,
			want: []string{`\(a&lt;b &amp; c&gt;d\)`},
		},
		{
			name: "math in a list item and a blockquote",
			src:  "- item $x_1$\n\n> $$\n> y_2\n> $$\n",
			want: []string{`<li>item <span class="math inline">\(x_1\)</span></li>`, "<div class=\"math display\">\\[y_2\n\\]</div>"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Markdown(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("Markdown(%q) = %q, lacks %q", tc.src, got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("Markdown(%q) = %q, has %q", tc.src, got, n)
				}
			}
		})
	}
}

func TestPageHeadMathJax(t *testing.T) {
	for _, c := range []struct {
		local string
		want  []string
	}{
		{"", []string{"s.src = '" + mathJaxURL + "'", "<script>robustpoMathJax3();</script>"}},
		{"file:///opt/mj/MathJax.js", []string{`<script type="text/x-mathjax-config">`,
			`<script src="file:///opt/mj/MathJax.js?config=TeX-AMS_SVG" onload="document.documentElement.classList.add('mathjax')" onerror="robustpoMathJax3()"></script>`}},
	} {
		page, err := RenderWith(&nbformat.Notebook{NBFormat: 4}, "t", c.local)
		if err != nil {
			t.Fatal(err)
		}
		head, _, ok := strings.Cut(string(page), "</head>")
		if !ok {
			t.Fatalf("page has no </head>")
		}
		for _, w := range append(c.want,
			`inlineMath: [['\\(', '\\)']]`,
			`displayMath: [['\\[', '\\]']]`,
			`html:not(.mathjax) .math {`,
		) {
			if !strings.Contains(head, w) {
				t.Errorf("MathJax %q: page head lacks %q", c.local, w)
			}
		}
	}
}

// TestLocalMathJax checks the MathJax a page loads: $ROBUSTPO_MATHJAX as a
// file URL (a path) or as given (a URL).
func TestLocalMathJax(t *testing.T) {
	t.Setenv(MathJaxEnv, "/opt/mathjax/MathJax.js")
	if got := LocalMathJax(); got != "file:///opt/mathjax/MathJax.js" {
		t.Errorf("LocalMathJax = %q", got)
	}
	t.Setenv(MathJaxEnv, "http://localhost:8000/MathJax.js")
	if got := LocalMathJax(); got != "http://localhost:8000/MathJax.js" {
		t.Errorf("LocalMathJax = %q", got)
	}
}
