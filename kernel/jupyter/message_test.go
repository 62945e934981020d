package jupyter

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestSignKnownVector checks the HMAC-SHA256 signature against the
// published RFC-style test vector for key "key" and the message "The quick
// brown fox jumps over the lazy dog", split across the four signed frames
// (the signature covers their concatenation).
func TestSignKnownVector(t *testing.T) {
	frames := [4][]byte{[]byte("The quick "), []byte("brown fox "), []byte("jumps over "), []byte("the lazy dog")}
	got := string(sign([]byte("key"), frames))
	want := "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got != want {
		t.Errorf("sign = %s, want %s", got, want)
	}
	if s := sign(nil, frames); s != nil {
		t.Errorf("empty key must disable signing, got %q", s)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	key := []byte("secret")
	parent := newHeader("sess", "execute_request")
	h := newHeader("sess", "stream")
	frames, err := encode(key, h, parent, map[string]any{"m": 1.0}, StreamContent{Name: "stdout", Text: "hi\n"})
	if err != nil {
		t.Fatal(err)
	}
	if string(frames[0]) != delimiter || len(frames) != 6 {
		t.Fatalf("frames: %q", frames)
	}
	// A SUB socket sees a topic frame first; a ROUTER, identities.
	wire := append([][]byte{[]byte("kernel.topic")}, frames...)
	m, err := decode(key, wire)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type() != "stream" || m.ParentID() != parent.MsgID || m.Header.Version != ProtocolVersion || m.Metadata["m"] != 1.0 {
		t.Errorf("decoded %+v", m)
	}
	var s StreamContent
	if err := m.Decode(&s); err != nil || s != (StreamContent{"stdout", "hi\n"}) {
		t.Errorf("content %+v, %v", s, err)
	}

	// Any change to a signed frame, or the wrong key, is rejected.
	tampered := append([][]byte(nil), wire...)
	tampered[6] = []byte(`{"name":"stdout","text":"evil"}`)
	if _, err := decode(key, tampered); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered content: err %v, want ErrBadSignature", err)
	}
	if _, err := decode([]byte("other"), wire); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong key: err %v, want ErrBadSignature", err)
	}
	if _, err := decode(key, wire[:4]); err == nil {
		t.Errorf("truncated message accepted")
	}
}

func TestEncodeEmptyParentIsEmptyObject(t *testing.T) {
	frames, err := encode(nil, newHeader("s", "kernel_info_request"), Header{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(frames[3]) != "{}" || string(frames[4]) != "{}" || string(frames[5]) != "{}" {
		t.Errorf("parent/metadata/content frames %q %q %q, want {}", frames[3], frames[4], frames[5])
	}
	var h Header
	if err := json.Unmarshal(frames[2], &h); err != nil || h.MsgType != "kernel_info_request" || h.MsgID == "" || h.Date == "" {
		t.Errorf("header %s: %+v %v", frames[2], h, err)
	}
}

func TestDecodeKeepsNumberText(t *testing.T) {
	m := &Message{Header: Header{MsgType: "kernel_info_reply"},
		Content: json.RawMessage(`{"status": "ok", "language_info": {"name": "go", "version": "go1.26", "n": 600, "x": 1.50}}`)}
	var info KernelInfo
	if err := m.Decode(&info); err != nil {
		t.Fatal(err)
	}
	if info.Status != "ok" || info.LanguageInfo["name"] != "go" || info.LanguageInfo["version"] != "go1.26" {
		t.Errorf("decoded %+v", info)
	}
	if info.LanguageInfo["n"] != json.Number("600") || info.LanguageInfo["x"] != json.Number("1.50") {
		t.Errorf("numbers decoded as %#v and %#v, want json.Number with their text", info.LanguageInfo["n"], info.LanguageInfo["x"])
	}
}
