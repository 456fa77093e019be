package cloudpbx

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestCurlExamples runs the spec's curl examples with curl itself (only
// the server address and [APIKEY] replaced): the CDR listing, sendSMS
// and the WebSocket upgrade with the spec's headers, Host and Origin included.
func TestCurlExamples(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl")
	}
	f := newFixture(t)
	f.seed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, "-s", "-X", "GET", "-H", "Authorization: Bearer "+apiKey, f.srv.URL+"/cdr").Output()
	if err != nil || !strings.HasPrefix(string(out), `[{"calldate":"2021-12-15 11:25:02",`) {
		t.Fatalf("curl /cdr: %v %s", err, out)
	}
	out, err = exec.CommandContext(ctx, curl, "-s", "-X", "GET", "-H", "Authorization: Bearer "+apiKey,
		f.srv.URL+"/cdr?datestart=2021-10-01&datestop=2021-10-07").Output()
	if err != nil || !strings.Contains(string(out), `"uniqueid":"1633642200.2"`) {
		t.Fatalf("curl /cdr range: %v %s", err, out)
	}
	// sendSMS as the spec writes it (-v -X POST -H ... -d), completed
	// with the body its parameter list names.
	out, err = exec.CommandContext(ctx, curl, "-s", "-X", "POST", "-H", "Authorization: Bearer "+apiKey, "-d", "to=600100200&body=Test",
		f.srv.URL+"/sendSMS").Output()
	if err != nil || !strings.HasPrefix(string(out), `{"responseId":"34217560129632584`) || !strings.HasSuffix(string(out), `"responseStatus":"QUEUE","responseErrorMessage":null}`) {
		t.Fatalf("curl /sendSMS: %v %s", err, out)
	}
	// The WebSocket example never ends by itself: curl stops after a
	// second, by which time the upgrade answer is in.
	out, _ = exec.CommandContext(ctx, curl, "--include", "--no-buffer", "--output", "-", "--max-time", "1",
		"--header", "Connection: Upgrade",
		"--header", "Upgrade: websocket",
		"--header", "Host: pbxvisor1.cloudpbx.pl",
		"--header", "Origin: https://pbxvisor1.cloudpbx.pl",
		"--header", "Sec-WebSocket-Key: SGVsbG8sIHdvcmxkIQ==",
		"--header", "Sec-WebSocket-Version: 13",
		f.srv.URL+"/ws/pbx_MojaCentrala?pbxkey=MyExampleKey").Output()
	if !strings.HasPrefix(string(out), "HTTP/1.1 101 Switching Protocols") ||
		!strings.Contains(string(out), "Sec-Websocket-Accept: qGEgH3En71di5rrssAZTmtRTyFk=") {
		t.Fatalf("curl WebSocket upgrade: %q", out)
	}
}
