// ringlog's C/C++ benchmark: ring_write through libringlog.so against the
// memcpy limit and against spdlog's ringbuffer_sink (Debian's libspdlog-dev),
// all in one process and run. Medians of repeated runs; ratios in the same
// run. Run through scripts/bench.
//
//   bench [--quick] [--json FILE]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
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
};

static void print(const Row &r) {
    std::printf("%-20s %4zuMiB %6zu %-58s %10.2f ns/record", r.group.c_str(), r.ring >> 20, r.size, r.name.c_str(),
                r.value);
    if (!r.baseline.empty()) std::printf(" %6.2fx %s", r.value / r.baseline_value, r.baseline.c_str());
    std::printf("\n");
}

static std::string json(const Row &r) {
    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "{\"lang\":\"c++\",\"group\":\"%s\",\"name\":\"%s\",\"size\":%zu,\"ring\":%zu,\"value\":%g,"
                  "\"unit\":\"ns/record\",\"baseline\":%s%s%s,\"baseline_value\":%s,\"target\":%s}\n",
                  r.group.c_str(), r.name.c_str(), r.size, r.ring, r.value, r.baseline.empty() ? "" : "\"",
                  r.baseline.empty() ? "null" : r.baseline.c_str(), r.baseline.empty() ? "" : "\"",
                  r.baseline.empty() ? "null" : std::to_string(r.baseline_value).c_str(),
                  r.target > 0 ? std::to_string(r.target).c_str() : "null");
    return buf;
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
    FILE *out = json_path ? std::fopen(json_path, "w") : nullptr;
    for (const Row &r : rows) {
        print(r);
        if (out) std::fputs(json(r).c_str(), out);
    }
    if (out) std::fclose(out);
    return 0;
}
