package ringlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// Self-checking records, as the C harness makes them:
//
//	u32 writer | u32 len | u64 counter | filler (from writer, counter) | u32 fnv1a
const recMin = 20

func fnv1a(p []byte) uint32 {
	h := uint32(2166136261)
	for _, b := range p {
		h ^= uint32(b)
		h *= 16777619
	}
	return h
}

func recordLen(writer uint32, counter uint64, maxLen int) int {
	return recMin + int((counter*7919+uint64(writer)*13)%uint64(maxLen-recMin+1))
}

func makeRecord(buf []byte, writer uint32, counter uint64, n int) []byte {
	buf = buf[:n]
	binary.LittleEndian.PutUint32(buf, writer)
	binary.LittleEndian.PutUint32(buf[4:], uint32(n))
	binary.LittleEndian.PutUint64(buf[8:], counter)
	for i := 16; i < n-4; i++ {
		buf[i] = byte((uint64(writer)*131 + counter*7 + uint64(i)) % 251)
	}
	binary.LittleEndian.PutUint32(buf[n-4:], fnv1a(buf[:n-4]))
	return buf
}

func checkRecord(p []byte, writers uint32) (writer uint32, counter uint64, err error) {
	if len(p) < recMin {
		return 0, 0, fmt.Errorf("record of %d bytes", len(p))
	}
	w := binary.LittleEndian.Uint32(p)
	l := binary.LittleEndian.Uint32(p[4:])
	c := binary.LittleEndian.Uint64(p[8:])
	if int(l) != len(p) || w >= writers {
		return 0, 0, fmt.Errorf("header: writer %d len %d of %d bytes", w, l, len(p))
	}
	if fnv1a(p[:len(p)-4]) != binary.LittleEndian.Uint32(p[len(p)-4:]) {
		return 0, 0, errors.New("checksum")
	}
	for i := 16; i < len(p)-4; i++ {
		if p[i] != byte((uint64(w)*131+c*7+uint64(i))%251) {
			return 0, 0, errors.New("filler")
		}
	}
	return w, c, nil
}

// checker reads rd to the end, checking every record: whole and correct,
// seq = previous + 1 + lost, each writer's counters increasing.
type checker struct {
	read, lost uint64
	err        error
}

func (c *checker) run(rd *Reader, writers uint32, slow bool) {
	last := make([]int64, writers)
	for i := range last {
		last[i] = -1
	}
	lastSeq := int64(-1)
	var firstSeq uint64
	ctx := context.Background()
	for {
		rec, err := rd.Next(ctx)
		if err == io.EOF {
			return
		}
		if err != nil {
			c.err = err
			return
		}
		if lastSeq < 0 {
			firstSeq = rec.Seq - rec.Lost
		}
		expect := firstSeq
		if lastSeq >= 0 {
			expect = uint64(lastSeq) + 1
		}
		if rec.Seq != expect+rec.Lost {
			c.err = fmt.Errorf("seq %d after %d with lost %d", rec.Seq, lastSeq, rec.Lost)
			return
		}
		w, ctr, err := checkRecord(rec.Data, writers)
		if err != nil {
			c.err = fmt.Errorf("record seq %d torn or corrupt: %v", rec.Seq, err)
			return
		}
		if int64(ctr) <= last[w] {
			c.err = fmt.Errorf("writer %d: counter %d after %d", w, ctr, last[w])
			return
		}
		last[w] = int64(ctr)
		lastSeq = int64(rec.Seq)
		c.read++
		c.lost += rec.Lost
		if slow && c.read%16 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// runConcurrent: W writer goroutines x R checking readers (the first
// `slow` of them slow) on a ring of capacity; read + lost = written for
// every reader.
func runConcurrent(t *testing.T, capacity int, writers uint32, perWriter int, maxLen, readers, slow int) []checker {
	t.Helper()
	r, err := New(capacity)
	if err != nil {
		t.Fatal(err)
	}
	checkers := make([]checker, readers)
	var rwg, wwg sync.WaitGroup
	for i := 0; i < readers; i++ {
		rd, err := r.NewReader(AtSeq(0))
		if err != nil {
			t.Fatal(err)
		}
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			defer rd.Close()
			checkers[i].run(rd, writers, i < slow)
		}()
	}
	errs := make(chan error, writers)
	for w := uint32(0); w < writers; w++ {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			buf := make([]byte, maxLen)
			for c := 0; c < perWriter; c++ {
				p := makeRecord(buf, w, uint64(c), recordLen(w, uint64(c), maxLen))
				if n, err := r.Write(p); err != nil || n != len(p) {
					errs <- fmt.Errorf("writer %d: Write = %d, %v", w, n, err)
					return
				}
			}
		}()
	}
	wwg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { rwg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("readers did not reach the end of the closed ring")
	}
	written := uint64(writers) * uint64(perWriter)
	for i, c := range checkers {
		if c.err != nil {
			t.Fatalf("reader %d: %v", i, c.err)
		}
		if c.read+c.lost != written {
			t.Fatalf("reader %d: read %d + lost %d != written %d", i, c.read, c.lost, written)
		}
		t.Logf("reader %d: read %d, lost %d", i, c.read, c.lost)
	}
	return checkers
}

// The C harness's writers_readers, in goroutines: 4 writers x 3 readers,
// nothing lost in a ring large enough.
func TestWritersReaders(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 1000
	}
	runConcurrent(t, 1<<20, 4, n, 400, 3, 0)
}

// The C harness's lapping: a small ring, two slow readers that are lapped
// and told so; read + lost = written all the same.
func TestLapping(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 1000
	}
	cs := runConcurrent(t, 1024, 2, n, 200, 3, 2)
	if cs[0].lost == 0 {
		t.Errorf("the slow reader was not lapped")
	}
}

// Many writers at once on the byte stream: every byte accounted for.
func TestByteStreamConcurrent(t *testing.T) {
	r, _ := New(1 << 12)
	rd, _ := r.NewReader(Oldest)
	defer rd.Close()
	const writers, per = 4, 2000
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				r.Write([]byte("0123456789abcdef"))
			}
		}()
	}
	const rec = "0123456789abcdef"
	// The stream in segments between losses: each starts at a record's
	// start; a loss may cut the record being read (its first bytes were
	// read, and it counts as lost), so a segment ends with part of one.
	var got, losses, whole, seg int
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 37) // records split across calls
		for {
			n, err := rd.Read(buf)
			for _, b := range buf[:n] {
				if b != rec[seg%16] {
					done <- fmt.Errorf("byte %d of a segment is %q, want %q: not at a record boundary", seg, b, rec[seg%16])
					return
				}
				seg++
			}
			got += n
			switch {
			case err == io.EOF:
				whole += seg / 16
				if seg%16 != 0 {
					done <- fmt.Errorf("the stream ended inside a record (%d bytes of it)", seg%16)
					return
				}
				done <- nil
				return
			case errors.Is(err, ErrLost):
				losses++
				whole += seg / 16 // the rest of the segment: a record cut by the loss
				seg = 0
			case err != nil:
				done <- err
				return
			}
		}
	}()
	wg.Wait()
	r.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lost, _ := rd.Lost()
	t.Logf("byte stream: %d bytes, %d losses reported, %d records lost", got, losses, lost)
	// Every record is read whole or counted lost.
	total := uint64(writers * per)
	if uint64(whole)+lost != total {
		t.Fatalf("%d whole records read + %d lost, %d written", whole, lost, total)
	}
	if losses == 0 && got != int(total)*16 {
		t.Fatalf("read %d bytes of %d without a loss reported", got, total*16)
	}
	if (losses > 0) != (lost > 0) {
		t.Fatalf("%d losses reported, %d records lost", losses, lost)
	}
}
