package eventbus

import (
	"errors"
	"sync"
	"testing"
)

func TestSequencePerTenant(t *testing.T) {
	b := New[string]()
	all := b.Subscribe("", 16)
	a := b.Subscribe("a", 16)
	b.Publish("a", "a1")
	b.Publish("b", "b1")
	b.Publish("a", "a2")

	want := []struct {
		tenant string
		seq    uint64
		ev     string
	}{{"a", 1, "a1"}, {"b", 1, "b1"}, {"a", 2, "a2"}}
	for i, w := range want {
		got := <-all.C()
		if got.Tenant != w.tenant || got.Seq != w.seq || got.Event != w.ev {
			t.Fatalf("all[%d] = %+v, want %+v", i, got, w)
		}
	}
	for _, w := range []uint64{1, 2} {
		got := <-a.C()
		if got.Tenant != "a" || got.Seq != w {
			t.Fatalf("tenant sub got %+v, want seq %d of a", got, w)
		}
	}
	if got := b.LastSeq("a"); got != 2 {
		t.Fatalf("LastSeq(a) = %d", got)
	}
}

func TestSlowConsumerIsCutOffNotBlocking(t *testing.T) {
	b := New[int]()
	slow := b.Subscribe("", 2)
	fast := b.Subscribe("", 100)
	for i := 0; i < 10; i++ {
		b.Publish("t", i) // must not block although slow never reads
	}
	<-slow.Done()
	if !errors.Is(slow.Err(), ErrSlowConsumer) {
		t.Fatalf("slow.Err() = %v", slow.Err())
	}
	n := 0
	for range slow.C() { // buffered events still readable, then closed
		n++
	}
	if n != 2 {
		t.Fatalf("slow got %d buffered events, want 2", n)
	}
	if fast.Err() != nil || len(fast.C()) != 10 {
		t.Fatalf("fast subscriber affected: err=%v len=%d", fast.Err(), len(fast.C()))
	}
	if b.Subscribers() != 1 {
		t.Fatalf("Subscribers() = %d, want 1", b.Subscribers())
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	b := New[int]()
	s := b.Subscribe("x", 1)
	s.Close()
	s.Close()
	if !errors.Is(s.Err(), ErrClosed) {
		t.Fatalf("Err after Close = %v", s.Err())
	}
	s2 := b.Subscribe("", 1)
	b.Close()
	<-s2.Done()
	if b.Publish("x", 1) != 0 {
		t.Fatal("publish after close assigned a sequence")
	}
	if s3 := b.Subscribe("", 1); !errors.Is(s3.Err(), ErrClosed) {
		t.Fatal("subscribe after close is live")
	}
}

func TestConcurrentPublishKeepsOrderPerSubscriber(t *testing.T) {
	b := New[int]()
	s := b.Subscribe("t", 10000)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				b.Publish("t", i)
			}
		}()
	}
	wg.Wait()
	var last uint64
	for i := 0; i < 4000; i++ {
		e := <-s.C()
		if e.Seq != last+1 {
			t.Fatalf("seq %d after %d", e.Seq, last)
		}
		last = e.Seq
	}
}
