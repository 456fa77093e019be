package voipmonitor

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dialect"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Share links: getShareURL and utilities.php shareCdr answer a link to
// php/share.php naming the tenant, the CDR ids (the call's legs), what
// it shows (mode: sip, rtp or history) and when it expires, signed with
// HMAC-SHA256. The link is the credential: anyone holding it may open
// that call until it expires; changing any part breaks the signature.
// A "login" link (shareCdr's self_login_link) carries no signature and
// opens only with a GUI session of the same tenant.

const (
	shareModeSIP     = "sip"     // the call's legs and SIP history; a SIP-only PCAP
	shareModeRTP     = "rtp"     // the same, and the PCAP with RTP
	shareModeHistory = "history" // the SIP history only
	pathShare        = "/php/share.php"
	pathUtilities    = "/php/model/utilities.php"
)

// errLink is a share link that is not valid (tampered, malformed) or no
// longer valid; both answer 403 with the same words.
var errLink = fmt.Errorf("share link invalid or expired: %w", dialect.ErrForbidden)

// shareKey reads the share_key option or makes a random key (links then
// stop working when the node restarts).
func shareKey(o dialect.Options) ([]byte, error) {
	if k, ok := o["share_key"]; ok {
		if len(k) < 16 {
			return nil, errors.New("option share_key: at least 16 characters")
		}
		return []byte(k), nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("share key: %w", err)
	}
	return k, nil
}

func (a *API) sign(tenant, ids, mode, exp string) string {
	m := hmac.New(sha256.New, a.shareKey)
	m.Write([]byte("voipmonitor-share-v1\n" + tenant + "\n" + ids + "\n" + mode + "\n" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// shareURL builds the link for legs on the host and prefix the client
// used.
func (a *API) shareURL(r *http.Request, tenant string, legs []pbx.CDR, mode string, login bool) string {
	ids := make([]string, len(legs))
	for i, c := range legs {
		ids[i] = strconv.FormatInt(c.ID, 10)
	}
	q := url.Values{"t": {tenant}, "ids": {strings.Join(ids, ",")}, "mode": {mode}}
	if login {
		q.Set("login", "1")
	} else {
		exp := strconv.FormatInt(a.now().Add(a.shareTTL).Unix(), 10)
		q.Set("exp", exp)
		q.Set("sig", a.sign(tenant, q.Get("ids"), mode, exp))
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + strings.TrimSuffix(cookiePath(r), "/") + pathShare + "?" + q.Encode()
}

// getShareURL answers the public link of a call's legs (callId with
// cidInterval, or cdrId): with rtp the PCAP offered includes RTP, with
// sip_history only the SIP history is shown (rtp ignored).
func (a *API) getShareURL(w http.ResponseWriter, r *http.Request, p auth.Principal, ps params) error {
	if !p.Can(auth.ReadCDRs) {
		return dialect.ErrForbidden
	}
	legs, err := a.cdrByParams(r.Context(), p, ps)
	if err != nil {
		return err
	}
	mode, err := shareMode(ps)
	if err != nil {
		return err
	}
	if mode == shareModeRTP && !p.Can(auth.ReadPCAP) {
		return dialect.ErrForbidden
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "url": a.shareURL(r, p.Tenant, legs, mode, false)})
	return nil
}

func shareMode(ps params) (string, error) {
	history, err := ps.flag("sip_history")
	if err != nil {
		return "", err
	}
	rtp, err := ps.flag("rtp")
	if err != nil {
		return "", err
	}
	switch {
	case history:
		return shareModeHistory, nil
	case rtp:
		return shareModeRTP, nil
	}
	return shareModeSIP, nil
}

// utilities serves php/model/utilities.php task=shareCdr with the spec's
// share_cdr_show params: self_protected_link (local public) and
// share_link (public) give the signed link, self_login_link (local
// private) a link that needs a GUI session; type2 "rtp" offers the PCAP
// with RTP, null SIP only.
func (a *API) utilities(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	var p auth.Principal
	defer func() { a.d.AuditRequest(r, p, Name, "utilities "+clip(r.Form.Get("task")), r.URL.Path, sw.status, "") }()
	err := form(sw, r)
	if err == nil {
		unmangle(r.Form) // the spec prints "task=shareCdr¶ms=..."
		p, err = a.session(r)
	}
	if err == nil {
		err = a.shareCdr(sw, r, p)
	}
	if err != nil {
		a.fail(sw, r, err)
	}
}

func (a *API) shareCdr(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if r.Form.Get("task") != "shareCdr" {
		return fmt.Errorf("utilities task %q: %w", clip(r.Form.Get("task")), errUnknownTask)
	}
	if !p.Can(auth.ReadCDRs) {
		return dialect.ErrForbidden
	}
	var sp struct {
		Type    string  `json:"type"`
		Type2   *string `json:"type2"`
		SubType string  `json:"subType"`
		ID      []int64 `json:"id"`
	}
	raw := r.Form.Get("params")
	if len(raw) > 4096 || json.Unmarshal([]byte(raw), &sp) != nil {
		return paramErr(`params: {"type":"share_cdr_show","type2":null,"subType":"self_protected_link","id":[CDR id],"emailFields":null}`)
	}
	if sp.Type != "share_cdr_show" {
		return paramErr("params.type: share_cdr_show")
	}
	if len(sp.ID) == 0 || len(sp.ID) > maxLegs {
		return paramErr(fmt.Sprintf("params.id: 1 to %d CDR ids", maxLegs))
	}
	mode := shareModeSIP
	if sp.Type2 != nil && *sp.Type2 == "rtp" {
		if !p.Can(auth.ReadPCAP) {
			return dialect.ErrForbidden
		}
		mode = shareModeRTP
	} else if sp.Type2 != nil && *sp.Type2 != "" {
		return paramErr(`params.type2: "rtp" or null`)
	}
	var legs []pbx.CDR
	for _, id := range sp.ID {
		c, err := a.getCDR(r.Context(), p, id)
		if err != nil {
			return err
		}
		legs = append(legs, c)
	}
	var login bool
	switch sp.SubType {
	case "self_protected_link", "share_link":
	case "self_login_link":
		login = true
	default:
		return paramErr("params.subType: self_protected_link, self_login_link or share_link")
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "url": a.shareURL(r, p.Tenant, legs, mode, login)})
	return nil
}

// verify checks a signed link's signature and expiry.
func (a *API) verify(q url.Values) error {
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil || !hmac.Equal([]byte(q.Get("sig")), []byte(a.sign(q.Get("t"), q.Get("ids"), q.Get("mode"), q.Get("exp")))) || a.now().Unix() > exp {
		return errLink
	}
	return nil
}

// share serves a share link: the legs and their SIP history as an HTML
// page, or with download=1 the PCAP the link offers.
func (a *API) share(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	p := auth.Principal{Name: "share-link"}
	q := r.URL.Query()
	defer func() { a.d.AuditRequest(r, p, Name, "share", "cdr "+clip(q.Get("ids")), sw.status, "") }() // never the signature
	tenant, ids, mode := q.Get("t"), q.Get("ids"), q.Get("mode")
	if q.Get("login") == "1" {
		sp, err := a.session(r)
		if err != nil {
			a.fail(sw, r, err)
			return
		}
		if sp.Tenant != tenant || !sp.Can(auth.ReadCDRs) {
			a.fail(sw, r, dialect.ErrForbidden)
			return
		}
		p = sp
	} else {
		if err := a.verify(q); err != nil {
			a.fail(sw, r, err)
			return
		}
		p.Tenant = tenant
	}
	if mode != shareModeSIP && mode != shareModeRTP && mode != shareModeHistory {
		a.fail(sw, r, errLink)
		return
	}
	var legs []pbx.CDR
	for _, s := range strings.Split(ids, ",") {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || len(legs) >= maxLegs {
			a.fail(sw, r, errLink)
			return
		}
		c, err := a.d.CDRs.GetCDR(r.Context(), tenant, id)
		if err != nil {
			a.fail(sw, r, err)
			return
		}
		legs = append(legs, c)
	}
	if q.Get("download") == "1" {
		if mode == shareModeHistory {
			a.fail(sw, r, dialect.ErrForbidden)
			return
		}
		if err := a.servePCAP(sw, r, p, legs, mode == shareModeSIP, false); err != nil {
			a.fail(sw, r, err)
		}
		return
	}
	a.sharePage(sw, r, p, legs, mode)
}

// sharePage renders the shared call: a table of its legs (unless only
// the SIP history is shared), each leg's SIP history, and the PCAP link.
func (a *API) sharePage(w http.ResponseWriter, r *http.Request, p auth.Principal, legs []pbx.CDR, mode string) {
	loc := time.UTC
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Shared call</title></head><body>\n")
	if mode != shareModeHistory {
		b.WriteString("<h1>Call legs</h1>\n<table class=\"legs\">\n<tr><th>id</th><th>calldate (UTC)</th><th>caller</th><th>called</th><th>duration</th><th>last SIP response</th><th>Call-ID</th></tr>\n")
		for _, c := range legs {
			fmt.Fprintf(&b, "<tr><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d %s</td><td>%s</td></tr>\n", c.ID,
				c.CallDate.In(loc).Format("2006-01-02 15:04:05"), html.EscapeString(c.Src), html.EscapeString(c.Dst), c.Duration,
				c.LastSIPResponse, html.EscapeString(reasonPhrase(c.LastSIPResponse)), html.EscapeString(c.CallID))
		}
		b.WriteString("</table>\n")
		dl := r.URL.Query()
		dl.Set("download", "1")
		label := "PCAP (SIP)"
		if mode == shareModeRTP {
			label = "PCAP (SIP and RTP)"
		}
		fmt.Fprintf(&b, "<p><a href=\"%s\">%s</a></p>\n", html.EscapeString(strings.TrimSuffix(cookiePath(r), "/")+pathShare+"?"+dl.Encode()), label)
	}
	b.WriteString("<h1>SIP history</h1>\n")
	for _, c := range legs {
		msgs, err := a.d.Artifacts.SIPLadder(p.Tenant, c.UniqueID, true)
		if err != nil {
			fmt.Fprintf(&b, "<p>leg %d: no capture</p>\n", c.ID)
			continue
		}
		fmt.Fprintf(&b, "<table class=\"sip_history\" data-cdr=\"%d\">\n<tr><th>num</th><th>time</th><th>src</th><th>dst</th><th>msg</th></tr>\n", c.ID)
		for _, row := range briefRows(msgs, nil) {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%.6f</td><td>%s:%s</td><td>%s:%s</td><td>%s</td></tr>\n", row.Num, row.Time,
				html.EscapeString(row.SrcIP), row.SrcPort, html.EscapeString(row.DstIP), row.DstPort, html.EscapeString(row.Msg))
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("</body></html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
}
