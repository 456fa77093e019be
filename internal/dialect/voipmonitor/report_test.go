package voipmonitor

import (
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/dialect"
)

// TestReports: report names find their option; a report whose filter is
// not LISTING's syntax stops the start, naming the option.
func TestReports(t *testing.T) {
	for name, key := range map[string]string{"test summary": "report_test_summary", "  Test  Summary! ": "report_test_summary", "ASR/ACD 2024": "report_asr_acd_2024"} {
		if got := reportKey(name); got != key {
			t.Errorf("reportKey(%q) = %q, want %q", name, got, key)
		}
	}
	reports, names, err := parseReports(dialect.Options{"report_busy": "fsipresponse=486", "sensor_id": "2"})
	if err != nil || len(names) != 1 || reports["report_busy"].Get("fsipresponse") != "486" {
		t.Fatalf("%v %v %v", reports, names, err)
	}
	for _, bad := range []string{"fsipresponse=x", "sort=[", "fdurationgt=%zz", "ffilterTemplate=1"} {
		if _, _, err := parseReports(dialect.Options{"report_x": bad}); err == nil || !strings.Contains(err.Error(), "option report_x") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
