package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// decodeBase64 decodes standard base64, ignoring whitespace (notebooks
// often wrap PNG data at 76 columns).
func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
}
