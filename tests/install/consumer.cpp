// A C++17 program built with CMake against an installed ringlog only
// (tests/install/run; find_package(ringlog CONFIG REQUIRED), target
// ringlog::ringlog). Uses ringlog.hpp when it is installed, else the C API.
// Writes records (also with ring_writef and ring_writev), reads them back,
// checks seqs, bytes and ring_version(). Exits non-zero on any mismatch.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#if __has_include(<ringlog.hpp>)
#include <ringlog.hpp>
#define USE_HPP 1
#else
#include <ringlog.h>
#define USE_HPP 0
#endif

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "consumer.cpp:%d: check failed: %s\n", __LINE__, #cond); \
            std::exit(1);                                                             \
        }                                                                             \
    } while (0)

int main() {
    const std::string version = std::to_string(RINGLOG_VERSION_MAJOR) + "." +
                                std::to_string(RINGLOG_VERSION_MINOR) + "." +
                                std::to_string(RINGLOG_VERSION_PATCH);
    CHECK(version == ring_version());
    const char *want[] = {"hello", "f=1.50 ok", "one record"};

#if USE_HPP
    ringlog::ring r(1 << 20);
    r.write("hello");
    CHECK(ring_writef(r.native_handle(), "f=%.2f %s", 1.5, "ok") == RING_RESULT_OK);
    ring_slice parts[2] = {{"one ", 4}, {"record", 6}};
    CHECK(ring_writev(r.native_handle(), parts, 2) == RING_RESULT_OK);
    ringlog::reader rd = r.reader(ringlog::start::oldest);
    for (std::uint64_t i = 0; i < 3; i++) {
        std::optional<ringlog::record> rec = rd.next(std::chrono::milliseconds(100));
        CHECK(rec.has_value());
        CHECK(rec->seq == i && rec->lost == 0);
        CHECK(rec->data == want[i]);
    }
    CHECK(!rd.next(std::chrono::milliseconds(10)).has_value());
    std::printf("ok (ringlog.hpp): ringlog %s\n", ring_version());
#else
    ring *r = nullptr;
    CHECK(ring_new(1 << 20, &r) == RING_RESULT_OK);
    CHECK(ring_write(r, "hello", 5) == RING_RESULT_OK);
    CHECK(ring_writef(r, "f=%.2f %s", 1.5, "ok") == RING_RESULT_OK);
    ring_slice parts[2] = {{"one ", 4}, {"record", 6}};
    CHECK(ring_writev(r, parts, 2) == RING_RESULT_OK);
    ring_reader *rd = nullptr;
    CHECK(ring_reader_new(r, RING_START_OLDEST, 0, &rd) == RING_RESULT_OK);
    char buf[256];
    ring_record rec;
    for (std::uint64_t i = 0; i < 3; i++) {
        CHECK(ring_reader_next(rd, buf, sizeof buf, &rec, 100) == RING_RESULT_OK);
        CHECK(rec.seq == i && rec.lost == 0);
        CHECK(std::string_view(buf, rec.len) == want[i]);
    }
    CHECK(ring_reader_next(rd, buf, sizeof buf, &rec, 10) == RING_RESULT_TIMEOUT);
    ring_reader_free(rd);
    ring_free(r);
    std::printf("ok (C API from C++): ringlog %s\n", ring_version());
#endif
    return 0;
}
