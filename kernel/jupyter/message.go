package jupyter

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ProtocolVersion is the Jupyter messaging protocol version this client speaks.
const ProtocolVersion = "5.3"

// delimiter separates ZeroMQ routing identities from the signed message frames.
const delimiter = "<IDS|MSG>"

// Header is a Jupyter message header.
type Header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// Message is one decoded Jupyter message. Content is kept raw so that each
// consumer decodes only the fields it needs (see Content helpers below).
type Message struct {
	Header       Header
	ParentHeader Header
	Metadata     map[string]any
	Content      json.RawMessage
}

// Type returns the message's msg_type.
func (m *Message) Type() string { return m.Header.MsgType }

// ParentID returns the msg_id of the request that caused this message.
func (m *Message) ParentID() string { return m.ParentHeader.MsgID }

// Decode unmarshals the message content into v. Numbers decoded into
// interface values are json.Number, keeping their text (an integer stays an
// integer when written back to a notebook).
func (m *Message) Decode(v any) error {
	dec := json.NewDecoder(bytes.NewReader(m.Content))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("jupyter: decoding %q content: %w", m.Header.MsgType, err)
	}
	return nil
}

// ErrBadSignature is returned for a received message whose HMAC does not match.
var ErrBadSignature = errors.New("jupyter: invalid message signature")

// newID returns a random 128-bit identifier in UUID-like hex form.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// sign returns hex(HMAC-SHA256(key, header‖parent‖metadata‖content)), or ""
// when key is empty (signing disabled, as the protocol allows).
func sign(key []byte, frames [4][]byte) []byte {
	if len(key) == 0 {
		return nil
	}
	mac := hmac.New(sha256.New, key)
	for _, f := range frames {
		mac.Write(f)
	}
	sum := mac.Sum(nil)
	out := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(out, sum)
	return out
}

// encode serializes a message into wire frames (without routing identities):
// delimiter, signature, header, parent_header, metadata, content.
func encode(key []byte, h Header, parent Header, metadata map[string]any, content any) ([][]byte, error) {
	var frames [4][]byte
	var err error
	if frames[0], err = json.Marshal(h); err != nil {
		return nil, fmt.Errorf("jupyter: encoding header of %q: %w", h.MsgType, err)
	}
	if parent.MsgID == "" {
		frames[1] = []byte("{}")
	} else if frames[1], err = json.Marshal(parent); err != nil {
		return nil, fmt.Errorf("jupyter: encoding parent header of %q: %w", h.MsgType, err)
	}
	if metadata == nil {
		metadata = map[string]any{}
	}
	if frames[2], err = json.Marshal(metadata); err != nil {
		return nil, fmt.Errorf("jupyter: encoding metadata of %q: %w", h.MsgType, err)
	}
	if content == nil {
		content = map[string]any{}
	}
	if frames[3], err = json.Marshal(content); err != nil {
		return nil, fmt.Errorf("jupyter: encoding content of %q: %w", h.MsgType, err)
	}
	return [][]byte{[]byte(delimiter), sign(key, frames), frames[0], frames[1], frames[2], frames[3]}, nil
}

// decode parses wire frames (routing identities or a SUB topic may precede
// the delimiter), verifying the signature when key is non-empty.
func decode(key []byte, frames [][]byte) (*Message, error) {
	i := 0
	for i < len(frames) && string(frames[i]) != delimiter {
		i++
	}
	if len(frames)-i < 6 {
		return nil, fmt.Errorf("jupyter: malformed message: %d frames, delimiter at %d", len(frames), i)
	}
	sig := frames[i+1]
	var signed [4][]byte
	copy(signed[:], frames[i+2:i+6])
	if len(key) != 0 {
		want := sign(key, signed)
		if !hmac.Equal(bytes.ToLower(sig), want) {
			return nil, ErrBadSignature
		}
	}
	m := &Message{}
	if err := json.Unmarshal(signed[0], &m.Header); err != nil {
		return nil, fmt.Errorf("jupyter: decoding header: %w", err)
	}
	if err := json.Unmarshal(signed[1], &m.ParentHeader); err != nil {
		return nil, fmt.Errorf("jupyter: decoding parent header of %q: %w", m.Header.MsgType, err)
	}
	if err := json.Unmarshal(signed[2], &m.Metadata); err != nil {
		return nil, fmt.Errorf("jupyter: decoding metadata of %q: %w", m.Header.MsgType, err)
	}
	m.Content = append(json.RawMessage(nil), signed[3]...)
	return m, nil
}

// newHeader returns a fresh header for a request of the given type.
func newHeader(session, msgType string) Header {
	return Header{
		MsgID:    newID(),
		Session:  session,
		Username: "robustpo",
		Date:     time.Now().UTC().Format(time.RFC3339Nano),
		MsgType:  msgType,
		Version:  ProtocolVersion,
	}
}

// StreamContent is the content of an iopub "stream" message.
type StreamContent struct {
	Name string `json:"name"` // "stdout" or "stderr"
	Text string `json:"text"`
}

// DisplayContent is the content of "display_data", "update_display_data" and
// "execute_result" messages: a MIME bundle with metadata.
type DisplayContent struct {
	Data           map[string]any `json:"data"`
	Metadata       map[string]any `json:"metadata"`
	Transient      map[string]any `json:"transient,omitempty"`
	ExecutionCount int            `json:"execution_count,omitempty"`
}

// ErrorContent is the content of an iopub "error" message and the error
// fields of an execute_reply.
type ErrorContent struct {
	EName     string   `json:"ename"`
	EValue    string   `json:"evalue"`
	Traceback []string `json:"traceback"`
}

// StatusContent is the content of an iopub "status" message.
type StatusContent struct {
	ExecutionState string `json:"execution_state"` // "busy", "idle" or "starting"
}

// KernelInfo is the content of a kernel_info_reply. LanguageInfo is kept
// whole: Jupyter's frontend stores it as the notebook's
// metadata.language_info.
type KernelInfo struct {
	Status                string         `json:"status"`
	ProtocolVersion       string         `json:"protocol_version"`
	Implementation        string         `json:"implementation"`
	ImplementationVersion string         `json:"implementation_version"`
	LanguageInfo          map[string]any `json:"language_info"`
	Banner                string         `json:"banner"`
}

// ExecuteReply is the content of an execute_reply.
type ExecuteReply struct {
	Status         string `json:"status"` // "ok", "error" or "aborted"
	ExecutionCount int    `json:"execution_count"`
	ErrorContent
}
