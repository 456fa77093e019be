package eventlog

import (
	"bufio"
	"bytes"
	"os"
	"testing"
)

// TestLogsOfEarlierVersionsStayReadable: rows logged before the log had
// an encoding of its own (testdata: bodies as the first versions wrote
// them) decode, and encoding them again gives the same bytes behind the
// version field, for every kind of event.
func TestLogsOfEarlierVersionsStayReadable(t *testing.T) {
	f, err := os.Open("testdata/v0_events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		line := sc.Bytes()
		e, err := Decode(line)
		if err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		got := Encode(e)
		want := append([]byte(`{"v":1,`), line[1:]...)
		if !bytes.Equal(got, want) {
			t.Errorf("line %d re-encoded differently:\n got %s\nwant %s", n+1, got, want)
		}
		n++
	}
	if n < 9 {
		t.Fatalf("only %d fixture events", n)
	}
	if _, err := Decode([]byte(`{"v":2,"type":"call.new"}`)); err == nil {
		t.Fatal("a newer encoding version was accepted")
	}
}
