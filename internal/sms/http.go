package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTP is a generic HTTP SMS gateway: one request per message, built from
// templates, and delivery reports through the status callback
// (CallbackHandler). Placeholders {{id}}, {{to}}, {{from}} and {{body}}
// are replaced in URL (query-escaped) and Body (JSON-escaped for a JSON
// content type, form-escaped for a form, as is otherwise).
type HTTP struct {
	URL    string
	Method string // default POST
	Body   string
	// ContentType of Body (default application/json).
	ContentType string
	// AuthHeader and AuthValue: one header carrying the gateway's
	// credential ("Authorization: Bearer ...", "X-API-Key: ...").
	AuthHeader string
	AuthValue  string
	// RefPath is the dotted JSON path of the gateway's message id in its
	// answer ("data.id", "messages.0.id"); empty: our id is the
	// reference (put {{id}} in the request so callbacks can name it).
	RefPath string
	// Timeout bounds one request (default 10 s).
	Timeout time.Duration
	// Client is the HTTP client (default: the default transport, with
	// redirects not followed: a gateway's credential header must not
	// travel to wherever a 3xx points, and a 3xx fails the message).
	Client *http.Client
}

// DefaultHTTPTimeout bounds one gateway request.
const DefaultHTTPTimeout = 10 * time.Second

// Kind implements Driver.
func (h *HTTP) Kind() string { return "http" }

// Close implements Driver.
func (h *HTTP) Close() error { return nil }

func (h *HTTP) fill(tmpl string, m Message, esc func(string) string) string {
	return strings.NewReplacer("{{id}}", esc(m.ID), "{{to}}", esc(m.To), "{{from}}", esc(m.From), "{{body}}", esc(m.Body)).Replace(tmpl)
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// Send implements Driver: a 2xx is ACCEPTED; 408, 429, 5xx and network
// errors are transient; 400 and 422 (the gateway refused the number or
// text) are REJECTED; other answers fail the message.
func (h *HTTP) Send(ctx context.Context, m Message, _ Reporter) (Result, error) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ct := h.ContentType
	if ct == "" {
		ct = "application/json"
	}
	esc := func(s string) string { return s }
	switch {
	case strings.Contains(ct, "json"):
		esc = jsonEscape
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		esc = url.QueryEscape
	}
	method := h.Method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader
	if h.Body != "" {
		body = strings.NewReader(h.fill(h.Body, m, esc))
	}
	req, err := http.NewRequestWithContext(ctx, method, h.fill(h.URL, m, url.QueryEscape), body)
	if err != nil {
		return Result{}, fmt.Errorf("http gateway request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ct)
	}
	if h.AuthHeader != "" {
		req.Header.Set(h.AuthHeader, h.AuthValue)
	}
	c := h.Client
	if c == nil {
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := c.Do(req)
	if err != nil {
		return Result{}, transient("http gateway: %v", redactURL(err))
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
	case res.StatusCode == http.StatusRequestTimeout || res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		return Result{}, transient("http gateway answered %d", res.StatusCode)
	case res.StatusCode == http.StatusBadRequest || res.StatusCode == http.StatusUnprocessableEntity:
		return Result{State: Rejected, Error: fmt.Sprintf("gateway refused the message (%d): %s", res.StatusCode, clip(string(raw)))}, nil
	default:
		return Result{}, fmt.Errorf("http gateway answered %d", res.StatusCode)
	}
	ref := m.ID
	if h.RefPath != "" {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return Result{}, fmt.Errorf("http gateway answer is not JSON (ref_path %s): %w", h.RefPath, err)
		}
		s, ok := jsonPath(v, h.RefPath)
		if !ok || s == "" {
			return Result{}, fmt.Errorf("http gateway answer has no %s", h.RefPath)
		}
		ref = s
	}
	return Result{State: Accepted, Ref: ref}, nil
}

// redactURL drops the URL from a client error: gateway URLs may carry
// credentials in their query.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// jsonPath follows a dotted path (object keys, array indexes) to a
// string or number.
func jsonPath(v any, path string) (string, bool) {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return "", false
			}
			v = x[i]
		default:
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

// clip bounds gateway text kept in a message's error.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return string(bytes.ToValidUTF8([]byte(s), []byte("?")))
}
