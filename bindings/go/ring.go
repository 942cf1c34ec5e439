package ringlog

/*
#include <stdlib.h>
#include "ringlog.h"

// None of these calls back into Go or keeps a pointer it was given past
// the call: the Go compiler may then keep the caller's buffers on its
// stack and skip work at the boundary.
#cgo noescape ring_write
#cgo nocallback ring_write
#cgo noescape ring_snapshot
#cgo nocallback ring_snapshot
#cgo noescape ring_stats
#cgo nocallback ring_stats
#cgo nocallback ring_flush
#cgo nocallback ring_close
#cgo nocallback ring_dump_fd
*/
import "C"

import (
	"math"
	"os"
	"runtime"
	"time"
	"unsafe"
)

// Ring is a ring of log records: the most recent Capacity bytes of a
// program's log output, in memory ([New]) or in a file that survives the
// program ([OpenFile]). Any number of goroutines may use a Ring at once.
//
// A write never waits: not for a reader, not for another writer. Readers
// ([Ring.NewReader], [Ring.WriteTo]) each go at their own pace; one that
// falls behind is lapped and told how many records it lost.
//
// The C handle is released when the Ring is garbage collected (readers
// keep the ring's memory alive on their own). Close does not release it:
// it closes the ring, as the contract says.
type Ring struct {
	c         *C.ring
	capacity  int
	maxRecord int
}

// New makes a ring in memory of capacity bytes, per-record framing
// included (16 bytes of header and padding to 8, at most 23 bytes a
// record), rounded up to a power of two. capacity must be 1 KiB to 1 TiB
// (else ErrInvalidArgument); ErrNoMemory when it cannot be allocated.
func New(capacity int) (*Ring, error) {
	if capacity < 0 {
		return nil, &OpError{Op: "new", Code: ResultInvalidArgument}
	}
	var c *C.ring
	if res := C.ring_new(C.size_t(capacity), &c); res != C.RING_RESULT_OK {
		return nil, opErr("new", "", res, nil)
	}
	return wrap(c), nil
}

// OpenFile opens the ring that lives in the file at path, creating it
// with capacity bytes (rounded as for New, mode 0600) if it does not
// exist: the flight recorder. An existing ring is opened as it is:
// capacity must be 0 or its capacity (else ErrInvalidArgument). Any
// number of goroutines and processes may write and read the same file;
// everything committed is in the file when Write returns, so it survives
// a crash of the program (kill -9, a panic, a segfault) without any
// flush.
//
// Errors match ErrBadFile (not a ring file, another format version,
// truncated or corrupt: the file is left untouched), ErrIO (with the
// errno: errors.Is(err, fs.ErrNotExist) for a missing directory, or a
// missing file with capacity 0), ErrInvalidArgument, ErrBusy (255 handles
// have the file open) or ErrNoMemory.
func OpenFile(path string, capacity int) (*Ring, error) {
	if capacity < 0 {
		return nil, &OpError{Op: "open", Path: path, Code: ResultInvalidArgument}
	}
	for i := 0; i < len(path); i++ {
		if path[i] == 0 {
			return nil, &OpError{Op: "open", Path: path, Code: ResultInvalidArgument}
		}
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var c *C.ring
	res, errno := C.ring_open_file(cpath, C.size_t(capacity), &c)
	if res != C.RING_RESULT_OK {
		return nil, opErr("open", path, res, errno)
	}
	return wrap(c), nil
}

func wrap(c *C.ring) *Ring {
	r := &Ring{
		c:         c,
		capacity:  int(C.ring_capacity(c)),
		maxRecord: int(C.ring_max_record(c)),
	}
	runtime.AddCleanup(r, func(c *C.ring) { C.ring_free(c) }, c)
	return r
}

// Capacity is the ring's size in bytes, framing included.
func (r *Ring) Capacity() int { return r.capacity }

// MaxRecord is the largest record the ring takes, in bytes (a quarter of
// the capacity). A longer Write fails with ErrTooLarge.
func (r *Ring) MaxRecord() int { return r.maxRecord }

// Write appends p as one record, whole: one call, one record, never torn
// and never interleaved with another writer's. It implements io.Writer
// (for log.SetOutput, io.MultiWriter, ...). It never blocks: not on a
// reader, not on Flush, not on another writer; it does not allocate and
// does not retain p. An empty p appends an empty record.
//
// Errors (n is then 0 and nothing was written): ErrTooLarge (len(p) >
// MaxRecord), ErrClosed, ErrBusy (a ring too small for its writers; the
// drop is counted), ErrForked.
func (r *Ring) Write(p []byte) (n int, err error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(unsafe.SliceData(p))
	}
	res := C.ring_write(r.c, ptr, C.size_t(len(p)))
	runtime.KeepAlive(r)
	if res != C.RING_RESULT_OK {
		return 0, resultErr(res)
	}
	return len(p), nil
}

// WriteString appends s as one record, as Write does, without copying it
// (io.StringWriter).
func (r *Ring) WriteString(s string) (n int, err error) {
	var ptr unsafe.Pointer
	if len(s) > 0 {
		ptr = unsafe.Pointer(unsafe.StringData(s))
	}
	res := C.ring_write(r.c, ptr, C.size_t(len(s)))
	runtime.KeepAlive(r)
	if res != C.RING_RESULT_OK {
		return 0, resultErr(res)
	}
	return len(s), nil
}

// Flush waits until every reader that exists now has read past every
// record written before the call, or was lapped past it, or was closed.
// timeout < 0 waits as long as it takes, 0 only checks, > 0 waits at most
// that long (rounded up to a millisecond). It returns nil, ErrTimeout or
// ErrForked. It never blocks writers; with no readers it returns nil at
// once.
func (r *Ring) Flush(timeout time.Duration) error {
	res := C.ring_flush(r.c, C.int64_t(durationMillis(timeout)))
	runtime.KeepAlive(r)
	return resultErr(res)
}

// durationMillis converts a timeout for the C calls: < 0 forever (-1),
// 0 stays 0, anything else at least 1 ms.
func durationMillis(d time.Duration) int64 {
	switch {
	case d < 0:
		return -1
	case d == 0:
		return 0
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxInt64/2 {
		return -1
	}
	return int64(ms)
}

// Close closes the ring: writes fail with ErrClosed from now on; readers
// read what the ring retains and then get io.EOF ([Ring.WriteTo] returns).
// Idempotent: nil every time (ErrForked in the child of a fork). For a
// ring in a file it closes the ring for every process; the next OpenFile
// opens it again for writing.
func (r *Ring) Close() error {
	res := C.ring_close(r.c)
	runtime.KeepAlive(r)
	return resultErr(res)
}

// Snapshot returns every retained record's bytes, oldest first, back to
// back: the "dump the last N bytes" call. Writers go on meanwhile; records
// still being written are left out. It returns nil only if the ring
// refuses (ErrForked); use AppendSnapshot to see the error.
func (r *Ring) Snapshot() []byte {
	b, _ := r.AppendSnapshot(nil)
	return b
}

// AppendSnapshot appends the snapshot (see Snapshot) to dst and returns
// the extended slice. With room in dst for Capacity bytes it does not
// allocate.
func (r *Ring) AppendSnapshot(dst []byte) ([]byte, error) {
	for attempt := 0; attempt < 10; attempt++ {
		free := dst[len(dst):cap(dst)]
		var ptr unsafe.Pointer
		if len(free) > 0 {
			ptr = unsafe.Pointer(unsafe.SliceData(free))
		}
		var n C.size_t
		res := C.ring_snapshot(r.c, ptr, C.size_t(len(free)), &n)
		runtime.KeepAlive(r)
		switch res {
		case C.RING_RESULT_OK:
			return dst[:len(dst)+int(n)], nil
		case C.RING_RESULT_BUF_SMALL:
			// Room for what is needed now and what writers add
			// meanwhile; from the third try the capacity, which
			// always suffices.
			want := int(n) + int(n)/8 + 256
			if attempt >= 2 || want > r.capacity {
				want = max(r.capacity, int(n))
			}
			nd := make([]byte, len(dst), len(dst)+want)
			copy(nd, dst)
			dst = nd
		default:
			return dst, opErr("snapshot", "", res, nil)
		}
	}
	return dst, &OpError{Op: "snapshot", Code: ResultPanic}
}

// Dump writes the snapshot to f with write(2) only, without allocating
// (ring_dump_fd): a record of up to 4 KiB is written whole or not at all.
// Errors: ErrIO with the errno, ErrForked.
func (r *Ring) Dump(f *os.File) error {
	fd := f.Fd()
	if fd > math.MaxInt32 {
		return &OpError{Op: "dump", Path: f.Name(), Code: ResultInvalidArgument}
	}
	res, errno := C.ring_dump_fd(r.c, C.int32_t(fd))
	runtime.KeepAlive(r)
	runtime.KeepAlive(f)
	return opErr("dump", f.Name(), res, errno)
}

// Stats are a ring's counters (a consistent-enough picture: writers go on
// meanwhile).
type Stats struct {
	Written   uint64 // records written so far: the next record's seq
	OldestSeq uint64 // seq of the oldest retained record (Written when none)
	BytesUsed uint64 // bytes the retained records occupy, framing included
	Dropped   uint64 // writes refused with ErrBusy
	Readers   uint64 // live readers (all processes, for a ring in a file)
	Capacity  uint64 // the ring's capacity in bytes
	MaxRecord uint64 // the largest record the ring takes
	Closed    bool   // the ring is closed
}

// Stats returns the ring's counters. It does not allocate.
func (r *Ring) Stats() (Stats, error) {
	var s C.struct_ring_stats
	res := C.ring_stats(r.c, &s)
	runtime.KeepAlive(r)
	if res != C.RING_RESULT_OK {
		return Stats{}, resultErr(res)
	}
	return Stats{
		Written:   uint64(s.written),
		OldestSeq: uint64(s.oldest_seq),
		BytesUsed: uint64(s.bytes_used),
		Dropped:   uint64(s.dropped),
		Readers:   uint64(s.readers),
		Capacity:  uint64(s.capacity),
		MaxRecord: uint64(s.max_record),
		Closed:    s.closed != 0,
	}, nil
}
