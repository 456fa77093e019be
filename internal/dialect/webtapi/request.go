package webtapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Bounds on what one request may carry. The spec's requests have at most
// six parameters of a few dozen bytes; anything far beyond is not a
// WebTAPI client.
const (
	maxBody       = 64 << 10
	maxParams     = 32
	maxValueBytes = 1024
)

// errParam marks a missing, malformed or ambiguous parameter.
var errParam = errors.New("bad parameter")

// params are a request's parameters, the query and the body merged as
// PHP's $_REQUEST merges $_GET and $_POST, one value each.
type params map[string]string

// get is a parameter's value ("" when absent).
func (p params) get(k string) string { return p[k] }

// request is a parsed WebTAPI request.
type request struct {
	action string
	sid    string
	post   bool
	// user and pass are login's AUTH[user] and AUTH[pass], taken from the
	// body only (the spec forbids passwords in URLs).
	user, pass string
	p          params
}

// readRequest reads a request's parameters: the query string, and for
// POST the body, form-encoded or multipart (files are ignored). The body
// is bounded; a parameter given twice with different values, a value with
// control characters or invalid UTF-8, too many parameters or an
// unreadable body are errParam: a request the server would have to guess
// about is refused, never half-read.
func readRequest(w http.ResponseWriter, r *http.Request) (request, error) {
	var body url.Values
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "multipart/form-data":
			if err := r.ParseMultipartForm(maxBody); err != nil {
				return request{}, fmt.Errorf("multipart body: %v: %w", err, errParam)
			}
			if r.MultipartForm != nil {
				defer r.MultipartForm.RemoveAll()
				body = url.Values(r.MultipartForm.Value)
			}
		case "application/x-www-form-urlencoded", "":
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return request{}, fmt.Errorf("form body: %v: %w", err, errParam)
			}
			v, err := url.ParseQuery(string(b))
			if err != nil {
				return request{}, fmt.Errorf("form body: %v: %w", err, errParam)
			}
			body = v
		default:
			return request{}, fmt.Errorf("content type %q: %w", clip(ct), errParam)
		}
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return request{}, fmt.Errorf("query: %v: %w", err, errParam)
	}
	req, err := parseParams(query, body)
	if err != nil {
		return request{}, err
	}
	req.post = r.Method == http.MethodPost
	return req, nil
}

// parseParams merges the query and body values into one request. It is
// the parser the fuzz test drives (FuzzParseParams).
func parseParams(query, body url.Values) (request, error) {
	p := params{}
	var user, pass string
	merge := func(vs url.Values, fromBody bool) error {
		for k, list := range vs {
			if err := checkText(k); err != nil {
				return fmt.Errorf("parameter name: %w", err)
			}
			for _, v := range list {
				if err := checkText(v); err != nil {
					return fmt.Errorf("parameter %s: %w", clip(k), err)
				}
			}
			for _, v := range list[1:] {
				if v != list[0] {
					return fmt.Errorf("parameter %s given twice: %w", clip(k), errParam)
				}
			}
			if len(list) == 0 {
				continue
			}
			v := list[0]
			switch k {
			case "AUTH[user]", "AUTH[pass]":
				if !fromBody {
					// A password in a URL is refused outright (the
					// spec: "the password would be submitted ... inside
					// the URL string").
					return fmt.Errorf("%s in the URL: %w", k, errParam)
				}
				if k == "AUTH[user]" {
					user = v
				} else {
					pass = v
				}
				continue
			}
			if old, ok := p[k]; ok && old != v {
				return fmt.Errorf("parameter %s differs in URL and body: %w", clip(k), errParam)
			}
			p[k] = v
		}
		return nil
	}
	if len(query)+len(body) > maxParams {
		return request{}, fmt.Errorf("%d parameters: %w", len(query)+len(body), errParam)
	}
	if err := merge(query, false); err != nil {
		return request{}, err
	}
	if err := merge(body, true); err != nil {
		return request{}, err
	}
	req := request{action: p["action"], sid: p["SID"], user: user, pass: pass, p: p}
	// A POST of the AUTH array without an action is a login: the spec
	// names no action parameter for it.
	if req.action == "" && user != "" {
		req.action = "login"
	}
	return req, nil
}

// checkText refuses values no WebTAPI parameter can hold: longer than
// maxValueBytes, invalid UTF-8, or with control characters (NUL, CR, LF,
// tabs) that would end up in a log line, a file name or a SIP header.
func checkText(s string) error {
	if len(s) > maxValueBytes {
		return fmt.Errorf("%d bytes: %w", len(s), errParam)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("invalid UTF-8: %w", errParam)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("control character %U: %w", r, errParam)
		}
	}
	return nil
}

// clip bounds client text quoted in an error or a log line.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// Validators for the values the actions take. Each refuses rather than
// rewrites, so what reaches the core is exactly what the client sent.

// channelName: a channel name ("SIP/1004-0000001a"), a channel unique id
// ("1358704647.94") or a call id; letters, digits and "/-_.@:" only, at
// most 96 bytes. It is looked up among live channels, never used as a
// path or in SQL.
func channelName(s string) bool {
	if s == "" || len(s) > 96 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("/-_.@:", c) >= 0) {
			return false
		}
	}
	return true
}

// queueName: a configured queue's name; letters, digits and "-_. " only,
// at most 64 bytes.
func queueName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("-_. ", c) >= 0) {
			return false
		}
	}
	return true
}

// positiveInt reads a decimal id or position: 1 to 2^30, digits only (no
// sign, no spaces, no leading zeros beyond "0").
func positiveInt(s string) (int, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if n < 1 || n > 1<<30 {
		return 0, false
	}
	return n, true
}

// numberList reads a comma-separated list of numbers (filter, stations):
// each a dialable number, at most max, none twice.
func numberList(s string, max int) ([]string, bool) {
	if s == "" {
		return nil, false
	}
	parts := strings.Split(s, ",")
	if len(parts) > max {
		return nil, false
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(parts))
	for _, x := range parts {
		x = strings.TrimSpace(x)
		if !pbx.ValidNumber(x) || seen[x] {
			return nil, false
		}
		seen[x] = true
		out = append(out, x)
	}
	return out, true
}
