// Compiled, not run (tests/cpp/Makefile `header`): ringlog.hpp on its own,
// first in the unit (self-contained), included twice (guarded), and every
// member and template used so that warnings inside their bodies show.
#include <ringlog.hpp>
#include <ringlog.hpp>

#include <array>
#include <chrono>
#include <vector>
#if __cplusplus >= 202002L
#include <iterator>
#include <ranges>
static_assert(std::input_iterator<ringlog::reader::iterator>);
static_assert(std::ranges::input_range<ringlog::reader>);
#endif
static_assert(std::is_nothrow_move_constructible_v<ringlog::ring> && !std::is_copy_constructible_v<ringlog::ring>);
static_assert(std::is_nothrow_move_assignable_v<ringlog::ring> && !std::is_copy_assignable_v<ringlog::ring>);
static_assert(std::is_nothrow_move_constructible_v<ringlog::reader> && !std::is_copy_constructible_v<ringlog::reader>);
static_assert(std::is_nothrow_move_assignable_v<ringlog::reader> && !std::is_copy_assignable_v<ringlog::reader>);
static_assert(std::is_nothrow_destructible_v<ringlog::ring> && std::is_nothrow_destructible_v<ringlog::reader>);
static_assert(std::is_nothrow_move_constructible_v<ringlog::record> && std::is_copy_constructible_v<ringlog::record>);
static_assert(std::is_base_of_v<std::runtime_error, ringlog::error>);
static_assert(!std::is_constructible_v<ringlog::ring, ::ring *>, "adopting a C handle is explicit: ring::adopt");

int ringlog_hpp_header_check(const char *path);

int ringlog_hpp_header_check(const char *path) {
    using namespace std::chrono_literals;
    ringlog::ring r(1 << 20);
    ringlog::ring f = ringlog::ring::open_file(path, 1 << 20);
    ringlog::ring g = ringlog::ring::open_file(std::string(path));
    f = std::move(g);
    r.write("hello");
    r.write({"a", "b"});
    std::array<std::string_view, 2> arr{"x", "y"};
    std::vector<std::string_view> vec{"x", "y"};
    r.writev(arr);
    r.writev(vec);
    r.writev(vec.data(), vec.size());
    int bad = 0;
    bad += r.try_write("x") != RING_RESULT_OK;
    bad += r.try_write({"x", "y"}) != RING_RESULT_OK;
    bad += r.try_writev(vec.data(), vec.size()) != RING_RESULT_OK;
    bad += r.try_writev(arr) != RING_RESULT_OK;
    bad += r.try_dump(2) != RING_RESULT_OK;
    r.dump(2);
    ringlog::stats st = r.stats();
    std::uint64_t sizes = r.capacity() + r.max_record() + st.written;

    ringlog::reader rd = r.reader(ringlog::start::oldest);
    ringlog::reader nw = r.reader(ringlog::start::newest);
    ringlog::reader at = r.reader_at(42);
    rd = std::move(at);
    std::optional<ringlog::record> rec = rd.next(std::chrono::milliseconds(100));
    rec = rd.next(1us);
    rec = rd.next(std::chrono::duration<double>(0.5));
    rec = rd.next(std::chrono::duration<float, std::milli>(2.5f));
    rec = rd.next(std::chrono::duration<unsigned, std::micro>(7u));
    rec = rd.next(std::chrono::hours::max());
    rec = rd.try_next();
    ringlog::record one = rd.next();
    ringlog::record into;
    bad += rd.next_into(into) != RING_RESULT_OK;
    bad += rd.next_into(into, 5ms) != RING_RESULT_OK;
    for (const ringlog::record &x : rd) {
        sizes += x.data.size() + x.seq + x.lost;
    }
    ringlog::reader::iterator it = nw.begin();
    if (it != nw.end()) sizes += (*it).data.size() + it->str().size() + (it++)->data.size();
    char buf[64];
    ringlog::read_result rr = nw.read(buf, sizeof buf);
    std::optional<ringlog::read_result> rt = nw.read(buf, sizeof buf, 10ms);
    sizes += rr.size + rr.lost + (rt && rt->end ? 1u : 0u);
    sizes += nw.lost();
    bool flushed = r.flush(std::chrono::seconds(1));
    r.flush();
    r.close();
    std::string all = r.snapshot();
    ::ring_reader *rh = nw.release();
    ringlog::reader back = ringlog::reader::adopt(rh);
    ::ring *h = f.release();
    ringlog::ring fb = ringlog::ring::adopt(h);
    try {
        r.write("late");
    } catch (const ringlog::error &e) {
        bad += e.code() == RING_RESULT_CLOSED ? 0 : e.sys_errno();
    }
    ringlog::record copy(one);
    copy = into;
    return bad + (sizes + all.size() > 0 ? 1 : 0) + (flushed ? 1 : 0) + (back ? 1 : 0) +
           (fb.native_handle() != nullptr ? 1 : 0) + (copy.data.empty() ? 0 : 1) +
           (st.closed ? 1 : 0);
}
