package devices

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestMain doubles as a Modbus TCP server process: a test starts this
// binary with SB_MODBUS_SERVER=addr, so the driver talks to a real server
// over a real socket in another process.
func TestMain(m *testing.M) {
	if addr := os.Getenv("SB_MODBUS_SERVER"); addr != "" {
		runModbusServer(addr)
		return
	}
	os.Exit(m.Run())
}

type coils struct {
	mu sync.Mutex
	v  [16]bool
}

func (c *coils) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.UnitId != 3 {
		return nil, modbus.ErrIllegalFunction
	}
	if int(req.Addr)+int(req.Quantity) > len(c.v) {
		return nil, modbus.ErrIllegalDataAddress
	}
	if req.IsWrite {
		copy(c.v[req.Addr:], req.Args)
		return nil, nil
	}
	return append([]bool(nil), c.v[req.Addr:req.Addr+req.Quantity]...), nil
}
func (c *coils) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}
func (c *coils) HandleHoldingRegisters(*modbus.HoldingRegistersRequest) ([]uint16, error) {
	return nil, modbus.ErrIllegalFunction
}
func (c *coils) HandleInputRegisters(*modbus.InputRegistersRequest) ([]uint16, error) {
	return nil, modbus.ErrIllegalFunction
}

func runModbusServer(addr string) {
	srv, err := modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + addr, Timeout: 30 * time.Second, MaxClients: 4,
		Logger: log.New(io.Discard, "", 0)}, &coils{})
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin) // until the test closes our stdin
	srv.Stop()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// events collects what the relays publish.
type events struct {
	mu sync.Mutex
	es []pbx.Event
}

func (e *events) Publish(tenant string, ev pbx.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.es = append(e.es, ev)
	return nil
}

func (e *events) states() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.es {
		out = append(out, ev.Data["relay"]+"="+ev.Data["state"]+"/"+ev.Data["by"])
	}
	return out
}

type memStates struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *memStates) RelayState(_ context.Context, tenant string, id int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[fmt.Sprint(tenant, id)], nil
}
func (s *memStates) SetRelayState(_ context.Context, tenant string, id int, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[fmt.Sprint(tenant, id)] = on
	return nil
}

// TestModbusRelayAgainstARealServer: a coil is switched and read on a
// Modbus TCP server running in another process; a pulse switches it back
// off; when the server goes away the driver fails within its timeout and
// the recorded state stays; when it is back, the driver reconnects.
func TestModbusRelayAgainstARealServer(t *testing.T) {
	addr := freeAddr(t)
	start := func() (stop func()) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SB_MODBUS_SERVER="+addr)
		stdin, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if !strings.HasPrefix(line, "READY") {
			t.Fatalf("modbus server: %q", line)
		}
		return func() { stdin.Close(); cmd.Wait() }
	}
	stop := start()
	ev := &events{}
	drv := &Modbus{Address: addr, Unit: 3, Coil: 5, Timeout: 500 * time.Millisecond}
	rs, err := NewRelays([]RelaySpec{{Tenant: "a", ID: 17, Name: "Door", Driver: drv, Pulse: 300 * time.Millisecond}}, ev, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	ctx := context.Background()
	if r, err := rs.Get(ctx, "a", 17); err != nil || r.On || r.Driver != "modbus" {
		t.Fatalf("initial: %+v %v", r, err)
	}
	if r, err := rs.Set(ctx, "a", 17, true, -1); err != nil || !r.On {
		t.Fatalf("on: %+v %v", r, err)
	}
	if r, err := rs.Get(ctx, "a", 17); err != nil || !r.On {
		t.Fatalf("read back: %+v %v", r, err)
	}
	if _, err := rs.Set(ctx, "a", 17, false, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Set(ctx, "a", 17, true, 0); err != nil { // the default pulse
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		r, err := rs.Get(ctx, "a", 17)
		if err == nil && !r.On {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pulse did not end: %+v %v", r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := strings.Join(ev.states(), " "); got != "17=1/api 17=0/api 17=1/pulse 17=0/pulse" {
		t.Fatalf("events %s", got)
	}

	stop()
	began := time.Now()
	r, err := rs.Set(ctx, "a", 17, true, -1)
	if !errors.Is(err, ErrDevice) || r.On || time.Since(began) > 3*time.Second {
		t.Fatalf("unreachable device: %+v %v after %v", r, err, time.Since(began))
	}
	stop = start()
	defer stop()
	if r, err := rs.Set(ctx, "a", 17, true, -1); err != nil || !r.On {
		t.Fatalf("after the server came back: %+v %v", r, err)
	}
}

// TestModbusMaliciousServer: short frames and wrong transaction ids give
// an error, never a panic or a hang.
func TestModbusMaliciousServer(t *testing.T) {
	for name, answer := range map[string][]byte{
		"short frame":          {0x00, 0x01, 0x00},
		"wrong transaction id": {0xde, 0xad, 0x00, 0x00, 0x00, 0x04, 0x03, 0x01, 0x01, 0x01},
		"huge length":          {0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0x03, 0x01},
	} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						defer c.Close()
						buf := make([]byte, 260)
						if _, err := c.Read(buf); err == nil {
							c.Write(answer)
						}
						time.Sleep(time.Second)
					}()
				}
			}()
			drv := &Modbus{Address: ln.Addr().String(), Unit: 3, Coil: 5, Timeout: 300 * time.Millisecond}
			defer drv.Close()
			if _, err := drv.State(context.Background()); err == nil {
				t.Fatal("nonsense accepted")
			}
		})
	}
}

// TestHTTPRelay: a Shelly-style board (on/off URLs, JSON status) and a
// regex-read one; an unreachable board fails within its timeout and the
// state is not changed.
func TestHTTPRelay(t *testing.T) {
	var mu sync.Mutex
	on := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != "secret" {
			w.WriteHeader(401)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Query().Get("turn") {
		case "on":
			on = true
		case "off":
			on = false
		}
		fmt.Fprintf(w, `{"relays":[{"ison":%v}],"html":"<b>%v</b>"}`, on, map[bool]string{true: "ON", false: "OFF"}[on])
	}))
	defer srv.Close()
	shelly := &HTTP{OnURL: srv.URL + "/relay/0?turn=on", OffURL: srv.URL + "/relay/0?turn=off", StatusURL: srv.URL + "/status",
		Username: "admin", Password: "secret", StatePath: "relays.0.ison"}
	regex := &HTTP{OnURL: srv.URL + "/relay/0?turn=on", OffURL: srv.URL + "/relay/0?turn=off", StatusURL: srv.URL + "/status",
		Username: "admin", Password: "secret", StateRegex: regexp.MustCompile(`<b>(ON|OFF)</b>`)}
	dead := &HTTP{OnURL: "http://127.0.0.1:1/on", OffURL: "http://127.0.0.1:1/off", StatusURL: "http://127.0.0.1:1/", StatePath: "on"}
	rs, err := NewRelays([]RelaySpec{{Tenant: "a", ID: 1, Driver: shelly}, {Tenant: "a", ID: 2, Driver: regex}, {Tenant: "a", ID: 3, Driver: dead}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	ctx := context.Background()
	if r, err := rs.Set(ctx, "a", 1, true, -1); err != nil || !r.On {
		t.Fatalf("shelly on: %+v %v", r, err)
	}
	if r, err := rs.Get(ctx, "a", 2); err != nil || !r.On {
		t.Fatalf("regex read: %+v %v", r, err)
	}
	if _, err := rs.Set(ctx, "a", 2, false, -1); err != nil {
		t.Fatal(err)
	}
	if r, err := rs.Get(ctx, "a", 1); err != nil || r.On {
		t.Fatalf("shelly read after off: %+v %v", r, err)
	}
	if r, err := rs.Set(ctx, "a", 3, true, -1); !errors.Is(err, ErrDevice) || r.On {
		t.Fatalf("unreachable: %+v %v", r, err)
	}
	if _, err := rs.Get(ctx, "a", 9); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("unknown relay: %v", err)
	}
	if _, err := rs.Get(ctx, "b", 1); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("another tenant's relay: %v", err)
	}
	if _, err := rs.Set(ctx, "a", 1, true, 2*MaxPulse); !errors.Is(err, pbx.ErrInvalidArgument) {
		t.Fatalf("overlong pulse: %v", err)
	}
	if got := rs.List(ctx, "a"); len(got) != 3 || got[0].ID != 1 || got[2].ID != 3 {
		t.Fatalf("list %+v", got)
	}
}

// TestVirtualRelayAndClose: a virtual relay's state lives in its store;
// Close during a pulse switches it off at once.
func TestVirtualRelayAndClose(t *testing.T) {
	st := &memStates{m: map[string]bool{}}
	ev := &events{}
	rs, err := NewRelays([]RelaySpec{{Tenant: "a", ID: 17, Name: "Door", Driver: Virtual{Store: st, Tenant: "a", ID: 17}, Pulse: time.Hour / 100}}, ev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Set(context.Background(), "a", 17, true, 0); err != nil {
		t.Fatal(err)
	}
	if on, _ := st.RelayState(context.Background(), "a", 17); !on {
		t.Fatal("not stored on")
	}
	if err := rs.Close(); err != nil {
		t.Fatal(err)
	}
	if on, _ := st.RelayState(context.Background(), "a", 17); on {
		t.Fatal("a pending pulse left the door open at close")
	}
}
