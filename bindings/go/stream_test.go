package ringlog

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// WriteTo streams from the oldest record, follows, and returns at Close
// once everything was passed on.
func TestWriteToEndsAtClose(t *testing.T) {
	r := mustRing(t, 1<<16)
	r.WriteString("before\n")
	var mu sync.Mutex
	var out bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	done := make(chan struct{})
	var n int64
	var err error
	go func() { n, err = r.WriteTo(w); close(done) }()
	for i := 0; i < 100; i++ {
		r.WriteString("line\n")
	}
	select {
	case <-done:
		t.Fatal("WriteTo returned before Close")
	case <-time.After(20 * time.Millisecond):
	}
	r.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WriteTo did not return at Close")
	}
	want := "before\n" + strings.Repeat("line\n", 100)
	if err != nil || n != int64(len(want)) || out.String() != want {
		t.Fatalf("WriteTo = %d, %v; %d bytes", n, err, out.Len())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A stalled destination does not slow writers; the stream says what it
// lost. A failing destination ends WriteTo with its error.
func TestWriteToLostAndErrors(t *testing.T) {
	r := mustRing(t, 1024)
	release := make(chan struct{})
	var out bytes.Buffer
	first := true
	w := writerFunc(func(p []byte) (int, error) {
		if first {
			first = false
			<-release // stalled while writers lap the reader
		}
		return out.Write(p)
	})
	done := make(chan error)
	r.WriteString("first\n")
	go func() { _, err := r.WriteTo(w); done <- err }()
	time.Sleep(20 * time.Millisecond)
	t0 := time.Now()
	for i := 0; i < 1000; i++ {
		r.WriteString("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n")
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("1000 writes with a stalled reader took %v", d)
	}
	close(release)
	r.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), " records lost]\n") {
		t.Fatalf("no loss line in %q", out.String())
	}

	r2 := mustRing(t, 1024)
	r2.WriteString("x")
	boom := io.ErrClosedPipe
	if _, err := r2.WriteTo(writerFunc(func([]byte) (int, error) { return 0, boom })); err != boom {
		t.Fatalf("failing writer: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := r2.WriteToContext(ctx, io.Discard); err != context.DeadlineExceeded {
		t.Fatalf("WriteToContext: %v", err)
	}
}

// flushRecorder is an http.Flusher that records when it was written to and
// flushed.
type flushRecorder struct {
	mu      sync.Mutex
	writes  []time.Time
	flushes []time.Time
}

func (f *flushRecorder) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, time.Now())
	return len(p), nil
}

func (f *flushRecorder) Flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushes = append(f.flushes, time.Now())
}

// AutoFlush flushes at most once per interval, and the last write of a
// burst within an interval (plus scheduling slack).
func TestAutoFlushTiming(t *testing.T) {
	const interval = 20 * time.Millisecond
	f := &flushRecorder{}
	a := AutoFlush(f, interval)
	burst := 150 * time.Millisecond
	t0 := time.Now()
	for time.Since(t0) < burst {
		a.Write([]byte("x"))
		time.Sleep(time.Millisecond)
	}
	lastWrite := time.Now()
	time.Sleep(3 * interval)
	f.mu.Lock()
	flushes := append([]time.Time(nil), f.flushes...)
	f.mu.Unlock()
	for i := 1; i < len(flushes); i++ {
		if gap := flushes[i].Sub(flushes[i-1]); gap < interval {
			t.Errorf("flushes %d and %d only %v apart", i-1, i, gap)
		}
	}
	maxFlushes := int(burst/interval) + 2
	if len(flushes) < 2 || len(flushes) > maxFlushes {
		t.Errorf("%d flushes for a %v burst at %v (want 2..%d)", len(flushes), burst, interval, maxFlushes)
	}
	last := flushes[len(flushes)-1]
	if lag := last.Sub(lastWrite); last.Before(lastWrite.Add(-interval)) || lag > interval+50*time.Millisecond {
		t.Errorf("the burst's last write flushed %v after it", lag)
	}
	t.Logf("%d writes, %d flushes; last write flushed after %v", len(f.writes), len(flushes), last.Sub(lastWrite))

	// A write after a quiet interval is flushed at once.
	n := len(flushes)
	a.Write([]byte("y"))
	f.mu.Lock()
	if len(f.flushes) != n+1 {
		t.Errorf("a lone write was not flushed at once")
	}
	f.mu.Unlock()
	a.Stop()
	if _, err := a.Write([]byte("z")); err != ErrClosed {
		t.Errorf("Write after Stop: %v", err)
	}
	// Not a flusher: passed through.
	var b bytes.Buffer
	AutoFlush(&b, time.Second).Write([]byte("plain"))
	if b.String() != "plain" {
		t.Fatal(b.String())
	}
}

// WriteTo through AutoFlush over HTTP: the client sees each line while
// the handler still streams, and the response ends at Close.
func TestAutoFlushHTTP(t *testing.T) {
	r := mustRing(t, 1<<16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		r.WriteToContext(req.Context(), AutoFlush(w, 10*time.Millisecond))
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 3; i++ {
		r.WriteString("live line\n")
		got := make(chan string, 1)
		go func() { s, _ := br.ReadString('\n'); got <- s }()
		select {
		case s := <-got:
			if s != "live line\n" {
				t.Fatalf("got %q", s)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a line written was not flushed to the client")
		}
	}
	r.Close()
	rest, err := io.ReadAll(br)
	if err != nil || len(rest) != 0 {
		t.Fatalf("end of stream: %q %v", rest, err)
	}
}
