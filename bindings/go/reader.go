package ringlog

/*
#include "ringlog.h"

#cgo noescape ring_reader_next
#cgo nocallback ring_reader_next
#cgo noescape ring_reader_read
#cgo nocallback ring_reader_read
#cgo nocallback ring_reader_free
#cgo nocallback ring_reader_lost
*/
import "C"

import (
	"context"
	"io"
	"runtime"
	"sync"
	"unsafe"
)

// Start says where a new reader starts: [Oldest], [Newest] or [AtSeq].
type Start struct {
	kind uint32
	seq  uint64
}

var (
	// Oldest starts at the oldest retained record: the reader replays what
	// the ring holds, then follows.
	Oldest = Start{kind: C.RING_START_OLDEST}
	// Newest starts after the last record written: the reader sees only
	// what is written from now on (tail -f).
	Newest = Start{kind: C.RING_START_NEWEST}
)

// AtSeq starts at the record with sequence number n: if it was evicted
// already, at the oldest retained record with the gap reported as lost;
// if it is not written yet, the reader waits for it. (Resuming where a
// previous reader stopped: AtSeq(last.Seq + 1).)
func AtSeq(n uint64) Start { return Start{kind: C.RING_START_SEQ, seq: n} }

// Record is one record as a Reader returns it.
type Record struct {
	Seq  uint64 // its sequence number: 0 for a ring's first record, then +1 each
	Lost uint64 // records this reader lost to overwriting just before this one
	Data []byte // the bytes written, whole (the Reader does not keep them)
}

// waitSliceMs bounds each blocking C call: a Reader's blocking calls wait
// in slices of this long so that Reader.Close, called from another
// goroutine, is noticed (a C call cannot be interrupted). It is not the
// latency of a context's cancellation, which is immediate (see Next).
const waitSliceMs = 100

// Reader is an independent cursor over a ring: it returns the ring's
// records in order, each exactly once, from where it started, and says
// how many it lost when writers lapped it. Readers never slow writers or
// each other.
//
// Its methods may be called from any goroutine, but the calls are served
// one at a time (a second caller waits for the first). Close may be called
// at any time, also while another goroutine waits in Next or Read.
//
// A Reader keeps the ring's memory alive, also after the Ring is garbage
// collected; a Reader that is not closed is released when it is garbage
// collected.
type Reader struct {
	op sync.Mutex // one caller of Next/Read/StreamTo at a time

	mu      sync.Mutex // guards what follows
	c       *C.ring_reader
	inC     bool    // a C call on c is in progress (by a caller or w)
	closed  bool    // Close was called; c is freed by whoever leaves C last
	w       *waiter // a background wait (Next with a context), or its result
	cleanup runtime.Cleanup

	buf []byte // the record buffer; used by whoever is in C
}

// A waiter is a background wait for the next record: Next(ctx) hands the
// blocking C call to a goroutine so that it can itself return the moment
// ctx is cancelled. A record that arrives after the caller gave up is kept
// (never lost) and returned by the next Next or Read.
type waiter struct {
	done      chan struct{} // closed when finished
	finished  bool          // res/rec are set (guarded by Reader.mu)
	abandoned bool          // nobody waits for it now: stop at the end of a slice
	res       uint32
	rec       C.ring_record
	off       int  // bytes of the record already returned by Read
	lostSent  bool // Read reported the record's loss already
}

// NewReader makes a reader starting at start ([Oldest], [Newest] or
// [AtSeq](n)). Readers may be made at any time, also after Close: they
// read what the ring retains, then reach the end (io.EOF).
func (r *Ring) NewReader(start Start) (*Reader, error) {
	var c *C.ring_reader
	res := C.ring_reader_new(r.c, C.ring_start(start.kind), C.uint64_t(start.seq), &c)
	runtime.KeepAlive(r)
	if res != C.RING_RESULT_OK {
		return nil, resultErr(res)
	}
	rd := &Reader{c: c}
	rd.cleanup = runtime.AddCleanup(rd, func(c *C.ring_reader) { C.ring_reader_free(c) }, c)
	return rd, nil
}

// Close releases the reader: a Flush stops waiting for it, and a Next or
// Read waiting in another goroutine returns ErrClosed (within 100 ms: the
// C wait it is in ends at its next time slice). Close never blocks;
// idempotent (nil every time). Later calls return ErrClosed.
func (rd *Reader) Close() error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.closed {
		return nil
	}
	rd.closed = true
	rd.cleanup.Stop()
	if !rd.inC {
		rd.freeLocked()
	}
	return nil
}

func (rd *Reader) freeLocked() {
	if rd.c != nil {
		C.ring_reader_free(rd.c)
		rd.c = nil
	}
}

// enterC marks a C call as started; false if the reader is closed.
// Called with mu held.
func (rd *Reader) enterCLocked() bool {
	if rd.closed {
		return false
	}
	rd.inC = true
	return true
}

// leaveC marks the C call as ended; if the reader was closed meanwhile it
// frees it and returns true.
func (rd *Reader) leaveC() (closed bool) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.inC = false
	if rd.closed {
		rd.freeLocked()
		return true
	}
	return false
}

// cnext is one ring_reader_next into rd.buf, growing it for a record that
// does not fit (the record is kept by the library, so the retry gets it at
// once). Called by whoever is in C; returns anything but BUF_SMALL.
func (rd *Reader) cnext(timeoutMs int64) (uint32, C.ring_record) {
	var rec C.ring_record
	if rd.buf == nil {
		rd.buf = make([]byte, 4096)
	}
	for {
		res := C.ring_reader_next(rd.c, unsafe.Pointer(unsafe.SliceData(rd.buf)), C.size_t(len(rd.buf)), &rec,
			C.int64_t(timeoutMs))
		if res != C.RING_RESULT_BUF_SMALL {
			return res, rec
		}
		rd.buf = make([]byte, max(int(rec.len), 2*len(rd.buf)))
		timeoutMs = 0
	}
}

// endErr maps a reader's final results: CLOSED is the end of the stream.
func endErr(res uint32) error {
	if res == C.RING_RESULT_CLOSED {
		return io.EOF
	}
	return resultErr(res)
}

// wait is the waiter goroutine: it waits in slices until a record (or
// the end) comes, the reader is closed, or nobody wants the record any
// more at the end of a slice.
func (rd *Reader) wait(w *waiter) {
	for {
		res, rec := rd.cnext(waitSliceMs)
		rd.mu.Lock()
		if rd.closed {
			rd.inC = false
			rd.freeLocked()
			w.res, w.finished = C.RING_RESULT_CLOSED, true
			rd.w = nil
			close(w.done)
			rd.mu.Unlock()
			return
		}
		if res == C.RING_RESULT_TIMEOUT {
			if !w.abandoned {
				rd.mu.Unlock()
				continue
			}
			rd.inC = false
			w.res, w.finished = res, true
			rd.w = nil
			close(w.done)
			rd.mu.Unlock()
			return
		}
		rd.inC = false
		w.res, w.rec, w.finished = res, rec, true
		close(w.done)
		rd.mu.Unlock()
		return
	}
}

// Poll modes of next.
const (
	nextWait = iota // wait as long as ctx allows
	nextPoll        // return errWouldBlock instead of waiting
)

type wouldBlock struct{}

func (wouldBlock) Error() string { return "ringlog: no record ready" }

var errWouldBlock error = wouldBlock{}

// next returns the next record; its bytes are rd.buf[off:rec.len], valid
// until the next call. Called with rd.op held.
func (rd *Reader) next(ctx context.Context, mode int) (rec C.ring_record, off int, err error) {
	rd.mu.Lock()
	for {
		if rd.closed {
			rd.mu.Unlock()
			return rec, 0, ErrClosed
		}
		w := rd.w
		if w != nil && !w.finished {
			// A wait left by a cancelled Next: join it.
			if mode == nextPoll {
				rd.mu.Unlock()
				return rec, 0, errWouldBlock
			}
			w.abandoned = false
			rd.mu.Unlock()
			select {
			case <-w.done:
				rd.mu.Lock()
			case <-ctx.Done():
				rd.mu.Lock()
				if !w.finished {
					w.abandoned = true
					rd.mu.Unlock()
					return rec, 0, ctx.Err()
				}
			}
			continue
		}
		if w != nil {
			// Its result, not taken yet.
			rd.w = nil
			if w.res == C.RING_RESULT_TIMEOUT {
				continue
			}
			rd.mu.Unlock()
			if w.res != C.RING_RESULT_OK {
				return rec, 0, endErr(w.res)
			}
			if w.lostSent {
				w.rec.lost = 0 // Read reported it
			}
			return w.rec, w.off, nil
		}
		// Nothing pending: try at once, in this goroutine.
		rd.inC = true
		rd.mu.Unlock()
		res, r := rd.cnext(0)
		if rd.leaveC() {
			return rec, 0, ErrClosed
		}
		if res == C.RING_RESULT_OK {
			return r, 0, nil
		}
		if res != C.RING_RESULT_TIMEOUT {
			return rec, 0, endErr(res)
		}
		if mode == nextPoll {
			return rec, 0, errWouldBlock
		}
		if err := ctx.Err(); err != nil {
			return rec, 0, err
		}
		if ctx.Done() == nil {
			// Not cancellable: wait here, in slices (for Close).
			for {
				rd.mu.Lock()
				if !rd.enterCLocked() {
					rd.mu.Unlock()
					return rec, 0, ErrClosed
				}
				rd.mu.Unlock()
				res, r = rd.cnext(waitSliceMs)
				if rd.leaveC() {
					return rec, 0, ErrClosed
				}
				if res == C.RING_RESULT_OK {
					return r, 0, nil
				}
				if res != C.RING_RESULT_TIMEOUT {
					return rec, 0, endErr(res)
				}
			}
		}
		// Cancellable: hand the wait to a waiter and wait for it or ctx.
		rd.mu.Lock()
		if !rd.enterCLocked() {
			continue // closed
		}
		w = &waiter{done: make(chan struct{})}
		rd.w = w
		go rd.wait(w)
	}
}

// Next returns the reader's next record, waiting until one is written, the
// ring is closed and drained (io.EOF), or ctx is done (ctx.Err()). A
// record that is ready is returned even if ctx is done already, so
// Next(ctx) with a cancelled ctx is a poll.
//
// Cancellation is immediate (microseconds: see the package tests): the C
// library's wait cannot be interrupted, so Next hands it to a goroutine
// and waits for either; a record that arrives after ctx was cancelled is
// kept and returned by the next call, never lost. With a ctx that cannot
// be cancelled (context.Background()) Next waits in its own goroutine.
//
// Record.Lost tells how many records were lost to overwriting just before
// this one. Errors: io.EOF at the end of a closed ring, ErrClosed after
// Reader.Close, ctx.Err(), ErrForked.
func (rd *Reader) Next(ctx context.Context) (Record, error) {
	rd.op.Lock()
	defer rd.op.Unlock()
	rec, off, err := rd.next(ctx, nextWait)
	if err != nil {
		return Record{}, err
	}
	data := make([]byte, int(rec.len)-off)
	copy(data, rd.buf[off:rec.len])
	return Record{Seq: uint64(rec.seq), Lost: uint64(rec.lost), Data: data}, nil
}

// Read reads the byte stream: the bytes of consecutive records back to
// back, a record possibly split across calls (io.Reader; empty records add
// no bytes). It waits for the first byte, then returns what is there.
//
// When writers overwrote bytes before this reader read them, one call
// returns 0, ErrLost; the next goes on from the start of the oldest
// retained record (so io.Copy stops at a loss: handle ErrLost and go on
// to keep streaming). io.EOF at the end of a closed ring; ErrClosed after
// Close (a Read waiting in another goroutine returns within 100 ms).
func (rd *Reader) Read(p []byte) (int, error) {
	rd.op.Lock()
	defer rd.op.Unlock()
	rd.mu.Lock()
	for {
		if rd.closed {
			rd.mu.Unlock()
			return 0, ErrClosed
		}
		w := rd.w
		if w == nil {
			break
		}
		if !w.finished {
			w.abandoned = false
			rd.mu.Unlock()
			<-w.done
			rd.mu.Lock()
			continue
		}
		// A record left by a cancelled Next: its bytes come first.
		if w.res != C.RING_RESULT_OK {
			rd.w = nil
			if w.res == C.RING_RESULT_TIMEOUT {
				continue
			}
			rd.mu.Unlock()
			return 0, endErr(w.res)
		}
		if w.rec.lost > 0 && !w.lostSent {
			w.lostSent = true
			rd.mu.Unlock()
			return 0, ErrLost
		}
		n := copy(p, rd.buf[w.off:w.rec.len])
		w.off += n
		if w.off >= int(w.rec.len) {
			rd.w = nil
		}
		if n == 0 && len(p) > 0 {
			continue // an empty record
		}
		rd.mu.Unlock()
		return n, nil
	}
	if len(p) == 0 {
		rd.mu.Unlock()
		return 0, nil
	}
	for {
		if !rd.enterCLocked() {
			rd.mu.Unlock()
			return 0, ErrClosed
		}
		rd.mu.Unlock()
		var n C.size_t
		res := C.ring_reader_read(rd.c, unsafe.Pointer(unsafe.SliceData(p)), C.size_t(len(p)), &n, waitSliceMs)
		if rd.leaveC() {
			return 0, ErrClosed
		}
		switch res {
		case C.RING_RESULT_OK:
			return int(n), nil
		case C.RING_RESULT_TIMEOUT:
			rd.mu.Lock()
			continue
		case C.RING_RESULT_LOST:
			return 0, ErrLost
		default:
			return 0, endErr(res)
		}
	}
}

// Lost returns how many records this reader has lost to overwriting since
// it was made, reported or not. While another goroutine waits in Next or
// Read it returns 0, false.
func (rd *Reader) Lost() (uint64, bool) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.closed || rd.inC || rd.c == nil {
		return 0, false
	}
	return uint64(C.ring_reader_lost(rd.c)), true
}
