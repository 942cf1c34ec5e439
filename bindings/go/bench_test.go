package ringlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// mutexRing is the design of the Go circular buffer ringlog replaces: one
// mutex around a byte ring, a condition variable broadcast to wake
// readers after each write. Records get a 16-byte header (length, seq) as
// in ringlog, so both copy the same bytes.
type mutexRing struct {
	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte
	pos     int
	seq     uint64
	written uint64 // bytes ever written, framing included
	stopped bool
}

func newMutexRing(capacity int) *mutexRing {
	m := &mutexRing{buf: make([]byte, capacity)}
	m.cond = sync.NewCond(&m.mu)
	return m
}

func (m *mutexRing) Write(p []byte) (int, error) {
	if len(p)+16 > len(m.buf)/4 {
		return 0, ErrTooLarge
	}
	var hdr [16]byte
	binary.LittleEndian.PutUint64(hdr[:], uint64(len(p)))
	m.mu.Lock()
	binary.LittleEndian.PutUint64(hdr[8:], m.seq)
	m.seq++
	m.put(hdr[:])
	m.put(p)
	m.written += uint64(len(hdr) + len(p))
	m.mu.Unlock()
	m.cond.Broadcast()
	return len(p), nil
}

func (m *mutexRing) put(p []byte) {
	n := copy(m.buf[m.pos:], p)
	if n < len(p) { // wrap around
		m.pos = copy(m.buf, p[n:])
		return
	}
	m.pos += n
	if m.pos == len(m.buf) {
		m.pos = 0
	}
}

// drain is a reader as the circular package's WriteTo is one: it takes
// the lock, copies out everything written since its last pass (in chunks
// of len(sink), as WriteTo hands it to its io.Writer) while holding the
// lock, and waits on the condition variable for more. Lapped, it skips to
// the oldest byte still there. It returns the bytes copied, once stop
// has been called.
func (m *mutexRing) drain(sink []byte) (copied uint64) {
	var rd uint64
	size := uint64(len(m.buf))
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		for rd < m.written {
			if m.written-rd > size {
				rd = m.written - size
			}
			off := rd % size
			n := min(m.written-rd, size-off, uint64(len(sink)))
			copy(sink, m.buf[off:off+n])
			rd += n
			copied += n
		}
		if m.stopped {
			return copied
		}
		m.cond.Wait()
	}
}

func (m *mutexRing) stop() {
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	m.cond.Broadcast()
}

// inGoroutines runs f(n) in g goroutines that share b.N operations.
func inGoroutines(b *testing.B, g int, f func(n int)) {
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := 0; i < g; i++ {
		n := b.N / g
		if i < b.N%g {
			n++
		}
		wg.Add(1)
		go func() { defer wg.Done(); f(n) }()
	}
	wg.Wait()
}

const benchRing = 1 << 20

// BenchmarkWrite: one record of 64 B or 1 KiB per op, from 1 or 8
// goroutines, into a 1 MiB ring with no reader:
//
//	ringlog    (*Ring).Write: one cgo call to ring_write per record
//	mutex      the mutex ring above (the circular package's design)
//	c-loop     ring_write called in a C loop (one cgo call per goroutine
//	           for all its records): ring_write's own cost, no cgo
//	cgo-nop    a cgo call with Write's arguments to a C function that
//	           does nothing: the price of the crossing alone
//	direct-cgo C.ring_write called directly from the benchmark loop, one
//	           cgo call per record (testhooks.go: cgoWrite), with the same
//	           noescape/nocallback annotations as Write and no error
//	           mapping: the cost Write is measured against
//
// and, with one more goroutine reading everything as it is written (1 MiB
// ring, the same reader load for both; ns/op is per record written):
//
//	ringlog+reader  (*Ring).Write; the reader calls (*Reader).Read into a
//	                32 KiB buffer in a loop (going on after ErrLost)
//	mutex+reader    the mutex ring; the reader is drain above: copies out
//	                under the writers' lock, as circular's WriteTo does
//
// The reader rows also report read-%: the share of the written bytes the
// reader copied out (below 100 when writers lapped it).
func BenchmarkWrite(b *testing.B) {
	for _, size := range []int{64, 1024} {
		for _, g := range []int{1, 8} {
			p := make([]byte, size)
			for i := range p {
				p[i] = 'a' + byte(i%26)
			}
			b.Run(fmt.Sprintf("impl=ringlog/size=%d/g=%d", size, g), func(b *testing.B) {
				r := mustRing(b, benchRing)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				inGoroutines(b, g, func(n int) {
					for i := 0; i < n; i++ {
						if _, err := r.Write(p); err != nil && !errors.Is(err, ErrBusy) {
							panic(err)
						}
					}
				})
			})
			b.Run(fmt.Sprintf("impl=mutex/size=%d/g=%d", size, g), func(b *testing.B) {
				m := newMutexRing(benchRing)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				inGoroutines(b, g, func(n int) {
					for i := 0; i < n; i++ {
						m.Write(p)
					}
				})
			})
			b.Run(fmt.Sprintf("impl=cgo-nop/size=%d/g=%d", size, g), func(b *testing.B) {
				r := mustRing(b, benchRing)
				b.ReportAllocs()
				inGoroutines(b, g, func(n int) {
					for i := 0; i < n; i++ {
						cNop(r, p)
					}
				})
			})
			b.Run(fmt.Sprintf("impl=direct-cgo/size=%d/g=%d", size, g), func(b *testing.B) {
				r := mustRing(b, benchRing)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				inGoroutines(b, g, func(n int) {
					for i := 0; i < n; i++ {
						if res := cgoWrite(r, p); res != cResultOK && res != cResultBusy {
							panic(res)
						}
					}
				})
			})
			b.Run(fmt.Sprintf("impl=ringlog+reader/size=%d/g=%d", size, g), func(b *testing.B) {
				r := mustRing(b, benchRing)
				rd := mustReader(b, r, Oldest)
				var read uint64
				done := make(chan struct{})
				go func() {
					defer close(done)
					sink := make([]byte, 32<<10)
					for {
						n, err := rd.Read(sink)
						read += uint64(n)
						if err != nil && !errors.Is(err, ErrLost) {
							return // io.EOF: the ring was closed and drained
						}
					}
				}()
				b.SetBytes(int64(size))
				b.ReportAllocs()
				inGoroutines(b, g, func(n int) {
					for i := 0; i < n; i++ {
						if _, err := r.Write(p); err != nil && !errors.Is(err, ErrBusy) {
							panic(err)
						}
					}
				})
				b.StopTimer()
				r.Close()
				<-done
				rd.Close()
				b.ReportMetric(100*float64(read)/float64(b.N*size), "read-%")
			})
			b.Run(fmt.Sprintf("impl=mutex+reader/size=%d/g=%d", size, g), func(b *testing.B) {
				m := newMutexRing(benchRing)
				var read uint64
				done := make(chan struct{})
				go func() {
					defer close(done)
					read = m.drain(make([]byte, 32<<10))
				}()
				b.SetBytes(int64(size))
				b.ReportAllocs()
				inGoroutines(b, g, func(n int) {
					for i := 0; i < n; i++ {
						m.Write(p)
					}
				})
				b.StopTimer()
				m.stop()
				<-done
				b.ReportMetric(100*float64(read)/float64(b.N*(size+16)), "read-%")
			})
			b.Run(fmt.Sprintf("impl=c-loop/size=%d/g=%d", size, g), func(b *testing.B) {
				r := mustRing(b, benchRing)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				inGoroutines(b, g, func(n int) {
					if err := cWriteLoop(r, p, n); err != nil && !errors.Is(err, ErrBusy) {
						panic(err)
					}
				})
			})
		}
	}
}

// BenchmarkHandler: one log record per op (message, 5 attributes of the
// common kinds, 2 pre-formatted With attributes, a group) through
// slog.Logger.LogAttrs, from 1 or 8 goroutines:
//
//	ringlog-ring     ringlog.NewHandler writing to a 1 MiB ring
//	ringlog-discard  ringlog.NewHandler writing to io.Discard (formatting only)
//	json-discard     slog.NewJSONHandler writing to io.Discard
func BenchmarkHandler(b *testing.B) {
	err := errors.New("not found")
	attrs := []slog.Attr{slog.String("path", "/api/v1/items"), slog.Int("status", 200),
		slog.Float64("ratio", 0.25), slog.Duration("took", 1234*time.Microsecond), slog.Any("err", err)}
	for _, g := range []int{1, 8} {
		for _, impl := range []string{"ringlog-ring", "ringlog-discard", "json-discard"} {
			b.Run(fmt.Sprintf("impl=%s/g=%d", impl, g), func(b *testing.B) {
				var h slog.Handler
				switch impl {
				case "ringlog-ring":
					h = NewHandler(mustRing(b, benchRing), nil)
				case "ringlog-discard":
					h = NewHandler(io.Discard, nil)
				default:
					h = slog.NewJSONHandler(io.Discard, nil)
				}
				l := slog.New(h).With("svc", "api", "pid", 42).WithGroup("req")
				ctx := context.Background()
				b.ReportAllocs()
				inGoroutines(b, g, func(n int) {
					for i := 0; i < n; i++ {
						l.LogAttrs(ctx, slog.LevelInfo, "request done", attrs...)
					}
				})
			})
		}
	}
}
