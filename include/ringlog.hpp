/*
 * ringlog.hpp: C++17 over the ringlog C ABI (ringlog.h). Header-only; link
 * with -lringlog (or libringlog.a plus -lpthread -ldl -lm).
 *
 *   #include <ringlog.hpp>
 *
 *   ringlog::ring r(1 << 20);                  // 1 MiB in memory, or:
 *   // auto r = ringlog::ring::open_file("app.ring", 1 << 20);   // the flight recorder
 *   r.write("hello\n");                        // any thread; one call, one record
 *   r.write({"user=", name, " logged in\n"});  // several parts, one record (ring_writev)
 *
 *   ringlog::reader rd = r.reader(ringlog::start::oldest);   // or newest, or r.reader_at(seq)
 *   if (std::optional<ringlog::record> rec = rd.next(std::chrono::milliseconds(100)))
 *       use(rec->seq, rec->lost, rec->data);   // std::nullopt: nothing came within 100 ms
 *   for (const ringlog::record &x : rd)        // blocks for each record, ends when the ring
 *       use(x.seq, x.lost, x.data);            // is closed and drained
 *
 *   r.flush(std::chrono::seconds(1));          // false if readers still lag after 1 s
 *   r.close();                                 // writes fail from now on; readers drain, then end
 *   std::string all = r.snapshot();            // every retained record's bytes, oldest first
 *
 * Types. `ring` and `reader` own their C handle (ring_free / ring_reader_free
 * in the destructor) and are move-only. A moved-from object holds no handle:
 * destroying or assigning to it is safe; any other call on it fails with
 * RING_RESULT_NULL_PARAMETER (capacity(), max_record() and lost() give 0).
 * `record` is a value: it owns its bytes, and `record::data` (a
 * std::string_view) views them for as long as the record lives; copies and
 * moves carry their own bytes.
 *
 * Errors. Failures throw `ringlog::error` (a std::runtime_error) carrying the
 * C result: `code()`; its what() holds ring_result_str's text. Conditions that
 * are not failures are values, not exceptions: a timeout is std::nullopt (or
 * false for flush), a loss is `record::lost`. The end of a closed ring ends a
 * range-for and a byte-stream read (`read_result::end`), while `next()`,
 * which promises a record, throws ringlog::error with RING_RESULT_CLOSED
 * there (as the C call returns RING_RESULT_CLOSED). `next_into` returns the
 * C result instead (OK, TIMEOUT, CLOSED) for loops that want no exception at
 * all. The `try_` calls (try_write, try_writev, try_dump) are noexcept and
 * return the ring_result: for hot paths and for signal handlers.
 *
 * Timeouts are any std::chrono::duration. They are rounded up to whole
 * milliseconds (1 us waits 1 ms, never 0); zero, negative and NaN durations
 * only check (poll); a duration of 9e18 ms or more (about 285 million years:
 * hours::max(), an infinite double) waits for as long as it takes. Calls
 * without a timeout wait for as long as it takes.
 *
 * Threads. A `ring` may be used by any number of threads at once (every
 * member but assignment and release() is const and thread-safe). A `reader` is used by one thread at a
 * time (it may move between threads); so is a record or an iterator.
 * Destroying a ring or a reader while another thread uses it is undefined,
 * as in C.
 *
 * Signals. try_write, try_writev (up to 16 parts) and try_dump are
 * async-signal-safe, like the C calls they make: a crash handler may call
 * them (it should not throw, so not write or dump).
 */
#ifndef RINGLOG_HPP
#define RINGLOG_HPP

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

// ringlog.h declares the function ring_stats next to struct ring_stats, which
// g++ -Wshadow reports ("hides constructor"): C's way, not a bug.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif
#include "ringlog.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace ringlog {

// ---- errors -----------------------------------------------------------------

/// A failed ringlog call. `code()` is the C result (RING_RESULT_TOO_LARGE,
/// RING_RESULT_CLOSED, RING_RESULT_FORKED, ...); what() reads
/// "ringlog: <C call>: <ring_result_str(code)>", with the system's message
/// added for RING_RESULT_IO.
class error : public std::runtime_error {
public:
    /// `context` names the failing call (may be null); `sys_errno` is the
    /// errno of a RING_RESULT_IO (0 otherwise).
    explicit error(ring_result code, const char *context = nullptr, int sys_errno = 0)
        : std::runtime_error(message(code, context, sys_errno)), code_(code), errno_(sys_errno) {}

    /// The C result code.
    [[nodiscard]] ring_result code() const noexcept { return code_; }

    /// errno when code() is RING_RESULT_IO (e.g. ENOENT from open_file), else 0.
    [[nodiscard]] int sys_errno() const noexcept { return errno_; }

private:
    static std::string message(ring_result code, const char *context, int sys_errno) {
        std::string m = "ringlog: ";
        if (context != nullptr) {
            m += context;
            m += ": ";
        }
        m += ::ring_result_str(static_cast<std::uint32_t>(code));
        if (sys_errno != 0) {
            m += ": ";
            m += std::generic_category().message(sys_errno);
        }
        return m;
    }

    ring_result code_;
    int errno_;
};

namespace detail {

/// Throws ringlog::error unless `res` is RING_RESULT_OK.
inline void check(ring_result res, const char *context) {
    if (res != RING_RESULT_OK) {
        const int e = res == RING_RESULT_IO ? errno : 0; // before anything can change it
        throw error(res, context, e);
    }
}

/// A std::chrono duration as the C calls' timeout_ms: rounded up to whole
/// milliseconds; 0 (only check) for zero, negative or NaN; -1 (forever) when
/// longer than an int64_t of milliseconds can say.
template <class Rep, class Period>
constexpr std::int64_t timeout_ms(const std::chrono::duration<Rep, Period> &d) noexcept {
    if (!(d > std::chrono::duration<Rep, Period>::zero())) {
        return 0;
    }
    // Range check in long double, where no count of any duration overflows.
    const long double ms = std::chrono::duration<long double, std::milli>(d).count();
    if (!(ms < 9.0e18L)) { // also +inf; int64_t max is ~9.22e18
        return -1;
    }
    const std::int64_t up = static_cast<std::int64_t>(std::chrono::ceil<std::chrono::milliseconds>(d).count());
    return up > 0 ? up : 1;
}

constexpr std::size_t stack_parts = 16;

/// ring_writev over string_views: the slices live on the stack up to
/// stack_parts parts (no allocation: async-signal-safe), beyond that in a
/// vector (RING_RESULT_NO_MEMORY if that cannot be had).
inline ring_result writev(const ::ring *h, const std::string_view *parts, std::size_t n) noexcept {
    if (parts == nullptr && n > 0) {
        return RING_RESULT_NULL_PARAMETER;
    }
    if (n <= stack_parts) {
        ::ring_slice slices[stack_parts];
        for (std::size_t i = 0; i < n; i++) {
            slices[i].data = parts[i].data();
            slices[i].len = parts[i].size();
        }
        return ::ring_writev(h, slices, n);
    }
    try {
        std::vector<::ring_slice> slices(n);
        for (std::size_t i = 0; i < n; i++) {
            slices[i].data = parts[i].data();
            slices[i].len = parts[i].size();
        }
        return ::ring_writev(h, slices.data(), n);
    } catch (...) {
        return RING_RESULT_NO_MEMORY;
    }
}

/// True for a contiguous container of std::string_view (std::vector,
/// std::array, C++20 std::span, a C array).
template <class C, class = void>
struct is_views : std::false_type {};
template <class C>
struct is_views<C, std::void_t<decltype(std::data(std::declval<const C &>())),
                               decltype(std::size(std::declval<const C &>()))>>
    : std::is_convertible<decltype(std::data(std::declval<const C &>())), const std::string_view *> {};

} // namespace detail

// ---- values -----------------------------------------------------------------

/// Where a new reader starts (see also ring::reader_at).
enum class start {
    oldest = RING_START_OLDEST, ///< the oldest retained record: replay, then follow
    newest = RING_START_NEWEST, ///< only records written after the reader was made (tail -f)
};

/// One record as a reader returns it. It owns its bytes: `data` views them
/// and stays valid for as long as this record object lives (copies and moves
/// re-point it to their own bytes). Do not assign to `data`. As with any
/// view, mind temporaries: `std::string_view v = rd.next().data;` dangles
/// at the end of the statement (keep the record, or take `rd.next().str()`).
/// A record is a plain value: not thread-safe, copy it to share.
class record {
public:
    std::uint64_t seq = 0;  ///< the record's sequence number
    std::uint64_t lost = 0; ///< records this reader lost to overwriting just before this one
    std::string_view data;  ///< the record's bytes (owned by this record)

    /// An empty record (seq 0, no bytes).
    record() noexcept = default;

    /// A record holding a copy of `bytes`.
    record(std::uint64_t seq_, std::uint64_t lost_, std::string_view bytes)
        : seq(seq_), lost(lost_), buf_(bytes) {
        data = buf_;
    }

    record(const record &o) : seq(o.seq), lost(o.lost), buf_(o.data) { data = buf_; }

    record(record &&o) noexcept : seq(o.seq), lost(o.lost) { take(o); }

    record &operator=(const record &o) {
        if (this != &o) {
            buf_.assign(o.data.data(), o.data.size());
            data = std::string_view(buf_.data(), o.data.size());
            seq = o.seq;
            lost = o.lost;
        }
        return *this;
    }

    record &operator=(record &&o) noexcept {
        if (this != &o) {
            seq = o.seq;
            lost = o.lost;
            take(o);
        }
        return *this;
    }

    ~record() = default;

    /// The bytes as a std::string (a copy).
    [[nodiscard]] std::string str() const { return std::string(data); }

private:
    friend class reader;

    // `data` may view fewer bytes than buf_ holds: a reader reuses buf_ as
    // its read buffer (sized for the largest record seen) without shrinking.
    void take(record &o) noexcept {
        const std::size_t n = o.data.size();
        const bool own = o.data.data() == o.buf_.data() ||
                         (std::greater_equal<const char *>()(o.data.data(), o.buf_.data()) &&
                          std::less<const char *>()(o.data.data(), o.buf_.data() + o.buf_.size()));
        const std::size_t off = own ? static_cast<std::size_t>(o.data.data() - o.buf_.data()) : 0;
        const std::string_view foreign = o.data;
        buf_ = std::move(o.buf_);
        data = own ? std::string_view(buf_.data() + off, n) : foreign;
        o.buf_.clear();
        o.data = std::string_view();
    }

    std::string buf_;
};

/// What reader::read reports for one call on the byte stream.
struct read_result {
    std::size_t size = 0;   ///< bytes stored in the buffer (0 when `lost` or `end`)
    std::uint64_t lost = 0; ///< > 0: a gap here. Bytes were overwritten before this reader read
                            ///< them: about `lost` records (counted as reader::lost() counts).
                            ///< The next call goes on from the start of the oldest retained record.
    bool end = false;       ///< the ring is closed and this reader has read everything: end of stream
};

/// The ring's counters (ring::stats), as C's struct ring_stats.
struct stats {
    std::uint64_t written = 0;    ///< records written so far: the next record's seq
    std::uint64_t oldest_seq = 0; ///< seq of the oldest retained record (= written when none)
    std::uint64_t bytes_used = 0; ///< bytes the retained records occupy, framing included
    std::uint64_t dropped = 0;    ///< writes refused with RING_RESULT_BUSY
    std::uint64_t readers = 0;    ///< live readers (all processes, for a file ring)
    std::uint64_t capacity = 0;   ///< bytes, framing included
    std::uint64_t max_record = 0; ///< the largest record the ring takes
    bool closed = false;          ///< ring::close() was called
};

class reader;

// ---- ring -------------------------------------------------------------------

/// A ring of log records (C: ring *). Move-only; the destructor frees the
/// handle (a ring in memory closes when its last handle goes: its readers
/// drain and end; a file ring stays open). Thread-safe: any number of
/// threads may call any member at once.
class ring {
public:
    /// A ring in memory of `capacity` bytes, framing included (rounded up to
    /// a power of two; 1 KiB to 1 TiB). Throws error: INVALID_ARGUMENT
    /// (out of range), NO_MEMORY.
    explicit ring(std::size_t capacity) {
        detail::check(::ring_new(capacity, &h_), "ring_new");
    }

    /// The ring in the file at `path`, created (mode 0600) with `capacity`
    /// bytes if missing; an existing ring is opened as it is (`capacity` 0
    /// or equal to its capacity). Throws error: INVALID_ARGUMENT, BAD_FILE
    /// (not a ring file, other version, corrupt), IO (sys_errno() says
    /// why, e.g. ENOENT: a missing directory, or a missing file with
    /// capacity 0), BUSY, NO_MEMORY.
    [[nodiscard]] static ring open_file(const char *path, std::size_t capacity = 0) {
        ::ring *h = nullptr;
        detail::check(::ring_open_file(path, capacity, &h), "ring_open_file");
        return ring(adopt_tag{}, h);
    }
    /// As open_file(const char *, std::size_t).
    [[nodiscard]] static ring open_file(const std::string &path, std::size_t capacity = 0) {
        return open_file(path.c_str(), capacity);
    }

    /// Takes ownership of a handle from the C API (NULL gives an empty ring).
    [[nodiscard]] static ring adopt(::ring *handle) noexcept { return ring(adopt_tag{}, handle); }

    ring(ring &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    ring &operator=(ring &&o) noexcept {
        if (this != &o) {
            ::ring_free(h_);
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    ring(const ring &) = delete;
    ring &operator=(const ring &) = delete;

    /// Frees the handle (ring_free).
    ~ring() { ::ring_free(h_); }

    /// True unless moved from (or adopted from NULL, or released).
    explicit operator bool() const noexcept { return h_ != nullptr; }

    /// The C handle, still owned by this object: for C calls (e.g. from a
    /// crash handler that cannot reach this object).
    [[nodiscard]] ::ring *native_handle() const noexcept { return h_; }

    /// Gives up ownership: returns the handle (the caller ring_free()s it)
    /// and leaves this object empty.
    [[nodiscard]] ::ring *release() noexcept { return std::exchange(h_, nullptr); }

    /// The ring's size in bytes, framing included (0 if empty).
    [[nodiscard]] std::size_t capacity() const noexcept { return ::ring_capacity(h_); }

    /// The largest record the ring takes (capacity / 4; 0 if empty).
    [[nodiscard]] std::size_t max_record() const noexcept { return ::ring_max_record(h_); }

    /// Appends one record holding `bytes` (may be empty). Never waits for
    /// readers or other writers. Throws error: TOO_LARGE (longer than
    /// max_record(); nothing written), CLOSED, BUSY (a ring too small for
    /// its writers; counted in stats().dropped), FORKED, NULL_PARAMETER.
    void write(std::string_view bytes) const {
        detail::check(::ring_write(h_, bytes.data(), bytes.size()), "ring_write");
    }

    /// Appends one record made of `parts` back to back (ring_writev: one
    /// record, no concatenation buffer). Throws as write(std::string_view).
    void write(std::initializer_list<std::string_view> parts) const {
        detail::check(detail::writev(h_, parts.begin(), parts.size()), "ring_writev");
    }

    /// As write(parts) for `n` parts at `parts`.
    void writev(const std::string_view *parts, std::size_t n) const {
        detail::check(detail::writev(h_, parts, n), "ring_writev");
    }

    /// As write(parts) for a contiguous container of std::string_view
    /// (std::vector, std::array, C++20 std::span, a C array).
    template <class Views, class = std::enable_if_t<detail::is_views<Views>::value>>
    void writev(const Views &parts) const {
        writev(std::data(parts), std::size(parts));
    }

    /// write() that returns the C result instead of throwing: RING_RESULT_OK
    /// or the codes write() throws. noexcept, no allocation,
    /// async-signal-safe (a crash handler may call it).
    [[nodiscard]] ring_result try_write(std::string_view bytes) const noexcept {
        return ::ring_write(h_, bytes.data(), bytes.size());
    }

    /// write(parts) returning the C result. noexcept; async-signal-safe up
    /// to 16 parts (more need an allocation: NO_MEMORY if it fails).
    [[nodiscard]] ring_result try_write(std::initializer_list<std::string_view> parts) const noexcept {
        return detail::writev(h_, parts.begin(), parts.size());
    }

    /// writev(parts, n) returning the C result (as try_write(parts)).
    [[nodiscard]] ring_result try_writev(const std::string_view *parts, std::size_t n) const noexcept {
        return detail::writev(h_, parts, n);
    }

    /// writev(parts) for a contiguous container, returning the C result.
    template <class Views, class = std::enable_if_t<detail::is_views<Views>::value>>
    [[nodiscard]] ring_result try_writev(const Views &parts) const noexcept {
        return detail::writev(h_, std::data(parts), std::size(parts));
    }

    /// Waits until every reader that exists now has read past every record
    /// written before this call (or was lapped past it, or was freed): true;
    /// false if `timeout` ran out first (zero: only check). True at once
    /// when there are no readers. Never blocks writers. Throws error:
    /// FORKED, NULL_PARAMETER.
    template <class Rep, class Period>
    bool flush(const std::chrono::duration<Rep, Period> &timeout) const {
        return flush_ms(detail::timeout_ms(timeout));
    }

    /// flush() waiting for as long as it takes.
    void flush() const { flush_ms(-1); }

    /// Closes the ring: writes fail with CLOSED from now on; blocked
    /// readers wake, read what is retained, then end. Idempotent. For a
    /// file ring, closes it for every process. Throws error: FORKED,
    /// NULL_PARAMETER.
    void close() const { detail::check(::ring_close(h_), "ring_close"); }

    /// Every retained record's bytes, oldest first, back to back: the "dump
    /// the last N bytes" call. Writers go on meanwhile. Throws error
    /// (FORKED, NULL_PARAMETER) or std::bad_alloc.
    [[nodiscard]] std::string snapshot() const {
        std::string out;
        std::size_t need = 0;
        ring_result res = ::ring_snapshot(h_, nullptr, 0, &need);
        if (res == RING_RESULT_OK) {
            return out; // empty
        }
        for (;;) {
            if (res != RING_RESULT_BUF_SMALL) {
                detail::check(res, "ring_snapshot");
            }
            // Room for what writers add meanwhile; capacity() always suffices.
            const std::size_t cap = std::max(need, capacity());
            out.resize(std::min(cap, need + need / 8 + 4096));
            std::size_t len = 0;
            res = ::ring_snapshot(h_, out.data(), out.size(), &len);
            if (res == RING_RESULT_OK) {
                out.resize(len);
                return out;
            }
            need = len;
        }
    }

    /// Writes the snapshot to file descriptor `fd` with write(2) only.
    /// Throws error: INVALID_ARGUMENT (fd < 0), IO (sys_errno() says why),
    /// FORKED, NULL_PARAMETER.
    void dump(int fd) const { detail::check(::ring_dump_fd(h_, fd), "ring_dump_fd"); }

    /// dump() returning the C result: noexcept, async-signal-safe (for a
    /// crash handler; errno is set on RING_RESULT_IO).
    [[nodiscard]] ring_result try_dump(int fd) const noexcept {
        return ::ring_dump_fd(h_, fd);
    }

    /// The ring's counters (writers go on meanwhile). Throws error:
    /// NULL_PARAMETER.
    [[nodiscard]] ringlog::stats stats() const {
        struct ::ring_stats st {};
        detail::check(::ring_stats(h_, &st), "ring_stats");
        ringlog::stats s;
        s.written = st.written;
        s.oldest_seq = st.oldest_seq;
        s.bytes_used = st.bytes_used;
        s.dropped = st.dropped;
        s.readers = st.readers;
        s.capacity = st.capacity;
        s.max_record = st.max_record;
        s.closed = st.closed != 0;
        return s;
    }

    /// A new reader starting at the oldest retained record (replay, then
    /// follow) or, with start::newest, at the next record written. Readers
    /// may be made at any time, also after close. The reader keeps the
    /// ring's memory alive (this object may go first). Throws error:
    /// NULL_PARAMETER, FORKED.
    [[nodiscard]] ringlog::reader reader(start from = start::oldest) const;

    /// A new reader starting at record `seq`: if it was evicted, at the
    /// oldest retained record with the gap reported as `lost`; if not
    /// written yet, its first read waits for it. Throws as reader().
    [[nodiscard]] ringlog::reader reader_at(std::uint64_t seq) const;

private:
    struct adopt_tag {};
    ring(adopt_tag, ::ring *h) noexcept : h_(h) {}

    bool flush_ms(std::int64_t ms) const {
        const ring_result res = ::ring_flush(h_, ms);
        if (res == RING_RESULT_TIMEOUT) {
            return false;
        }
        detail::check(res, "ring_flush");
        return true;
    }

    ::ring *h_ = nullptr;
};

// ---- reader -----------------------------------------------------------------

/// An independent cursor over a ring (C: ring_reader *). Move-only; the
/// destructor frees it (a flush waiting for it stops waiting). Used by one
/// thread at a time; it may move between threads.
///
/// Loss: when writers overwrite records it had not read yet, the next record
/// carries `lost`, the number skipped just before it. Records read plus the
/// `lost` reported add up to every record written since the reader's start.
class reader {
public:
    /// Input iterator over the records, for range-for: each increment blocks
    /// until the next record; the iterator reaches end() when the ring is
    /// closed and this reader has read everything. The record an iterator
    /// holds is its own and is reused (overwritten) by the next increment:
    /// copy it to keep it. Increments throw error (FORKED, ...) or
    /// std::bad_alloc. An iterator must not outlive, or be used after a
    /// move of, its reader.
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = record;
        using difference_type = std::ptrdiff_t;
        using pointer = const record *;
        using reference = const record &;

        /// The end iterator.
        iterator() noexcept = default;

        reference operator*() const noexcept { return rec_; }
        pointer operator->() const noexcept { return &rec_; }

        /// Reads the next record (blocks); at the end of a closed ring,
        /// becomes end().
        iterator &operator++() {
            advance();
            return *this;
        }
        /// As ++it; returns a copy of the iterator (and its record) from before.
        iterator operator++(int) {
            iterator old(*this);
            advance();
            return old;
        }

        /// Equal when both are end() or both read the same reader.
        friend bool operator==(const iterator &a, const iterator &b) noexcept { return a.rd_ == b.rd_; }
        friend bool operator!=(const iterator &a, const iterator &b) noexcept { return a.rd_ != b.rd_; }

    private:
        friend class reader;
        explicit iterator(reader *rd) : rd_(rd) { advance(); }

        void advance() {
            if (rd_ != nullptr && rd_->next_into_ms(rec_, -1) != RING_RESULT_OK) {
                rd_ = nullptr; // closed and drained
            }
        }

        reader *rd_ = nullptr;
        record rec_;
    };

    /// Takes ownership of a reader from the C API (NULL gives an empty reader).
    [[nodiscard]] static reader adopt(::ring_reader *handle) noexcept { return reader(adopt_tag{}, handle); }

    reader(reader &&o) noexcept
        : h_(std::exchange(o.h_, nullptr)), scratch_(std::move(o.scratch_)),
          lost_reported_(std::exchange(o.lost_reported_, 0)) {}
    reader &operator=(reader &&o) noexcept {
        if (this != &o) {
            ::ring_reader_free(h_);
            h_ = std::exchange(o.h_, nullptr);
            scratch_ = std::move(o.scratch_);
            lost_reported_ = std::exchange(o.lost_reported_, 0);
        }
        return *this;
    }
    reader(const reader &) = delete;
    reader &operator=(const reader &) = delete;

    /// Frees the reader (ring_reader_free).
    ~reader() { ::ring_reader_free(h_); }

    /// True unless moved from (or adopted from NULL, or released).
    explicit operator bool() const noexcept { return h_ != nullptr; }

    /// The C handle, still owned by this object.
    [[nodiscard]] ::ring_reader *native_handle() const noexcept { return h_; }

    /// Gives up ownership: the caller ring_reader_free()s the handle.
    [[nodiscard]] ::ring_reader *release() noexcept { return std::exchange(h_, nullptr); }

    /// The next record; blocks until there is one. Throws error: CLOSED
    /// (the ring is closed and this reader has read everything: the end),
    /// FORKED, NULL_PARAMETER; or std::bad_alloc.
    [[nodiscard]] record next() {
        std::optional<record> r = next_ms(-1);
        if (!r) {
            throw error(RING_RESULT_TIMEOUT, "ring_reader_next"); // not with an endless wait
        }
        return std::move(*r);
    }

    /// The next record, waiting at most `timeout` for it: std::nullopt if
    /// none came in time. Throws as next() (CLOSED at the end).
    template <class Rep, class Period>
    [[nodiscard]] std::optional<record> next(const std::chrono::duration<Rep, Period> &timeout) {
        return next_ms(detail::timeout_ms(timeout));
    }

    /// The next record if one is there now (no wait), else std::nullopt.
    /// Throws as next() (CLOSED at the end).
    [[nodiscard]] std::optional<record> try_next() { return next_ms(0); }

    /// Reads the next record into `out`, reusing its buffer (no allocation
    /// once it is as large as the records): for loops that read many
    /// records. Blocks until there is one. Returns RING_RESULT_OK (`out`
    /// holds it) or RING_RESULT_CLOSED (the end; `out` emptied); throws
    /// error for anything else (FORKED, ...) or std::bad_alloc.
    [[nodiscard]] ring_result next_into(record &out) { return next_into_ms(out, -1); }

    /// next_into(out) waiting at most `timeout`: also RING_RESULT_TIMEOUT
    /// (`out` emptied).
    template <class Rep, class Period>
    [[nodiscard]] ring_result next_into(record &out, const std::chrono::duration<Rep, Period> &timeout) {
        return next_into_ms(out, detail::timeout_ms(timeout));
    }

    /// Reads the byte stream (the bytes of consecutive records back to back,
    /// a record possibly split across calls) into `buf`, `cap` bytes at
    /// most. Blocks for the first byte, then takes what is there. Returns
    /// {size > 0} with bytes; {lost > 0} once at a gap (no bytes: records
    /// were overwritten before this reader read them; the next call goes on
    /// from the start of the oldest retained record); {end = true} at the
    /// end of a closed ring (every call after it, too). Empty records add no
    /// bytes; `cap` 0 returns {0} at once. Throws error: FORKED,
    /// NULL_PARAMETER (buf null with cap > 0), INVALID_ARGUMENT.
    [[nodiscard]] read_result read(void *buf, std::size_t cap) {
        std::optional<read_result> r = read_ms(buf, cap, -1);
        if (!r) {
            throw error(RING_RESULT_TIMEOUT, "ring_reader_read"); // not with an endless wait
        }
        return *r;
    }

    /// read(buf, cap) waiting at most `timeout` for the first byte:
    /// std::nullopt if none came in time (zero: only check).
    template <class Rep, class Period>
    [[nodiscard]] std::optional<read_result> read(void *buf, std::size_t cap,
                                                  const std::chrono::duration<Rep, Period> &timeout) {
        return read_ms(buf, cap, detail::timeout_ms(timeout));
    }

    /// Records this reader has lost to overwriting since it was made
    /// (ring_reader_lost; 0 if empty).
    [[nodiscard]] std::uint64_t lost() const noexcept { return ::ring_reader_lost(h_); }

    /// Starts a range-for: reads the first record (blocks). See iterator.
    [[nodiscard]] iterator begin() { return iterator(this); }
    /// The end of a closed ring.
    [[nodiscard]] iterator end() noexcept { return iterator(); }

private:
    friend class ring;
    struct adopt_tag {};
    reader(adopt_tag, ::ring_reader *h) noexcept : h_(h) {}

    // Smallest read buffer: most log lines fit; a longer record costs one
    // BUF_SMALL round trip, then the buffer keeps its size.
    static constexpr std::size_t min_buffer = 256;

    ring_result next_into_ms(record &out, std::int64_t ms) {
        std::string &buf = out.buf_;
        out.data = std::string_view(); // buf_ may move below
        if (buf.size() < min_buffer) {
            buf.resize(std::max(min_buffer, buf.capacity()));
        }
        for (;;) {
            ::ring_record rec{};
            const ring_result res = ::ring_reader_next(h_, buf.data(), buf.size(), &rec, ms);
            switch (res) {
            case RING_RESULT_OK:
                out.seq = rec.seq;
                out.lost = rec.lost;
                out.data = std::string_view(buf.data(), rec.len);
                lost_reported_ += rec.lost;
                return res;
            case RING_RESULT_BUF_SMALL:
                // The record is kept for the next call: grow and take it.
                // (Doubling if it reports no more than we had: progress whatever happens.)
                buf.resize(rec.len > buf.size() ? rec.len : buf.size() * 2);
                continue;
            case RING_RESULT_TIMEOUT:
            case RING_RESULT_CLOSED:
                out.seq = 0;
                out.lost = 0;
                return res;
            default:
                out.seq = 0;
                out.lost = 0;
                detail::check(res, "ring_reader_next");
                return res; // not reached
            }
        }
    }

    std::optional<record> next_ms(std::int64_t ms) {
        const ring_result res = next_into_ms(scratch_, ms);
        if (res == RING_RESULT_TIMEOUT) {
            return std::nullopt;
        }
        detail::check(res, "ring_reader_next"); // CLOSED
        return std::optional<record>(std::in_place, scratch_); // a copy sized to the record
    }

    std::optional<read_result> read_ms(void *buf, std::size_t cap, std::int64_t ms) {
        std::size_t n = 0;
        const ring_result res = ::ring_reader_read(h_, buf, cap, &n, ms);
        read_result out;
        switch (res) {
        case RING_RESULT_OK:
            out.size = n;
            return out;
        case RING_RESULT_TIMEOUT:
            return std::nullopt;
        case RING_RESULT_CLOSED:
            out.end = true;
            return out;
        case RING_RESULT_LOST: {
            const std::uint64_t total = ::ring_reader_lost(h_);
            out.lost = total > lost_reported_ ? total - lost_reported_ : 1;
            lost_reported_ = std::max(total, lost_reported_ + 1);
            return out;
        }
        default:
            detail::check(res, "ring_reader_read");
            return std::nullopt; // not reached
        }
    }

    ::ring_reader *h_ = nullptr;
    record scratch_;                   // next()'s read buffer
    std::uint64_t lost_reported_ = 0;  // losses reported so far (records' lost, read()'s gaps)
};

inline reader ring::reader(start from) const {
    ::ring_reader *rd = nullptr;
    detail::check(::ring_reader_new(h_, static_cast<ring_start>(from), 0, &rd), "ring_reader_new");
    return ringlog::reader(reader::adopt_tag{}, rd);
}

inline reader ring::reader_at(std::uint64_t seq) const {
    ::ring_reader *rd = nullptr;
    detail::check(::ring_reader_new(h_, RING_START_SEQ, seq, &rd), "ring_reader_new");
    return ringlog::reader(reader::adopt_tag{}, rd);
}

} // namespace ringlog

#endif /* RINGLOG_HPP */
