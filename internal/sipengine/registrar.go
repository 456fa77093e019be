package sipengine

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

const (
	defaultExpiry = time.Hour
	minExpiry     = 60 * time.Second
	maxExpiry     = 2 * time.Hour
)

// binding is where an extension's device can be reached.
type binding struct {
	contact   sip.Uri
	source    string // host:port the REGISTER came from; requests go there (NAT)
	transport string
	expires   time.Time
	userAgent string
}

// registrar is the location service: one binding per extension, the most
// recent registration wins.
type registrar struct {
	e  *Engine
	mu sync.Mutex
	b  map[string]*binding // "tenant\x00number"
}

func newRegistrar(e *Engine) *registrar { return &registrar{e: e, b: map[string]*binding{}} }

func key(tenant, number string) string { return tenant + "\x00" + number }

func (r *registrar) lookup(tenant, number string) *binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.b[key(tenant, number)]
	if b == nil || time.Now().After(b.expires) {
		return nil
	}
	cp := *b
	return &cp
}

func (r *registrar) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.b)
}

func (r *registrar) set(tenant, number string, b *binding) {
	r.mu.Lock()
	if b == nil {
		delete(r.b, key(tenant, number))
	} else {
		r.b[key(tenant, number)] = b
	}
	r.mu.Unlock()
	if b == nil {
		r.e.core.SetRegistration(tenant, number, nil)
		return
	}
	r.e.core.SetRegistration(tenant, number, &pbx.Registration{
		Contact: b.contact.String(), UserAgent: b.userAgent, SourceIP: b.source, Expires: b.expires,
	})
}

// expireLoop drops bindings whose devices stopped refreshing them.
func (r *registrar) expireLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var gone []string
			r.mu.Lock()
			for k, b := range r.b {
				if now.After(b.expires) {
					gone = append(gone, k)
					delete(r.b, k)
				}
			}
			r.mu.Unlock()
			for _, k := range gone {
				tenant, number, _ := strings.Cut(k, "\x00")
				r.e.log.Info("registration expired", "tenant", tenant, "ext", number)
				r.e.core.SetRegistration(tenant, number, nil)
			}
		}
	}
}

func (e *Engine) handleRegister(req *sip.Request, tx sip.ServerTransaction) {
	to := req.To()
	if to == nil {
		e.reply(tx, req, sip.StatusBadRequest, "Missing To")
		return
	}
	t := e.tenantFor(to.Address.Host)
	if t == nil {
		e.reply(tx, req, sip.StatusNotFound, "Unknown Domain")
		return
	}
	number := to.Address.User
	ext := t.exts[number]
	now := time.Now()
	ar, blocked := e.authenticate(req, t, headerValue(req, "Authorization"), number, now, func(u string) string {
		if u != number || ext == nil {
			return ""
		}
		return ext.HA1
	})
	if blocked {
		e.refuseBlocked(tx, req)
		return
	}
	if !ar.ok {
		if ar.why != "no credentials" && !ar.stale {
			e.log.Info("register refused", "tenant", t.Name, "ext", clip(number), "source", req.Source(), "reason", ar.why)
		}
		res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", e.challenge(t.Domain, clientOf(req), ar.stale, now)))
		_ = tx.Respond(res)
		return
	}

	expires := defaultExpiry
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			expires = time.Duration(n) * time.Second
		}
	}
	contact := req.Contact()
	if contact != nil {
		if v, ok := contact.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				expires = time.Duration(n) * time.Second
			}
		}
	}
	if contact == nil {
		// A query for current bindings.
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		if b := e.reg.lookup(t.Name, number); b != nil {
			res.AppendHeader(sip.NewHeader("Contact", "<"+b.contact.String()+">;expires="+itoa(int(time.Until(b.expires).Seconds()))))
		}
		_ = tx.Respond(res)
		return
	}
	if expires == 0 || contact.Address.Wildcard {
		e.reg.set(t.Name, number, nil)
		e.log.Info("unregistered", "tenant", t.Name, "ext", number)
		e.reply(tx, req, sip.StatusOK, "OK")
		return
	}
	if expires < minExpiry {
		res := sip.NewResponseFromRequest(req, sip.StatusIntervalToBrief, "Interval Too Brief", nil)
		res.AppendHeader(sip.NewHeader("Min-Expires", itoa(int(minExpiry.Seconds()))))
		_ = tx.Respond(res)
		return
	}
	expires = min(expires, maxExpiry)
	b := &binding{
		contact: contact.Address, source: req.Source(), transport: strings.ToLower(req.Transport()),
		expires: now.Add(expires), userAgent: headerValue(req, "User-Agent"),
	}
	e.reg.set(t.Name, number, b)
	e.log.Debug("registered", "tenant", t.Name, "ext", number, "contact", b.contact.String(), "source", b.source)
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Contact", "<"+contact.Address.String()+">;expires="+itoa(int(expires.Seconds()))))
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	_ = tx.Respond(res)
}

func headerValue(m interface{ GetHeader(string) sip.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

func (e *Engine) reply(tx sip.ServerTransaction, req *sip.Request, code int, reason string) {
	_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
}

// clip bounds a value a remote peer chose before it goes into a log line.
func clip(s string) string {
	const maxLogValue = 64
	if len(s) > maxLogValue {
		return s[:maxLogValue] + "…"
	}
	return s
}

func sourceIP(src string) string {
	if ap, err := netip.ParseAddrPort(src); err == nil {
		return ap.Addr().String()
	}
	return src
}
