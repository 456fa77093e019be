package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/dialect/native"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
	"github.com/switchboard-pbx/switchboard/internal/webhook"
)

type nopCDRs struct{}

func (nopCDRs) InsertCDR(context.Context, *pbx.CDR) error { return nil }

func setup(t *testing.T) (*pbx.Core, *sqlite.Store) {
	t.Helper()
	core, err := pbx.NewCore(pbx.Directory{Tenants: []pbx.TenantEntry{{Name: "a", Domain: "a.local",
		Extensions: []pbx.ExtensionEntry{{Number: "100"}}}}}, nopCDRs{}, pbx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sb.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return core, st
}

// TestDeliveryRetriesUntilTheReceiverRecovers: the receiver fails twice,
// then accepts; every event arrives once, in order, correctly signed.
func TestDeliveryRetriesUntilTheReceiverRecovers(t *testing.T) {
	core, st := setup(t)
	var mu sync.Mutex
	fails := 2
	var got []uint64
	var badSig int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !webhook.Verify("s3cret", r.Header.Get("X-Switchboard-Signature"), body, time.Now(), time.Minute) {
			badSig++
		}
		if fails > 0 {
			fails--
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var e struct {
			Seq  uint64 `json:"seq"`
			Type string `json:"type"`
		}
		_ = json.Unmarshal(body, &e)
		if e.Type != "extension.state" || r.Header.Get("X-Switchboard-Event") != e.Type {
			t.Errorf("delivered %s with header %q", body, r.Header.Get("X-Switchboard-Event"))
		}
		got = append(got, e.Seq)
	}))
	defer srv.Close()
	d := webhook.Start(core, []webhook.Hook{{Tenant: "a", Name: "crm", URL: srv.URL, Secret: "s3cret", Events: []string{"extension.*"}}},
		st, webhook.Options{FirstDelay: 20 * time.Millisecond, Encode: native.EncodeEvent})
	for range 3 {
		core.SetRegistration("a", "100", &pbx.Registration{Contact: "sip:x@1"})
		core.SetRegistration("a", "100", nil)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	core.Close()
	d.Close()
	mu.Lock()
	defer mu.Unlock()
	for i, s := range got {
		if s != uint64(i+1) {
			t.Fatalf("delivered seqs %v, want 1..6 in order", got)
		}
	}
	if len(got) != 6 || badSig != 0 {
		t.Fatalf("delivered %v, bad signatures %d", got, badSig)
	}
	if dl, _ := st.DeadLetters(context.Background(), "a", 10); len(dl) != 0 {
		t.Fatalf("dead letters %+v", dl)
	}
}

// TestDeadLetterAndRetry: a receiver that stays down gets the event in the
// dead-letter list after the last attempt; a retry once it is back
// delivers it.
func TestDeadLetterAndRetry(t *testing.T) {
	core, st := setup(t)
	var mu sync.Mutex
	up := false
	delivered := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !up {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		delivered++
	}))
	defer srv.Close()
	d := webhook.Start(core, []webhook.Hook{{Tenant: "a", Name: "crm", URL: srv.URL, Secret: "k"}}, st,
		webhook.Options{Attempts: 3, FirstDelay: 10 * time.Millisecond, Encode: native.EncodeEvent})
	core.SetRegistration("a", "100", &pbx.Registration{Contact: "sip:x@1"})
	var dls []webhook.DeadLetter
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if dls, _ = d.DeadLetters(context.Background(), "a", 10); len(dls) == 1 {
			break
		}
	}
	if len(dls) != 1 || dls[0].Attempts != 3 || dls[0].Seq != 1 || dls[0].LastError == "" {
		t.Fatalf("dead letters %+v", dls)
	}
	mu.Lock()
	up = true
	mu.Unlock()
	if err := d.Retry(context.Background(), "a", dls[0].ID); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := delivered
		mu.Unlock()
		if n == 1 {
			break
		}
	}
	mu.Lock()
	if delivered != 1 {
		t.Fatalf("delivered %d after retry", delivered)
	}
	mu.Unlock()
	if dls, _ := d.DeadLetters(context.Background(), "a", 10); len(dls) != 0 {
		t.Fatalf("still dead: %+v", dls)
	}
	if err := d.Retry(context.Background(), "a", 999); err == nil {
		t.Fatal("retry of a missing dead letter succeeded")
	}
	core.Close()
	d.Close()
}

func TestSignatureVerification(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"seq":1}`)
	h := webhook.Sign("k", now, body)
	if !webhook.Verify("k", h, body, now, time.Minute) {
		t.Fatal("own signature refused")
	}
	for _, c := range []struct {
		secret, header string
		body           []byte
		at             time.Time
	}{
		{"other", h, body, now},
		{"k", h, []byte(`{"seq":2}`), now},
		{"k", h, body, now.Add(time.Hour)},
		{"k", "t=abc,v1=00", body, now},
		{"k", "", body, now},
	} {
		if webhook.Verify(c.secret, c.header, c.body, c.at, time.Minute) {
			t.Fatalf("accepted %+v", c)
		}
	}
}
