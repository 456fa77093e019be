package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/sms"
	"github.com/switchboard-pbx/switchboard/internal/store"
	"github.com/switchboard-pbx/switchboard/internal/store/storetest"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "cdr.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.TestCDRStore(t, func(t *testing.T) store.CDRStore { return openTemp(t) })
}

func TestQueueLogConformance(t *testing.T) {
	storetest.TestQueueLogStore(t, func(t *testing.T) store.QueueLogStore { return openTemp(t) })
}

func TestSMSConformance(t *testing.T) {
	storetest.TestSMSStore(t, func(t *testing.T) sms.Store { return openTemp(t) })
}

func TestRecordingConformance(t *testing.T) {
	storetest.TestRecordingStore(t, func(t *testing.T) pbx.RecordingStore { return openTemp(t) })
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cdr.db")
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := pbx.CDR{Tenant: "t", CallDate: time.Now(), UniqueID: "1.1"}
	if err := s.InsertCDR(ctx, &c); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.InsertCDR(ctx, &c); err != store.ErrClosed {
		t.Fatalf("insert after close: %v", err)
	}
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	s.r.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n)
	files, _ := migrations.ReadDir("migrations")
	if n != len(files) {
		t.Fatalf("%d migrations recorded, %d embedded", n, len(files))
	}
	if _, total, _ := s.QueryCDRs(ctx, pbx.CDRFilter{Tenant: "t"}); total != 1 {
		t.Fatalf("after reopen: %d rows", total)
	}
}

// TestCDRSurvivesKill9 inserts in a child process that is then SIGKILLed
// while still holding the database open.
func TestCDRSurvivesKill9(t *testing.T) {
	if os.Getenv("SB_CRASH_CHILD") == "1" {
		s, err := Open(context.Background(), os.Getenv("SB_CRASH_DB"), Options{})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		c := pbx.CDR{Tenant: "crash", CallDate: time.Now(), UniqueID: "survivor", Disposition: pbx.DispAnswered}
		if err := s.InsertCDR(context.Background(), &c); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("inserted %d\n", c.ID)
		select {} // wait to be killed
	}
	db := filepath.Join(t.TempDir(), "cdr.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCDRSurvivesKill9$")
	cmd.Env = append(os.Environ(), "SB_CRASH_CHILD=1", "SB_CRASH_DB="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "inserted ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q (%v)", line, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	var id int64
	fmt.Sscanf(line, "inserted %d", &id)
	s, err := Open(context.Background(), db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.GetCDR(context.Background(), "crash", id)
	if err != nil || c.UniqueID != "survivor" {
		t.Fatalf("after kill -9: %+v %v", c, err)
	}
}

// TestCDRRatingRoundTrip: the rate a call was priced by is kept, and an
// unrated call stays unrated (not a zero cost).
func TestCDRRatingRoundTrip(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	rated := pbx.CDR{Tenant: "t", CallDate: time.Now(), UniqueID: "1.1", Rated: true, Zone: "Polska", Cost: 24}
	plain := pbx.CDR{Tenant: "t", CallDate: time.Now(), UniqueID: "1.2"}
	for _, c := range []*pbx.CDR{&rated, &plain} {
		if err := s.InsertCDR(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetCDR(ctx, "t", rated.ID)
	if err != nil || !got.Rated || got.Zone != "Polska" || got.Cost != 24 {
		t.Fatalf("rated: %+v %v", got, err)
	}
	got, err = s.GetCDR(ctx, "t", plain.ID)
	if err != nil || got.Rated || got.Zone != "" || got.Cost != 0 {
		t.Fatalf("unrated: %+v %v", got, err)
	}
}
