// Package ringlog is the Go binding of ringlog, a flight-recorder log
// ring: the most recent N bytes of a program's log output, kept in memory
// or in a file that survives the program, written by any number of
// goroutines that never wait, read by any number of independent readers.
//
// It is a cgo binding of libringlog (the C ABI of include/ringlog.h),
// linked statically by default, so `go build` gives one binary; the build
// tag ringlog_dynamic links libringlog.so instead. It keeps the API of the
// Go packages ringlog grew from, a circular in-memory log buffer
// (io.Writer, io.WriterTo streaming until Close, Flush, AutoFlush for
// HTTP) and a multi-reader stream (readers that start at any time), and
// drops their faults: a writer never blocks behind a slow reader (the
// reader is lapped and told how many records it lost), and nothing grows
// without bound.
//
//	r, err := ringlog.New(10 << 20)            // or ringlog.OpenFile("app.ring", 10<<20)
//	log.SetOutput(io.MultiWriter(f, r))        // each Write: one record
//	go r.WriteTo(os.Stderr)                    // from the oldest record until Close
//	r.WriteTo(ringlog.AutoFlush(w, time.Second)) // an http.ResponseWriter, flushed as it goes
//	rd, _ := r.NewReader(ringlog.Oldest)       // or Newest, AtSeq(n)
//	rec, err := rd.Next(ctx)                   // Record{Seq, Lost, Data}
//	logger := slog.New(ringlog.NewHandler(r, nil)) // JSON lines, one record each
//
// Errors are sentinel values for errors.Is (ErrClosed, ErrTimeout,
// ErrTooLarge, ErrLost, ErrBusy, ErrForked, ErrBadFile, ErrIO, ...); every
// result code of the C library maps to one, and no call can panic because
// of a C result. A reader at the end of a closed ring gets io.EOF.
//
// Costs: a Write is one cgo call to ring_write (no allocation, no lock);
// the cgo crossing costs about as much as ring_write itself, so a Write
// costs 2-3 times a ring_write made from C. Readers wait in the C library
// (a futex) without a goroutine per reader when nothing is cancelled; a
// cancellable Next hands its wait to a helper goroutine so that it can
// return the moment its context is done.
package ringlog
