// Command serve-logs is the circular package's example with ringlog: an
// application logs with the standard log package to a ring and to a file;
// the ring is streamed to stderr and served live over HTTP, each client
// from the oldest retained record on, flushed as lines come (AutoFlush).
// A slow client never slows the application: it is told in the stream how
// many lines it missed. At the end the ring is flushed and closed, which
// ends every stream cleanly.
//
//	go run . -lines 0                     # logs a line every 100 ms until Ctrl-C
//	curl -N http://127.0.0.1:6060/        # in another terminal
//
// With -ring PATH the ring lives in that file (the flight recorder): after
// the program exits or crashes, `ringlog dump PATH` prints its last lines.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"ringlog.invalid/ringlog"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:6060", "HTTP address (port 0 picks a free one)")
	logPath := flag.String("log", "app.log", "the log file")
	ringPath := flag.String("ring", "", "keep the ring in this file (created if missing)")
	capacity := flag.Int("capacity", 10<<20, "ring capacity in bytes")
	lines := flag.Int("lines", 50, "stop after this many lines (0: until SIGINT/SIGTERM)")
	every := flag.Duration("every", 100*time.Millisecond, "time between lines")
	flushEvery := flag.Duration("flush", time.Second, "AutoFlush interval of the HTTP streams")
	flag.Parse()
	if err := run(*listen, *logPath, *ringPath, *capacity, *lines, *every, *flushEvery); err != nil {
		fmt.Fprintln(os.Stderr, "serve-logs:", err)
		os.Exit(1)
	}
}

func run(listen, logPath, ringPath string, capacity, lines int, every, flushEvery time.Duration) error {
	var r *ringlog.Ring
	var err error
	if ringPath != "" {
		r, err = ringlog.OpenFile(ringPath, capacity)
	} else {
		r, err = ringlog.New(capacity)
	}
	if err != nil {
		return err
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	defer f.Close()

	// Each log line goes to the file and, as one record, to the ring. The
	// file comes first: io.MultiWriter stops at the first writer that
	// fails, and the file should keep every line even if the ring refuses
	// one (ErrTooLarge, or ErrClosed at the very end).
	log.SetOutput(io.MultiWriter(f, r))
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	// Stream the ring to stderr, from its oldest record, until Close.
	stderrDone := make(chan struct{})
	go func() { r.WriteTo(os.Stderr); close(stderrDone) }()

	// Serve it over HTTP: each client gets the ring from its oldest record,
	// then live lines, flushed at most every flushEvery and after the last
	// line of a burst; the response ends when the ring is closed (or the
	// client goes away).
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		r.WriteToContext(req.Context(), ringlog.AutoFlush(w, flushEvery))
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Printf("serving the log on http://%s/", ln.Addr())

	// The application.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 1; lines == 0 || i <= lines; i++ {
		select {
		case <-tick.C:
			log.Printf("line %d of the application log", i)
			continue
		case s := <-stop:
			log.Printf("stopping on %v", s)
		}
		break
	}

	// The end: let the readers catch up, close the ring (every stream
	// ends), let the HTTP handlers return.
	log.Printf("shutting down")
	if err := r.Flush(2 * time.Second); errors.Is(err, ringlog.ErrTimeout) {
		fmt.Fprintln(os.Stderr, "serve-logs: a reader still lags; closing anyway")
	}
	r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	<-stderrDone
	return nil
}
