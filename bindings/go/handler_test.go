package ringlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"
)

// recordsOf parses each record of the ring as one JSON object.
func recordsOf(t *testing.T, r *Ring) []map[string]any {
	t.Helper()
	rd := mustReader(t, r, Oldest)
	var out []map[string]any
	cctx, cancel := context.WithCancel(context.Background())
	cancel() // poll
	for {
		rec, err := rd.Next(cctx)
		if err != nil {
			break
		}
		if !bytes.HasSuffix(rec.Data, []byte("\n")) || bytes.Count(rec.Data, []byte("\n")) != 1 {
			t.Fatalf("record %d is not one line: %q", rec.Seq, rec.Data)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Data, &m); err != nil {
			t.Fatalf("record %d is not JSON: %v: %s", rec.Seq, err, rec.Data)
		}
		out = append(out, m)
	}
	return out
}

// testing/slogtest, both ways it can be run.
func TestSlogtest(t *testing.T) {
	var r *Ring
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		r = mustRing(t, 1<<16)
		return NewHandler(r, nil)
	}, func(t *testing.T) map[string]any {
		recs := recordsOf(t, r)
		if len(recs) != 1 {
			t.Fatalf("%d records", len(recs))
		}
		return recs[0]
	})

	r2 := mustRing(t, 1<<16)
	if err := slogtest.TestHandler(NewHandler(r2, nil), func() []map[string]any { return recordsOf(t, r2) }); err != nil {
		t.Fatal(err)
	}
}

// The same bytes as slog.JSONHandler for what both can encode.
func TestSameAsJSONHandler(t *testing.T) {
	var want bytes.Buffer
	jh := slog.NewJSONHandler(&want, &slog.HandlerOptions{Level: slog.LevelDebug})
	r := mustRing(t, 1<<16)
	h := NewHandler(r, &slog.HandlerOptions{Level: slog.LevelDebug})
	ts := time.Date(2025, 3, 14, 9, 26, 53, 589000000, time.FixedZone("", 3600))
	log := func(h slog.Handler) {
		l := slog.New(h).With("app", "x", slog.Group("g0", "a", 1)).WithGroup("req").With("id", 7)
		rec := slog.NewRecord(ts, slog.LevelWarn+1, "he said \"hi\"\n\t<&>\u2028 é \x00", 0)
		rec.AddAttrs(slog.String("s", "v"), slog.Int("i", -3), slog.Uint64("u", 1<<63), slog.Float64("f", 1.5e-7),
			slog.Float64("g", 3), slog.Bool("b", true), slog.Duration("d", 1500*time.Millisecond),
			slog.Time("t", ts), slog.Any("e", errors.New("bad")), slog.Group("grp", "x", 1, slog.Group("in", "y", "z")),
			slog.Group("empty"), slog.Any("nil", nil), slog.Any("m", map[string]int{"k": 1}), slog.Any("lvl", slog.LevelError),
			slog.Group("", "inlined", true))
		l.Handler().Handle(context.Background(), rec)
		l.Handler().Handle(context.Background(), slog.NewRecord(ts, slog.LevelDebug, "dbg", 0))
		slog.New(h).WithGroup("unused").Handler().Handle(context.Background(), slog.NewRecord(ts, slog.LevelInfo, "no attrs", 0))
	}
	log(jh)
	log(h)
	got := r.Snapshot()
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("differs from slog.JSONHandler:\n got  %s\n want %s", got, want.Bytes())
	}
}

type badMarshal struct{ X int }

func (badMarshal) MarshalJSON() ([]byte, error) { return nil, errors.New("no") }

type panicky struct{}

func (panicky) Error() string { panic("boom") }

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.GroupValue(slog.Int("a", 1), slog.String("b", "c")) }

// Values that cannot be encoded are still logged, and the record is still
// one valid JSON object.
func TestUnencodableValues(t *testing.T) {
	r := mustRing(t, 1<<16)
	l := slog.New(NewHandler(r, nil))
	ch := make(chan int)
	l.Info("odd values", "nan", math.NaN(), "inf", math.Inf(1), "ninf", math.Inf(-1), "chan", ch,
		"func", func() {}, "bad", badMarshal{1}, "panic", panicky{}, "bytes", []byte("hi"),
		"invalid", "a\xffb", "valuer", valuer{}, "cplx", complex(1, 2))
	recs := recordsOf(t, r)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	m := recs[0]
	for k, want := range map[string]any{"nan": "NaN", "inf": "+Inf", "ninf": "-Inf", "bad": "{X:1}",
		"bytes": "aGk=", "invalid": "a\ufffdb", "cplx": "(1+2i)"} {
		if m[k] != want {
			t.Errorf("%s = %#v, want %#v", k, m[k], want)
		}
	}
	if s, _ := m["chan"].(string); !strings.HasPrefix(s, "0x") {
		t.Errorf("chan = %#v", m["chan"])
	}
	if s, _ := m["panic"].(string); !strings.Contains(s, "PANIC") || !strings.Contains(s, "boom") {
		t.Errorf("panic = %#v", m["panic"])
	}
	if g, _ := m["valuer"].(map[string]any); g["a"] != 1.0 || g["b"] != "c" {
		t.Errorf("valuer = %#v", m["valuer"])
	}
}

func TestHandlerLevelSourceReplace(t *testing.T) {
	r := mustRing(t, 1<<16)
	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	l := slog.New(NewHandler(r, &slog.HandlerOptions{Level: &lv, AddSource: true,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			if a.Key == "secret" {
				return slog.String("secret", strings.Join(groups, ".")+":***")
			}
			return a
		}}))
	l.Info("dropped")
	lv.Set(slog.LevelInfo)
	l.WithGroup("g").Info("kept", "secret", "pw", slog.Group("h", "secret", 1))
	recs := recordsOf(t, r)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	m := recs[0]
	if _, ok := m["time"]; ok {
		t.Error("time not removed")
	}
	src, _ := m["source"].(map[string]any)
	if !strings.HasSuffix(src["file"].(string), "handler_test.go") || src["line"].(float64) == 0 {
		t.Errorf("source = %v", m["source"])
	}
	g := m["g"].(map[string]any)
	if g["secret"] != "g:***" || g["h"].(map[string]any)["secret"] != "g.h:***" {
		t.Errorf("g = %v", g)
	}
}

// A record over MaxRecord is written cut, as valid JSON.
func TestHandlerTooLarge(t *testing.T) {
	r := mustRing(t, 4096)
	l := slog.New(NewHandler(r, nil))
	l.Info(strings.Repeat("é", 2000), "big", strings.Repeat("x", 5000))
	recs := recordsOf(t, r)
	if len(recs) != 1 || recs[0]["truncated"] == nil || len(recs[0]["msg"].(string)) > r.MaxRecord()/2 {
		t.Fatalf("cut record: %v", recs)
	}
}

// WithAttrs and WithGroup leave their receiver alone, also when used from
// many goroutines at once (run with -race).
func TestHandlerClonesConcurrent(t *testing.T) {
	r := mustRing(t, 1<<20)
	base := slog.New(NewHandler(r, nil)).With("a", 1).WithGroup("g")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := base.With("i", i)
			for j := 0; j < 50; j++ {
				l.Info("m", "j", j)
				base.Info("base")
			}
		}()
	}
	wg.Wait()
	recs := recordsOf(t, r)
	if len(recs) != 800 {
		t.Fatalf("%d records", len(recs))
	}
	for _, m := range recs {
		g, _ := m["g"].(map[string]any)
		if m["a"] != 1.0 || (m["msg"] == "base") != (g == nil) {
			t.Fatalf("record %v", m)
		}
	}
}

// commonAttrs are the common attribute kinds.
func commonAttrs(err error, ts time.Time) []slog.Attr {
	return []slog.Attr{slog.String("path", "/api/v1/items"), slog.Int("status", 200), slog.Uint64("bytes", 5120),
		slog.Float64("ratio", 0.25), slog.Bool("cached", false), slog.Duration("took", 1234*time.Microsecond),
		slog.Time("at", ts), slog.Any("err", err), slog.Group("user", slog.String("name", "ann"), slog.Int("id", 7))}
}

// The allocations per record the package documents: 0 in the handler for
// the common kinds (string, int, uint, float, bool, duration, time, error,
// group), with pre-formatted With attributes and an open group, into a
// ring. (slog's front end allocates on its own for a record of more than
// 5 attributes or with slog.Group arguments: measured too, for both
// handlers, through Logger.LogAttrs.)
func TestHandlerAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	r := mustRing(t, 1<<20)
	ts := time.Now()
	attrs := commonAttrs(errors.New("not found"), ts)
	for _, tc := range []struct {
		name string
		h    slog.Handler
		max  float64
	}{
		{"ringlog.Handler into a ring", NewHandler(r, nil), 0},
		{"ringlog.Handler into io.Discard", NewHandler(io.Discard, nil), 0},
		{"slog.JSONHandler into io.Discard", slog.NewJSONHandler(io.Discard, nil), -1},
	} {
		h := tc.h.WithAttrs([]slog.Attr{slog.String("svc", "api"), slog.Int("pid", 42)}).WithGroup("req")
		rec := slog.NewRecord(ts, slog.LevelInfo, "request done", 0)
		rec.AddAttrs(attrs...)
		ctx := context.Background()
		handle := testing.AllocsPerRun(1000, func() { h.Handle(ctx, rec) })
		l := slog.New(h)
		logger := testing.AllocsPerRun(1000, func() {
			l.LogAttrs(ctx, slog.LevelInfo, "request done", attrs[0], attrs[1], attrs[2], attrs[3], attrs[4])
		})
		logger9 := testing.AllocsPerRun(1000, func() { l.LogAttrs(ctx, slog.LevelInfo, "request done", attrs...) })
		t.Logf("%s: allocations per record: Handle (9 attrs) %v; Logger.LogAttrs 5 attrs %v, 9 attrs %v",
			tc.name, handle, logger, logger9)
		if tc.max >= 0 && (handle > tc.max || logger > tc.max) {
			t.Errorf("%s: %v / %v allocations per record, want %v", tc.name, handle, logger, tc.max)
		}
	}
}
