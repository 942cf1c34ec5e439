// Tests of include/ringlog.hpp: every member of the C++ API, against the real
// libringlog. Built with ASan + UBSan by tests/cpp/Makefile (make -C tests/cpp
// check). Prints "ok <test>" per test and "FAIL file:line: ..." per failed
// check; exits 1 if anything failed.
#include <ringlog.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

namespace {

std::atomic<int> failures{0};

void fail_at(const char *file, int line, const std::string &what) {
    std::fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what.c_str());
    failures.fetch_add(1);
}

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) fail_at(__FILE__, __LINE__, #cond);                                                               \
    } while (0)

// A function, so that the temporaries in `a` and `b` live through the comparison.
#define CHECK_EQ(a, b) check_eq(__FILE__, __LINE__, #a " == " #b, (a), (b))

// Runs `stmt`, which must throw ringlog::error with `code`.
#define CHECK_THROWS(want_code, stmt)                                                                                       \
    do {                                                                                                               \
        bool thrown_ = false;                                                                                          \
        try {                                                                                                          \
            stmt;                                                                                                      \
        } catch (const ringlog::error &e_) {                                                                           \
            thrown_ = true;                                                                                            \
            if (e_.code() != (want_code))                                                                                   \
                fail_at(__FILE__, __LINE__,                                                                            \
                        std::string(#stmt ": threw ") + e_.what() + ", wanted " + ::ring_result_str(want_code));            \
        }                                                                                                              \
        if (!thrown_) fail_at(__FILE__, __LINE__, std::string(#stmt ": did not throw ") + ::ring_result_str(want_code));    \
    } while (0)

template <class T>
std::string show(const T &v) {
    if constexpr (std::is_same_v<T, ring_result>) {
        return ::ring_result_str(v);
    } else if constexpr (std::is_same_v<T, bool>) {
        return v ? "true" : "false";
    } else if constexpr (std::is_arithmetic_v<T>) {
        return std::to_string(v);
    } else if constexpr (std::is_convertible_v<T, std::string_view>) {
        return "\"" + std::string(std::string_view(v)) + "\"";
    } else {
        return "?";
    }
}

template <class A, class B>
void check_eq(const char *file, int line, const char *text, const A &a, const B &b) {
    if (!(a == b)) fail_at(file, line, std::string(text) + ": " + show(a) + " != " + show(b));
}

long long ms_since(clk::time_point t0) {
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(clk::now() - t0).count());
}

// Generous upper bound for a timed wait (sanitizers, loaded machines).
constexpr long long SLACK_MS = 2000;

std::string rec_text(std::uint64_t i) { return "record " + std::to_string(i); }

// ---------------------------------------------------------------------------

void test_basics() {
    ringlog::ring r(1 << 20);
    CHECK(static_cast<bool>(r));
    CHECK_EQ(r.capacity(), std::size_t{1} << 20);
    CHECK_EQ(r.max_record(), r.capacity() / 4);
    CHECK(r.native_handle() != nullptr);
    CHECK_EQ(::ring_capacity(r.native_handle()), r.capacity());

    ringlog::reader rd = r.reader(ringlog::start::oldest);
    CHECK(static_cast<bool>(rd));
    CHECK(!rd.try_next().has_value()); // empty: poll gives nothing

    r.write("hello");                                   // 0
    r.write("");                                        // 1: empty record
    r.write({"a", "b", "c"});                           // 2: writev
    std::array<std::string_view, 2> arr{"x", "yz"};
    r.writev(arr);                                      // 3
    std::vector<std::string_view> vec{"1", "", "23"};
    r.writev(vec);                                      // 4
    const std::string_view raw[3] = {"p", "q", "r"};
    r.writev(raw, 3);                                   // 5: pointer + count
    r.writev(raw);                                      // 6: C array
    r.write(std::string("from std::string"));           // 7
    r.write(std::initializer_list<std::string_view>{}); // 8: no parts: empty record
    CHECK_EQ(r.try_write("try"), RING_RESULT_OK);       // 9
    CHECK_EQ(r.try_write({"tr", "y2"}), RING_RESULT_OK); // 10
    CHECK_EQ(r.try_writev(raw, 2), RING_RESULT_OK);     // 11
    CHECK_EQ(r.try_writev(std::vector<std::string_view>{}), RING_RESULT_OK); // 12: empty (container)
    CHECK_EQ(r.try_writev(nullptr, 1), RING_RESULT_NULL_PARAMETER);
    CHECK_EQ(r.try_writev(nullptr, 0), RING_RESULT_OK); // 13: empty
    CHECK_EQ(r.try_writev(arr), RING_RESULT_OK);        // 14
    CHECK_EQ(::ring_write(r.native_handle(), "C", 1), RING_RESULT_OK); // 15

    const char *want[] = {"hello", "", "abc", "xyz", "123", "pqr", "pqr", "from std::string", "",
                          "try", "try2", "pq", "", "", "xyz", "C"};
    const std::uint64_t n = sizeof want / sizeof want[0];
    for (std::uint64_t i = 0; i < n; i++) {
        std::optional<ringlog::record> rec = rd.try_next();
        CHECK(rec.has_value());
        if (!rec) break;
        CHECK_EQ(rec->seq, i);
        CHECK_EQ(rec->lost, 0u);
        CHECK_EQ(rec->data, std::string_view(want[i]));
        CHECK_EQ(rec->str(), std::string(want[i]));
    }
    CHECK(!rd.try_next().has_value());
    CHECK_EQ(rd.lost(), 0u);

    ringlog::stats st = r.stats();
    CHECK_EQ(st.written, n);
    CHECK_EQ(st.oldest_seq, 0u);
    CHECK(st.bytes_used > 0);
    CHECK_EQ(st.dropped, 0u);
    CHECK_EQ(st.readers, 1u);
    CHECK_EQ(st.capacity, static_cast<std::uint64_t>(r.capacity()));
    CHECK_EQ(st.max_record, static_cast<std::uint64_t>(r.max_record()));
    CHECK(!st.closed);

    // A default reader() starts at the oldest record.
    ringlog::reader rd2 = r.reader();
    std::optional<ringlog::record> first = rd2.next(0ms);
    CHECK(first.has_value() && first->seq == 0 && first->data == "hello");
    CHECK_EQ(r.stats().readers, 2u);
}

void test_writev_many_parts() {
    ringlog::ring r(1 << 16);
    // More parts than fit on the stack (16): the vector path.
    std::vector<std::string> owned;
    std::vector<std::string_view> parts;
    std::string whole;
    for (int i = 0; i < 40; i++) owned.push_back(std::to_string(i) + ",");
    for (const std::string &s : owned) {
        parts.push_back(s);
        whole += s;
    }
    r.writev(parts);
    CHECK_EQ(r.try_writev(parts.data(), parts.size()), RING_RESULT_OK);
    // Exactly 16 parts: the stack path at its limit.
    r.writev(parts.data(), 16);
    std::string sixteen;
    for (std::size_t i = 0; i < 16; i++) sixteen += owned[i];

    ringlog::reader rd = r.reader();
    CHECK_EQ(rd.next(0ms).value_or(ringlog::record()).str(), whole); // a temporary's data: str(), not the view
    CHECK_EQ(rd.next(0ms).value_or(ringlog::record()).str(), whole); // a temporary's data: str(), not the view
    CHECK_EQ(rd.next(0ms).value_or(ringlog::record()).str(), sixteen);

    // Too large in total: TOO_LARGE, nothing written.
    std::string big(r.max_record() / 2 + 1, 'x');
    std::vector<std::string_view> two{big, big};
    CHECK_THROWS(RING_RESULT_TOO_LARGE, r.writev(two));
    CHECK_EQ(r.try_writev(two.data(), 2), RING_RESULT_TOO_LARGE);
    CHECK_THROWS(RING_RESULT_TOO_LARGE, r.write({big, big}));
    CHECK_EQ(r.stats().written, 3u);
}

void test_errors() {
    CHECK_THROWS(RING_RESULT_INVALID_ARGUMENT, ringlog::ring bad(1));
    CHECK_THROWS(RING_RESULT_INVALID_ARGUMENT, ringlog::ring bad((std::size_t{1} << 40) + 1));
    try {
        ringlog::ring bad(0);
        fail_at(__FILE__, __LINE__, "ring(0) did not throw");
    } catch (const std::runtime_error &e) { // ringlog::error is a std::runtime_error
        const auto *re = dynamic_cast<const ringlog::error *>(&e);
        CHECK(re != nullptr);
        if (re) {
            CHECK_EQ(re->code(), RING_RESULT_INVALID_ARGUMENT);
            CHECK_EQ(re->sys_errno(), 0);
        }
        const std::string what = e.what();
        CHECK(what.find(::ring_result_str(RING_RESULT_INVALID_ARGUMENT)) != std::string::npos);
        CHECK(what.find("ring_new") != std::string::npos);
    }
    ringlog::error made(RING_RESULT_BUSY);
    CHECK_EQ(made.code(), RING_RESULT_BUSY);
    CHECK_EQ(std::string(made.what()), std::string("ringlog: ") + ::ring_result_str(RING_RESULT_BUSY));

    ringlog::ring r(4096);
    std::string max(r.max_record(), 'm');
    std::string over(r.max_record() + 1, 'o');
    CHECK_THROWS(RING_RESULT_TOO_LARGE, r.write(over));
    CHECK_EQ(r.try_write(over), RING_RESULT_TOO_LARGE);
    CHECK_EQ(r.stats().written, 0u); // nothing written
    r.write(max);
    CHECK_EQ(r.stats().written, 1u);
    ringlog::reader rd = r.reader();
    CHECK_EQ(rd.next(0ms).value_or(ringlog::record()).data.size(), max.size());

    CHECK_THROWS(RING_RESULT_INVALID_ARGUMENT, r.dump(-1));
    CHECK_EQ(r.try_dump(-1), RING_RESULT_INVALID_ARGUMENT);

    r.close();
    r.close(); // idempotent
    CHECK(r.stats().closed);
    CHECK_THROWS(RING_RESULT_CLOSED, r.write("late"));
    CHECK_THROWS(RING_RESULT_CLOSED, r.write({"la", "te"}));
    CHECK_EQ(r.try_write("late"), RING_RESULT_CLOSED);
    CHECK_EQ(r.try_write({"la", "te"}), RING_RESULT_CLOSED);
    CHECK_THROWS(RING_RESULT_TOO_LARGE, r.write(over)); // argument errors before state errors
    CHECK_EQ(r.stats().written, 1u);
    CHECK(r.flush(0ms)); // flush still works after close
}

void test_timeout_conversion() {
    using ringlog::detail::timeout_ms;
    CHECK_EQ(timeout_ms(0ms), std::int64_t{0});
    CHECK_EQ(timeout_ms(-5ms), std::int64_t{0});
    CHECK_EQ(timeout_ms(std::chrono::hours(-1)), std::int64_t{0});
    CHECK_EQ(timeout_ms(std::chrono::nanoseconds::min()), std::int64_t{0});
    CHECK_EQ(timeout_ms(1ns), std::int64_t{1}); // rounded up, never a poll
    CHECK_EQ(timeout_ms(1us), std::int64_t{1});
    CHECK_EQ(timeout_ms(999us), std::int64_t{1});
    CHECK_EQ(timeout_ms(1000us), std::int64_t{1});
    CHECK_EQ(timeout_ms(1001us), std::int64_t{2});
    CHECK_EQ(timeout_ms(1500us), std::int64_t{2});
    CHECK_EQ(timeout_ms(7ms), std::int64_t{7});
    CHECK_EQ(timeout_ms(2s), std::int64_t{2000});
    CHECK_EQ(timeout_ms(std::chrono::minutes(3)), std::int64_t{180000});
    CHECK_EQ(timeout_ms(std::chrono::duration<double>(0.0005)), std::int64_t{1});
    CHECK_EQ(timeout_ms(std::chrono::duration<double>(1.25)), std::int64_t{1250});
    CHECK_EQ(timeout_ms(std::chrono::duration<double, std::milli>(2.0001)), std::int64_t{3});
    CHECK_EQ(timeout_ms(std::chrono::duration<float>(-1.0f)), std::int64_t{0});
    CHECK_EQ(timeout_ms(std::chrono::duration<double>(std::nan(""))), std::int64_t{0});
    CHECK_EQ(timeout_ms(std::chrono::duration<double>(HUGE_VAL)), std::int64_t{-1}); // forever
    CHECK_EQ(timeout_ms(std::chrono::duration<double>(1e300)), std::int64_t{-1});
    CHECK_EQ(timeout_ms(std::chrono::hours::max()), std::int64_t{-1});
    CHECK_EQ(timeout_ms(std::chrono::milliseconds::max()), std::int64_t{-1});
    CHECK_EQ(timeout_ms(std::chrono::seconds::max()), std::int64_t{-1});
    CHECK_EQ(timeout_ms(std::chrono::nanoseconds::max()), std::int64_t{9223372036855}); // ceil(2^63-1 ns)
    CHECK_EQ(timeout_ms(std::chrono::milliseconds(8'000'000'000'000'000'000)), std::int64_t{8'000'000'000'000'000'000});
    CHECK_EQ(timeout_ms(std::chrono::duration<unsigned, std::micro>(2500u)), std::int64_t{3});
    CHECK_EQ(timeout_ms(std::chrono::duration<std::uint64_t, std::ratio<86400>>(~std::uint64_t{0})), std::int64_t{-1});
    static_assert(ringlog::detail::timeout_ms(std::chrono::seconds(1)) == 1000, "constexpr");
}

void test_timeouts() {
    ringlog::ring r(1 << 16);
    ringlog::reader rd = r.reader();
    char buf[64];

    auto t0 = clk::now();
    CHECK(!rd.next(50ms).has_value());
    long long el = ms_since(t0);
    CHECK(el >= 50 && el <= 50 + SLACK_MS);

    t0 = clk::now();
    CHECK(!rd.next(1us).has_value()); // waits 1 ms, not 0
    el = ms_since(t0);
    CHECK(el >= 1 && el <= SLACK_MS);

    t0 = clk::now();
    CHECK(!rd.next(std::chrono::duration<double>(0.03)).has_value());
    el = ms_since(t0);
    CHECK(el >= 30 && el <= 30 + SLACK_MS);

    t0 = clk::now();
    CHECK(!rd.next(0ms).has_value());
    CHECK(!rd.next(-10ms).has_value());
    CHECK(!rd.try_next().has_value());
    CHECK(ms_since(t0) <= SLACK_MS);

    ringlog::record into;
    t0 = clk::now();
    CHECK_EQ(rd.next_into(into, 20ms), RING_RESULT_TIMEOUT);
    el = ms_since(t0);
    CHECK(el >= 20 && el <= 20 + SLACK_MS);
    CHECK(into.data.empty());

    t0 = clk::now();
    CHECK(!rd.read(buf, sizeof buf, 20ms).has_value());
    el = ms_since(t0);
    CHECK(el >= 20 && el <= 20 + SLACK_MS);
    CHECK(!rd.read(buf, sizeof buf, 0ms).has_value());

    // Blocking calls: woken by a write from another thread.
    std::thread w([&r] {
        std::this_thread::sleep_for(50ms);
        r.write("late");
    });
    t0 = clk::now();
    ringlog::record got = rd.next();
    el = ms_since(t0);
    w.join();
    CHECK_EQ(got.data, std::string_view("late"));
    CHECK_EQ(got.seq, 0u);
    CHECK(el >= 40 && el <= 50 + SLACK_MS);

    // Huge timeouts wait (they are not turned into a poll or a negative
    // count): each of these readers gets the record written after 50 ms.
    auto waiter = [&r](int kind, std::atomic<int> &ok) {
        ringlog::reader mine = r.reader(ringlog::start::newest);
        std::optional<ringlog::record> rec;
        if (kind == 0) rec = mine.next(std::chrono::hours::max());
        if (kind == 1) rec = mine.next(std::chrono::duration<double>(HUGE_VAL));
        if (kind == 2) rec = mine.next(std::chrono::nanoseconds::max());
        if (kind == 3) {
            char b[16];
            std::optional<ringlog::read_result> rr = mine.read(b, sizeof b, std::chrono::seconds::max());
            if (rr && rr->size == 3 && std::memcmp(b, "big", 3) == 0) ok.fetch_add(1);
            return;
        }
        if (rec && rec->data == "big") ok.fetch_add(1);
    };
    std::atomic<int> ok{0};
    std::vector<std::thread> ws;
    for (int k = 0; k < 4; k++) ws.emplace_back(waiter, k, std::ref(ok));
    while (r.stats().readers < 5) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(50ms);
    r.write("big");
    for (std::thread &t : ws) t.join();
    CHECK_EQ(ok.load(), 4);

    // flush with a reader that does not read: false after the timeout.
    t0 = clk::now();
    CHECK(!r.flush(30ms));
    el = ms_since(t0);
    CHECK(el >= 30 && el <= 30 + SLACK_MS);
    t0 = clk::now();
    CHECK(!r.flush(1us)); // rounded up to 1 ms
    CHECK(ms_since(t0) >= 1);
}

void test_reader_positions() {
    ringlog::ring r(1 << 16);
    for (std::uint64_t i = 0; i < 10; i++) r.write(rec_text(i));

    ringlog::reader newest = r.reader(ringlog::start::newest);
    CHECK(!newest.try_next().has_value());

    ringlog::reader at5 = r.reader_at(5);
    for (std::uint64_t i = 5; i < 10; i++) {
        std::optional<ringlog::record> rec = at5.try_next();
        CHECK(rec && rec->seq == i && rec->lost == 0 && rec->data == rec_text(i));
    }
    CHECK(!at5.try_next().has_value());

    ringlog::reader future = r.reader_at(12); // waits for seq 12
    CHECK(!future.try_next().has_value());
    r.write(rec_text(10));
    r.write(rec_text(11));
    CHECK(!future.try_next().has_value());
    r.write(rec_text(12));
    std::optional<ringlog::record> f = future.next(1s);
    CHECK(f && f->seq == 12 && f->data == rec_text(12));

    std::optional<ringlog::record> nw = newest.next(1s);
    CHECK(nw && nw->seq == 10 && nw->data == rec_text(10));

    // A reader at an evicted seq starts at the oldest retained record with
    // the gap as lost.
    ringlog::ring small(1024);
    for (std::uint64_t i = 0; i < 500; i++) small.write(rec_text(i));
    ringlog::stats st = small.stats();
    CHECK(st.oldest_seq > 3);
    ringlog::reader old = small.reader_at(3);
    std::optional<ringlog::record> o = old.try_next();
    CHECK(o && o->seq == st.oldest_seq && o->lost == st.oldest_seq - 3 && o->data == rec_text(o->seq));
    CHECK_EQ(old.lost(), st.oldest_seq - 3);
}

void test_lapping() {
    ringlog::ring r(1024);
    ringlog::reader rd = r.reader();
    ringlog::reader late = r.reader();
    const std::uint64_t total = 10000;
    std::uint64_t read = 0, lost = 0, expect = 0;
    for (std::uint64_t i = 0; i < total; i++) {
        r.write(rec_text(i));
        if (i % 97 == 0) { // read a little now and then
            for (int k = 0; k < 3; k++) {
                std::optional<ringlog::record> rec = rd.try_next();
                if (!rec) break;
                CHECK_EQ(rec->seq, expect + rec->lost);
                CHECK_EQ(rec->data, std::string_view(rec_text(rec->seq)));
                expect = rec->seq + 1;
                read++;
                lost += rec->lost;
            }
        }
    }
    r.close();
    for (const ringlog::record &rec : rd) {
        CHECK_EQ(rec.seq, expect + rec.lost);
        CHECK_EQ(rec.data, std::string_view(rec_text(rec.seq)));
        expect = rec.seq + 1;
        read++;
        lost += rec.lost;
    }
    CHECK_EQ(read + lost, total);
    CHECK(lost > 0);
    CHECK_EQ(rd.lost(), lost);

    // The one that never read: one big loss, then the retained records.
    std::uint64_t lread = 0, llost = 0;
    bool first = true;
    for (const ringlog::record &rec : late) {
        if (first) CHECK(rec.lost > 0);
        if (!first) CHECK_EQ(rec.lost, 0u);
        first = false;
        lread++;
        llost += rec.lost;
    }
    CHECK_EQ(lread + llost, total);
    CHECK_EQ(late.lost(), llost);
}

void test_closed_and_iteration() {
    // Range-for ends at close, in another thread.
    ringlog::ring r(1 << 20);
    std::atomic<std::uint64_t> count{0};
    std::atomic<bool> done{false};
    ringlog::reader rd = r.reader();
    std::thread t([&] {
        std::uint64_t expect = 0;
        for (const ringlog::record &x : rd) {
            if (x.seq != expect || x.lost != 0 || x.data != rec_text(x.seq)) {
                fail_at(__FILE__, __LINE__, "range-for: record " + std::to_string(x.seq) + " wrong");
            }
            expect++;
            count.fetch_add(1);
        }
        done = true;
    });
    for (std::uint64_t i = 0; i < 1000; i++) r.write(rec_text(i));
    CHECK(r.flush(10s));
    std::this_thread::sleep_for(20ms);
    CHECK(!done.load()); // still waiting for more
    r.close();
    t.join();
    CHECK(done.load());
    CHECK_EQ(count.load(), 1000u);

    // After close and drained: next() / next(timeout) / try_next throw
    // CLOSED, next_into returns CLOSED, read reports end, iteration is empty.
    ringlog::reader after = r.reader_at(998); // readers may be made after close
    CHECK_EQ(after.next().seq, 998u);
    CHECK_EQ(after.next(1s).value_or(ringlog::record()).seq, 999u);
    CHECK_THROWS(RING_RESULT_CLOSED, (void)after.next());
    CHECK_THROWS(RING_RESULT_CLOSED, (void)after.next(1s));
    CHECK_THROWS(RING_RESULT_CLOSED, (void)after.try_next());
    ringlog::record into;
    CHECK_EQ(after.next_into(into), RING_RESULT_CLOSED);
    CHECK_EQ(after.next_into(into, 1s), RING_RESULT_CLOSED);
    CHECK(into.data.empty());
    char buf[8];
    ringlog::read_result rr = after.read(buf, sizeof buf);
    CHECK(rr.end && rr.size == 0 && rr.lost == 0);
    std::optional<ringlog::read_result> rr2 = after.read(buf, sizeof buf, 1s);
    CHECK(rr2 && rr2->end);
    CHECK(after.begin() == after.end());
    try {
        (void)after.next();
    } catch (const ringlog::error &e) {
        CHECK(std::string(e.what()).find(::ring_result_str(RING_RESULT_CLOSED)) != std::string::npos);
    }

    // Iterator details: operator->, postfix ++, copies keep their record.
    ringlog::reader it_rd = r.reader_at(990);
    ringlog::reader::iterator it = it_rd.begin();
    CHECK(it != it_rd.end());
    CHECK_EQ(it->seq, 990u);
    ringlog::reader::iterator old = it++;
    CHECK_EQ(old->seq, 990u);
    CHECK_EQ((*old).data, std::string_view(rec_text(990)));
    CHECK_EQ(it->seq, 991u);
    ringlog::record kept = *it; // a copy survives the next increment
    ++it;
    CHECK_EQ(kept.seq, 991u);
    CHECK_EQ(kept.data, std::string_view(rec_text(991)));
    CHECK_EQ(it->seq, 992u);
    std::uint64_t rest = 0;
    for (; it != it_rd.end(); ++it) rest++;
    CHECK_EQ(rest, 8u); // 992..999
    CHECK(ringlog::reader::iterator() == it_rd.end());

    // Freeing the last handle of a ring in memory closes it: readers drain, then end.
    std::optional<ringlog::ring> gone(std::in_place, 4096);
    ringlog::reader orphan = gone->reader();
    gone->write("one");
    gone->write("two");
    gone.reset();
    std::vector<std::string> seen;
    for (const ringlog::record &x : orphan) seen.push_back(x.str());
    CHECK(seen == (std::vector<std::string>{"one", "two"}));
}

void test_big_records() {
    ringlog::ring r(1 << 17); // max_record 32 KiB; all of these stay retained
    const std::size_t sizes[] = {0, 1, 255, 256, 257, 1000, 5000, 300, 0, r.max_record(), 3, 20000};
    auto body = [](std::size_t n, std::size_t salt) {
        std::string s(n, '\0');
        for (std::size_t i = 0; i < n; i++) s[i] = static_cast<char>('a' + (i * 7 + salt) % 26);
        return s;
    };
    ringlog::reader by_next = r.reader();
    ringlog::reader by_into = r.reader();
    ringlog::reader by_iter = r.reader();
    ringlog::reader by_bytes = r.reader();
    std::string all;
    for (std::size_t k = 0; k < std::size(sizes); k++) {
        std::string b = body(sizes[k], k);
        r.write(b);
        all += b;
    }
    r.close();
    ringlog::record into;
    std::size_t k = 0;
    for (const ringlog::record &x : by_iter) {
        std::string b = body(sizes[k], k);
        CHECK_EQ(x.data.size(), b.size());
        CHECK(x.data == b);
        std::optional<ringlog::record> n = by_next.next(0ms);
        CHECK(n && n->seq == k && n->data == b);
        CHECK_EQ(by_into.next_into(into, 0ms), RING_RESULT_OK);
        CHECK(into.seq == k && into.data == b);
        k++;
    }
    CHECK_EQ(k, std::size(sizes));
    CHECK_EQ(by_into.next_into(into, 0ms), RING_RESULT_CLOSED);

    std::string stream;
    std::vector<char> buf(3000);
    for (;;) {
        ringlog::read_result rr = by_bytes.read(buf.data(), buf.size());
        CHECK_EQ(rr.lost, 0u);
        if (rr.end) break;
        stream.append(buf.data(), rr.size);
    }
    CHECK(stream == all);
}

void test_byte_stream() {
    ringlog::ring r(1 << 16);
    ringlog::reader rd = r.reader();
    std::string want;
    for (int i = 0; i < 200; i++) {
        std::string line = "line " + std::to_string(i) + "\n";
        r.write(line);
        if (i % 10 == 0) r.write(""); // empty records add no bytes
        want += line;
    }
    char zero[1];
    ringlog::read_result z = rd.read(zero, 0);
    CHECK(z.size == 0 && !z.end && z.lost == 0);
    std::string got;
    char buf[7]; // records split across calls
    while (got.size() < want.size()) {
        std::optional<ringlog::read_result> rr = rd.read(buf, sizeof buf, 1s);
        CHECK(rr && rr->size > 0 && rr->size <= sizeof buf && rr->lost == 0 && !rr->end);
        if (!rr || rr->size == 0) break;
        got.append(buf, rr->size);
    }
    CHECK(got == want);
    CHECK(!rd.read(buf, sizeof buf, 0ms).has_value());
    r.close();
    CHECK(rd.read(buf, sizeof buf).end);

    // Lapped: one gap report per loss; complete lines + lost = written.
    ringlog::ring s(1024);
    ringlog::reader sr = s.reader();
    const std::uint64_t total = 5000;
    std::uint64_t lines = 0, lost = 0, gaps = 0;
    std::int64_t last = -1;
    std::string partial;
    auto drain = [&](bool until_end) {
        char b[40];
        for (;;) {
            std::optional<ringlog::read_result> rr = sr.read(b, sizeof b, 0ms);
            if (!rr) {
                if (until_end) fail_at(__FILE__, __LINE__, "byte stream timed out before its end");
                return;
            }
            if (rr->end) return;
            if (rr->lost > 0) {
                gaps++;
                lost += rr->lost;
                partial.clear(); // the record it was in is gone; the stream goes on at a record's start
                continue;
            }
            for (std::size_t i = 0; i < rr->size; i++) {
                if (b[i] != '\n') {
                    partial += b[i];
                    continue;
                }
                std::int64_t v = std::strtoll(partial.c_str() + 1, nullptr, 10);
                if (partial.empty() || partial[0] != 'L' || v <= last) {
                    fail_at(__FILE__, __LINE__, "byte stream: bad line \"" + partial + "\"");
                }
                last = v;
                lines++;
                partial.clear();
            }
        }
    };
    for (std::uint64_t i = 0; i < total; i++) {
        s.write("L" + std::to_string(i) + "\n");
        if (i % 50 == 0) drain(false);
    }
    s.close();
    drain(true);
    CHECK(gaps > 0);
    CHECK(partial.empty());
    CHECK_EQ(lines + lost, total);
    CHECK_EQ(sr.lost(), lost);
    CHECK_EQ(last, static_cast<std::int64_t>(total - 1));
}

void test_record_values() {
    const std::string longtext(1000, 'L');
    ringlog::record a(7, 2, "short");
    CHECK(a.seq == 7 && a.lost == 2 && a.data == "short");
    ringlog::record b(8, 0, longtext);

    ringlog::record c(a); // copy: own bytes
    CHECK(c.data == "short" && c.data.data() != a.data.data() && c.seq == 7 && c.lost == 2);
    ringlog::record d(std::move(b)); // move (heap buffer)
    CHECK(d.data == longtext && d.seq == 8);
    CHECK(b.data.empty()); // moved-from: empty, safe
    ringlog::record e(std::move(c)); // move (short string: SSO copy, view re-pointed)
    CHECK(e.data == "short");
    CHECK(e.data.data() != c.data.data() || c.data.empty());

    ringlog::record f;
    CHECK(f.seq == 0 && f.lost == 0 && f.data.empty());
    f = a; // copy-assign
    CHECK(f.data == "short" && f.data.data() != a.data.data());
    f = d; // over a shorter one
    CHECK(f.data == longtext);
    f = std::move(e); // move-assign
    CHECK(f.data == "short" && f.seq == 7);
    ringlog::record *self = &f;
    f = *self; // self copy-assign
    CHECK(f.data == "short");
    f = std::move(*self); // self move-assign
    CHECK(f.data == "short");

    // The source gone (heap: ASan sees any view left pointing into it).
    for (const std::string &text : {std::string("sso"), longtext}) {
        auto src = std::make_unique<ringlog::record>(3, 1, text);
        ringlog::record moved(std::move(*src));
        auto src2 = std::make_unique<ringlog::record>(4, 0, text);
        ringlog::record copied(*src2);
        auto src3 = std::make_unique<ringlog::record>(5, 0, text);
        ringlog::record massign;
        massign = std::move(*src3);
        auto src4 = std::make_unique<ringlog::record>(6, 0, text);
        ringlog::record cassign(1, 1, "old");
        cassign = *src4;
        src.reset();
        src2.reset();
        src3.reset();
        src4.reset();
        CHECK(moved.data == text && moved.seq == 3 && moved.lost == 1);
        CHECK(copied.data == text && massign.data == text && cassign.data == text && cassign.seq == 6);
    }

    // Records kept from next() outlive the reader and later reads.
    std::vector<ringlog::record> kept;
    {
        ringlog::ring r(1 << 16);
        ringlog::reader rd = r.reader();
        r.write(longtext);
        r.write("x");
        r.write(longtext + "y");
        for (int i = 0; i < 3; i++) kept.push_back(rd.next());
        // Growth of the vector moved the records: views must follow.
        ringlog::record into;
        r.write(longtext);
        r.write("tiny"); // next_into reuses a big buffer for a small record
        CHECK(rd.next_into(into) == RING_RESULT_OK && into.data == longtext);
        const char *before = into.data.data();
        CHECK(rd.next_into(into) == RING_RESULT_OK && into.data == "tiny" && into.data.data() == before);
        ringlog::record moved(std::move(into)); // a view shorter than its buffer moves right
        CHECK(moved.data == "tiny");
        ringlog::record copied(moved);
        CHECK(copied.data == "tiny");
    }
    CHECK(kept.size() == 3 && kept[0].data == longtext && kept[1].data == "x" && kept[2].data == longtext + "y");
    CHECK(kept[2].seq == 2);
}

void test_moves() {
    ringlog::ring a(4096);
    a.write("a0");
    ringlog::ring b(std::move(a));
    CHECK(!a && b);
    CHECK_EQ(a.capacity(), std::size_t{0});
    CHECK_EQ(a.max_record(), std::size_t{0});
    CHECK(a.native_handle() == nullptr);
    CHECK_THROWS(RING_RESULT_NULL_PARAMETER, a.write("x"));
    CHECK_EQ(a.try_write("x"), RING_RESULT_NULL_PARAMETER);
    CHECK_EQ(a.try_dump(1), RING_RESULT_NULL_PARAMETER);
    CHECK_THROWS(RING_RESULT_NULL_PARAMETER, a.close());
    CHECK_THROWS(RING_RESULT_NULL_PARAMETER, (void)a.flush(0ms));
    CHECK_THROWS(RING_RESULT_NULL_PARAMETER, (void)a.snapshot());
    CHECK_THROWS(RING_RESULT_NULL_PARAMETER, (void)a.stats());
    CHECK_THROWS(RING_RESULT_NULL_PARAMETER, (void)a.reader());
    CHECK_THROWS(RING_RESULT_NULL_PARAMETER, (void)a.reader_at(0));
    b.write("b1");

    ringlog::ring c(8192);
    c = std::move(b); // frees c's own ring (ASan would report a leak otherwise)
    CHECK(!b && c);
    CHECK_EQ(c.capacity(), std::size_t{4096});
    a = std::move(c); // a moved-from object can be assigned to
    CHECK(a && !c);
    CHECK_EQ(a.snapshot(), std::string("a0b1"));

    // release / adopt: the C handle changes owner.
    ::ring *h = a.release();
    CHECK(!a && h != nullptr);
    CHECK_EQ(::ring_write(h, "c2", 2), RING_RESULT_OK);
    ringlog::ring d = ringlog::ring::adopt(h);
    CHECK_EQ(d.snapshot(), std::string("a0b1c2"));
    ringlog::ring none = ringlog::ring::adopt(nullptr);
    CHECK(!none);

    ringlog::reader r1 = d.reader();
    ringlog::reader r2(std::move(r1));
    CHECK(!r1 && r2);
    CHECK(r1.native_handle() == nullptr);
    CHECK_EQ(r1.lost(), 0u);
    CHECK_THROWS(RING_RESULT_NULL_PARAMETER, (void)r1.next(0ms));
    CHECK_THROWS(RING_RESULT_NULL_PARAMETER, (void)r1.try_next());
    char buf[4];
    CHECK_THROWS(RING_RESULT_NULL_PARAMETER, (void)r1.read(buf, sizeof buf, 0ms));
    CHECK_EQ(r2.next().str(), std::string("a0"));
    ringlog::reader r3 = d.reader_at(2);
    r3 = std::move(r2); // frees r3's reader, takes r2's position
    CHECK_EQ(r3.next().str(), std::string("b1"));
    CHECK_EQ(d.stats().readers, 1u);
    ::ring_reader *rh = r3.release();
    CHECK_EQ(d.stats().readers, 1u);
    ringlog::reader r4 = ringlog::reader::adopt(rh);
    CHECK_EQ(r4.next().str(), std::string("c2"));
    ringlog::reader rnone = ringlog::reader::adopt(nullptr);
    CHECK(!rnone);
    // Moved-from r1, r2, c, b and none are destroyed at the end of scope.
}

void test_flush() {
    ringlog::ring r(1 << 16);
    CHECK(r.flush(0ms)); // no readers: at once
    r.flush();           // forever: returns at once too
    r.write("x");
    CHECK(r.flush(1s));

    {
        ringlog::reader rd = r.reader(); // has not read "x"
        CHECK(!r.flush(0ms));
        CHECK(!r.flush(20ms));
        CHECK(rd.try_next().has_value());
        CHECK(r.flush(0ms));
        r.write("y");
        CHECK(!r.flush(0ms));
    } // freed: flush stops waiting for it
    CHECK(r.flush(0ms));

    // A slow reader in another thread: flush waits for it.
    ringlog::reader slow = r.reader(ringlog::start::newest);
    std::thread t([&slow] {
        for (int i = 0; i < 20; i++) {
            std::this_thread::sleep_for(2ms);
            if (!slow.next(5s)) fail_at(__FILE__, __LINE__, "slow reader timed out");
        }
    });
    for (int i = 0; i < 20; i++) r.write(rec_text(static_cast<std::uint64_t>(i)));
    CHECK(r.flush(10s));
    t.join();
    r.flush();
    r.close();
    CHECK(r.flush(0ms));
}

std::string read_fd(int fd) {
    std::string out;
    char buf[4096];
    ::lseek(fd, 0, SEEK_SET);
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

void test_snapshot_and_dump(const std::string &dir) {
    ringlog::ring r(1024);
    CHECK_EQ(r.snapshot(), std::string());
    r.write("a");
    r.write("bb");
    r.write("");
    r.write({"c", "cc"});
    CHECK_EQ(r.snapshot(), std::string("abbccc"));

    const std::string dump_path = dir + "/dump.out";
    int fd = ::open(dump_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    r.dump(fd);
    CHECK_EQ(read_fd(fd), std::string("abbccc"));
    CHECK(::ftruncate(fd, 0) == 0);
    ::lseek(fd, 0, SEEK_SET);
    CHECK_EQ(r.try_dump(fd), RING_RESULT_OK);
    CHECK_EQ(read_fd(fd), std::string("abbccc"));

    // Lapped: the snapshot is the newest whole records, oldest first.
    std::string all;
    for (std::uint64_t i = 0; i < 300; i++) {
        std::string s = rec_text(i) + ";";
        r.write(s);
        all += s;
    }
    std::string snap = r.snapshot();
    CHECK(!snap.empty() && snap.size() <= r.capacity());
    CHECK(all.size() >= snap.size() && all.compare(all.size() - snap.size(), snap.size(), snap) == 0);
    CHECK(snap.compare(0, 7, "record ") == 0); // starts at a record's start
    ringlog::stats st = r.stats();
    CHECK_EQ(st.written, 304u);
    CHECK(st.oldest_seq > 4);
    CHECK(::ftruncate(fd, 0) == 0);
    ::lseek(fd, 0, SEEK_SET);
    r.dump(fd);
    CHECK(read_fd(fd) == snap);
    ::close(fd);
    ::unlink(dump_path.c_str());

    // A closed descriptor: IO with errno EBADF.
    try {
        r.dump(fd);
        fail_at(__FILE__, __LINE__, "dump to a closed fd did not throw");
    } catch (const ringlog::error &e) {
        CHECK_EQ(e.code(), RING_RESULT_IO);
        CHECK_EQ(e.sys_errno(), EBADF);
    }
    CHECK_EQ(r.try_dump(fd), RING_RESULT_IO);

    // A snapshot while writers go on: still whole records.
    ringlog::ring big(1 << 16);
    std::atomic<bool> stop{false};
    std::thread w([&] {
        for (std::uint64_t i = 0; !stop.load(); i++) big.write(rec_text(i % 1000000) + "\n");
    });
    for (int k = 0; k < 200; k++) {
        std::string s = big.snapshot();
        CHECK(s.empty() || (s.compare(0, 7, "record ") == 0 && s.back() == '\n'));
    }
    stop = true;
    w.join();
}

void test_file_ring(const std::string &dir) {
    const std::string path = dir + "/app.ring";
    std::size_t cap = 0;
    {
        ringlog::ring r = ringlog::ring::open_file(path, 64 * 1024);
        cap = r.capacity();
        CHECK_EQ(cap, std::size_t{64 * 1024});
        r.write("one");
        r.write({"tw", "o"});
        r.write("three");
        // A second handle on the same file, as another process would.
        ringlog::ring other = ringlog::ring::open_file(path.c_str());
        ringlog::reader rd = other.reader();
        std::optional<ringlog::record> rec = rd.next(1s);
        CHECK(rec && rec->seq == 0 && rec->data == "one");
    } // freed, not closed: the file ring stays open
    {
        ringlog::ring r = ringlog::ring::open_file(path); // capacity 0: as it is
        CHECK_EQ(r.capacity(), cap);
        CHECK(!r.stats().closed);
        ringlog::reader rd = r.reader();
        std::vector<std::string> got;
        for (int i = 0; i < 3; i++) {
            std::optional<ringlog::record> rec = rd.next(1s);
            CHECK(rec && rec->seq == static_cast<std::uint64_t>(i));
            if (rec) got.push_back(rec->str());
        }
        CHECK(got == (std::vector<std::string>{"one", "two", "three"}));
        CHECK_EQ(r.snapshot(), std::string("onetwothree"));
        r.close();
        CHECK(r.stats().closed);
        CHECK_THROWS(RING_RESULT_CLOSED, r.write("x"));
        CHECK_THROWS(RING_RESULT_CLOSED, (void)rd.next(1s));
    }
    {
        // A closed file ring opens again for writing; seqs go on.
        ringlog::ring r = ringlog::ring::open_file(path, cap); // equal capacity is fine
        r.write("four");
        ringlog::reader rd = r.reader_at(3);
        std::optional<ringlog::record> rec = rd.next(1s);
        CHECK(rec && rec->seq == 3 && rec->data == "four");
        CHECK_EQ(r.stats().written, 4u);
    }
    CHECK_THROWS(RING_RESULT_INVALID_ARGUMENT, (void)ringlog::ring::open_file(path, cap * 2));
    try {
        (void)ringlog::ring::open_file(dir + "/no/such/dir.ring", 4096);
        fail_at(__FILE__, __LINE__, "open_file in a missing directory did not throw");
    } catch (const ringlog::error &e) {
        CHECK_EQ(e.code(), RING_RESULT_IO);
        CHECK_EQ(e.sys_errno(), ENOENT);
        CHECK(std::string(e.what()).find("ring_open_file") != std::string::npos);
    }
    const std::string missing = dir + "/missing.ring";
    CHECK_THROWS(RING_RESULT_IO, (void)ringlog::ring::open_file(missing)); // capacity 0, no file
    const std::string junk = dir + "/junk.ring";
    {
        int fd = ::open(junk.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        CHECK(fd >= 0);
        std::string text(100000, 'j');
        CHECK(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        ::close(fd);
    }
    CHECK_THROWS(RING_RESULT_BAD_FILE, (void)ringlog::ring::open_file(junk));
    ::unlink(path.c_str());
    ::unlink(junk.c_str());
}

void test_fork() {
    ringlog::ring r(4096);
    ringlog::reader rd = r.reader();
    r.write("before");
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        int bad = 0;
        if (r.try_write("child") != RING_RESULT_FORKED) bad |= 1;
        try {
            r.write("child");
            bad |= 2;
        } catch (const ringlog::error &e) {
            if (e.code() != RING_RESULT_FORKED) bad |= 4;
        }
        try {
            (void)rd.try_next();
            bad |= 8;
        } catch (const ringlog::error &e) {
            if (e.code() != RING_RESULT_FORKED) bad |= 16;
        }
        try {
            r.close();
            bad |= 32;
        } catch (const ringlog::error &e) {
            if (e.code() != RING_RESULT_FORKED) bad |= 64;
        }
        try { // a ring made in the child works
            ringlog::ring mine(4096);
            mine.write("ok");
            if (mine.snapshot() != "ok") bad |= 128;
        } catch (...) {
            bad |= 256;
        }
        ::_exit(bad == 0 ? 0 : 1 + (bad & 0x7f));
    }
    CHECK(pid > 0);
    int status = 0;
    CHECK(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    // The parent is unaffected.
    r.write("after");
    std::optional<ringlog::record> a = rd.next(0ms);
    std::optional<ringlog::record> b = rd.next(0ms);
    CHECK(a && a->data == "before" && b && b->data == "after");
}

// ---- threads ------------------------------------------------------------------

// Record layout: writer id, its counter, payload length, then the payload,
// then an FNV-1a checksum of everything before it.
std::uint32_t fnv(std::string_view s) {
    std::uint32_t h = 2166136261u;
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    return h;
}

std::string make_record(std::uint32_t w, std::uint32_t i, std::string &payload_out) {
    std::uint32_t len = (w * 7919u + i * 104729u) % 600u; // some above the reader's first buffer (256)
    payload_out.assign(len, '\0');
    for (std::uint32_t k = 0; k < len; k++) payload_out[k] = static_cast<char>((w + i + k) * 31u);
    std::string head = "w" + std::to_string(w) + " i" + std::to_string(i) + " n" + std::to_string(len) + " ";
    return head;
}

bool check_record(std::string_view d, std::uint32_t &w, std::uint32_t &i) {
    if (d.size() < 4) return false;
    std::uint32_t sum = 0;
    std::memcpy(&sum, d.data() + d.size() - 4, 4);
    if (fnv(d.substr(0, d.size() - 4)) != sum) return false;
    unsigned len = 0;
    std::string head(d.substr(0, std::min<std::size_t>(d.size(), 40)));
    if (std::sscanf(head.c_str(), "w%u i%u n%u ", &w, &i, &len) != 3) return false;
    std::string payload;
    std::string want_head = make_record(w, i, payload);
    return d.size() == want_head.size() + payload.size() + 4 && d.substr(0, want_head.size()) == want_head &&
           d.substr(want_head.size(), payload.size()) == payload;
}

void writer_thread(const ringlog::ring &r, std::uint32_t w, std::uint32_t n, std::atomic<std::uint64_t> &busy) {
    std::string payload;
    for (std::uint32_t i = 0; i < n; i++) {
        std::string head = make_record(w, i, payload);
        std::string body = head + payload;
        std::uint32_t sum = fnv(body);
        std::string_view sumv(reinterpret_cast<const char *>(&sum), 4);
        for (;;) {
            ring_result res;
            if (i % 3 == 0) { // writev
                res = r.try_write({head, payload, sumv});
            } else if (i % 3 == 1) {
                std::string whole = body + std::string(sumv);
                res = r.try_write(whole);
            } else {
                std::array<std::string_view, 3> parts{head, payload, sumv};
                try {
                    r.writev(parts);
                    res = RING_RESULT_OK;
                } catch (const ringlog::error &e) {
                    res = e.code();
                }
            }
            if (res == RING_RESULT_OK) break;
            if (res != RING_RESULT_BUSY) {
                fail_at(__FILE__, __LINE__, std::string("write: ") + ::ring_result_str(res));
                return;
            }
            busy.fetch_add(1);
            std::this_thread::yield();
        }
    }
}

struct tally {
    std::uint64_t read = 0, lost = 0, bad = 0;
};

void check_stream(const ringlog::record &x, std::uint64_t &expect, std::vector<std::int64_t> &last, tally &t,
                  bool lossless) {
    if (x.seq != expect + x.lost) t.bad++;
    if (lossless && x.lost != 0) t.bad++;
    expect = x.seq + 1;
    t.read++;
    t.lost += x.lost;
    std::uint32_t w = 0, i = 0;
    if (!check_record(x.data, w, i) || w >= last.size()) {
        t.bad++;
        return;
    }
    if (static_cast<std::int64_t>(i) <= last[w]) t.bad++; // per-writer order
    if (lossless && static_cast<std::int64_t>(i) != last[w] + 1) t.bad++;
    last[w] = i;
}

void run_threads(std::size_t capacity, std::uint32_t per_writer, bool lossless) {
    const std::uint32_t writers = 4;
    ringlog::ring r(capacity);
    ringlog::reader r1 = r.reader(); // both exist before the first write: they see seq 0 on
    ringlog::reader r2 = r.reader();
    tally t1, t2;
    std::atomic<std::uint64_t> busy{0};
    std::thread reader1([&] { // range-for
        std::uint64_t expect = 0;
        std::vector<std::int64_t> last(writers, -1);
        for (const ringlog::record &x : r1) check_stream(x, expect, last, t1, lossless);
    });
    std::thread reader2([&] { // next(timeout) / next_into
        std::uint64_t expect = 0;
        std::vector<std::int64_t> last(writers, -1);
        ringlog::record into;
        for (std::uint64_t k = 0;; k++) {
            if (k % 2 == 0) {
                ring_result res = r2.next_into(into, 100ms);
                if (res == RING_RESULT_CLOSED) break;
                if (res == RING_RESULT_TIMEOUT) continue;
                check_stream(into, expect, last, t2, lossless);
            } else {
                try {
                    std::optional<ringlog::record> rec = r2.next(std::chrono::microseconds(100500));
                    if (rec) check_stream(*rec, expect, last, t2, lossless);
                } catch (const ringlog::error &e) {
                    if (e.code() != RING_RESULT_CLOSED) fail_at(__FILE__, __LINE__, e.what());
                    break;
                }
            }
        }
    });
    std::vector<std::thread> ws;
    for (std::uint32_t w = 0; w < writers; w++)
        ws.emplace_back(writer_thread, std::cref(r), w, per_writer, std::ref(busy));
    for (std::thread &t : ws) t.join();
    if (lossless) CHECK(r.flush(60s));
    r.close();
    reader1.join();
    reader2.join();
    const std::uint64_t total = std::uint64_t{writers} * per_writer;
    CHECK_EQ(r.stats().written, total);
    CHECK_EQ(t1.bad, 0u);
    CHECK_EQ(t2.bad, 0u);
    CHECK_EQ(t1.read + t1.lost, total);
    CHECK_EQ(t2.read + t2.lost, total);
    CHECK_EQ(r1.lost(), t1.lost);
    CHECK_EQ(r2.lost(), t2.lost);
    if (lossless) {
        CHECK_EQ(t1.read, total);
        CHECK_EQ(t2.read, total);
    }
    CHECK_EQ(r.stats().dropped, busy.load());
    std::printf("     %u writers x %u records, %zu-byte ring: reader 1 read %llu lost %llu, reader 2 read %llu "
                "lost %llu, busy %llu\n",
                writers, per_writer, capacity, static_cast<unsigned long long>(t1.read),
                static_cast<unsigned long long>(t1.lost), static_cast<unsigned long long>(t2.read),
                static_cast<unsigned long long>(t2.lost), static_cast<unsigned long long>(busy.load()));
}

void test_threads() {
    run_threads(std::size_t{64} << 20, 20000, true); // holds everything (~28 MB): every record read by both
    run_threads(16 * 1024, 20000, false);            // lapped: read + lost = written
}

} // namespace

int main() {
    char tmpl[] = "/tmp/ringlog-hpp-XXXXXX";
    const char *dir = ::mkdtemp(tmpl);
    if (dir == nullptr) {
        std::perror("mkdtemp");
        return 2;
    }
    struct {
        const char *name;
        void (*fn)(const std::string &);
    } tests[] = {
        {"basics", [](const std::string &) { test_basics(); }},
        {"writev with many parts", [](const std::string &) { test_writev_many_parts(); }},
        {"errors", [](const std::string &) { test_errors(); }},
        {"timeout conversion", [](const std::string &) { test_timeout_conversion(); }},
        {"timeouts", [](const std::string &) { test_timeouts(); }},
        {"reader positions", [](const std::string &) { test_reader_positions(); }},
        {"lapping", [](const std::string &) { test_lapping(); }},
        {"close ends iteration", [](const std::string &) { test_closed_and_iteration(); }},
        {"big records", [](const std::string &) { test_big_records(); }},
        {"byte stream", [](const std::string &) { test_byte_stream(); }},
        {"record values", [](const std::string &) { test_record_values(); }},
        {"moves", [](const std::string &) { test_moves(); }},
        {"flush", [](const std::string &) { test_flush(); }},
        {"snapshot and dump", test_snapshot_and_dump},
        {"file ring", test_file_ring},
        {"fork", [](const std::string &) { test_fork(); }},
        {"threads", [](const std::string &) { test_threads(); }},
    };
    for (const auto &t : tests) {
        const int before = failures.load();
        auto t0 = clk::now();
        try {
            t.fn(dir);
        } catch (const std::exception &e) {
            fail_at(__FILE__, __LINE__, std::string(t.name) + ": unexpected exception: " + e.what());
        }
        std::printf("%s %s (%lld ms)\n", failures.load() == before ? "ok  " : "FAIL", t.name, ms_since(t0));
        std::fflush(stdout);
    }
    ::rmdir(dir);
    if (failures.load() != 0) {
        std::printf("%d check(s) failed\n", failures.load());
        return 1;
    }
    std::printf("all C++ tests passed (C++%ld)\n", __cplusplus / 100 % 100);
    return 0;
}
