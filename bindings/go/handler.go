package ringlog

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Handler is a slog.Handler that writes each record as one JSON object on
// one line, in one Write: with a *Ring, one ring record per log record,
// whole, never interleaved with another goroutine's. The output is
// slog.JSONHandler's ({"time":...,"level":"INFO","msg":...,attrs...}\n,
// groups as nested objects), so tools that read one read the other.
//
// It follows the slog handler guide: Enabled by level (a slog.Leveler, so
// a slog.LevelVar changes it everywhere at once); WithAttrs formats its
// attributes once, WithGroup nests what follows; empty attributes and
// groups are left out, a group with an empty key is inlined; values are
// resolved (LogValuer); a value JSON cannot hold is still logged (NaN and
// ±Inf as strings, a value json.Marshal refuses or that panics as its
// fmt text). It takes no lock: the ring is the part that makes concurrent
// writes safe. Records of the common kinds (string, int, uint, float,
// bool, duration, time, error, groups of them) are formatted without a
// heap allocation, into buffers reused through a sync.Pool.
//
// HandlerOptions.Level, AddSource and ReplaceAttr are honoured as
// slog.JSONHandler does.
type Handler struct {
	w     io.Writer
	ring  *Ring // w, if it is a ring (to cut records over MaxRecord)
	level slog.Leveler
	src   bool
	rep   func(groups []string, a slog.Attr) slog.Attr

	pre        []byte   // attributes of WithAttrs, formatted, groups opened in it
	openGroups int      // groups opened in pre, closed by Handle
	groups     []string // every group in effect (for ReplaceAttr)
	unopened   []string // groups named since the last WithAttrs: opened only if attrs follow
}

// NewHandler returns a Handler writing to w: usually a *Ring. w must take
// concurrent Writes, each one whole (a *Ring does; the handler takes no
// lock of its own). opts may be nil (level Info).
func NewHandler(w io.Writer, opts *slog.HandlerOptions) *Handler {
	h := &Handler{w: w, level: slog.LevelInfo}
	if r, ok := w.(*Ring); ok {
		h.ring = r
	}
	if opts != nil {
		if opts.Level != nil {
			h.level = opts.Level
		}
		h.src = opts.AddSource
		h.rep = opts.ReplaceAttr
	}
	return h
}

// Enabled reports whether records of level l are logged: l >= the
// handler's level.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// WithAttrs returns a handler whose records carry attrs (in the groups in
// effect), formatted now, once.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	pre := slices.Clip(h.pre) // appending copies: h keeps its own
	for _, g := range h.unopened {
		pre = appendComma(pre)
		pre = appendString(pre, g)
		pre = append(pre, ':', '{')
	}
	before := len(pre)
	for _, a := range attrs {
		pre = h.appendAttr(pre, h.groups, a)
	}
	if len(pre) == before {
		return h // only empty attributes
	}
	h2 := *h
	h2.pre = pre
	h2.openGroups += len(h.unopened)
	h2.unopened = nil
	return &h2
}

// WithGroup returns a handler that puts the attributes that follow (of
// WithAttrs and of records) into a JSON object named name. An empty name
// changes nothing.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.groups = append(slices.Clip(h.groups), name)
	h2.unopened = append(slices.Clip(h.unopened), name)
	return &h2
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// handleState carries Handle's buffer through Record.Attrs.
type handleState struct {
	h   *Handler
	buf []byte
}

func (s *handleState) attr(a slog.Attr) bool {
	s.buf = s.h.appendAttr(s.buf, s.h.groups, a)
	return true
}

// Handle formats r as one JSON object and writes it, with its newline, in
// one Write. The context is not used (a cancelled context does not stop
// logging). With a *Ring, a record longer than MaxRecord is written cut:
// its time, level and message (up to half of MaxRecord), and
// "truncated" with the size it had.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	bp := bufPool.Get().(*[]byte)
	s := handleState{h: h, buf: (*bp)[:0]}
	s.buf = h.appendHead(s.buf, &r, r.Message)
	if len(h.pre) > 0 {
		s.buf = appendComma(s.buf)
		s.buf = append(s.buf, h.pre...)
	}
	if r.NumAttrs() > 0 {
		mark := len(s.buf)
		for _, g := range h.unopened {
			s.buf = appendComma(s.buf)
			s.buf = appendString(s.buf, g)
			s.buf = append(s.buf, ':', '{')
		}
		before := len(s.buf)
		r.Attrs(s.attr)
		if len(s.buf) == before {
			s.buf = s.buf[:mark]
		} else {
			for range h.unopened {
				s.buf = append(s.buf, '}')
			}
		}
	}
	for i := 0; i < h.openGroups; i++ {
		s.buf = append(s.buf, '}')
	}
	s.buf = append(s.buf, '}', '\n')
	_, err := h.w.Write(s.buf)
	if err == ErrTooLarge && h.ring != nil {
		err = h.writeCut(&r, len(s.buf), s.buf[:0])
	}
	if cap(s.buf) <= 64<<10 {
		*bp = s.buf
		bufPool.Put(bp)
	}
	return err
}

// writeCut writes the short form of a record too large for the ring.
func (h *Handler) writeCut(r *slog.Record, size int, buf []byte) error {
	msg := r.Message
	if limit := h.ring.MaxRecord() / 2; len(msg) > limit {
		msg = msg[:limit]
		for len(msg) > 0 && !utf8.ValidString(msg[len(msg)-min(len(msg), 3):]) {
			msg = msg[:len(msg)-1] // not in the middle of a character
		}
	}
	buf = h.appendHead(buf, r, msg)
	buf = appendComma(buf)
	buf = append(buf, `"truncated":`...)
	buf = strconv.AppendInt(buf, int64(size), 10)
	buf = append(buf, '}', '\n')
	_, err := h.w.Write(buf)
	return err
}

// appendHead opens the object and appends time, level, source and msg.
func (h *Handler) appendHead(buf []byte, r *slog.Record, msg string) []byte {
	buf = append(buf, '{')
	if h.rep == nil {
		if !r.Time.IsZero() {
			buf = append(buf, `"time":"`...)
			buf = r.Time.AppendFormat(buf, time.RFC3339Nano)
			buf = append(buf, `","level":`...)
		} else {
			buf = append(buf, `"level":`...)
		}
		buf = appendString(buf, r.Level.String())
		if h.src && r.PC != 0 {
			buf = append(buf, `,"source":`...)
			buf = appendSource(buf, source(r.PC))
		}
		buf = append(buf, `,"msg":`...)
		return appendString(buf, msg)
	}
	if !r.Time.IsZero() {
		buf = h.appendAttr(buf, nil, slog.Time(slog.TimeKey, r.Time))
	}
	buf = h.appendAttr(buf, nil, slog.Any(slog.LevelKey, r.Level))
	if h.src && r.PC != 0 {
		buf = h.appendAttr(buf, nil, slog.Any(slog.SourceKey, source(r.PC)))
	}
	return h.appendAttr(buf, nil, slog.String(slog.MessageKey, msg))
}

func source(pc uintptr) *slog.Source {
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	return &slog.Source{Function: f.Function, File: f.File, Line: f.Line}
}

func appendSource(buf []byte, s *slog.Source) []byte {
	buf = append(buf, `{"function":`...)
	buf = appendString(buf, s.Function)
	buf = append(buf, `,"file":`...)
	buf = appendString(buf, s.File)
	buf = append(buf, `,"line":`...)
	buf = strconv.AppendInt(buf, int64(s.Line), 10)
	return append(buf, '}')
}

// appendComma separates a member from the one before it in its object.
func appendComma(buf []byte) []byte {
	if len(buf) > 0 && buf[len(buf)-1] != '{' {
		buf = append(buf, ',')
	}
	return buf
}

// appendAttr appends a as a member ("key":value) of the object being
// written, following the handler rules.
func (h *Handler) appendAttr(buf []byte, groups []string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if h.rep != nil && a.Value.Kind() != slog.KindGroup {
		a = h.rep(groups, a)
		a.Value = a.Value.Resolve()
	}
	if a.Key == "" && a.Value.Kind() == slog.KindAny && a.Value.Any() == nil {
		return buf // an empty Attr
	}
	if a.Value.Kind() == slog.KindGroup {
		attrs := a.Value.Group()
		if len(attrs) == 0 {
			return buf
		}
		if a.Key == "" { // inlined
			for _, ga := range attrs {
				buf = h.appendAttr(buf, groups, ga)
			}
			return buf
		}
		if h.rep != nil {
			groups = append(slices.Clip(groups), a.Key)
		}
		mark := len(buf)
		buf = appendComma(buf)
		buf = appendString(buf, a.Key)
		buf = append(buf, ':', '{')
		before := len(buf)
		for _, ga := range attrs {
			buf = h.appendAttr(buf, groups, ga)
		}
		if len(buf) == before {
			return buf[:mark] // only empty members: leave the group out
		}
		return append(buf, '}')
	}
	buf = appendComma(buf)
	buf = appendString(buf, a.Key)
	buf = append(buf, ':')
	return appendValue(buf, a.Value)
}

// appendValue appends a resolved value that is not a group.
func appendValue(buf []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendString(buf, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(buf, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(buf, v.Uint64(), 10)
	case slog.KindFloat64:
		return appendFloat(buf, v.Float64())
	case slog.KindBool:
		return strconv.AppendBool(buf, v.Bool())
	case slog.KindDuration:
		return strconv.AppendInt(buf, int64(v.Duration()), 10) // nanoseconds, as slog.JSONHandler
	case slog.KindTime:
		buf = append(buf, '"')
		buf = v.Time().AppendFormat(buf, time.RFC3339Nano)
		return append(buf, '"')
	default:
		return appendAny(buf, v.Any())
	}
}

// appendAny appends any other value: errors as their text, slog's own
// types as slog.JSONHandler writes them, the rest through json.Marshal,
// and what that refuses (or a value whose methods panic) as its fmt text.
func appendAny(buf []byte, x any) (out []byte) {
	mark := len(buf)
	defer func() {
		if p := recover(); p != nil {
			out = appendString(buf[:mark], fmt.Sprintf("!PANIC: %v", p))
		}
	}()
	switch x := x.(type) {
	case nil:
		return append(buf, "null"...)
	case slog.Level:
		return appendString(buf, x.String())
	case *slog.Source:
		if x == nil {
			return append(buf, "null"...)
		}
		return appendSource(buf, x)
	case json.Marshaler:
	case error:
		return appendString(buf, x.Error())
	}
	b, err := json.Marshal(x)
	if err != nil {
		// A channel, a func, a NaN inside a struct, a failing
		// MarshalJSON, a cycle...: still logged, as its fmt text.
		return appendString(buf, fmt.Sprintf("%+v", x))
	}
	return append(buf, b...)
}

// appendFloat appends f as encoding/json does; NaN and ±Inf, which JSON
// cannot hold, as the strings "NaN", "+Inf", "-Inf".
func appendFloat(buf []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		buf = append(buf, '"')
		buf = strconv.AppendFloat(buf, f, 'g', -1, 64)
		return append(buf, '"')
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	buf = strconv.AppendFloat(buf, f, format, -1, 64)
	if format == 'e' {
		// e-09 -> e-9, as encoding/json
		if n := len(buf); n >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
	}
	return buf
}

const hexDigits = "0123456789abcdef"

// safe[b]: ASCII byte b goes into a JSON string as it is.
var safe = func() (t [utf8.RuneSelf]bool) {
	for i := 0x20; i < utf8.RuneSelf; i++ {
		t[i] = i != '"' && i != '\\'
	}
	return t
}()

// appendString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029
// escaped (as encoding/json, without its HTML escaping).
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if safe[b] {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
