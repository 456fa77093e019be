package sipengine

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pbx"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{domain},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestRegisterOverTLS: a phone registers over SIP/TLS with digest; the
// certificate is verified by the phone and the binding records tls.
func TestRegisterOverTLS(t *testing.T) {
	cert, pool := testCert(t)
	r := newRigWith(t, 5*time.Second, pbx.Options{}, nil, func(c *Config) {
		c.TLSListen = "127.0.0.1:0"
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	})
	addr := r.eng.TLSAddr()
	if !addr.IsValid() {
		t.Fatal("no TLS listener")
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	uri := sip.Uri{Scheme: "sip", User: "100", Host: domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: domain})
	req.SetTransport("TLS")
	req.SetDestination(addr.String())
	fromParams := sip.NewParams()
	fromParams.Add("tag", "tlstest")
	req.AppendHeader(&sip.FromHeader{Address: uri, Params: fromParams})
	req.AppendHeader(&sip.ToHeader{Address: uri, Params: sip.NewParams()})
	uriParams := sip.NewParams()
	uriParams.Add("transport", "tls")
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "100", Host: "127.0.0.1", Port: 5099, UriParams: uriParams}})
	req.AppendHeader(sip.NewHeader("Expires", "60"))
	res, err := client.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 {
		t.Fatalf("first REGISTER: %d", res.StatusCode)
	}
	res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "100", Password: "pw-100"})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("REGISTER over TLS: %v %v", res, err)
	}
	x, _ := r.core.Extension("t", "100")
	if !x.Registered {
		t.Fatalf("extension not registered: %+v", x)
	}
	if b := r.eng.reg.lookup("t", "100"); b == nil || !strings.EqualFold(b.transport, "tls") {
		t.Fatalf("binding %+v", b)
	}

	// A client that does not trust the certificate cannot connect.
	bad, _ := sipgo.NewUA(sipgo.WithUserAgenTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	defer bad.Close()
	bc, _ := sipgo.NewClient(bad, sipgo.WithClientHostname("127.0.0.1"))
	req2 := req.Clone()
	if _, err := bc.Do(ctx, req2); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
}
