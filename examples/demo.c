/* ringlog demo: what the Go "circular" example did, without its flaw.
 *
 * Four worker threads log into one ring. Three readers follow it, each at
 * its own pace: one streams the ring live to stdout (the byte stream), one
 * copies every record to demo.log, and one is deliberately slow. Halfway
 * through, a log storm of 50,000 lines hits the ring: the writers do not
 * slow down for anybody; the readers that cannot keep up are lapped and
 * say how many records they lost. At the end: flush, close, and a snapshot
 * of what the ring still holds (the "dump the last N bytes" call).
 *
 * Build and run: scripts/demo (or see that script for the cc line). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ringlog.h"

#define RING_BYTES (64 * 1024)
#define WORKERS 4
#define RUN_MS 2500
#define STORM_LINES 50000

static ring *logbuf;
static atomic_int closing; /* set at shutdown: the slow client goes away */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void die(const char *what, ring_result res) {
    fprintf(stderr, "demo: %s: %s\n", what, ring_result_str(res));
    exit(1);
}

/* printf into the ring: one call, one record. */
static void logf_ring(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_ring(const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    ring_result res = ring_write(logbuf, line, (size_t)n);
    if (res != RING_RESULT_OK && res != RING_RESULT_CLOSED) die("ring_write", res);
}

/* ---- writers -------------------------------------------------------- */

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    int64_t end = now_ns() + (int64_t)RUN_MS * 1000000;
    unsigned seed = (unsigned)id * 7919u + 1;
    for (int req = 1; now_ns() < end; req++) {
        int ms = (int)(rand_r(&seed) % 40);
        logf_ring("worker %d: request %d served in %d ms\n", id, req, ms);
        sleep_ms(20 + ms);
    }
    logf_ring("worker %d: done\n", id);
    return NULL;
}

static int64_t storm_ns;

static void *storm(void *arg) {
    (void)arg;
    sleep_ms(RUN_MS / 2);
    logf_ring("storm: %d debug lines coming\n", STORM_LINES);
    int64_t t0 = now_ns();
    for (int i = 0; i < STORM_LINES; i++) logf_ring("storm: debug detail %d of %d\n", i + 1, STORM_LINES);
    storm_ns = now_ns() - t0;
    logf_ring("storm: over\n");
    return NULL;
}

/* ---- readers -------------------------------------------------------- */

typedef struct {
    const char *name;
    uint64_t records, lost;
} tally;

/* Streams the byte stream to stdout, saying so when it was lapped. */
static void *stdout_reader(void *arg) {
    tally *t = arg;
    ring_reader *rd;
    ring_result res = ring_reader_new(logbuf, RING_START_OLDEST, 0, &rd);
    if (res != RING_RESULT_OK) die("ring_reader_new", res);
    char buf[4096];
    size_t n;
    for (;;) {
        res = ring_reader_read(rd, buf, sizeof buf, &n, -1);
        if (res == RING_RESULT_CLOSED) break;
        if (res == RING_RESULT_LOST) {
            printf("[stdout reader: lapped, %llu records lost so far; going on from the oldest retained]\n",
                   (unsigned long long)ring_reader_lost(rd));
            continue;
        }
        if (res != RING_RESULT_OK) die("ring_reader_read", res);
        fwrite(buf, 1, n, stdout);
    }
    fflush(stdout);
    t->lost = ring_reader_lost(rd);
    ring_reader_free(rd);
    return NULL;
}

/* Copies every record it gets to demo.log. */
static void *file_reader(void *arg) {
    tally *t = arg;
    FILE *f = fopen("demo.log", "w");
    if (!f) {
        perror("demo.log");
        exit(1);
    }
    ring_reader *rd;
    ring_result res = ring_reader_new(logbuf, RING_START_OLDEST, 0, &rd);
    if (res != RING_RESULT_OK) die("ring_reader_new", res);
    char buf[512];
    ring_record rec;
    while ((res = ring_reader_next(rd, buf, sizeof buf, &rec, -1)) == RING_RESULT_OK) {
        if (rec.lost) fprintf(f, "[... %llu records lost here ...]\n", (unsigned long long)rec.lost);
        fwrite(buf, 1, rec.len, f);
        t->records++;
        t->lost += rec.lost;
    }
    if (res != RING_RESULT_CLOSED) die("ring_reader_next", res);
    fclose(f);
    ring_reader_free(rd);
    return NULL;
}

/* Takes 10 ms per record (a stalled HTTP client, say) until shutdown. */
static void *slow_reader(void *arg) {
    tally *t = arg;
    ring_reader *rd;
    ring_result res = ring_reader_new(logbuf, RING_START_OLDEST, 0, &rd);
    if (res != RING_RESULT_OK) die("ring_reader_new", res);
    char buf[512];
    ring_record rec;
    while ((res = ring_reader_next(rd, buf, sizeof buf, &rec, -1)) == RING_RESULT_OK) {
        t->records++;
        t->lost += rec.lost;
        if (rec.lost) fprintf(stderr, "[slow reader: lapped, lost %llu records before seq %llu]\n",
                              (unsigned long long)rec.lost, (unsigned long long)rec.seq);
        if (!atomic_load(&closing)) sleep_ms(10);
    }
    ring_reader_free(rd);
    return NULL;
}

int main(void) {
    ring_result res = ring_new(RING_BYTES, &logbuf);
    if (res != RING_RESULT_OK) die("ring_new", res);
    printf("ringlog demo: %zu-byte ring, %d workers, a %d-line storm at %d ms\n\n", ring_capacity(logbuf),
           WORKERS, STORM_LINES, RUN_MS / 2);

    tally out = {"stdout", 0, 0}, file = {"demo.log", 0, 0}, slow = {"slow", 0, 0};
    pthread_t readers[3], writers[WORKERS + 1];
    pthread_create(&readers[0], NULL, stdout_reader, &out);
    pthread_create(&readers[1], NULL, file_reader, &file);
    pthread_create(&readers[2], NULL, slow_reader, &slow);
    for (int i = 0; i < WORKERS; i++) pthread_create(&writers[i], NULL, worker, (void *)(intptr_t)(i + 1));
    pthread_create(&writers[WORKERS], NULL, storm, NULL);
    for (int i = 0; i <= WORKERS; i++) pthread_join(writers[i], NULL);

    /* Give the readers a moment to catch up, then end every stream. */
    int64_t t0 = now_ns();
    res = ring_flush(logbuf, 200);
    printf("\nflush: %s after %lld ms (the slow reader %s)\n", ring_result_str(res),
           (long long)((now_ns() - t0) / 1000000), res == RING_RESULT_OK ? "caught up" : "is still behind");
    atomic_store(&closing, 1);
    ring_close(logbuf);
    for (int i = 0; i < 3; i++) pthread_join(readers[i], NULL);

    size_t len = 0;
    char *snap = malloc(ring_capacity(logbuf));
    res = ring_snapshot(logbuf, snap, ring_capacity(logbuf), &len);
    if (res != RING_RESULT_OK) die("ring_snapshot", res);

    printf("\n--- summary ---\n");
    printf("storm: %d lines written in %.1f ms (%.0f ns a line), never waiting for a reader\n", STORM_LINES,
           storm_ns / 1e6, (double)storm_ns / STORM_LINES);
    printf("stdout reader: lost %llu records to lapping\n", (unsigned long long)out.lost);
    printf("file reader:   wrote %llu records to demo.log, lost %llu\n", (unsigned long long)file.records,
           (unsigned long long)file.lost);
    printf("slow reader:   read %llu records, lost %llu (and slowed nobody down)\n",
           (unsigned long long)slow.records, (unsigned long long)slow.lost);
    printf("snapshot: %zu bytes retained; the last lines:\n", len);
    int lines = 0;
    size_t at = len;
    while (at > 0 && lines < 4) {
        at--;
        if (at > 0 && snap[at - 1] == '\n') lines++;
    }
    fwrite(snap + at, 1, len - at, stdout);
    free(snap);
    ring_free(logbuf);
    return 0;
}
