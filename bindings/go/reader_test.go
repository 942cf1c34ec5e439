package ringlog

import (
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"testing"
	"time"
)

func mustRing(t testing.TB, capacity int) *Ring {
	t.Helper()
	r, err := New(capacity)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustReader(t testing.TB, r *Ring, s Start) *Reader {
	t.Helper()
	rd, err := r.NewReader(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}

func TestStarts(t *testing.T) {
	r := mustRing(t, 4096)
	for _, s := range []string{"a", "b", "c"} {
		r.WriteString(s)
	}
	ctx := context.Background()
	old := mustReader(t, r, Oldest)
	newest := mustReader(t, r, Newest)
	at := mustReader(t, r, AtSeq(1))
	future := mustReader(t, r, AtSeq(4))
	r.WriteString("d")
	r.WriteString("e")
	r.Close()
	want := map[*Reader][]string{old: {"a", "b", "c", "d", "e"}, newest: {"d", "e"}, at: {"b", "c", "d", "e"}, future: {"e"}}
	for rd, w := range want {
		var got []string
		for {
			rec, err := rd.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(rec.Data))
		}
		if !slices.Equal(got, w) {
			t.Errorf("got %q, want %q", got, w)
		}
		if _, err := rd.Next(ctx); err != io.EOF {
			t.Errorf("after the end: %v, want io.EOF", err)
		}
	}
	// A reader made after close reads what is retained, then the end.
	late := mustReader(t, r, Oldest)
	rec, err := late.Next(ctx)
	if err != nil || string(rec.Data) != "a" || rec.Seq != 0 {
		t.Fatalf("late reader: %+v %v", rec, err)
	}
}

func TestLostAndEvictedSeq(t *testing.T) {
	r := mustRing(t, 1024)
	rd := mustReader(t, r, Oldest)
	p := make([]byte, 100)
	for i := 0; i < 100; i++ {
		r.Write(p)
	}
	rec, err := rd.Next(context.Background())
	if err != nil || rec.Lost == 0 || rec.Seq != rec.Lost {
		t.Fatalf("lapped reader: seq %d lost %d err %v", rec.Seq, rec.Lost, err)
	}
	// AtSeq of an evicted record: the oldest, with the gap as lost.
	rd2 := mustReader(t, r, AtSeq(3))
	rec2, err := rd2.Next(context.Background())
	if err != nil || rec2.Seq-rec2.Lost != 3 {
		t.Fatalf("AtSeq(3): seq %d lost %d err %v", rec2.Seq, rec2.Lost, err)
	}
}

func TestReadByteStream(t *testing.T) {
	r := mustRing(t, 1024)
	rd := mustReader(t, r, Oldest)
	r.WriteString("hello ")
	r.WriteString("")
	r.WriteString("world\n")
	buf := make([]byte, 4)
	var got []byte
	for len(got) < 12 {
		n, err := rd.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "hello world\n" {
		t.Fatalf("got %q", got)
	}
	if n, err := rd.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v", n, err)
	}
	// Lapped: ErrLost once, then the stream goes on.
	p := make([]byte, 200)
	for i := 0; i < 20; i++ {
		r.Write(p)
	}
	r.WriteString("tail")
	r.Close()
	if _, err := rd.Read(buf); !errors.Is(err, ErrLost) {
		t.Fatalf("lapped: %v, want ErrLost", err)
	}
	rest, err := io.ReadAll(rd) // no second ErrLost; io.EOF at the end
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) == 0 || string(rest[len(rest)-4:]) != "tail" {
		t.Fatalf("after the loss: %d bytes ending %q", len(rest), rest[max(0, len(rest)-4):])
	}
}

// Next(ctx) returns when ctx is cancelled, at once; the record written
// afterwards is not lost: the next call returns it.
func TestNextCancel(t *testing.T) {
	r := mustRing(t, 4096)
	rd := mustReader(t, r, Oldest)
	var lat []time.Duration
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan time.Time, 1)
		go func() {
			_, err := rd.Next(ctx)
			if err != context.Canceled {
				t.Errorf("Next: %v, want context.Canceled", err)
			}
			done <- time.Now()
		}()
		time.Sleep(5 * time.Millisecond)
		t0 := time.Now()
		cancel()
		lat = append(lat, (<-done).Sub(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("Next(ctx) cancellation latency over %d: median %v, max %v", len(lat), lat[len(lat)/2], lat[len(lat)-1])
	if lat[len(lat)/2] > 20*time.Millisecond {
		t.Errorf("median cancellation latency %v", lat[len(lat)/2])
	}
	// Deadline: the same.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if _, err := rd.Next(ctx); err != context.DeadlineExceeded {
		t.Fatalf("deadline: %v", err)
	}
	if d := time.Since(t0); d > 500*time.Millisecond {
		t.Errorf("deadline of 30ms returned after %v", d)
	}
	// Written after the cancel, while the abandoned wait is still on:
	// returned by the next call, by Next or by Read.
	r.WriteString("kept")
	rec, err := rd.Next(context.Background())
	if err != nil || string(rec.Data) != "kept" || rec.Seq != 0 {
		t.Fatalf("after cancel: %+v %v", rec, err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	go func() { time.Sleep(5 * time.Millisecond); ccancel() }()
	if _, err := rd.Next(cctx); err != context.Canceled {
		t.Fatal(err)
	}
	r.WriteString("also kept")
	buf := make([]byte, 4)
	var got []byte
	for len(got) < 9 {
		n, err := rd.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "also kept" {
		t.Fatalf("Read after cancel: %q", got)
	}
	// A cancelled ctx polls: a ready record is returned.
	r.WriteString("ready")
	cancelled, c2 := context.WithCancel(context.Background())
	c2()
	if rec, err := rd.Next(cancelled); err != nil || string(rec.Data) != "ready" {
		t.Fatalf("poll: %+v %v", rec, err)
	}
}

// Close of the ring wakes every blocked reader (Next with and without a
// context, Read, WriteTo): they drain, then io.EOF.
func TestCloseWhileReadersBlock(t *testing.T) {
	r := mustRing(t, 4096)
	r.WriteString("one")
	type result struct {
		name string
		n    int
		err  error
		at   time.Time
	}
	res := make(chan result, 4)
	next := func(name string, ctx context.Context) {
		rd := mustReader(t, r, Oldest)
		n := 0
		for {
			_, err := rd.Next(ctx)
			if err != nil {
				res <- result{name, n, err, time.Now()}
				return
			}
			n++
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go next("Next(Background)", context.Background())
	go next("Next(ctx)", ctx)
	go func() {
		rd := mustReader(t, r, Oldest)
		b, err := io.ReadAll(rd)
		res <- result{"Read", len(b), err, time.Now()}
	}()
	go func() {
		n, err := r.WriteTo(io.Discard)
		res <- result{"WriteTo", int(n), err, time.Now()}
	}()
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	r.Close()
	for i := 0; i < 4; i++ {
		select {
		case x := <-res:
			ok := (x.name == "WriteTo" || x.name == "Read") && x.err == nil && x.n == 3 ||
				x.err == io.EOF && x.n == 1
			if !ok {
				t.Errorf("%s: n %d, err %v", x.name, x.n, x.err)
			}
			t.Logf("%s woke %v after Close", x.name, x.at.Sub(t0))
		case <-time.After(10 * time.Second):
			t.Fatal("a reader did not wake at Close")
		}
	}
}

// Reader.Close from another goroutine ends a blocked Next or Read with
// ErrClosed within a wait slice.
func TestReaderCloseWhileBlocked(t *testing.T) {
	r := mustRing(t, 4096)
	for _, name := range []string{"Next(Background)", "Next(ctx)", "Read"} {
		rd, _ := r.NewReader(Newest)
		errc := make(chan error, 1)
		go func() {
			var err error
			switch name {
			case "Next(Background)":
				_, err = rd.Next(context.Background())
			case "Next(ctx)":
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				_, err = rd.Next(ctx)
			case "Read":
				_, err = rd.Read(make([]byte, 10))
			}
			errc <- err
		}()
		time.Sleep(20 * time.Millisecond)
		t0 := time.Now()
		if err := rd.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s: %v, want ErrClosed", name, err)
			}
			t.Logf("%s: ended %v after Reader.Close", name, time.Since(t0))
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not end at Reader.Close", name)
		}
		if err := rd.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := rd.Next(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Next after Close: %v", err)
		}
	}
	st, _ := r.Stats()
	deadline := time.Now().Add(2 * time.Second)
	for st.Readers != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		st, _ = r.Stats()
	}
	if st.Readers != 0 {
		t.Errorf("%d readers left after Close", st.Readers)
	}
}

// A reader used from many goroutines at once: served one at a time, each
// record once.
func TestReaderSharedByGoroutines(t *testing.T) {
	r := mustRing(t, 1<<16)
	rd := mustReader(t, r, Oldest)
	const n = 500
	seen := make(chan uint64, n)
	errc := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for {
				rec, err := rd.Next(ctx)
				if err != nil {
					errc <- err
					return
				}
				seen <- rec.Seq
			}
		}()
	}
	for i := 0; i < n; i++ {
		r.WriteString("x")
	}
	r.Close()
	for g := 0; g < 4; g++ {
		if err := <-errc; err != io.EOF {
			t.Fatal(err)
		}
	}
	close(seen)
	got := map[uint64]bool{}
	for s := range seen {
		if got[s] {
			t.Fatalf("seq %d twice", s)
		}
		got[s] = true
	}
	if len(got) != n {
		t.Fatalf("%d records read, want %d", len(got), n)
	}
}
