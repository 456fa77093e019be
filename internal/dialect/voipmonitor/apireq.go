package voipmonitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// apiRequest is one php/api.php call: the task, the credentials and the
// params, from a JSON body (what `echo '{...}' | php api.php` becomes over
// HTTP), a urlencoded or multipart form, or the query; params is a JSON
// object, or a list of them (getVoipCalls' array form).
type apiRequest struct {
	Task, User, Password, AuditReason string
	Flags                             int
	Params                            []params
	Array                             bool
}

// params is one params object, values as the client wrote them.
type params map[string]json.RawMessage

// str reads a param as text: strings as they are, numbers and booleans as
// written; ok is false when absent or null.
func (p params) str(name string) (string, bool) {
	raw, ok := p[name]
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	}
	return string(raw), true
}

// flag reads a param as a boolean (true/1/"yes"); absent is false.
func (p params) flag(name string) (bool, error) {
	v, ok := p.str(name)
	if !ok || v == "" {
		return false, nil
	}
	b, err := boolParam(name, v)
	return b, err
}

// intParam reads a param as an integer within [lo, hi].
func (p params) intParam(name string, def, lo, hi int64) (int64, error) {
	v, ok := p.str(name)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, paramErr(fmt.Sprintf("%s: an integer from %d to %d", name, lo, hi))
	}
	return n, nil
}

// parseAPIRequest reads an api.php request. The spec's GET examples
// print "&params=" as "¶ms=" (an HTML entity the page mangled); that
// spelling is read too, and so is one stray closing brace after the
// params JSON (its first example has one), so the examples work as
// printed.
func parseAPIRequest(w http.ResponseWriter, r *http.Request) (apiRequest, error) {
	var req apiRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return req, paramErr("the request body cannot be read: " + trimErr(err))
	}
	vals := url.Values{}
	var rawParams json.RawMessage
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &m); err != nil {
			return req, paramErr("the JSON body cannot be read: " + trimErr(err))
		}
		for k, v := range m {
			if k == "params" {
				rawParams = v
				continue
			}
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v) // numbers (flags) as written
			}
			vals.Set(k, s)
		}
	case len(trimmed) > 0 && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data"):
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return req, paramErr("the form cannot be read: " + trimErr(err))
		}
		defer r.MultipartForm.RemoveAll()
		for k, v := range r.MultipartForm.Value {
			vals[k] = v
		}
	case len(trimmed) > 0:
		v, err := url.ParseQuery(string(trimmed))
		if err != nil {
			return req, paramErr("the form cannot be read: " + trimErr(err))
		}
		vals = v
	}
	for k, v := range r.URL.Query() { // the query fills what the body lacks
		if _, ok := vals[k]; !ok {
			vals[k] = v
		}
	}
	unmangle(vals)
	req.Task, req.User, req.Password, req.AuditReason = vals.Get("task"), vals.Get("user"), vals.Get("password"), vals.Get("auditReason")
	if len(req.AuditReason) > 500 {
		req.AuditReason = req.AuditReason[:500]
	}
	if f := vals.Get("flags"); f != "" {
		n, err := strconv.ParseInt(f, 0, 32)
		if err != nil || n < 0 {
			return req, paramErr("flags: a number (bit 0x01 simple output, 0x02 ISO 8601 dates)")
		}
		req.Flags = int(n)
	}
	if rawParams == nil {
		if s := vals.Get("params"); s != "" {
			rawParams = json.RawMessage(s)
		}
	}
	if len(rawParams) > 0 && rawParams[0] == '"' { // params given as a JSON string
		var s string
		if json.Unmarshal(rawParams, &s) == nil {
			rawParams = json.RawMessage(s)
		}
	}
	req.Params, req.Array, err = decodeParams(rawParams)
	return req, err
}

// mangled is how the spec's page prints "&params=": the "&para" became
// a pilcrow, so a URL copied from it carries "password=PASSWORD¶ms={...}".
const mangled = "\u00b6ms="

// unmangle splits a value holding the mangled "&params=" into the value
// and params (unless params is also given properly).
func unmangle(vals url.Values) {
	for k, vs := range vals {
		for i, v := range vs {
			before, after, ok := strings.Cut(v, mangled)
			if !ok {
				continue
			}
			vs[i] = before
			if vals.Get("params") == "" {
				vals.Set("params", after)
			}
			vals[k] = vs
		}
	}
}

// maxParamSets bounds getVoipCalls' array form.
const maxParamSets = 50

func decodeParams(raw json.RawMessage) ([]params, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return []params{{}}, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false, paramErr("params: not JSON: " + trimErr(err))
	}
	end := int(dec.InputOffset())
	rest := string(raw[end:])
	if strings.Trim(rest, "} \t\r\n") != "" || strings.Count(rest, "}") > 1 {
		return nil, false, paramErr("params: unexpected text after the JSON")
	}
	first := raw[:end]
	switch first[0] {
	case '{':
		var p params
		if err := json.Unmarshal(first, &p); err != nil {
			return nil, false, paramErr("params: " + trimErr(err))
		}
		return []params{p}, false, nil
	case '[':
		var ps []params
		if err := json.Unmarshal(first, &ps); err != nil {
			return nil, false, paramErr("params: a JSON object or a list of objects")
		}
		if len(ps) == 0 || len(ps) > maxParamSets {
			return nil, false, paramErr(fmt.Sprintf("params: 1 to %d objects", maxParamSets))
		}
		return ps, true, nil
	}
	return nil, false, paramErr("params: a JSON object or a list of objects")
}
