/* The C harness's shared helpers: checks, bounded waits, self-checking
 * records. Every case runs in its own process; a failed CHECK prints where
 * and exits with status 1, from whichever thread it fails in. */
#ifndef RINGLOG_HARNESS_H
#define RINGLOG_HARNESS_H

#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ringlog.h"

/* Fails the current case: prints where and why, exits with status 1. */
#define FAIL(...)                                                        \
    do {                                                                 \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
        fprintf(stderr, __VA_ARGS__);                                    \
        fprintf(stderr, "\n");                                           \
        exit(1);                                                         \
    } while (0)

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) FAIL("%s", #cond);                                  \
    } while (0)

/* Checks a ring_result against the one expected, naming both. */
#define CHECK_RES(call, want)                                            \
    do {                                                                 \
        ring_result got_ = (call);                                       \
        if (got_ != (want))                                              \
            FAIL("%s returned %u (%s), wanted %s", #call, (unsigned)got_, \
                 ring_result_str((uint32_t)got_), #want);                \
    } while (0)

/* Milliseconds on a monotonic clock. */
static inline int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(int64_t ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Joins a thread, failing the case if it does not end within `secs`. */
static inline void *join_within(pthread_t t, int secs, const char *what) {
    struct timespec ts;
    void *ret = NULL;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += secs;
    if (pthread_timedjoin_np(t, &ret, &ts) != 0) FAIL("%s did not finish within %d s", what, secs);
    return ret;
}

/* Work is divided by RINGLOG_TEST_DIV (default 1): slow checkers such as
 * valgrind run the same cases with fewer records. */
static inline uint64_t scaled(uint64_t n) {
    const char *d = getenv("RINGLOG_TEST_DIV");
    uint64_t div = d ? strtoull(d, NULL, 10) : 1;
    if (div == 0) div = 1;
    return n / div > 0 ? n / div : 1;
}

/* Self-checking records:
 *   u32 writer | u32 len | u64 counter | filler (from writer, counter) | u32 fnv1a
 * Minimum length REC_MIN. */
#define REC_MIN 20

static inline uint32_t fnv1a(const uint8_t *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static inline size_t make_record(uint8_t *buf, uint32_t writer, uint64_t counter, size_t len) {
    uint32_t l = (uint32_t)len;
    memcpy(buf, &writer, 4);
    memcpy(buf + 4, &l, 4);
    memcpy(buf + 8, &counter, 8);
    for (size_t i = 16; i < len - 4; i++) buf[i] = (uint8_t)((writer * 131u + counter * 7u + i) % 251u);
    uint32_t sum = fnv1a(buf, len - 4);
    memcpy(buf + len - 4, &sum, 4);
    return len;
}

/* Checks a record made by make_record; 0 when whole and correct. */
static inline int check_record(const uint8_t *buf, size_t len, uint32_t writers, uint32_t *writer, uint64_t *counter) {
    uint32_t w, l, sum;
    uint64_t c;
    if (len < REC_MIN) return -1;
    memcpy(&w, buf, 4);
    memcpy(&l, buf + 4, 4);
    memcpy(&c, buf + 8, 8);
    memcpy(&sum, buf + len - 4, 4);
    if (l != len || w >= writers) return -1;
    if (fnv1a(buf, len - 4) != sum) return -1;
    for (size_t i = 16; i < len - 4; i++)
        if (buf[i] != (uint8_t)((w * 131u + c * 7u + i) % 251u)) return -1;
    *writer = w;
    *counter = c;
    return 0;
}

/* Length of the record a test writer writes as its `counter`th. */
static inline size_t record_len(uint32_t writer, uint64_t counter, size_t max_len) {
    return REC_MIN + (size_t)((counter * 7919u + writer * 13u) % (max_len - REC_MIN + 1));
}

#endif
