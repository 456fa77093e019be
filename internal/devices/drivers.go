package devices

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simonvetter/modbus"
)

// VirtualStore keeps virtual relays' states (the database).
type VirtualStore interface {
	RelayState(ctx context.Context, tenant string, id int) (bool, error)
	SetRelayState(ctx context.Context, tenant string, id int, on bool) error
}

// Virtual is a relay with no hardware: its state lives in the database, so
// it survives restarts (the demo's door relay 17).
type Virtual struct {
	Store  VirtualStore
	Tenant string
	ID     int
}

func (v Virtual) Kind() string { return "virtual" }
func (v Virtual) Close() error { return nil }
func (v Virtual) Set(ctx context.Context, on bool) error {
	return v.Store.SetRelayState(ctx, v.Tenant, v.ID, on)
}
func (v Virtual) State(ctx context.Context) (bool, error) {
	return v.Store.RelayState(ctx, v.Tenant, v.ID)
}

// Modbus is a relay on a Modbus TCP coil (most DIN-rail relay modules and
// PLCs). The connection is opened on first use and again after an error.
type Modbus struct {
	Address string        // host:port
	Unit    uint8         // unit (slave) id
	Coil    uint16        // coil address
	Timeout time.Duration // per request; default 2 s

	mu  sync.Mutex
	cli *modbus.ModbusClient
}

func (m *Modbus) Kind() string { return "modbus" }

func (m *Modbus) client() (*modbus.ModbusClient, error) {
	if m.cli != nil {
		return m.cli, nil
	}
	to := m.Timeout
	if to <= 0 {
		to = 2 * time.Second
	}
	c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + m.Address, Timeout: to,
		Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		return nil, fmt.Errorf("modbus %s: %w", m.Address, err)
	}
	if err := c.Open(); err != nil {
		return nil, fmt.Errorf("modbus %s: connect: %w", m.Address, err)
	}
	if err := c.SetUnitId(m.Unit); err != nil {
		c.Close()
		return nil, fmt.Errorf("modbus %s: unit id: %w", m.Address, err)
	}
	m.cli = c
	return c, nil
}

// do runs one request; a failed request drops the connection so the next
// one reconnects (a restarted module, a half-open socket). The library
// bounds each request by Timeout; ctx is honoured between requests.
func (m *Modbus) do(ctx context.Context, f func(*modbus.ModbusClient) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.client()
	if err != nil {
		return err
	}
	if err := f(c); err != nil {
		c.Close()
		m.cli = nil
		return fmt.Errorf("modbus %s coil %d: %w", m.Address, m.Coil, err)
	}
	return nil
}

func (m *Modbus) Set(ctx context.Context, on bool) error {
	return m.do(ctx, func(c *modbus.ModbusClient) error { return c.WriteCoil(m.Coil, on) })
}

func (m *Modbus) State(ctx context.Context) (on bool, err error) {
	err = m.do(ctx, func(c *modbus.ModbusClient) error {
		on, err = c.ReadCoil(m.Coil)
		return err
	})
	return on, err
}

func (m *Modbus) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cli != nil {
		err := m.cli.Close()
		m.cli = nil
		return err
	}
	return nil
}

// HTTP is a relay behind a web API (Shelly-style boards and most web relay
// modules): a URL to switch on, one to switch off, one to read the state,
// with the state found by a JSON path or a regular expression.
type HTTP struct {
	OnURL, OffURL, StatusURL string
	Method                   string // for on/off; default GET (Shelly's /relay/0?turn=on)
	Body                     string // sent with on/off; "{{state}}" becomes on or off
	Username, Password       string // HTTP Basic, when set
	// StatePath is a dotted JSON path to the state ("ison", "relays.0.ison");
	// a true, 1, "on" or "1" value means on. StateRegex instead matches
	// the body; its first group (or the match) is read the same way.
	StatePath  string
	StateRegex *regexp.Regexp
	Client     *http.Client // default: no redirects followed, 5 s timeout
}

func (h *HTTP) Kind() string { return "http" }
func (h *HTTP) Close() error { return nil }

func (h *HTTP) client() *http.Client {
	if h.Client != nil {
		return h.Client
	}
	return &http.Client{Timeout: deviceTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (h *HTTP) request(ctx context.Context, method, url, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("http relay: %w", err)
	}
	if h.Username != "" {
		req.SetBasicAuth(h.Username, h.Password)
	}
	res, err := h.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("http relay: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("http relay: read: %w", err)
	}
	if res.StatusCode/100 != 2 {
		return nil, fmt.Errorf("http relay: %s answered %d", method, res.StatusCode)
	}
	return b, nil
}

func (h *HTTP) Set(ctx context.Context, on bool) error {
	url, state := h.OffURL, "off"
	if on {
		url, state = h.OnURL, "on"
	}
	method := h.Method
	if method == "" {
		method = http.MethodGet
	}
	_, err := h.request(ctx, method, url, strings.ReplaceAll(h.Body, "{{state}}", state))
	return err
}

func (h *HTTP) State(ctx context.Context) (bool, error) {
	b, err := h.request(ctx, http.MethodGet, h.StatusURL, "")
	if err != nil {
		return false, err
	}
	if h.StateRegex != nil {
		m := h.StateRegex.FindSubmatch(b)
		if m == nil {
			return false, errors.New("http relay: the state pattern does not match the answer")
		}
		v := m[0]
		if len(m) > 1 {
			v = m[1]
		}
		return truthy(string(v))
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return false, fmt.Errorf("http relay: answer is not JSON: %w", err)
	}
	for _, part := range strings.Split(h.StatePath, ".") {
		switch d := doc.(type) {
		case map[string]any:
			doc = d[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(d) {
				return false, fmt.Errorf("http relay: no %q in the answer", h.StatePath)
			}
			doc = d[i]
		default:
			return false, fmt.Errorf("http relay: no %q in the answer", h.StatePath)
		}
	}
	switch v := doc.(type) {
	case bool:
		return v, nil
	case float64:
		return v != 0, nil
	case string:
		return truthy(v)
	}
	return false, fmt.Errorf("http relay: %q is not a state", h.StatePath)
}

func truthy(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "on", "true", "closed":
		return true, nil
	case "0", "off", "false", "open":
		return false, nil
	}
	return false, fmt.Errorf("http relay: %q is not a state", s)
}
