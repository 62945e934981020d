package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Format is the layout of the records of a preference JSONL file.
type Format int

const (
	// FormatAuto detects the format from the first well-formed record:
	// "summaries" → TL;DR, "prompt" → TRL, "chosen" as a list of messages →
	// TRL (implicit prompt), "chosen" as a string → Anthropic HH.
	FormatAuto Format = iota
	// FormatTRL is TRL's preference format {"prompt", "chosen", "rejected"}:
	// three strings, or three lists of {"role", "content"} messages (see
	// [RenderMessages]); without "prompt", chosen and rejected are full
	// conversations split like HH.
	FormatTRL
	// FormatHH is Anthropic HH {"chosen", "rejected"}: full transcripts split
	// by [SplitHH].
	FormatHH
	// FormatTLDR is the TL;DR comparisons format {"info": {"post", "title",
	// "subreddit", …}, "summaries": [{"text"}, {"text"}], "choice": 0|1}:
	// Prompt = [TLDRPrompt], Chosen = summaries[choice].text, Rejected = the
	// other.
	FormatTLDR
)

// String returns "auto", "trl", "hh" or "tldr".
func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatTRL:
		return "trl"
	case FormatHH:
		return "hh"
	case FormatTLDR:
		return "tldr"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat is the inverse of [Format.String].
func ParseFormat(s string) (Format, error) {
	for f := FormatAuto; f <= FormatTLDR; f++ {
		if f.String() == s {
			return f, nil
		}
	}
	return FormatAuto, fmt.Errorf("datasets: unknown format %q (want auto, trl, hh or tldr)", s)
}

// Reason classifies a bad record or a failed read.
type Reason string

// The reasons a record is rejected. ReasonTruncated, ReasonIO and
// ReasonNoRecords are fatal: reading cannot go on after them, even in lenient
// mode. ReasonNoRecords ends a source that held no good record at all (empty,
// blank, or every record skipped).
const (
	ReasonInvalidJSON   Reason = "invalid JSON"
	ReasonNotObject     Reason = "not an object"
	ReasonMissing       Reason = "missing field"
	ReasonEmpty         Reason = "empty field"
	ReasonWrongType     Reason = "wrong type"
	ReasonIdentical     Reason = "chosen identical to rejected"
	ReasonChoiceRange   Reason = "choice out of range"
	ReasonNoAssistant   Reason = "no Assistant turn"
	ReasonBadRole       Reason = "bad role"
	ReasonInvalidUTF8   Reason = "invalid UTF-8"
	ReasonLineTooLong   Reason = "line too long"
	ReasonUnknownFormat Reason = "unknown format"
	ReasonFormatChange  Reason = "format change"
	ReasonNoRecords     Reason = "no records"
	ReasonTruncated     Reason = "truncated input"
	ReasonIO            Reason = "read error"
)

// RecordError is a bad record (or a failed read) at File:Line. Field names
// the JSON field at fault in a path notation such as "chosen[1].content" or
// "info.post"; it is empty when the whole line is at fault.
type RecordError struct {
	File   string
	Line   int
	Field  string
	Reason Reason
	// Detail says what was found and what was wanted.
	Detail string
	// Err is the underlying error, if any (a JSON syntax error, an I/O error).
	Err error
}

// Error formats "file:line: field: reason: detail".
func (e *RecordError) Error() string {
	var sb strings.Builder
	sb.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	if e.Field != "" {
		sb.WriteString(e.Field + ": ")
	}
	sb.WriteString(string(e.Reason))
	if e.Detail != "" {
		sb.WriteString(": " + e.Detail)
	}
	return sb.String()
}

// Unwrap returns the underlying error.
func (e *RecordError) Unwrap() error { return e.Err }

// Fatal reports whether reading cannot continue after e (truncated,
// unreadable or record-less input).
func (e *RecordError) Fatal() bool {
	return e.Reason == ReasonTruncated || e.Reason == ReasonIO || e.Reason == ReasonNoRecords
}

// DefaultMaxLineBytes is the longest line accepted when
// ReadOptions.MaxLineBytes is 0: 4 MiB.
const DefaultMaxLineBytes = 4 << 20

// ReadOptions configures a [Reader]. The zero value reads strictly with
// format detection.
type ReadOptions struct {
	// Format of the records; FormatAuto (the zero value) detects it from the
	// first well-formed record and keeps it for the whole file.
	Format Format
	// Lenient skips bad records, counting them in the [LoadReport], instead
	// of failing at the first one. Fatal errors (truncated gzip, I/O) still
	// stop the read.
	Lenient bool
	// MaxLineBytes is the longest line accepted (newline excluded); longer
	// lines are bad records, refused as soon as the limit is passed: in
	// strict mode the rest of the line is never read, in lenient mode it is
	// skipped in constant memory. 0 means DefaultMaxLineBytes.
	MaxLineBytes int
	// RejectEmptyResponses refuses records whose chosen or rejected response
	// is empty or only whitespace (ReasonEmpty). By default such a response
	// is data (an annotator may prefer silence): the record is returned and
	// counted in LoadReport.EmptyChosen or EmptyRejected.
	RejectEmptyResponses bool
	// MaxExamples is how many bad-record errors the report keeps. 0 means 5.
	MaxExamples int
	// Name is the file name written in errors; [OpenJSONL] sets it to the
	// path. Empty means "<input>".
	Name string
}

// LoadReport counts what a [Reader] read and skipped.
type LoadReport struct {
	// File is the name used in errors.
	File string
	// Format is the format in use (FormatAuto until detected).
	Format Format
	// Lines is the number of lines read, blank ones included.
	Lines int
	// Records is the number of good records returned.
	Records int
	// EmptyChosen and EmptyRejected count the returned records whose chosen,
	// respectively rejected, response is empty or only whitespace (see
	// ReadOptions.RejectEmptyResponses).
	EmptyChosen, EmptyRejected int
	// BOM reports a UTF-8 byte order mark at the start of the input, which
	// was skipped.
	BOM bool
	// Skipped is the number of bad records skipped (lenient mode).
	Skipped int
	// ByReason counts the skipped records by reason.
	ByReason map[Reason]int
	// Examples holds the first bad-record errors, with their lines.
	Examples []*RecordError
}

// String is a short human-readable summary, reasons sorted by name.
func (r *LoadReport) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: format %s, %d lines, %d records, %d skipped", r.File, r.Format, r.Lines, r.Records, r.Skipped)
	if r.EmptyChosen+r.EmptyRejected > 0 {
		fmt.Fprintf(&sb, ", %d empty chosen, %d empty rejected", r.EmptyChosen, r.EmptyRejected)
	}
	if r.BOM {
		sb.WriteString(", BOM skipped")
	}
	reasons := make([]string, 0, len(r.ByReason))
	for k := range r.ByReason {
		reasons = append(reasons, string(k))
	}
	sort.Strings(reasons)
	for _, k := range reasons {
		fmt.Fprintf(&sb, "\n  %s: %d", k, r.ByReason[Reason(k)])
	}
	for _, e := range r.Examples {
		sb.WriteString("\n  e.g. " + e.Error())
	}
	return sb.String()
}

// Reader streams [TextPair] records from a JSONL source, plain or gzip
// (detected by its magic bytes), one line per record; blank lines are
// skipped, and so is a UTF-8 byte order mark at the start (reported in
// LoadReport.BOM). A source without any good record ends with a
// ReasonNoRecords error instead of io.EOF. It never panics on any input.
type Reader struct {
	opts   ReadOptions
	lines  *bufio.Reader
	closer io.Closer
	buf    []byte
	report LoadReport
	// formatLine is the line whose record fixed the detected format.
	formatLine int
	err        error // sticky
}

// NewReader returns a Reader over src. The name in opts.Name is used in
// errors. A gzip header that cannot be read is a fatal *RecordError.
func NewReader(src io.Reader, opts ReadOptions) (*Reader, error) {
	if opts.Name == "" {
		opts.Name = "<input>"
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if opts.MaxExamples <= 0 {
		opts.MaxExamples = 5
	}
	if opts.Format < FormatAuto || opts.Format > FormatTLDR {
		return nil, fmt.Errorf("datasets: %s: invalid format %d", opts.Name, int(opts.Format))
	}
	r := &Reader{opts: opts, report: LoadReport{File: opts.Name, Format: opts.Format, ByReason: map[Reason]int{}}}
	raw := bufio.NewReaderSize(src, 64<<10)
	magic, _ := raw.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return nil, r.ioError(1, err)
		}
		r.lines = bufio.NewReaderSize(gz, 64<<10)
	} else {
		r.lines = raw
	}
	if bom, _ := r.lines.Peek(3); bytes.Equal(bom, []byte{0xef, 0xbb, 0xbf}) {
		_, _ = r.lines.Discard(3)
		r.report.BOM = true
	}
	return r, nil
}

// OpenJSONL opens path (.jsonl or .jsonl.gz) for streaming; Close it when
// done.
func OpenJSONL(path string, opts ReadOptions) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	opts.Name = path
	r, err := NewReader(f, opts)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// Close closes the underlying file, if the Reader opened it.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	err := r.closer.Close()
	r.closer = nil
	return err
}

// Format returns the format in use: the requested one, or the detected one
// (FormatAuto until a record has been recognized).
func (r *Reader) Format() Format { return r.report.Format }

// Report returns a copy of the counts so far.
func (r *Reader) Report() LoadReport {
	rep := r.report
	rep.ByReason = make(map[Reason]int, len(r.report.ByReason))
	for k, v := range r.report.ByReason {
		rep.ByReason[k] = v
	}
	rep.Examples = append([]*RecordError(nil), r.report.Examples...)
	return rep
}

// Next returns the next good record, or io.EOF after the last one (a
// ReasonNoRecords *RecordError instead when there was none). In strict mode
// the first bad record is returned as a *RecordError, and so is every later
// call; in lenient mode bad records are skipped and only fatal errors are
// returned.
func (r *Reader) Next() (TextPair, error) {
	if r.err != nil {
		return TextPair{}, r.err
	}
	for {
		line, tooLong, err := r.readLine()
		if err != nil {
			if err != io.EOF {
				err = r.ioError(r.report.Lines+1, err)
			} else if r.report.Records == 0 {
				err = r.noRecords()
			}
			r.err = err
			return TextPair{}, err
		}
		r.report.Lines++
		var tp TextPair
		var rerr *RecordError
		if tooLong {
			rerr = &RecordError{Reason: ReasonLineTooLong, Detail: fmt.Sprintf("longer than %d bytes", r.opts.MaxLineBytes)}
		} else {
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			tp, rerr = r.parse(line)
		}
		if rerr == nil {
			r.report.Records++
			if strings.TrimSpace(tp.Chosen) == "" {
				r.report.EmptyChosen++
			}
			if strings.TrimSpace(tp.Rejected) == "" {
				r.report.EmptyRejected++
			}
			return tp, nil
		}
		rerr.File, rerr.Line = r.opts.Name, r.report.Lines
		if !r.opts.Lenient {
			r.err = rerr
			return TextPair{}, rerr
		}
		r.report.Skipped++
		r.report.ByReason[rerr.Reason]++
		if len(r.report.Examples) < r.opts.MaxExamples {
			r.report.Examples = append(r.report.Examples, rerr)
		}
	}
}

// noRecords is the error at the end of a source without a good record.
func (r *Reader) noRecords() *RecordError {
	detail := "empty input"
	switch {
	case r.report.Skipped > 0:
		detail = fmt.Sprintf("all %d records skipped", r.report.Skipped)
	case r.report.Lines > 0:
		detail = fmt.Sprintf("%d blank lines", r.report.Lines)
	}
	return &RecordError{File: r.opts.Name, Line: max(r.report.Lines, 1), Reason: ReasonNoRecords, Detail: detail}
}

func (r *Reader) ioError(line int, err error) *RecordError {
	reason := ReasonIO
	if errors.Is(err, io.ErrUnexpectedEOF) {
		reason = ReasonTruncated
	}
	return &RecordError{File: r.opts.Name, Line: line, Reason: reason, Detail: err.Error(), Err: err}
}

// readLine returns the next line without its newline. tooLong reports a line
// over MaxLineBytes, whose bytes are discarded: in strict mode readLine
// returns as soon as the limit is passed, leaving the rest of the line
// unread (the error is sticky); in lenient mode it reads on to the end of
// the line in constant memory. err is io.EOF at the end.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	r.buf = r.buf[:0]
	limit := r.opts.MaxLineBytes + 2 // room for "\r\n"
	got := false
	for {
		chunk, err := r.lines.ReadSlice('\n')
		got = got || len(chunk) > 0
		if !tooLong {
			if len(r.buf)+len(chunk) > limit {
				tooLong = true
				r.buf = r.buf[:0]
				if !r.opts.Lenient {
					return nil, true, nil
				}
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && got {
			err = nil
		}
		if err != nil {
			return nil, false, err
		}
		line = bytes.TrimSuffix(r.buf, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > r.opts.MaxLineBytes {
			tooLong = true
		}
		return line, tooLong, nil
	}
}

// parse validates one non-blank line and converts it to a TextPair.
func (r *Reader) parse(line []byte) (TextPair, *RecordError) {
	if !utf8.Valid(line) {
		off := 0
		for off < len(line) {
			c, size := utf8.DecodeRune(line[off:])
			if c == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return TextPair{}, &RecordError{Reason: ReasonInvalidUTF8, Detail: fmt.Sprintf("at byte %d", off)}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return TextPair{}, &RecordError{Reason: ReasonNotObject, Detail: "got " + jsonKind(line)}
		}
		return TextPair{}, &RecordError{Reason: ReasonInvalidJSON, Detail: err.Error(), Err: err}
	}
	if obj == nil { // the line is "null"
		return TextPair{}, &RecordError{Reason: ReasonNotObject, Detail: "got null"}
	}
	f := r.report.Format
	if f == FormatAuto {
		var rerr *RecordError
		if f, rerr = detect(obj); rerr != nil {
			return TextPair{}, rerr
		}
	} else if r.opts.Format == FormatAuto {
		if g, how := clearFormat(obj); g != FormatAuto && g != f {
			return TextPair{}, &RecordError{Reason: ReasonFormatChange,
				Detail: fmt.Sprintf("line %d is %s (%s), but line %d was %s", r.report.Lines, g, how, r.formatLine, f)}
		}
	}
	var tp TextPair
	var rerr *RecordError
	switch f {
	case FormatTRL:
		tp, rerr = parseTRL(obj)
	case FormatHH:
		tp, rerr = parseHH(obj)
	case FormatTLDR:
		tp, rerr = parseTLDR(obj)
	}
	if rerr == nil {
		rerr = checkPair(tp, r.opts.RejectEmptyResponses)
	}
	if rerr == nil && r.report.Format == FormatAuto {
		r.report.Format = f
		r.formatLine = r.report.Lines
	}
	return tp, rerr
}

// clearFormat returns the format a record unmistakably has, with the key
// that tells, or FormatAuto when its keys or types leave it open (such a
// record is checked against the detected format instead).
func clearFormat(obj map[string]json.RawMessage) (Format, string) {
	if _, ok := obj["summaries"]; ok {
		return FormatTLDR, `"summaries"`
	}
	if _, ok := obj["prompt"]; ok {
		return FormatTRL, `"prompt"`
	}
	switch jsonKind(obj["chosen"]) {
	case "array":
		return FormatTRL, `"chosen" is a list of messages`
	case "string":
		return FormatHH, `"chosen" is a transcript string`
	}
	return FormatAuto, ""
}

func detect(obj map[string]json.RawMessage) (Format, *RecordError) {
	if _, ok := obj["summaries"]; ok {
		return FormatTLDR, nil
	}
	if _, ok := obj["prompt"]; ok {
		return FormatTRL, nil
	}
	if c, ok := obj["chosen"]; ok {
		if jsonKind(c) == "array" {
			return FormatTRL, nil
		}
		return FormatHH, nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, strconv.Quote(k))
	}
	sort.Strings(keys)
	return FormatAuto, &RecordError{Reason: ReasonUnknownFormat,
		Detail: "keys [" + strings.Join(keys, " ") + "] match no format (want prompt/chosen/rejected, chosen/rejected, or info/summaries/choice)"}
}

// jsonKind names the JSON type of a raw value by its first byte.
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

func wrongType(field, want string, raw []byte) *RecordError {
	return &RecordError{Field: field, Reason: ReasonWrongType, Detail: "want " + want + ", got " + jsonKind(raw)}
}

// decodeString decodes a raw JSON string taken from an already validated
// document. The common escapes (\" \\ \/ \b \f \n \r \t) are decoded
// here; a string holding \u escapes goes to encoding/json.
func decodeString(raw []byte) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || bytes.Contains(raw, []byte(`\u`)) {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	body := raw[1 : len(raw)-1]
	i := bytes.IndexByte(body, '\\')
	if i < 0 {
		return string(body), nil
	}
	out := make([]byte, 0, len(body))
	for i >= 0 {
		out = append(out, body[:i]...)
		if i+1 >= len(body) {
			return "", errors.New("datasets: string ends inside an escape")
		}
		switch c := body[i+1]; c {
		case '"', '\\', '/':
			out = append(out, c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		default:
			return "", fmt.Errorf("datasets: invalid escape \\%c in string", c)
		}
		body = body[i+2:]
		i = bytes.IndexByte(body, '\\')
	}
	return string(append(out, body...)), nil
}

// getString returns the non-empty string obj[key] (field names it in errors).
func getString(obj map[string]json.RawMessage, key, field string) (string, *RecordError) {
	s, rerr := getStringOrEmpty(obj, key, field)
	if rerr == nil && strings.TrimSpace(s) == "" {
		return "", &RecordError{Field: field, Reason: ReasonEmpty}
	}
	return s, rerr
}

// getStringOrEmpty returns the string obj[key], which may be empty: a
// response, checked later by checkPair.
func getStringOrEmpty(obj map[string]json.RawMessage, key, field string) (string, *RecordError) {
	raw, ok := obj[key]
	if !ok {
		return "", &RecordError{Field: field, Reason: ReasonMissing}
	}
	if jsonKind(raw) != "string" {
		return "", wrongType(field, "string", raw)
	}
	s, err := decodeString(raw)
	if err != nil {
		return "", &RecordError{Field: field, Reason: ReasonInvalidJSON, Detail: err.Error(), Err: err}
	}
	return s, nil
}

// getObject returns obj[key] as an object.
func getObject(obj map[string]json.RawMessage, key, field string) (map[string]json.RawMessage, *RecordError) {
	raw, ok := obj[key]
	if !ok {
		return nil, &RecordError{Field: field, Reason: ReasonMissing}
	}
	if jsonKind(raw) != "object" {
		return nil, wrongType(field, "object", raw)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &RecordError{Field: field, Reason: ReasonInvalidJSON, Detail: err.Error(), Err: err}
	}
	return m, nil
}

// getArray returns obj[key] as a list of raw values.
func getArray(obj map[string]json.RawMessage, key, field string) ([]json.RawMessage, *RecordError) {
	raw, ok := obj[key]
	if !ok {
		return nil, &RecordError{Field: field, Reason: ReasonMissing}
	}
	if jsonKind(raw) != "array" {
		return nil, wrongType(field, "array", raw)
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, &RecordError{Field: field, Reason: ReasonInvalidJSON, Detail: err.Error(), Err: err}
	}
	return a, nil
}

// getMessages decodes obj[key] as a non-empty list of {"role", "content"}.
// The content of an assistant message may be empty when emptyReplies is set
// (a response list; checkPair decides).
func getMessages(obj map[string]json.RawMessage, key string, emptyReplies bool) ([]ChatMessage, *RecordError) {
	items, rerr := getArray(obj, key, key)
	if rerr != nil {
		return nil, rerr
	}
	if len(items) == 0 {
		return nil, &RecordError{Field: key, Reason: ReasonEmpty, Detail: "no messages"}
	}
	msgs := make([]ChatMessage, len(items))
	for i, it := range items {
		field := key + "[" + strconv.Itoa(i) + "]"
		if jsonKind(it) != "object" {
			return nil, wrongType(field, "object", it)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(it, &m); err != nil {
			return nil, &RecordError{Field: field, Reason: ReasonInvalidJSON, Detail: err.Error(), Err: err}
		}
		role, rerr := getString(m, "role", field+".role")
		if rerr != nil {
			return nil, rerr
		}
		if _, ok := roleLabel(role); !ok {
			return nil, &RecordError{Field: field + ".role", Reason: ReasonBadRole, Detail: fmt.Sprintf("%q, want user, assistant or system", role)}
		}
		get := getString
		if emptyReplies && role == "assistant" {
			get = getStringOrEmpty
		}
		content, rerr := get(m, "content", field+".content")
		if rerr != nil {
			return nil, rerr
		}
		msgs[i] = ChatMessage{Role: role, Content: content}
	}
	return msgs, nil
}

// checkPair rejects identical responses, and empty ones when rejectEmpty is
// set.
func checkPair(tp TextPair, rejectEmpty bool) *RecordError {
	if rejectEmpty && strings.TrimSpace(tp.Chosen) == "" {
		return &RecordError{Field: "chosen", Reason: ReasonEmpty, Detail: "empty response"}
	}
	if rejectEmpty && strings.TrimSpace(tp.Rejected) == "" {
		return &RecordError{Field: "rejected", Reason: ReasonEmpty, Detail: "empty response"}
	}
	if tp.Chosen == tp.Rejected {
		return &RecordError{Field: "rejected", Reason: ReasonIdentical}
	}
	return nil
}

func parseTRL(obj map[string]json.RawMessage) (TextPair, *RecordError) {
	rawPrompt, hasPrompt := obj["prompt"]
	rawChosen, ok := obj["chosen"]
	if !ok {
		return TextPair{}, &RecordError{Field: "chosen", Reason: ReasonMissing}
	}
	if _, ok := obj["rejected"]; !ok {
		return TextPair{}, &RecordError{Field: "rejected", Reason: ReasonMissing}
	}
	if !hasPrompt {
		return parseTRLImplicit(obj)
	}
	switch jsonKind(rawPrompt) {
	case "string":
		var tp TextPair
		var rerr *RecordError
		if tp.Prompt, rerr = getString(obj, "prompt", "prompt"); rerr != nil {
			return tp, rerr
		}
		if tp.Chosen, rerr = getStringOrEmpty(obj, "chosen", "chosen"); rerr != nil {
			if rerr.Reason == ReasonWrongType {
				rerr.Detail = "want string like prompt, got " + jsonKind(rawChosen)
			}
			return tp, rerr
		}
		if tp.Rejected, rerr = getStringOrEmpty(obj, "rejected", "rejected"); rerr != nil {
			if rerr.Reason == ReasonWrongType {
				rerr.Detail = "want string like prompt, got " + jsonKind(obj["rejected"])
			}
			return tp, rerr
		}
		return tp, nil
	case "array":
		prompt, rerr := getMessages(obj, "prompt", false)
		if rerr != nil {
			return TextPair{}, rerr
		}
		ps, _ := RenderMessages(prompt) // roles checked by getMessages
		tp := TextPair{Prompt: ps + HHAssistant}
		if tp.Chosen, rerr = renderResponse(obj, "chosen"); rerr != nil {
			return tp, rerr
		}
		if tp.Rejected, rerr = renderResponse(obj, "rejected"); rerr != nil {
			return tp, rerr
		}
		return tp, nil
	}
	return TextPair{}, wrongType("prompt", "string or list of messages", rawPrompt)
}

// renderResponse renders the response messages [a, rest…] of obj[key]:
// " " + a.content + RenderMessages(rest), with a.role == "assistant".
func renderResponse(obj map[string]json.RawMessage, key string) (string, *RecordError) {
	msgs, rerr := getMessages(obj, key, true)
	if rerr != nil {
		if rerr.Reason == ReasonWrongType && rerr.Field == key {
			rerr.Detail = "want list of messages like prompt, got " + jsonKind(obj[key])
		}
		return "", rerr
	}
	if msgs[0].Role != "assistant" {
		return "", &RecordError{Field: key + "[0].role", Reason: ReasonBadRole, Detail: fmt.Sprintf("%q, want assistant", msgs[0].Role)}
	}
	rest, _ := RenderMessages(msgs[1:])
	return " " + msgs[0].Content + rest, nil
}

// parseTRLImplicit reads {"chosen": [messages], "rejected": [messages]}.
func parseTRLImplicit(obj map[string]json.RawMessage) (TextPair, *RecordError) {
	var full [2]string
	for i, key := range []string{"chosen", "rejected"} {
		msgs, rerr := getMessages(obj, key, true)
		if rerr != nil {
			return TextPair{}, rerr
		}
		full[i], _ = RenderMessages(msgs)
	}
	return splitTranscripts(full[0], full[1])
}

func parseHH(obj map[string]json.RawMessage) (TextPair, *RecordError) {
	chosen, rerr := getString(obj, "chosen", "chosen")
	if rerr != nil {
		return TextPair{}, rerr
	}
	rejected, rerr := getString(obj, "rejected", "rejected")
	if rerr != nil {
		return TextPair{}, rerr
	}
	return splitTranscripts(chosen, rejected)
}

// splitTranscripts splits two full transcripts with SplitHH and validates.
func splitTranscripts(chosen, rejected string) (TextPair, *RecordError) {
	if chosen == rejected {
		return TextPair{}, &RecordError{Field: "rejected", Reason: ReasonIdentical}
	}
	if !strings.Contains(chosen, HHAssistant) {
		return TextPair{}, &RecordError{Field: "chosen", Reason: ReasonNoAssistant, Detail: `no "\n\nAssistant:" in the transcript`}
	}
	if !strings.Contains(rejected, HHAssistant) {
		return TextPair{}, &RecordError{Field: "rejected", Reason: ReasonNoAssistant, Detail: `no "\n\nAssistant:" in the transcript`}
	}
	p, c, r, ok := SplitHH(chosen, rejected)
	if !ok {
		return TextPair{}, &RecordError{Field: "rejected", Reason: ReasonNoAssistant, Detail: `chosen and rejected share no prefix ending in "\n\nAssistant:"`}
	}
	return TextPair{Prompt: p, Chosen: c, Rejected: r}, nil
}

func parseTLDR(obj map[string]json.RawMessage) (TextPair, *RecordError) {
	info, rerr := getObject(obj, "info", "info")
	if rerr != nil {
		return TextPair{}, rerr
	}
	post, rerr := getString(info, "post", "info.post")
	if rerr != nil {
		return TextPair{}, rerr
	}
	var opt [2]string
	for i, key := range []string{"subreddit", "title"} {
		raw, ok := info[key]
		if !ok || jsonKind(raw) == "null" {
			continue
		}
		if jsonKind(raw) != "string" {
			return TextPair{}, wrongType("info."+key, "string", raw)
		}
		var err error
		if opt[i], err = decodeString(raw); err != nil {
			return TextPair{}, &RecordError{Field: "info." + key, Reason: ReasonInvalidJSON, Detail: err.Error(), Err: err}
		}
	}
	sums, rerr := getArray(obj, "summaries", "summaries")
	if rerr != nil {
		return TextPair{}, rerr
	}
	if len(sums) != 2 {
		return TextPair{}, &RecordError{Field: "summaries", Reason: ReasonWrongType, Detail: fmt.Sprintf("want 2 summaries, got %d", len(sums))}
	}
	var texts [2]string
	for i, s := range sums {
		field := "summaries[" + strconv.Itoa(i) + "]"
		if jsonKind(s) != "object" {
			return TextPair{}, wrongType(field, "object", s)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(s, &m); err != nil {
			return TextPair{}, &RecordError{Field: field, Reason: ReasonInvalidJSON, Detail: err.Error(), Err: err}
		}
		if texts[i], rerr = getStringOrEmpty(m, "text", field+".text"); rerr != nil {
			return TextPair{}, rerr
		}
	}
	rawChoice, ok := obj["choice"]
	if !ok {
		return TextPair{}, &RecordError{Field: "choice", Reason: ReasonMissing}
	}
	if jsonKind(rawChoice) != "number" {
		return TextPair{}, wrongType("choice", "0 or 1", rawChoice)
	}
	var choice float64
	if err := json.Unmarshal(rawChoice, &choice); err != nil || (choice != 0 && choice != 1) || math.Signbit(choice) {
		return TextPair{}, &RecordError{Field: "choice", Reason: ReasonChoiceRange, Detail: "got " + string(rawChoice) + ", want 0 or 1"}
	}
	c := int(choice)
	tp := TextPair{Prompt: TLDRPrompt(opt[0], opt[1], post), Chosen: texts[c], Rejected: texts[1-c]}
	if tp.Chosen == tp.Rejected {
		return TextPair{}, &RecordError{Field: "summaries", Reason: ReasonIdentical}
	}
	return tp, nil
}

// LoadJSONL reads every record of a preference JSONL file (.jsonl or
// .jsonl.gz), detecting its format, and fails with a *RecordError naming
// file:line and field at the first bad record, or when the file holds no
// record. Empty responses are accepted (see
// ReadOptions.RejectEmptyResponses).
func LoadJSONL(path string) ([]TextPair, error) {
	pairs, _, err := LoadJSONLWith(path, ReadOptions{})
	return pairs, err
}

// LoadJSONLWith reads every record of path with opts. The report counts the
// lines, records and (in lenient mode) the skipped records by reason.
func LoadJSONLWith(path string, opts ReadOptions) ([]TextPair, *LoadReport, error) {
	r, err := OpenJSONL(path, opts)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var pairs []TextPair
	for {
		tp, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rep := r.Report()
			return nil, &rep, err
		}
		pairs = append(pairs, tp)
	}
	rep := r.Report()
	return pairs, &rep, nil
}
