package ringlog

/*
#include "ringlog.h"
*/
import "C"

import (
	"errors"
	"strconv"
	"syscall"
)

// Result is a result code of the C library (a ring_result). The package
// maps every code to an error (see [ResultError]); Result is exported for
// programs that log or compare the raw codes.
type Result uint32

// The codes of include/ringlog.h. Their numbers never change.
const (
	ResultOK              Result = C.RING_RESULT_OK
	ResultClosed          Result = C.RING_RESULT_CLOSED
	ResultTimeout         Result = C.RING_RESULT_TIMEOUT
	ResultTooLarge        Result = C.RING_RESULT_TOO_LARGE
	ResultBufSmall        Result = C.RING_RESULT_BUF_SMALL
	ResultNullParameter   Result = C.RING_RESULT_NULL_PARAMETER
	ResultInvalidArgument Result = C.RING_RESULT_INVALID_ARGUMENT
	ResultNoMemory        Result = C.RING_RESULT_NO_MEMORY
	ResultPanic           Result = C.RING_RESULT_PANIC
	ResultLost            Result = C.RING_RESULT_LOST
	ResultForked          Result = C.RING_RESULT_FORKED
	ResultBusy            Result = C.RING_RESULT_BUSY
	ResultBadFile         Result = C.RING_RESULT_BAD_FILE
	ResultIO              Result = C.RING_RESULT_IO
)

// String returns the library's description of the code (ring_result_str);
// unknown codes get "unknown ring_result code".
func (c Result) String() string {
	return C.GoString(C.ring_result_str(C.uint32_t(c)))
}

// A resultError is the error of one result code; the sentinels below are
// the only values of this type, so errors.Is compares them by identity.
type resultError struct {
	code Result
	msg  string
}

func (e *resultError) Error() string { return e.msg }

// Sentinel errors, one per failing result code; use errors.Is. An error
// of this package that carries more context (an [*OpError]) still matches
// its sentinel with errors.Is.
var (
	// ErrClosed: a write after Close (RING_RESULT_CLOSED), or a Reader
	// used after its own Close. A reader at the end of a closed ring gets
	// io.EOF instead.
	ErrClosed = &resultError{ResultClosed, "ringlog: closed"}
	// ErrTimeout: the wait ended first (Flush with a timeout;
	// RING_RESULT_TIMEOUT).
	ErrTimeout = &resultError{ResultTimeout, "ringlog: timeout"}
	// ErrTooLarge: a record longer than MaxRecord; nothing was written
	// (RING_RESULT_TOO_LARGE).
	ErrTooLarge = &resultError{ResultTooLarge, "ringlog: record larger than the ring's max_record"}
	// ErrBufSmall is RING_RESULT_BUF_SMALL. This package sizes its
	// buffers itself, so no call returns it; it is mapped for completeness.
	ErrBufSmall = &resultError{ResultBufSmall, "ringlog: buffer too small"}
	// ErrNullParameter is RING_RESULT_NULL_PARAMETER. This package never
	// passes NULL where the library refuses it, so no call returns it
	// unless a handle is used after being released by the garbage
	// collector (which the package prevents); mapped for completeness.
	ErrNullParameter = &resultError{ResultNullParameter, "ringlog: NULL parameter"}
	// ErrInvalidArgument: an argument out of range, e.g. a capacity
	// outside 1 KiB..1 TiB or a file ring's capacity different from the
	// existing ring's (RING_RESULT_INVALID_ARGUMENT).
	ErrInvalidArgument = &resultError{ResultInvalidArgument, "ringlog: invalid argument"}
	// ErrNoMemory: the ring's memory could not be allocated or mapped
	// (RING_RESULT_NO_MEMORY).
	ErrNoMemory = &resultError{ResultNoMemory, "ringlog: out of memory"}
	// ErrInternal: a bug inside ringlog was caught at the C boundary
	// (RING_RESULT_PANIC); the ring stays correct. Also a result code this
	// package does not know (a library newer than the binding).
	ErrInternal = &resultError{ResultPanic, "ringlog: internal error (a panic inside ringlog was caught)"}
	// ErrLost: Reader.Read only: bytes were overwritten before this
	// reader read them; the next Read goes on from the start of the
	// oldest retained record (RING_RESULT_LOST). Reported once per loss.
	ErrLost = &resultError{ResultLost, "ringlog: records lost (the reader was lapped)"}
	// ErrForked: the ring or reader was made before this process forked
	// (RING_RESULT_FORKED). Rings made or opened in the child work.
	ErrForked = &resultError{ResultForked, "ringlog: ring made before fork, used in the child"}
	// ErrBusy: the room a write must claim is held by records still being
	// written, in a ring too small for its writers; nothing was written
	// and the drop is counted in Stats().Dropped (RING_RESULT_BUSY). Also
	// OpenFile when 255 handles have the file open.
	ErrBusy = &resultError{ResultBusy, "ringlog: ring busy (too small for its writers); record dropped"}
	// ErrBadFile: OpenFile of a file that is not a ring, of another format
	// version, truncated or corrupt (left untouched); or any call on a ring
	// whose file was truncated under it (RING_RESULT_BAD_FILE).
	ErrBadFile = &resultError{ResultBadFile, "ringlog: not a valid ring file"}
	// ErrIO: a system call failed (RING_RESULT_IO). The *OpError carrying
	// it also wraps the syscall.Errno, so errors.Is(err, fs.ErrNotExist)
	// and errors.As(err, &errno) work.
	ErrIO = &resultError{ResultIO, "ringlog: I/O error"}
)

var sentinels = [...]*resultError{
	ResultClosed:          ErrClosed,
	ResultTimeout:         ErrTimeout,
	ResultTooLarge:        ErrTooLarge,
	ResultBufSmall:        ErrBufSmall,
	ResultNullParameter:   ErrNullParameter,
	ResultInvalidArgument: ErrInvalidArgument,
	ResultNoMemory:        ErrNoMemory,
	ResultPanic:           ErrInternal,
	ResultLost:            ErrLost,
	ResultForked:          ErrForked,
	ResultBusy:            ErrBusy,
	ResultBadFile:         ErrBadFile,
	ResultIO:              ErrIO,
}

// Error maps a result code to its error: nil for ResultOK, the sentinel
// for a known code, and for an unknown code an *OpError that matches
// ErrInternal. It never panics, whatever the code.
func (c Result) Error() error {
	if c == ResultOK {
		return nil
	}
	if int(c) < len(sentinels) && sentinels[c] != nil {
		return sentinels[c]
	}
	return &OpError{Op: "ringlog", Code: c}
}

// resultErr maps a C result (hot paths: no allocation for known codes).
func resultErr(res uint32) error {
	if res == C.RING_RESULT_OK {
		return nil
	}
	return Result(res).Error()
}

// OpError is an error with context: the operation, the file (OpenFile)
// and the errno of a failed system call. errors.Is matches it against the
// sentinel of its code (ErrIO, ErrBadFile, ...) and against its errno.
type OpError struct {
	Op   string // "open", "dump", ...
	Path string // the file, if any
	Code Result // the library's result
	Err  error  // the syscall.Errno for ResultIO, else nil
}

// Error formats "ringlog: open PATH: description: errno text".
func (e *OpError) Error() string {
	s := "ringlog: " + e.Op
	if e.Path != "" {
		s += " " + strconv.Quote(e.Path)
	}
	s += ": " + e.Code.String()
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if int(e.Code) >= len(sentinels) {
		s += " (code " + strconv.FormatUint(uint64(e.Code), 10) + ")"
	}
	return s
}

// Unwrap returns the sentinel of the code (ErrInternal for an unknown
// code) and the errno, if any.
func (e *OpError) Unwrap() []error {
	var s error = ErrInternal
	if int(e.Code) < len(sentinels) && sentinels[e.Code] != nil {
		s = sentinels[e.Code]
	}
	if e.Err != nil {
		return []error{s, e.Err}
	}
	return []error{s}
}

// opErr makes an *OpError for a failed call, with errno for RING_RESULT_IO.
func opErr(op, path string, res uint32, errno error) error {
	if res == C.RING_RESULT_OK {
		return nil
	}
	e := &OpError{Op: op, Path: path, Code: Result(res)}
	var en syscall.Errno
	if res == C.RING_RESULT_IO && errors.As(errno, &en) && en != 0 {
		e.Err = en
	}
	return e
}

// ResultOf returns the result code an error of this package stands for
// (ResultOK for nil; false for errors of other packages, io.EOF included).
func ResultOf(err error) (Result, bool) {
	if err == nil {
		return ResultOK, true
	}
	var oe *OpError
	if errors.As(err, &oe) {
		return oe.Code, true
	}
	var re *resultError
	if errors.As(err, &re) {
		return re.code, true
	}
	return 0, false
}
