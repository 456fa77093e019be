package sipengine

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// maxMessageBody bounds a SIP MESSAGE body: RFC 3428 §8 keeps pager-mode
// messages under 1300 bytes over UDP unless congestion control is known,
// and 1,024 characters of Polish text are at most about 2 KB in UTF-8;
// anything longer than this is refused rather than fragmented.
const maxMessageBody = 4096

// SendMessage sends a SIP MESSAGE (RFC 3428, pager mode) with a text body
// to number through the tenant's named trunk and waits for the final
// response, answering a digest challenge with the trunk's credentials.
// from is the sender: a number becomes the From user, a name the display
// name (the trunk's caller_id, when set, is the user then). It returns
// the final code and reason; err is a transport failure, a timeout or a
// configuration problem. The SMS subsystem's sip driver calls it through
// the node.
func (e *Engine) SendMessage(ctx context.Context, tenant, trunk, from, to, body string) (int, string, error) {
	t := e.tenants[tenant]
	if t == nil {
		return 0, "", fmt.Errorf("sip message: tenant %q: %w", tenant, pbx.ErrUnknownTenant)
	}
	var tr *Trunk
	for _, x := range t.trunks {
		if x.Name == trunk {
			tr = x
		}
	}
	if tr == nil {
		return 0, "", fmt.Errorf("sip message: trunk %q of %s: %w", trunk, tenant, pbx.ErrNotFound)
	}
	if len(body) > maxMessageBody {
		return 0, "", fmt.Errorf("sip message: body of %d bytes: %w", len(body), pbx.ErrInvalidArgument)
	}
	if to == "" {
		return 0, "", fmt.Errorf("sip message: no number: %w", pbx.ErrInvalidArgument)
	}
	e.mu.Lock()
	closing := e.closing
	e.mu.Unlock()
	if closing {
		return 0, "", fmt.Errorf("sip message: %w", pbx.ErrShuttingDown)
	}
	host, port, err := sip.ParseAddr(tr.Address)
	if err != nil {
		return 0, "", fmt.Errorf("sip message: trunk address %q: %w", tr.Address, err)
	}
	ruri := sip.Uri{Scheme: "sip", User: to, Host: host, Port: port}
	req := sip.NewRequest(sip.MESSAGE, ruri)
	req.SetBody([]byte(body))
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain;charset=UTF-8"))
	cid := sip.CallIDHeader(uuid.NewString())
	req.AppendHeader(&cid)
	user, display := from, ""
	if !dialable(from) {
		user, display = tr.CallerID, from
		if user == "" {
			user = "sms"
		}
	}
	fh := &sip.FromHeader{DisplayName: display, Address: sip.Uri{Scheme: "sip", User: user, Host: t.Domain}, Params: sip.NewParams()}
	fh.Params.Add("tag", uuid.NewString()[:8])
	req.AppendHeader(fh)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: to, Host: host, Port: port}, Params: sip.NewParams()})
	transport := dialTransport(tr.Transport)
	req.SetTransport(transport)
	req.SetDestination(tr.Address)
	if transport == "UDP" {
		// From the listening socket, as calls do: carriers filter by it.
		req.Laddr = sip.Addr{IP: net.IP(e.addr.Addr().AsSlice()), Port: int(e.addr.Port())}
	}
	res, err := e.client.Do(ctx, req)
	if err != nil {
		return 0, "", fmt.Errorf("sip message to %s via %s: %w", to, tr.Name, err)
	}
	if (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) && tr.Username != "" {
		res, err = e.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: tr.Username, Password: tr.Password})
		if err != nil {
			return 0, "", fmt.Errorf("sip message to %s via %s: authenticating: %w", to, tr.Name, err)
		}
	}
	if res == nil {
		return 0, "", errors.New("sip message: no response")
	}
	return res.StatusCode, res.Reason, nil
}

// dialable: a number a SIP URI user part carries as is.
func dialable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '+' && i == 0 || c == '*' || c == '#') {
			return false
		}
	}
	return true
}
