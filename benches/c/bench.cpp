// ringlog's C/C++ benchmark: ring_write through libringlog.so against the
// memcpy limit and against spdlog's ringbuffer_sink (Debian's libspdlog-dev),
// all in one process and run. Medians of repeated runs; ratios in the same
// run. Run through scripts/bench.
//
// "many writers": 1, 2, 4, 8 and 32 threads writing 64 B and 1 KiB records
// back to back into one shared 1 MiB ring (ring_write) or one shared
// spdlog ringbuffer_sink_mt (its log(), no formatting), started together,
// stopped at a common deadline; records per second of all threads together. The two
// take turns within every repeat; a value is the median over the repeats
// with the min and max beside it, a ratio the median of each repeat's ratio.
//
//   bench [--quick] [--json FILE]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>
#include <spdlog/sinks/ringbuffer_sink.h>

extern "C" {
#include "ringlog.h"
}

using Clock = std::chrono::steady_clock;

struct Plan {
    std::chrono::milliseconds run;
    int repeats;
};

// Median ns per call of `op`, each run lasting `plan.run`.
static double ns_per_op(const Plan &plan, const std::function<void()> &op) {
    for (int i = 0; i < 1000; i++) op();
    std::vector<double> runs;
    for (int r = 0; r < plan.repeats; r++) {
        uint64_t n = 0;
        auto t0 = Clock::now();
        std::chrono::nanoseconds e{};
        do {
            for (int i = 0; i < 256; i++) op();
            n += 256;
            e = Clock::now() - t0;
        } while (e < plan.run);
        runs.push_back(double(e.count()) / double(n));
    }
    std::sort(runs.begin(), runs.end());
    return runs[runs.size() / 2];
}

struct Row {
    std::string group, name;
    size_t size, ring;
    double value;
    std::string baseline;
    double baseline_value;
    double target;  // 0: none
    std::string unit = "ns/record";
    int threads = 0;          // writer threads ("many writers" rows)
    std::string imp{}, metric{};  // which implementation, which value of it
    double min = 0, max = 0;  // spread over the runs, when runs > 0
    int runs = 0;
};

static void print(const Row &r) {
    if (!r.metric.empty()) return;  // "many writers" rows print a summary as they are measured
    std::printf("%-20s %4zuMiB %6zu %-58s %10.2f ns/record", r.group.c_str(), r.ring >> 20, r.size, r.name.c_str(),
                r.value);
    if (!r.baseline.empty()) std::printf(" %6.2fx %s", r.value / r.baseline_value, r.baseline.c_str());
    std::printf("\n");
}

static std::string json(const Row &r) {
    char extra[512] = "";
    if (!r.metric.empty())
        std::snprintf(extra, sizeof extra,
                      ",\"threads\":%d,\"impl\":\"%s\",\"metric\":\"%s\",\"min\":%.17g,\"max\":%.17g,\"runs\":%d",
                      r.threads, r.imp.c_str(), r.metric.c_str(), r.min, r.max, r.runs);
    char buf[2048];
    std::snprintf(buf, sizeof buf,
                  "{\"lang\":\"c++\",\"group\":\"%s\",\"name\":\"%s\",\"size\":%zu,\"ring\":%zu,\"value\":%.17g,"
                  "\"unit\":\"%s\",\"baseline\":%s%s%s,\"baseline_value\":%s,\"target\":%s%s}\n",
                  r.group.c_str(), r.name.c_str(), r.size, r.ring, r.value, r.unit.c_str(),
                  r.baseline.empty() ? "" : "\"", r.baseline.empty() ? "null" : r.baseline.c_str(),
                  r.baseline.empty() ? "" : "\"", r.baseline.empty() ? "null" : std::to_string(r.baseline_value).c_str(),
                  r.target > 0 ? std::to_string(r.target).c_str() : "null", extra);
    return buf;
}

// ---- many writers ------------------------------------------------------------

// Median, min and max of the values of the runs.
struct Spread {
    double median, min, max;
    int runs;
};

static Spread spread_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return {median, v.front(), v.back(), int(n)};
}

struct MtRun {
    double ok_per_s, failed_per_s;
};

// `threads` threads call write() (true: taken, false: refused) back to back
// from a common start (all wait until every thread is ready) until a common
// deadline, `run` after the first thread's start: every 64th write a thread
// reads the clock, and the first to find the deadline passed raises a stop
// flag, which every thread reads every 16 writes. (The main thread cannot
// time the run: with 32 writers on 2 cores it gets a core back late.)
// Counted from the first thread's start to the deadline.
template <class Write>
static MtRun run_threads(int threads, std::chrono::milliseconds run, const Write &write) {
    struct alignas(64) Count {
        uint64_t ok = 0, failed = 0;
        int64_t began = 0;
    };
    auto now = [] { return int64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count()); };
    const int64_t run_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(run).count();
    std::vector<Count> counts(threads);
    std::atomic<int> ready{0};
    std::atomic<bool> go{false}, stop{false};
    std::atomic<int64_t> deadline{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < threads; i++)
        ts.emplace_back([&, i] {
            Count c;
            ready.fetch_add(1);
            while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
            c.began = now();
            int64_t unset = 0;
            deadline.compare_exchange_strong(unset, c.began + run_ns, std::memory_order_relaxed);
            const int64_t end = deadline.load(std::memory_order_relaxed);
            for (unsigned batch = 1; !stop.load(std::memory_order_relaxed); batch++) {
                for (int k = 0; k < 16; k++) (write() ? c.ok : c.failed)++;
                if (batch % 4 == 0 && now() >= end) stop.store(true, std::memory_order_relaxed);
            }
            counts[i] = c;
        });
    while (ready.load() < threads) std::this_thread::yield();
    go.store(true, std::memory_order_release);
    for (auto &t : ts) t.join();
    int64_t first = INT64_MAX;
    uint64_t ok = 0, failed = 0;
    for (const Count &c : counts) {
        first = std::min(first, c.began);
        ok += c.ok;
        failed += c.failed;
    }
    double secs = double(deadline.load() - first) / 1e9;
    return {double(ok) / secs, double(failed) / secs};
}

// Framing as ringlog's: 16-byte header, payload padded to 8.
static size_t framed(size_t len) { return 16 + ((len + 7) & ~size_t(7)); }

static void many_writers(const Plan &plan, std::vector<Row> &rows) {
    const size_t cap = size_t(1) << 20;
    for (size_t size : {size_t(64), size_t(1024)})
    for (int threads : {1, 2, 4, 8, 32}) {
        std::string text(size, 'x');
        spdlog::details::log_msg msg("bench", spdlog::level::info, spdlog::string_view_t(text.data(), text.size()));
        std::vector<double> spd, rl, rl_failed, ratio;
        for (int rep = 0; rep < plan.repeats; rep++) {
            MtRun s{}, g{};
            for (int k = 0; k < 2; k++) {
                if ((rep + k) % 2 == 0) {
                    size_t items = std::max<size_t>(cap / size, 2);
                    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(items);
                    for (size_t i = 0; i <= items; i++) sink->log(msg);  // warm: full once
                    s = run_threads(threads, plan.run, [&] {
                        sink->log(msg);
                        return true;
                    });
                } else {
                    ring *r = nullptr;
                    if (ring_new(cap, &r) != RING_RESULT_OK) std::exit(1);
                    for (size_t i = 0; i <= cap / framed(size); i++) ring_write(r, text.data(), size);  // warm
                    g = run_threads(threads, plan.run,
                                    [&] { return ring_write(r, text.data(), size) == RING_RESULT_OK; });
                    ring_free(r);
                }
            }
            spd.push_back(s.ok_per_s);
            rl.push_back(g.ok_per_s);
            rl_failed.push_back(g.failed_per_s);
            ratio.push_back(g.ok_per_s / s.ok_per_s);
        }
        auto row = [&](const char *name, const char *imp, const char *metric, const char *unit, Spread sp) {
            Row r{"many writers", name, size, cap, sp.median, "", 0, 0};
            r.unit = unit;
            r.threads = threads;
            r.imp = imp;
            r.metric = metric;
            r.min = sp.min;
            r.max = sp.max;
            r.runs = sp.runs;
            rows.push_back(r);
        };
        Spread s = spread_of(spd), g = spread_of(rl), f = spread_of(rl_failed), x = spread_of(ratio);
        row("spdlog ringbuffer_sink_mt::log", "spdlog", "throughput", "records/s", s);
        row("ringlog ring_write (libringlog.so)", "ringlog", "throughput", "records/s", g);
        row("ringlog ring_write (libringlog.so)", "ringlog", "throughput vs spdlog", "x", x);
        row("ringlog ring_write (libringlog.so)", "ringlog", "failed", "writes/s", f);
        std::printf("many writers %5zu B %2d thr  spdlog sink %7.2f M/s [%.2f-%.2f]  ring_write %7.2f M/s [%.2f-%.2f]"
                    "  %5.2fx spdlog [%.2f-%.2f]  failed %.0f/s\n",
                    size, threads, s.median / 1e6, s.min / 1e6, s.max / 1e6, g.median / 1e6, g.min / 1e6,
                    g.max / 1e6, x.median, x.min, x.max, f.median);
        std::fflush(stdout);
    }
}

int main(int argc, char **argv) {
    bool quick = false;
    const char *json_path = nullptr;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--quick")) quick = true;
        if (!std::strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
    }
    Plan plan = quick ? Plan{std::chrono::milliseconds(15), 3} : Plan{std::chrono::milliseconds(60), 7};
    std::vector<size_t> sizes = quick ? std::vector<size_t>{64, 1024} : std::vector<size_t>{64, 256, 1024, 16384};
    std::vector<Row> rows;

    for (size_t cap : {size_t(1) << 20, size_t(64) << 20})
    for (size_t size : sizes) {
        std::vector<char> src(size, 'x'), dst(cap, 1);
        size_t off = 0;
        double memcpy_ns = ns_per_op(plan, [&] {
            if (off + size > cap) off = 0;
            std::memcpy(dst.data() + off, src.data(), size);
            off += size;
            asm volatile("" : : "r"(dst.data()) : "memory");
        });
        rows.push_back({"C/C++", "memcpy (the limit)", size, cap, memcpy_ns, "", 0, 0});

        ring *r = nullptr;
        if (ring_new(cap, &r) != RING_RESULT_OK) return 1;
        double ring_ns = ns_per_op(plan, [&] { ring_write(r, src.data(), size); });
        ring_free(r);
        double target = size == 64 ? 8.0 : size == 1024 ? 2.0 : size == 16384 ? 1.2 : 0;
        rows.push_back({"C/C++", "ringlog ring_write (libringlog.so)", size, cap, ring_ns, "memcpy", memcpy_ns, target});

        // spdlog's ring: the sink alone (no formatting), then through a logger.
        auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(std::max<size_t>(cap / size, 2));
        std::string text(src.begin(), src.end());
        spdlog::details::log_msg msg("bench", spdlog::level::info, spdlog::string_view_t(text.data(), text.size()));
        double sink_ns = ns_per_op(plan, [&] { sink->log(msg); });
        rows.push_back({"C/C++", "spdlog ringbuffer_sink_mt::log", size, cap, sink_ns, "memcpy", memcpy_ns, 0});
        spdlog::logger logger("bench", sink);
        logger.set_pattern("%v");
        double logger_ns = ns_per_op(plan, [&] { logger.info(spdlog::string_view_t(text.data(), text.size())); });
        rows.push_back({"C/C++", "spdlog logger.info -> ringbuffer_sink_mt", size, cap, logger_ns, "memcpy", memcpy_ns, 0});
    }
    // Longer runs, more of them, for the rows with several threads (as the
    // Rust benchmark's Plan::threaded).
    many_writers(Plan{plan.run * 2, plan.repeats * 2 + 1}, rows);
    FILE *out = json_path ? std::fopen(json_path, "w") : nullptr;
    for (const Row &r : rows) {
        print(r);
        if (out) std::fputs(json(r).c_str(), out);
    }
    if (out) std::fclose(out);
    return 0;
}
