package node

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/config"
)

// TestSelfSignedTLS: the API answers over TLS with a generated
// certificate that a client can pin; plain HTTP to the port fails.
func TestSelfSignedTLS(t *testing.T) {
	var dataDir string
	n := startDemoWith(t, Options{}, func(c *config.Config) { c.Listen.TLSSelfSigned = true })
	dataDir = n.cfg.DataDir
	pemBytes, err := os.ReadFile(filepath.Join(dataDir, "tls-selfsigned.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("generated certificate does not parse")
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "tls-selfsigned.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, fi.Mode())
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := client.Get("https://" + n.HTTPAddr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil || res.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("https: %d %+v", res.StatusCode, res.TLS)
	}
	plain := &http.Client{Timeout: 3 * time.Second}
	if res, err := plain.Get("http://" + n.HTTPAddr().String() + "/healthz"); err == nil && res.StatusCode == 200 {
		t.Fatal("plain HTTP served on the TLS port")
	}
}
