package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds how deeply a JSON body may nest: no request of the API
// needs more than a few levels, and the checks below recurse.
const maxDepth = 32

// CheckJSON refuses a body that is not exactly one JSON value in UTF-8
// with each object's names given once. Go's decoder would take the last
// of two equal names and turn invalid UTF-8 or a lone surrogate escape
// into U+FFFD, so a request could mean something else than it says.
func CheckJSON(body []byte) *Refusal {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("malformed_json", "", "request body is empty")
	}
	if !utf8.Valid(body) {
		return badRequest("invalid_utf8", "", "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if r := walk(dec, "", 0); r != nil {
		return r
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("malformed_json", "", "request body must be a single JSON value")
	}
	if at, ok := loneSurrogate(body); ok {
		return badRequest("invalid_utf8", "", fmt.Sprintf("request body has a lone UTF-16 surrogate escape at byte %d", at))
	}
	return nil
}

// walk reads one value, refusing repeated names in its objects.
func walk(dec *json.Decoder, path string, depth int) *Refusal {
	if depth > maxDepth {
		return badRequest("malformed_json", path, fmt.Sprintf("request body nests deeper than %d levels", maxDepth))
	}
	tok, err := dec.Token()
	if err != nil {
		return badRequest("malformed_json", "", "request body is not valid JSON")
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return badRequest("malformed_json", "", "request body is not valid JSON")
			}
			name, _ := tok.(string)
			field := join(path, name)
			if seen[name] {
				return badRequest("duplicate_key", field, field+" is given twice")
			}
			seen[name] = true
			if r := walk(dec, field, depth+1); r != nil {
				return r
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if r := walk(dec, join(path, strconv.Itoa(i)), depth+1); r != nil {
				return r
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return badRequest("malformed_json", "", "request body is not valid JSON")
	}
	return nil
}

// loneSurrogate finds a \uD800-\uDFFF escape that is not half of a
// surrogate pair, in a body already known to be valid JSON.
func loneSurrogate(body []byte) (int, bool) {
	inString := false
	for i := 0; i < len(body); i++ {
		switch b := body[i]; {
		case b == '"':
			inString = !inString
		case b == '\\' && inString:
			if i+1 < len(body) && body[i+1] == 'u' {
				r := hex4(body, i+2)
				switch {
				case r >= 0xD800 && r <= 0xDBFF:
					if i+11 < len(body) && body[i+6] == '\\' && body[i+7] == 'u' {
						if low := hex4(body, i+8); low >= 0xDC00 && low <= 0xDFFF {
							i += 11
							continue
						}
					}
					return i, true
				case r >= 0xDC00 && r <= 0xDFFF:
					return i, true
				}
				i += 5
				continue
			}
			i++ // the escaped character
		}
	}
	return 0, false
}

// hex4 reads the four hex digits at body[at:], or -1.
func hex4(body []byte, at int) int {
	if at+4 > len(body) {
		return -1
	}
	n, err := strconv.ParseUint(string(body[at:at+4]), 16, 32)
	if err != nil {
		return -1
	}
	return int(n)
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func badRequest(code, field, message string) *Refusal {
	return &Refusal{Status: http.StatusBadRequest, Code: code, Field: field, Message: message}
}
