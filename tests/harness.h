/* The C harness's shared helpers: checks, bounded waits, self-checking
 * records. Every case runs in its own process; a failed CHECK prints where
 * and exits with status 1, from whichever thread it fails in. */
#ifndef RINGLOG_HARNESS_H
#define RINGLOG_HARNESS_H

#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
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

/* A watchdog's limit: `secs` stretched by RINGLOG_WATCHDOG_FACTOR (default
 * 1), as slow checkers (valgrind, sanitizers) need. */
static inline int watchdog_secs(int secs) {
    const char *f = getenv("RINGLOG_WATCHDOG_FACTOR");
    long factor = f ? strtol(f, NULL, 10) : 1;
    if (factor < 1) factor = 1;
    if (factor > 1000) factor = 1000;
    return secs * (int)factor;
}

/* Joins a thread, failing the case if it does not end within `secs`
 * (stretched by RINGLOG_WATCHDOG_FACTOR). */
static inline void *join_within(pthread_t t, int secs, const char *what) {
    struct timespec ts;
    void *ret = NULL;
    secs = watchdog_secs(secs);
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

/* Parses `len` bytes of make_record records back to back, as a snapshot or
 * a dump holds them. Returns how many whole, correct records the bytes are,
 * or -1 if any byte is not part of one (a torn, cut or corrupt record).
 * With `last` (one slot per writer, -1 before its first record) it also
 * checks that each writer's counters increase, as they must within one
 * snapshot (records come oldest first). Pure computation: safe in a signal
 * handler. */
static inline int64_t parse_records(const uint8_t *buf, size_t len, uint32_t writers, int64_t *last) {
    int64_t count = 0;
    size_t off = 0;
    while (off < len) {
        uint32_t l, w;
        uint64_t c;
        if (len - off < REC_MIN) return -1;
        memcpy(&l, buf + off + 4, 4);
        if (l < REC_MIN || l > len - off) return -1;
        if (check_record(buf + off, l, writers, &w, &c) != 0) return -1;
        if (last) {
            if (last[w] >= 0 && (int64_t)c <= last[w]) return -1;
            last[w] = (int64_t)c;
        }
        off += l;
        count++;
    }
    return count;
}

/* The ring's cost of a record of `len` bytes: a 16-byte header, the
 * payload, padding to a multiple of 8. */
static inline uint64_t frame_size(size_t len) {
    return (16 + (uint64_t)len + 7) & ~(uint64_t)7;
}

/* Writes one record whose bytes are `buf[0..len)` with ring_writev, cut
 * into `parts` parts (1..8) at points that depend on `salt`; some parts
 * are empty (and then sometimes have NULL data). Pure besides the call:
 * safe in a signal handler. */
static inline ring_result writev_split(const ring *r, const uint8_t *buf, size_t len, unsigned parts, uint64_t salt) {
    ring_slice s[8];
    size_t at = 0;
    if (parts < 1) parts = 1;
    if (parts > 8) parts = 8;
    for (unsigned i = 0; i < parts; i++) {
        size_t left = len - at;
        size_t take = i + 1 == parts ? left : (size_t)((salt * 2654435761u + i * 40503u) % (left + 1));
        if ((salt + i) % 5 == 0 && i + 1 < parts) take = 0; /* an empty part now and then */
        s[i].data = take == 0 && (salt + i) % 2 == 0 ? NULL : buf + at;
        s[i].len = take;
        at += take;
    }
    return ring_writev(r, s, parts);
}

/* ---------------------------------------------------------------------
 * A checking reader, shared by the concurrency cases.
 * ------------------------------------------------------------------- */

typedef struct {
    ring_reader *rd;
    uint32_t writers;
    int slow;                /* pause now and then, to be lapped */
    const int64_t *timeouts; /* cycled through per call; NULL: 10 s each */
    size_t ntimeouts;
    atomic_ullong *progress; /* bumped after each call, if not NULL */
    uint64_t read;           /* records read */
    uint64_t lost;           /* sum of the lost counts reported */
    uint64_t timeouts_seen;  /* calls that ended with RING_RESULT_TIMEOUT */
    uint64_t first_seq;      /* seq the reader's accounting starts at */
    int64_t last_seq;        /* -1 before the first record */
} reader_ctx;

/* Reads until the end of the closed ring, checking every record: whole and
 * correct, seq = previous + 1 + lost, per-writer counters increasing. With
 * `timeouts`, a TIMEOUT is allowed only for a call with a bounded wait. */
static inline void *checker_main(void *arg) {
    reader_ctx *c = arg;
    size_t cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    uint64_t *last_counter = calloc(c->writers, sizeof *last_counter);
    uint8_t *seen = calloc(c->writers, 1);
    CHECK(buf && last_counter && seen);
    c->last_seq = -1;
    for (uint64_t call = 0;; call++) {
        ring_record rec;
        int64_t timeout = c->timeouts ? c->timeouts[call % c->ntimeouts] : 10000;
        ring_result res = ring_reader_next(c->rd, buf, cap, &rec, timeout);
        if (c->progress) atomic_fetch_add_explicit(c->progress, 1, memory_order_relaxed);
        if (res == RING_RESULT_CLOSED) break;
        if (res == RING_RESULT_TIMEOUT && c->timeouts && timeout >= 0) {
            c->timeouts_seen++;
            continue;
        }
        if (res != RING_RESULT_OK) FAIL("reader: ring_reader_next returned %s", ring_result_str(res));
        if (c->last_seq < 0) c->first_seq = rec.seq - rec.lost;
        uint64_t expect = c->last_seq < 0 ? c->first_seq : (uint64_t)c->last_seq + 1;
        if (rec.seq != expect + rec.lost)
            FAIL("seq %llu after %lld with lost %llu", (unsigned long long)rec.seq, (long long)c->last_seq,
                 (unsigned long long)rec.lost);
        uint32_t w;
        uint64_t counter;
        if (check_record(buf, rec.len, c->writers, &w, &counter) != 0)
            FAIL("record seq %llu (%zu bytes) is torn or corrupt", (unsigned long long)rec.seq, rec.len);
        if (seen[w] && counter <= last_counter[w])
            FAIL("writer %u: counter %llu after %llu", w, (unsigned long long)counter,
                 (unsigned long long)last_counter[w]);
        seen[w] = 1;
        last_counter[w] = counter;
        c->last_seq = (int64_t)rec.seq;
        c->read++;
        c->lost += rec.lost;
        if (c->slow && c->read % 16 == 0) sleep_ms(1);
    }
    free(buf);
    free(last_counter);
    free(seen);
    return NULL;
}

#endif
