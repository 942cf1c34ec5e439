package ringlog

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWriteSnapshotStats(t *testing.T) {
	r := mustRing(t, 1025) // rounded up to 2 KiB
	if r.Capacity() != 2048 || r.MaxRecord() != 512 {
		t.Fatalf("capacity %d max_record %d", r.Capacity(), r.MaxRecord())
	}
	if n, err := r.Write([]byte("hello ")); n != 6 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	r.Write(nil) // an empty record
	r.WriteString("world")
	if got := string(r.Snapshot()); got != "hello world" {
		t.Fatalf("Snapshot = %q", got)
	}
	buf := make([]byte, 3, 2048)
	copy(buf, "<<<")
	if b, err := r.AppendSnapshot(buf); err != nil || string(b) != "<<<hello world" || &b[0] != &buf[0] {
		t.Fatalf("AppendSnapshot = %q, %v", b, err)
	}
	st, err := r.Stats()
	if err != nil || st.Written != 3 || st.OldestSeq != 0 || st.Capacity != 2048 || st.MaxRecord != 512 || st.Closed {
		t.Fatalf("Stats = %+v, %v", st, err)
	}
	// Writers evict the oldest records; the snapshot follows.
	for i := 0; i < 100; i++ {
		r.WriteString(strings.Repeat("x", 99) + "\n")
	}
	if s := r.Snapshot(); len(s) == 0 || len(s)%100 != 0 || len(s) > 2048 {
		t.Fatalf("snapshot of %d bytes", len(s))
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []int{-1, 0, 1023, 1<<40 + 1} {
		if _, err := New(c); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("New(%d): %v", c, err)
		}
	}
	r := mustRing(t, 1024)
	if _, err := r.Write(make([]byte, 257)); err != ErrTooLarge {
		t.Fatalf("too large: %v", err)
	}
	if _, err := r.Write(make([]byte, 256)); err != nil {
		t.Fatalf("max_record: %v", err)
	}
	rd := mustReader(t, r, Newest)
	if err := r.Flush(0); err != nil {
		t.Fatalf("Flush(0), nothing unread: %v", err)
	}
	r.WriteString("unread")
	t0 := time.Now()
	if err := r.Flush(30 * time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Flush with a lagging reader: %v", err)
	}
	if d := time.Since(t0); d < 25*time.Millisecond || d > 2*time.Second {
		t.Errorf("Flush(30ms) took %v", d)
	}
	go func() { time.Sleep(20 * time.Millisecond); rd.Close() }()
	if err := r.Flush(5 * time.Second); err != nil {
		t.Fatalf("Flush, reader closed meanwhile: %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := r.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i, err)
		}
	}
	if _, err := r.WriteString("late"); err != ErrClosed {
		t.Fatalf("write after close: %v", err)
	}
	if _, err := r.Write(make([]byte, 1000)); err != ErrTooLarge {
		t.Fatalf("argument errors before state errors: %v", err)
	}
	st, _ := r.Stats()
	if !st.Closed {
		t.Fatal("Stats.Closed false after Close")
	}
}

func TestForked(t *testing.T) {
	r := mustRing(t, 1024)
	if got := cForkWrite(r); Result(got) != ResultForked {
		t.Fatalf("ring_write in the child of a fork: %v (%d)", Result(got), got)
	}
	if _, err := r.WriteString("parent"); err != nil {
		t.Fatalf("the parent is unaffected: %v", err)
	}
}

// Every result code maps to an error that errors.Is matches, with the
// library's text; unknown codes too; none panics.
func TestEveryResultMapped(t *testing.T) {
	want := map[Result]error{
		ResultClosed: ErrClosed, ResultTimeout: ErrTimeout, ResultTooLarge: ErrTooLarge,
		ResultBufSmall: ErrBufSmall, ResultNullParameter: ErrNullParameter,
		ResultInvalidArgument: ErrInvalidArgument, ResultNoMemory: ErrNoMemory, ResultPanic: ErrInternal,
		ResultLost: ErrLost, ResultForked: ErrForked, ResultBusy: ErrBusy, ResultBadFile: ErrBadFile,
		ResultIO: ErrIO,
	}
	if ResultOK.Error() != nil {
		t.Fatal("ResultOK is an error")
	}
	for c := Result(1); c < 64; c++ {
		err := c.Error()
		if err == nil {
			t.Fatalf("code %d: nil error", c)
		}
		if s, ok := want[c]; ok {
			if err != s || !errors.Is(err, s) {
				t.Errorf("code %d (%v): %v, want %v", c, c, err, s)
			}
			if strings.Contains(c.String(), "unknown") {
				t.Errorf("code %d unknown to the library", c)
			}
			oe := &OpError{Op: "x", Code: c}
			if !errors.Is(oe, s) {
				t.Errorf("OpError of %d does not match %v", c, s)
			}
			if got, ok := ResultOf(oe); !ok || got != c {
				t.Errorf("ResultOf(OpError %d) = %d", c, got)
			}
		} else {
			if !errors.Is(err, ErrInternal) {
				t.Errorf("unknown code %d: %v does not match ErrInternal", c, err)
			}
			if got, ok := ResultOf(err); !ok || got != c {
				t.Errorf("ResultOf(unknown %d) = %d", c, got)
			}
			if !strings.Contains(err.Error(), "unknown") {
				t.Errorf("unknown code %d: %q", c, err)
			}
		}
		if got, ok := ResultOf(err); !ok || got != c {
			t.Errorf("ResultOf(%v) = %d, %v", err, got, ok)
		}
	}
	if _, ok := ResultOf(io.EOF); ok {
		t.Error("ResultOf(io.EOF) claims it")
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.ring")
	r, err := OpenFile(path, 4096)
	if err != nil {
		t.Fatal(err)
	}
	r.WriteString("first run\n")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file: %v %v", fi, err)
	}
	// Another handle (as another process would): the same ring.
	r2, err := OpenFile(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	r2.WriteString("second handle\n")
	if got := string(r.Snapshot()); got != "first run\nsecond handle\n" {
		t.Fatalf("snapshot %q", got)
	}
	var out bytes.Buffer
	f, _ := os.CreateTemp(dir, "dump")
	if err := r.Dump(f); err != nil {
		t.Fatal(err)
	}
	f.Seek(0, 0)
	io.Copy(&out, f)
	f.Close()
	if out.String() != "first run\nsecond handle\n" {
		t.Fatalf("dump %q", out.String())
	}
	// Close closes it for everyone; opening it again reopens it, seqs go on.
	r.Close()
	if _, err := r2.WriteString("x"); err != ErrClosed {
		t.Fatalf("write through the other handle after Close: %v", err)
	}
	r3, err := OpenFile(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	r3.WriteString("next run\n")
	st, _ := r3.Stats()
	if st.Written != 3 || st.Closed {
		t.Fatalf("reopened: %+v", st)
	}

	if _, err := OpenFile(path, 1<<20); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("other capacity: %v", err)
	}
	bad := filepath.Join(dir, "not-a-ring")
	os.WriteFile(bad, bytes.Repeat([]byte("not a ring "), 3000), 0o600)
	if _, err := OpenFile(bad, 0); !errors.Is(err, ErrBadFile) {
		t.Errorf("not a ring: %v", err)
	}
	if b, _ := os.ReadFile(bad); !bytes.Equal(b, bytes.Repeat([]byte("not a ring "), 3000)) {
		t.Errorf("the bad file was changed")
	}
	_, err = OpenFile(filepath.Join(dir, "no", "such", "dir"), 4096)
	var errno syscall.Errno
	if !errors.Is(err, ErrIO) || !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &errno) {
		t.Errorf("missing directory: %v", err)
	}
	var oe *OpError
	if !errors.As(err, &oe) || oe.Op != "open" || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing directory: %#v", err)
	}
	if _, err := OpenFile("a\x00b", 4096); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("NUL in path: %v", err)
	}
	f2, _ := os.Open(path)
	f2.Close()
	if err := r3.Dump(f2); !errors.Is(err, ErrIO) && !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("dump to a closed file: %v", err)
	}
}
