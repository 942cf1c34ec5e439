package ringlog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"ringlog.invalid/ringlog"
)

// The circular package's use, with ringlog: log to the ring (and a file),
// stream it to stderr, serve it over HTTP; at the end, flush and close.
func Example() {
	r, err := ringlog.New(10 << 20) // 10 MiB, framing included
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.CreateTemp("", "app-*.log")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()

	logger := log.New(io.MultiWriter(f, r), "", 0) // each log line: one record
	done := make(chan struct{})
	go func() { r.WriteTo(os.Stdout); close(done) }() // streams until Close

	http.HandleFunc("/logs", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		r.WriteToContext(req.Context(), ringlog.AutoFlush(w, time.Second))
	})

	logger.Printf("served over HTTP, in the file and on stdout")
	r.Flush(time.Second) // the readers have caught up
	r.Close()            // their streams end
	<-done
	// Output: served over HTTP, in the file and on stdout
}

func ExampleNew() {
	r, err := ringlog.New(1 << 20)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Fprintf(r, "user %d logged in\n", 42) // one Write, one record
	fmt.Println(r.Capacity(), r.MaxRecord())
	fmt.Printf("%q\n", r.Snapshot())
	// Output:
	// 1048576 262144
	// "user 42 logged in\n"
}

func ExampleOpenFile() {
	dir, _ := os.MkdirTemp("", "ringlog")
	defer os.RemoveAll(dir)
	path := dir + "/app.ring"

	r, err := ringlog.OpenFile(path, 1<<20) // made if missing
	if err != nil {
		fmt.Println(err)
		return
	}
	r.WriteString("first run\n")

	again, _ := ringlog.OpenFile(path, 0) // the next run, or another process
	again.WriteString("second run\n")
	fmt.Printf("%s", again.Snapshot())

	_, err = ringlog.OpenFile(dir+"/missing/app.ring", 1<<20)
	fmt.Println(errors.Is(err, ringlog.ErrIO), errors.Is(err, os.ErrNotExist))
	// Output:
	// first run
	// second run
	// true true
}

func ExampleRing_NewReader() {
	r, _ := ringlog.New(1 << 10)
	rd, _ := r.NewReader(ringlog.Oldest)
	defer rd.Close()
	for i := 0; i < 40; i++ { // more than the ring holds: the reader is lapped
		fmt.Fprintf(r, "record %02d .........................\n", i)
	}
	r.Close()
	for {
		rec, err := rd.Next(context.Background())
		if err == io.EOF {
			break
		}
		if rec.Lost > 0 { // records 0..rec.Seq-1 were overwritten before it read them
			fmt.Printf("(lost %d records before #%d)\n", rec.Lost, rec.Seq)
		}
		if rec.Seq >= 38 {
			fmt.Printf("#%d %s", rec.Seq, rec.Data)
		}
	}
	// Output:
	// (lost 22 records before #22)
	// #38 record 38 .........................
	// #39 record 39 .........................
}

func ExampleReader_Next() {
	r, _ := ringlog.New(1 << 10)
	rd, _ := r.NewReader(ringlog.Newest)
	defer rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := rd.Next(ctx) // nothing written: the deadline ends the wait
	fmt.Println(err)
	r.WriteString("hello")
	rec, _ := rd.Next(context.Background())
	fmt.Println(rec.Seq, string(rec.Data))
	// Output:
	// context deadline exceeded
	// 0 hello
}

func ExampleReader_Read() {
	r, _ := ringlog.New(1 << 10)
	rd, _ := r.NewReader(ringlog.Oldest)
	r.WriteString("one\n")
	r.WriteString("two\n")
	r.Close()
	b, err := io.ReadAll(rd) // the byte stream, until the ring is closed
	fmt.Printf("%q %v\n", b, err)
	// Output: "one\ntwo\n" <nil>
}

func ExampleRing_WriteTo() {
	r, _ := ringlog.New(1 << 10)
	var sb strings.Builder
	done := make(chan struct{})
	go func() { r.WriteTo(&sb); close(done) }()
	r.WriteString("a\n")
	r.WriteString("b\n")
	r.Flush(time.Second)
	r.Close()
	<-done
	fmt.Print(sb.String())
	// Output:
	// a
	// b
}

func ExampleAutoFlush() {
	r, _ := ringlog.New(1 << 20)
	handler := func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		// Each line reaches the client within a second of being logged;
		// the response ends when the ring is closed or the client leaves.
		r.WriteToContext(req.Context(), ringlog.AutoFlush(w, time.Second))
	}
	_ = handler // http.HandleFunc("/logs", handler)
}

func ExampleRing_Flush() {
	r, _ := ringlog.New(1 << 10)
	rd, _ := r.NewReader(ringlog.Newest)
	r.WriteString("unread")
	fmt.Println(r.Flush(10 * time.Millisecond)) // the reader lags
	rd.Close()
	fmt.Println(r.Flush(10 * time.Millisecond)) // no reader left to wait for
	// Output:
	// ringlog: timeout
	// <nil>
}

func ExampleNewHandler() {
	r, _ := ringlog.New(1 << 20)
	h := ringlog.NewHandler(r, &slog.HandlerOptions{
		Level: slog.LevelInfo,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // for a stable output here
			}
			return a
		},
	})
	logger := slog.New(h).With("svc", "api")
	logger.Debug("not logged")
	logger.Info("request", "path", "/items", "status", 200, slog.Group("user", "id", 7))
	fmt.Printf("%s", r.Snapshot())
	// Output:
	// {"level":"INFO","msg":"request","svc":"api","path":"/items","status":200,"user":{"id":7}}
}

func Example_errors() {
	r, _ := ringlog.New(1 << 10)
	_, err := r.Write(make([]byte, 1000)) // more than MaxRecord
	fmt.Println(errors.Is(err, ringlog.ErrTooLarge))
	r.Close()
	_, err = r.WriteString("late")
	fmt.Println(err == ringlog.ErrClosed, err)
	// Output:
	// true
	// true ringlog: closed
}
