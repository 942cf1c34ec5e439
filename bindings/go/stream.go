package ringlog

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// batchBytes is how much StreamTo gathers from records that are already
// there before one Write to its destination.
const batchBytes = 32 << 10

// WriteTo streams the ring to w from its oldest retained record, following
// new records as they are written, until the ring is closed and every
// record has been passed on (then it returns the byte count and nil) or w
// fails: the circular package's way of serving logs (io.WriterTo; `go
// r.WriteTo(os.Stderr)`, or an HTTP handler's `r.WriteTo(ringlog.AutoFlush(w,
// time.Second))`).
//
// Records that are already there are passed on together, up to 32 KiB a
// Write. A slow w never slows the ring's writers: its reader is lapped
// instead, and the stream says so with a line "[ringlog: N records
// lost]\n" where records are missing. To stop when a client goes away use
// WriteToContext.
func (r *Ring) WriteTo(w io.Writer) (int64, error) {
	return r.WriteToContext(context.Background(), w)
}

// WriteToContext is WriteTo that also stops when ctx is done (returning
// ctx.Err()), e.g. with an HTTP request's context when the client goes
// away.
func (r *Ring) WriteToContext(ctx context.Context, w io.Writer) (int64, error) {
	rd, err := r.NewReader(Oldest)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	return rd.StreamTo(ctx, w)
}

// StreamTo passes the reader's records on to w as WriteTo does, from where
// the reader is, until the end of the closed ring (nil), ctx is done
// (ctx.Err()), w fails, or the reader is closed (ErrClosed). When w is an
// [*AutoFlusher] it is flushed at the start (an HTTP response's header
// goes out at once) and before StreamTo returns.
func (rd *Reader) StreamTo(ctx context.Context, w io.Writer) (written int64, err error) {
	rd.op.Lock()
	defer rd.op.Unlock()
	if af, ok := w.(*AutoFlusher); ok {
		af.Flush() // an HTTP response starts now (its header), not at the first record
		defer af.settle()
	}
	var batch []byte
	for {
		rec, off, err := rd.next(ctx, nextWait)
		for err == nil {
			if rec.lost > 0 {
				batch = append(batch, "[ringlog: "...)
				batch = strconv.AppendUint(batch, uint64(rec.lost), 10)
				batch = append(batch, " records lost]\n"...)
			}
			batch = append(batch, rd.buf[off:rec.len]...)
			if len(batch) >= batchBytes {
				break
			}
			rec, off, err = rd.next(ctx, nextPoll)
		}
		if len(batch) > 0 {
			n, werr := w.Write(batch)
			written += int64(n)
			if werr != nil {
				return written, werr
			}
			batch = batch[:0]
			if cap(batch) > 4*batchBytes {
				batch = nil // after a large record
			}
		}
		switch {
		case err == nil, errors.Is(err, errWouldBlock):
		case err == io.EOF:
			return written, nil
		default:
			return written, err
		}
	}
}

// AutoFlusher passes writes on to a writer and flushes it (an
// http.ResponseWriter, an http.Flusher, or anything with Flush() error
// such as a bufio.Writer) at most once per interval, and after the last
// write of a burst: a write after a quiet interval is flushed at once;
// writes that follow within the interval are flushed together when it
// ends. Made by [AutoFlush]. Safe for concurrent use; its flushes are
// serialized with its writes (an http.ResponseWriter allows no less).
type AutoFlusher struct {
	mu       sync.Mutex
	w        io.Writer
	flush    func() error // nil: w cannot be flushed
	interval time.Duration
	last     time.Time // when w was last flushed
	dirty    bool      // written since
	timer    *time.Timer
	armed    bool
	stopped  bool
}

// AutoFlush wraps w so that what is written to it is flushed at most every
// interval and after the last write of a burst (see [AutoFlusher]). A w
// that cannot be flushed is written to as is. interval <= 0 flushes after
// every write. Ring.WriteTo and Reader.StreamTo flush what it holds before
// they return; other users call Stop when done with w (a flush timer must
// not touch an http.ResponseWriter after its handler returned).
func AutoFlush(w io.Writer, interval time.Duration) *AutoFlusher {
	a := &AutoFlusher{w: w, interval: interval}
	switch f := w.(type) {
	case http.Flusher:
		a.flush = func() error { f.Flush(); return nil }
	case http.ResponseWriter:
		rc := http.NewResponseController(f) // a wrapper with Unwrap
		a.flush = rc.Flush
	case interface{ Flush() error }:
		a.flush = f.Flush
	}
	return a
}

// Write writes p to the underlying writer, then flushes it now or arms the
// timer that flushes it when the interval ends. After Stop it returns
// ErrClosed.
func (a *AutoFlusher) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return 0, ErrClosed
	}
	n, err := a.w.Write(p)
	if a.flush == nil || n == 0 {
		return n, err
	}
	a.dirty = true
	now := time.Now()
	if due := a.last.Add(a.interval); !now.Before(due) {
		a.flushLocked(now)
	} else if !a.armed {
		a.armed = true
		if a.timer == nil {
			a.timer = time.AfterFunc(due.Sub(now), a.fire)
		} else {
			a.timer.Reset(due.Sub(now))
		}
	}
	return n, err
}

func (a *AutoFlusher) flushLocked(now time.Time) {
	a.dirty = false
	a.last = now
	if err := a.flush(); err != nil {
		a.flush = nil // cannot be flushed after all (or gone): stop trying
	}
}

// fire is the timer's: the end of an interval with writes not flushed.
func (a *AutoFlusher) fire() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.armed = false
	if a.stopped || !a.dirty || a.flush == nil {
		return
	}
	if rest := time.Until(a.last.Add(a.interval)); rest > 0 {
		// A write flushed meanwhile (the timer raced with it): wait
		// for the rest of the interval.
		a.armed = true
		a.timer.Reset(rest)
		return
	}
	defer func() {
		// A flush that panics (a writer used after its HTTP handler
		// returned) must not take the program down from a timer.
		if recover() != nil {
			a.flush, a.stopped = nil, true
		}
	}()
	a.flushLocked(time.Now())
}

// settle flushes what is not flushed yet and disarms the timer; later
// writes start over.
func (a *AutoFlusher) settle() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.timer != nil {
		a.timer.Stop()
		a.armed = false
	}
	if a.dirty && a.flush != nil && !a.stopped {
		a.flushLocked(time.Now())
	}
}

// Flush flushes the underlying writer now, if it can be flushed.
func (a *AutoFlusher) Flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.flush != nil && !a.stopped {
		a.flushLocked(time.Now())
	}
}

// Stop flushes what was written and not flushed yet, and stops: no timer
// touches the underlying writer afterwards, and Write returns ErrClosed.
// Idempotent.
func (a *AutoFlusher) Stop() {
	a.settle()
	a.mu.Lock()
	a.stopped = true
	a.mu.Unlock()
}
