package htmlexport

import (
	"bytes"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// TeX math in markdown, as Jupyter writes it: $...$ inline, $$...$$ display
// (on its own lines or inside a paragraph). The TeX source is kept byte for
// byte (only HTML-escaped), so markdown never sees its _, * or backslash
// escapes, and is emitted between MathJax's \( \) and \[ \] delimiters:
//
//	$x_1$              -> <span class="math inline">\(x_1\)</span>
//	a $$x$$ b          -> <span class="math display">\[x\]</span>  (inside the paragraph)
//	$$ on its own line -> <div class="math display">\[...\]</div>
//
// Inline $ follows pandoc's tex_math_dollars rules: the opening $ is not
// followed by whitespace, the closing $ is not preceded by whitespace nor by
// a backslash and not followed by a digit ("$5 and $6" stays text). \$ is a
// markdown escape for a literal dollar; $ inside code spans and code blocks is
// code, because those parsers consume it first.

// KindMath is the node kind of inline math.
var KindMath = ast.NewNodeKind("Math")

// KindMathBlock is the node kind of display math on its own lines.
var KindMathBlock = ast.NewNodeKind("MathBlock")

// mathInline is $...$ or $$...$$ inside a paragraph; its children are raw
// text segments holding the TeX source (several when it spans lines).
type mathInline struct {
	ast.BaseInline
	display bool
}

func (n *mathInline) Kind() ast.NodeKind { return KindMath }

func (n *mathInline) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"Display": map[bool]string{true: "true", false: "false"}[n.display]}, nil)
}

// mathBlock is display math delimited by $$ at the start of a line and $$ at
// the end of a line; Lines() holds the TeX source between the delimiters.
type mathBlock struct {
	ast.BaseBlock
	closed bool // the closing $$ has been read
}

func (n *mathBlock) Kind() ast.NodeKind { return KindMathBlock }

func (n *mathBlock) IsRaw() bool { return true }

func (n *mathBlock) Dump(source []byte, level int) { ast.DumpHelper(n, source, level, nil, nil) }

// mathInlineParser parses $...$ and $$...$$ inside paragraphs.
type mathInlineParser struct{}

func (mathInlineParser) Trigger() []byte { return []byte{'$'} }

func (mathInlineParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, start := block.PeekLine()
	if len(line) < 2 {
		return nil
	}
	display := line[1] == '$'
	open := 1
	if display {
		open = 2
	} else if util.IsSpace(line[1]) {
		return nil // "a $ b": a lone dollar
	}
	block.Advance(open)
	l, pos := block.Position()
	node := &mathInline{display: display}
	for {
		line, seg := block.PeekLine()
		if line == nil {
			block.SetPosition(l, pos)
			if display {
				// Keep "$$" as text so that its second $ does not open inline math.
				return ast.NewTextSegment(start.WithStop(start.Start + open))
			}
			return nil
		}
		for i := 0; i < len(line); i++ {
			if line[i] != '$' {
				continue
			}
			if display {
				if i+1 < len(line) && line[i+1] == '$' {
					if i > 0 {
						node.AppendChild(node, ast.NewRawTextSegment(seg.WithStop(seg.Start+i)))
					}
					block.Advance(i + 2)
					return node
				}
				continue
			}
			var prev byte
			if i > 0 {
				prev = line[i-1]
			}
			closes := i > 0 && !util.IsSpace(prev) && prev != '\\' &&
				(i+1 >= len(line) || line[i+1] < '0' || line[i+1] > '9')
			if closes {
				node.AppendChild(node, ast.NewRawTextSegment(seg.WithStop(seg.Start+i)))
				block.Advance(i + 1)
				return node
			}
		}
		node.AppendChild(node, ast.NewRawTextSegment(seg))
		block.AdvanceLine()
	}
}

// mathBlockParser parses display math that starts a line with $$.
type mathBlockParser struct{}

func (mathBlockParser) Trigger() []byte { return []byte{'$'} }

// closingDollars returns the index of a closing $$ that ends line (only
// whitespace after it), or -1.
func closingDollars(line []byte) int {
	t := util.TrimRightSpace(line)
	if len(t) >= 2 && t[len(t)-1] == '$' && t[len(t)-2] == '$' {
		return len(t) - 2
	}
	return -1
}

func (mathBlockParser) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, seg := reader.PeekLine()
	pos := pc.BlockOffset()
	if pos < 0 || !bytes.HasPrefix(line[pos:], []byte("$$")) {
		return nil, parser.NoChildren
	}
	rest := line[pos+2:]
	restStart := seg.Start - seg.Padding + pos + 2
	node := &mathBlock{}
	if i := bytes.Index(rest, []byte("$$")); i >= 0 {
		// One line: $$...$$ must be all the line, otherwise it is inline math in a paragraph.
		if !util.IsBlank(rest[i+2:]) {
			return nil, parser.NoChildren
		}
		node.Lines().Append(text.NewSegment(restStart, restStart+i))
		node.closed = true
		reader.AdvanceToEOL()
		return node, parser.NoChildren
	}
	// Several lines: only a block if a line ending with $$ comes before a blank line,
	// so that a stray $$ does not swallow the rest of the cell.
	src := reader.Source()
	found := false
	for next := seg.Stop; next < len(src); {
		end := bytes.IndexByte(src[next:], '\n')
		if end < 0 {
			end = len(src) - next
		} else {
			end++
		}
		l := src[next : next+end]
		if util.IsBlank(l) {
			break
		}
		if closingDollars(l) >= 0 {
			found = true
			break
		}
		next += end
	}
	if !found {
		return nil, parser.NoChildren
	}
	if !util.IsBlank(rest) {
		node.Lines().Append(text.NewSegment(restStart, seg.Stop))
	}
	reader.AdvanceToEOL()
	return node, parser.NoChildren
}

func (mathBlockParser) Continue(node ast.Node, reader text.Reader, pc parser.Context) parser.State {
	n := node.(*mathBlock)
	if n.closed {
		return parser.Close
	}
	line, seg := reader.PeekLine()
	if line == nil || util.IsBlank(line) {
		return parser.Close
	}
	if i := closingDollars(line); i >= 0 {
		if !util.IsBlank(line[:i]) {
			n.Lines().Append(seg.WithStop(seg.Start + i))
		}
		n.closed = true
		reader.AdvanceToEOL()
		return parser.Close
	}
	n.Lines().Append(seg)
	reader.AdvanceToEOL()
	return parser.Continue | parser.NoChildren
}

func (mathBlockParser) Close(node ast.Node, reader text.Reader, pc parser.Context) {}

func (mathBlockParser) CanInterruptParagraph() bool { return true }

func (mathBlockParser) CanAcceptIndentedLine() bool { return false }

// mathRenderer writes math nodes with MathJax delimiters, HTML-escaping the TeX.
type mathRenderer struct{}

func (mathRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(KindMath, renderMathInline)
	reg.Register(KindMathBlock, renderMathBlock)
}

func renderMathInline(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*mathInline)
	open, close := `<span class="math inline">\(`, `\)</span>`
	if n.display {
		open, close = `<span class="math display">\[`, `\]</span>`
	}
	_, _ = w.WriteString(open)
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		seg := c.(*ast.Text).Segment
		_, _ = w.Write(util.EscapeHTML(seg.Value(source)))
	}
	_, _ = w.WriteString(close)
	return ast.WalkSkipChildren, nil
}

func renderMathBlock(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString(`<div class="math display">\[`)
	lines := node.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		_, _ = w.Write(util.EscapeHTML(seg.Value(source)))
	}
	_, _ = w.WriteString("\\]</div>\n")
	return ast.WalkContinue, nil
}

// mathExtension registers the math parsers and renderer with goldmark.
type mathExtension struct{}

func (mathExtension) Extend(m goldmark.Markdown) {
	m.Parser().AddOptions(
		parser.WithBlockParsers(util.Prioritized(mathBlockParser{}, 700)),
		parser.WithInlineParsers(util.Prioritized(mathInlineParser{}, 150)),
	)
	m.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(mathRenderer{}, 500)))
}
