/* ringlog's C harness: drives the C ABI with concurrent writers and readers
 * and checks the contract. Run one case: ./harness <case>; list them:
 * ./harness list. Each case exits 0 on success and 1 on the first failed
 * check; every wait is bounded (a timeout on each blocking call, a timed
 * join on each thread, and an alarm() per case). */
#include "harness.h"

#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

/* ---------------------------------------------------------------------
 * Writers and checking readers, shared by the concurrency cases.
 * ------------------------------------------------------------------- */

typedef struct {
    ring *r;
    uint32_t id;
    uint64_t count;
    size_t max_len;
} writer_ctx;

static void *writer_main(void *arg) {
    writer_ctx *w = arg;
    uint8_t *buf = malloc(w->max_len);
    CHECK(buf != NULL);
    for (uint64_t c = 0; c < w->count; c++) {
        size_t len = make_record(buf, w->id, c, record_len(w->id, c, w->max_len));
        CHECK_RES(ring_write(w->r, buf, len), RING_RESULT_OK);
    }
    free(buf);
    return NULL;
}

typedef struct {
    ring_reader *rd;
    uint32_t writers;
    int slow;           /* pause now and then, to be lapped */
    uint64_t read;      /* records read */
    uint64_t lost;      /* sum of the lost counts reported */
    uint64_t first_seq; /* seq the reader's accounting starts at */
    int64_t last_seq;   /* -1 before the first record */
} reader_ctx;

/* Reads until the end of the closed ring, checking every record: whole and
 * correct, seq = previous + 1 + lost, per-writer counters increasing. */
static void *checker_main(void *arg) {
    reader_ctx *c = arg;
    size_t cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    uint64_t *last_counter = calloc(c->writers, sizeof *last_counter);
    uint8_t *seen = calloc(c->writers, 1);
    CHECK(buf && last_counter && seen);
    c->last_seq = -1;
    for (;;) {
        ring_record rec;
        ring_result res = ring_reader_next(c->rd, buf, cap, &rec, 10000);
        if (res == RING_RESULT_CLOSED) break;
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

/* W writers x R readers (the first `slow` of them slow) on a ring of
 * `capacity`; checks read + lost = written for every reader. */
static int run_concurrent(size_t capacity, uint32_t writers, uint64_t per_writer, size_t max_len, int readers,
                          int slow, uint64_t *lost_out) {
    ring *r;
    CHECK_RES(ring_new(capacity, &r), RING_RESULT_OK);
    CHECK(max_len <= ring_max_record(r));
    pthread_t rt[8], wt[8];
    reader_ctx rc[8];
    writer_ctx wc[8];
    CHECK(readers <= 8 && writers <= 8);
    for (int i = 0; i < readers; i++) {
        memset(&rc[i], 0, sizeof rc[i]);
        CHECK_RES(ring_reader_new(r, RING_START_SEQ, 0, &rc[i].rd), RING_RESULT_OK);
        rc[i].writers = writers;
        rc[i].slow = i < slow;
        CHECK(pthread_create(&rt[i], NULL, checker_main, &rc[i]) == 0);
    }
    for (uint32_t i = 0; i < writers; i++) {
        wc[i] = (writer_ctx){r, i, per_writer, max_len};
        CHECK(pthread_create(&wt[i], NULL, writer_main, &wc[i]) == 0);
    }
    for (uint32_t i = 0; i < writers; i++) join_within(wt[i], 120, "writer");
    CHECK_RES(ring_close(r), RING_RESULT_OK);
    uint64_t written = (uint64_t)writers * per_writer;
    for (int i = 0; i < readers; i++) {
        join_within(rt[i], 120, "reader");
        if (rc[i].read + rc[i].lost != written)
            FAIL("reader %d: read %llu + lost %llu != written %llu", i, (unsigned long long)rc[i].read,
                 (unsigned long long)rc[i].lost, (unsigned long long)written);
        if (lost_out) lost_out[i] = rc[i].lost;
        printf("   reader %d: read %llu, lost %llu\n", i, (unsigned long long)rc[i].read,
               (unsigned long long)rc[i].lost);
        ring_reader_free(rc[i].rd);
    }
    ring_free(r);
    return 0;
}

/* ---------------------------------------------------------------------
 * Cases.
 * ------------------------------------------------------------------- */

static int case_writers_readers(void) {
    return run_concurrent(1 << 20, 4, scaled(20000), 400, 3, 0, NULL);
}

static int case_lapping(void) {
    uint64_t lost[3];
    run_concurrent(1024, 2, scaled(20000), 200, 3, 2, lost);
    CHECK(lost[0] > 0); /* the slow reader was lapped */
    return 0;
}

typedef struct {
    ring *r;
    int64_t closed_seen_at;
    uint64_t drained;
} blocked_ctx;

static void *blocked_main(void *arg) {
    blocked_ctx *b = arg;
    ring_reader *rd;
    CHECK_RES(ring_reader_new(b->r, RING_START_OLDEST, 0, &rd), RING_RESULT_OK);
    uint8_t buf[64];
    ring_record rec;
    ring_result res;
    while ((res = ring_reader_next(rd, buf, sizeof buf, &rec, -1)) == RING_RESULT_OK) b->drained++;
    CHECK_RES(res, RING_RESULT_CLOSED);
    b->closed_seen_at = now_ms();
    CHECK_RES(ring_reader_next(rd, buf, sizeof buf, &rec, 0), RING_RESULT_CLOSED);
    ring_reader_free(rd);
    return NULL;
}

static int case_close(void) {
    ring *r;
    CHECK_RES(ring_new(4096, &r), RING_RESULT_OK);
    for (int i = 0; i < 3; i++) CHECK_RES(ring_write(r, "retained", 8), RING_RESULT_OK);
    pthread_t t[4];
    blocked_ctx b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = (blocked_ctx){r, 0, 0};
        CHECK(pthread_create(&t[i], NULL, blocked_main, &b[i]) == 0);
    }
    sleep_ms(200); /* they drain 3 records, then block with no timeout */
    int64_t closed_at = now_ms();
    CHECK_RES(ring_close(r), RING_RESULT_OK);
    CHECK_RES(ring_close(r), RING_RESULT_OK); /* idempotent */
    for (int i = 0; i < 4; i++) {
        join_within(t[i], 10, "blocked reader");
        CHECK(b[i].drained == 3);
        if (b[i].closed_seen_at - closed_at > 1000) FAIL("reader %d woke %lld ms after close", i,
                                                         (long long)(b[i].closed_seen_at - closed_at));
    }
    CHECK_RES(ring_write(r, "late", 4), RING_RESULT_CLOSED);
    /* A reader made after close drains what is retained, then ends. */
    ring_reader *rd;
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &rd), RING_RESULT_OK);
    uint8_t buf[64];
    ring_record rec;
    for (int i = 0; i < 3; i++) {
        CHECK_RES(ring_reader_next(rd, buf, sizeof buf, &rec, -1), RING_RESULT_OK);
        CHECK(rec.len == 8 && memcmp(buf, "retained", 8) == 0 && rec.seq == (uint64_t)i);
    }
    CHECK_RES(ring_reader_next(rd, buf, sizeof buf, &rec, -1), RING_RESULT_CLOSED);
    ring_reader_free(rd);
    ring_free(r);
    return 0;
}

typedef struct {
    ring *r;
    atomic_int stop;
    atomic_ullong writes;
} busy_ctx;

static void *busy_writer(void *arg) {
    busy_ctx *b = arg;
    while (!atomic_load(&b->stop)) {
        CHECK_RES(ring_write(b->r, "busy", 4), RING_RESULT_OK);
        atomic_fetch_add(&b->writes, 1);
        sleep_ms(1); /* slow enough not to lap the idle reader */
    }
    return NULL;
}

typedef struct {
    ring_reader *rd;
    atomic_int stop;
} drain_ctx;

static void *drainer(void *arg) {
    drain_ctx *d = arg;
    uint8_t buf[256];
    ring_record rec;
    while (!atomic_load(&d->stop)) {
        ring_result res = ring_reader_next(d->rd, buf, sizeof buf, &rec, 50);
        CHECK(res == RING_RESULT_OK || res == RING_RESULT_TIMEOUT);
    }
    return NULL;
}

typedef struct {
    ring *r;
    int64_t timeout_ms;
    ring_result res;
} flush_ctx;

static void *flusher(void *arg) {
    flush_ctx *f = arg;
    f->res = ring_flush(f->r, f->timeout_ms);
    return NULL;
}

static int case_flush(void) {
    ring *r;
    CHECK_RES(ring_new(1 << 20, &r), RING_RESULT_OK);
    CHECK_RES(ring_flush(r, 0), RING_RESULT_OK); /* no readers: at once */
    CHECK_RES(ring_flush(r, -1), RING_RESULT_OK);

    /* An idle reader: TIMEOUT after about the time asked, while another
     * thread's writes go on unblocked. */
    ring_reader *idle;
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &idle), RING_RESULT_OK);
    CHECK_RES(ring_write(r, "one", 3), RING_RESULT_OK);
    busy_ctx b = {.r = r};
    pthread_t bt;
    CHECK(pthread_create(&bt, NULL, busy_writer, &b) == 0);
    sleep_ms(20);
    unsigned long long before = atomic_load(&b.writes);
    int64_t t0 = now_ms();
    CHECK_RES(ring_flush(r, 300), RING_RESULT_TIMEOUT);
    int64_t waited = now_ms() - t0;
    unsigned long long during = atomic_load(&b.writes) - before;
    atomic_store(&b.stop, 1);
    join_within(bt, 10, "busy writer");
    if (waited < 290 || waited > 3000) FAIL("flush(300) took %lld ms", (long long)waited);
    if (during < 10) FAIL("only %llu writes during a 300 ms flush: writers were blocked", during);
    printf("   flush timed out after %lld ms; %llu writes went on meanwhile\n", (long long)waited, during);

    /* A thread that reads: flush completes once it caught up. */
    drain_ctx d = {.rd = idle};
    pthread_t dt;
    CHECK(pthread_create(&dt, NULL, drainer, &d) == 0);
    CHECK_RES(ring_flush(r, 10000), RING_RESULT_OK);
    atomic_store(&d.stop, 1);
    join_within(dt, 10, "drainer");
    ring_reader_free(idle);
    ring_free(r);

    /* An idle reader lapped past everything written before the flush. */
    CHECK_RES(ring_new(1024, &r), RING_RESULT_OK);
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &idle), RING_RESULT_OK);
    uint8_t rec[100] = {0};
    CHECK_RES(ring_write(r, rec, sizeof rec), RING_RESULT_OK);
    CHECK_RES(ring_flush(r, 0), RING_RESULT_TIMEOUT);
    flush_ctx f = {r, 10000, RING_RESULT_PANIC};
    pthread_t ft;
    CHECK(pthread_create(&ft, NULL, flusher, &f) == 0);
    sleep_ms(50);
    for (int i = 0; i < 20; i++) CHECK_RES(ring_write(r, rec, sizeof rec), RING_RESULT_OK);
    join_within(ft, 20, "flusher");
    CHECK_RES(f.res, RING_RESULT_OK);

    /* A freed reader holds nothing up. */
    CHECK_RES(ring_flush(r, 0), RING_RESULT_TIMEOUT);
    ring_reader_free(idle);
    CHECK_RES(ring_flush(r, 0), RING_RESULT_OK);
    ring_free(r);
    return 0;
}

static int case_bad_args(void) {
    ring *r = (ring *)0x1;
    ring_reader *rd = (ring_reader *)0x1;
    uint8_t buf[64];
    ring_record rec;
    size_t n;

    CHECK_RES(ring_new(4096, NULL), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_new(0, &r), RING_RESULT_INVALID_ARGUMENT);
    CHECK(r == NULL); /* out is cleared on failure */
    CHECK_RES(ring_new(1023, &r), RING_RESULT_INVALID_ARGUMENT);
    CHECK_RES(ring_new(SIZE_MAX, &r), RING_RESULT_INVALID_ARGUMENT);
    CHECK_RES(ring_new((size_t)1 << 40, &r), RING_RESULT_NO_MEMORY); /* valid size, impossible memory */
    CHECK_RES(ring_new(4096, &r), RING_RESULT_OK);

    ring_free(NULL);
    ring_reader_free(NULL);
    CHECK(ring_capacity(NULL) == 0 && ring_max_record(NULL) == 0);
    CHECK(ring_capacity(r) == 4096 && ring_max_record(r) == 1024);
    CHECK(ring_reader_lost(NULL) == 0);
    CHECK_RES(ring_write(NULL, "x", 1), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_write(r, NULL, 1), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_write(r, NULL, 0), RING_RESULT_OK); /* empty record */
    CHECK_RES(ring_write(r, buf, 1025), RING_RESULT_TOO_LARGE);
    CHECK_RES(ring_write(r, buf, SIZE_MAX), RING_RESULT_TOO_LARGE);
    CHECK_RES(ring_flush(NULL, 0), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_close(NULL), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_snapshot(NULL, buf, sizeof buf, &n), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_snapshot(r, buf, sizeof buf, NULL), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_snapshot(r, NULL, 10, &n), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_snapshot(r, buf, SIZE_MAX, &n), RING_RESULT_INVALID_ARGUMENT);
    CHECK_RES(ring_reader_new(NULL, RING_START_OLDEST, 0, &rd), RING_RESULT_NULL_PARAMETER);
    CHECK(rd == NULL); /* out is cleared on every failure */
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, NULL), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_reader_new(r, (ring_start)7, 0, &rd), RING_RESULT_INVALID_ARGUMENT);
    CHECK(rd == NULL);
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &rd), RING_RESULT_OK);
    CHECK_RES(ring_reader_next(NULL, buf, sizeof buf, &rec, 0), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_reader_next(rd, buf, sizeof buf, NULL, 0), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_reader_next(rd, NULL, 10, &rec, 0), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_reader_next(rd, buf, SIZE_MAX, &rec, 0), RING_RESULT_INVALID_ARGUMENT);
    CHECK_RES(ring_reader_read(NULL, buf, sizeof buf, &n, 0), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_reader_read(rd, buf, sizeof buf, NULL, 0), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_reader_read(rd, NULL, 10, &n, 0), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_reader_read(rd, buf, SIZE_MAX, &n, 0), RING_RESULT_INVALID_ARGUMENT);
    CHECK_RES(ring_reader_read(rd, NULL, 0, &n, 0), RING_RESULT_OK); /* room for 0 bytes */
    CHECK(n == 0);

    /* Nothing above changed the ring: one empty record, then "ok". */
    CHECK_RES(ring_write(r, "ok", 2), RING_RESULT_OK);
    CHECK_RES(ring_reader_next(rd, buf, sizeof buf, &rec, 0), RING_RESULT_OK);
    CHECK(rec.len == 0 && rec.seq == 0 && rec.lost == 0);
    CHECK_RES(ring_reader_next(rd, buf, sizeof buf, &rec, 0), RING_RESULT_OK);
    CHECK(rec.len == 2 && rec.seq == 1 && memcmp(buf, "ok", 2) == 0);
    CHECK_RES(ring_reader_next(rd, buf, sizeof buf, &rec, 0), RING_RESULT_TIMEOUT);

    /* TOO_LARGE is reported before CLOSED. */
    CHECK_RES(ring_close(r), RING_RESULT_OK);
    CHECK_RES(ring_write(r, buf, SIZE_MAX), RING_RESULT_TOO_LARGE);
    CHECK_RES(ring_write(r, NULL, 5), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_write(r, "x", 1), RING_RESULT_CLOSED);

    /* Every code has static text; unknown codes too. */
    for (uint32_t c = 0; c <= 10; c++) CHECK(ring_result_str(c) != NULL && ring_result_str(c)[0] != '\0');
    CHECK(strcmp(ring_result_str(11), "unknown ring_result code") == 0);
    CHECK(strcmp(ring_result_str(RING_RESULT_FORKED), "unknown ring_result code") != 0);
    CHECK(strcmp(ring_result_str(UINT32_MAX), "unknown ring_result code") == 0);
    CHECK(strcmp(ring_result_str(RING_RESULT_CLOSED), "ring is closed") == 0);
    ring_reader_free(rd);
    ring_free(r);
    return 0;
}

static int case_buf_small(void) {
    ring *r;
    CHECK_RES(ring_new(1024, &r), RING_RESULT_OK);
    ring_reader *rd;
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &rd), RING_RESULT_OK);
    uint8_t big[100];
    for (int i = 0; i < 20; i++) {
        memset(big, i, sizeof big);
        CHECK_RES(ring_write(r, big, sizeof big), RING_RESULT_OK);
    }
    /* 8 records of 120 bytes fit in 1 KiB: 12..19 retained, 0..11 lost. */
    uint8_t small[10];
    ring_record rec;
    CHECK_RES(ring_reader_next(rd, small, sizeof small, &rec, 0), RING_RESULT_BUF_SMALL);
    CHECK(rec.len == 100 && rec.seq == 12 && rec.lost == 12);
    CHECK_RES(ring_reader_next(rd, NULL, 0, &rec, 0), RING_RESULT_BUF_SMALL); /* size query */
    CHECK(rec.len == 100 && rec.seq == 12 && rec.lost == 12);
    CHECK_RES(ring_reader_next(rd, big, sizeof big, &rec, 0), RING_RESULT_OK);
    CHECK(rec.len == 100 && rec.seq == 12 && rec.lost == 12 && big[0] == 12 && big[99] == 12);
    CHECK_RES(ring_reader_next(rd, big, sizeof big, &rec, 0), RING_RESULT_OK);
    CHECK(rec.seq == 13 && rec.lost == 0);
    CHECK(ring_reader_lost(rd) == 12);

    /* Snapshot: size query, too small, then the retained bytes. */
    size_t n = 0;
    CHECK_RES(ring_snapshot(r, NULL, 0, &n), RING_RESULT_BUF_SMALL);
    CHECK(n == 800);
    uint8_t snap[1024];
    CHECK_RES(ring_snapshot(r, snap, 799, &n), RING_RESULT_BUF_SMALL);
    CHECK(n == 800);
    CHECK_RES(ring_snapshot(r, snap, ring_capacity(r), &n), RING_RESULT_OK);
    CHECK(n == 800);
    for (size_t i = 0; i < 800; i++) CHECK(snap[i] == 12 + i / 100);
    ring_reader_free(rd);
    ring_free(r);
    return 0;
}

typedef struct {
    ring_reader *rd;
    ring_record rec;
    ring_result res;
    uint8_t buf[64];
} wait_ctx;

static void *wait_one(void *arg) {
    wait_ctx *w = arg;
    w->res = ring_reader_next(w->rd, w->buf, sizeof w->buf, &w->rec, -1);
    return NULL;
}

static int case_seq_start(void) {
    ring *r;
    CHECK_RES(ring_new(1024, &r), RING_RESULT_OK);
    uint8_t rec100[100];
    for (int i = 0; i < 20; i++) {
        memset(rec100, i, sizeof rec100);
        CHECK_RES(ring_write(r, rec100, sizeof rec100), RING_RESULT_OK);
    }
    ring_reader *rd;
    ring_record rec;
    /* In the past, evicted: starts at the oldest retained, gap as lost. */
    CHECK_RES(ring_reader_new(r, RING_START_SEQ, 3, &rd), RING_RESULT_OK);
    CHECK_RES(ring_reader_next(rd, rec100, sizeof rec100, &rec, 0), RING_RESULT_OK);
    CHECK(rec.seq == 12 && rec.lost == 9 && rec100[0] == 12);
    ring_reader_free(rd);
    /* In the past, retained: exactly there. */
    CHECK_RES(ring_reader_new(r, RING_START_SEQ, 15, &rd), RING_RESULT_OK);
    CHECK_RES(ring_reader_next(rd, rec100, sizeof rec100, &rec, 0), RING_RESULT_OK);
    CHECK(rec.seq == 15 && rec.lost == 0 && rec100[0] == 15);
    ring_reader_free(rd);
    /* In the future: waits for it, skipping the records before it. */
    CHECK_RES(ring_reader_new(r, RING_START_SEQ, 25, &rd), RING_RESULT_OK);
    CHECK_RES(ring_reader_next(rd, rec100, sizeof rec100, &rec, 50), RING_RESULT_TIMEOUT);
    wait_ctx w = {.rd = rd};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, wait_one, &w) == 0);
    for (int i = 20; i < 25; i++) CHECK_RES(ring_write(r, "before", 6), RING_RESULT_OK);
    sleep_ms(50);
    CHECK_RES(ring_write(r, "the one", 7), RING_RESULT_OK);
    join_within(t, 10, "reader waiting for seq 25");
    CHECK_RES(w.res, RING_RESULT_OK);
    CHECK(w.rec.seq == 25 && w.rec.lost == 0 && w.rec.len == 7 && memcmp(w.buf, "the one", 7) == 0);
    ring_reader_free(rd);
    /* NEWEST: only what comes later. */
    CHECK_RES(ring_reader_new(r, RING_START_NEWEST, 0, &rd), RING_RESULT_OK);
    CHECK_RES(ring_reader_next(rd, rec100, sizeof rec100, &rec, 0), RING_RESULT_TIMEOUT);
    CHECK_RES(ring_write(r, "new", 3), RING_RESULT_OK);
    CHECK_RES(ring_reader_next(rd, rec100, sizeof rec100, &rec, 0), RING_RESULT_OK);
    CHECK(rec.seq == 26 && rec.len == 3);
    ring_reader_free(rd);
    ring_free(r);
    return 0;
}

static int case_free_order(void) {
    /* ring_free before ring_reader_free: the reader keeps the memory, the
     * ring closes (no handle can write), the reader drains then ends. */
    ring *r;
    CHECK_RES(ring_new(4096, &r), RING_RESULT_OK);
    ring_reader *a, *b;
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &a), RING_RESULT_OK);
    CHECK_RES(ring_write(r, "kept", 4), RING_RESULT_OK);
    ring_free(r);
    uint8_t buf[16];
    ring_record rec;
    CHECK_RES(ring_reader_next(a, buf, sizeof buf, &rec, -1), RING_RESULT_OK);
    CHECK(rec.len == 4 && memcmp(buf, "kept", 4) == 0);
    CHECK_RES(ring_reader_next(a, buf, sizeof buf, &rec, -1), RING_RESULT_CLOSED);
    ring_reader_free(a);

    /* A reader blocked with no timeout when the last handle goes wakes up. */
    CHECK_RES(ring_new(4096, &r), RING_RESULT_OK);
    CHECK_RES(ring_reader_new(r, RING_START_NEWEST, 0, &b), RING_RESULT_OK);
    wait_ctx w = {.rd = b};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, wait_one, &w) == 0);
    sleep_ms(50);
    ring_free(r);
    join_within(t, 10, "reader blocked while the ring was freed");
    CHECK_RES(w.res, RING_RESULT_CLOSED);
    ring_reader_free(b);
    return 0;
}

static int case_byte_stream(void) {
    ring *r;
    CHECK_RES(ring_new(1024, &r), RING_RESULT_OK);
    ring_reader *rd;
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &rd), RING_RESULT_OK);
    CHECK_RES(ring_write(r, "abc", 3), RING_RESULT_OK);
    CHECK_RES(ring_write(r, NULL, 0), RING_RESULT_OK);
    CHECK_RES(ring_write(r, "defg", 4), RING_RESULT_OK);
    char out[16] = {0};
    size_t total = 0, n;
    char piece[2];
    ring_result res;
    while ((res = ring_reader_read(rd, piece, sizeof piece, &n, 0)) == RING_RESULT_OK) {
        CHECK(n >= 1 && n <= 2);
        memcpy(out + total, piece, n);
        total += n;
    }
    CHECK_RES(res, RING_RESULT_TIMEOUT);
    CHECK(total == 7 && memcmp(out, "abcdefg", 7) == 0);

    /* Lapped in the middle of a record: LOST once, then from a record start. */
    uint8_t rec[100];
    memset(rec, 'A', sizeof rec);
    CHECK_RES(ring_write(r, rec, sizeof rec), RING_RESULT_OK);
    uint8_t buf[40];
    CHECK_RES(ring_reader_read(rd, buf, 30, &n, 0), RING_RESULT_OK);
    CHECK(n == 30 && buf[0] == 'A');
    for (int i = 0; i < 20; i++) {
        memset(rec, 'a' + i, sizeof rec);
        CHECK_RES(ring_write(r, rec, sizeof rec), RING_RESULT_OK);
    }
    CHECK_RES(ring_reader_read(rd, buf, sizeof buf, &n, 0), RING_RESULT_LOST);
    CHECK(n == 0);
    CHECK_RES(ring_reader_read(rd, buf, sizeof buf, &n, 0), RING_RESULT_OK);
    CHECK(n == 40 && buf[0] == 'a' + 12 && buf[39] == 'a' + 12); /* start of the oldest retained */
    CHECK(ring_reader_lost(rd) == 13); /* the rest of 'A', and 'a'..'a'+11 */
    ring_close(r);
    uint64_t bytes = 40;
    while ((res = ring_reader_read(rd, buf, sizeof buf, &n, -1)) == RING_RESULT_OK) bytes += n;
    CHECK_RES(res, RING_RESULT_CLOSED);
    CHECK(bytes == 800);
    ring_reader_free(rd);
    ring_free(r);
    return 0;
}

/* The soak: writers and checking readers (two keeping up, one slow, so
 * that it is lapped) for RINGLOG_SOAK_SECONDS (default 60), then totals. */
typedef struct {
    ring *r;
    uint32_t id;
    atomic_int *stop;
    uint64_t written;
} soak_writer_ctx;

static void *soak_writer(void *arg) {
    soak_writer_ctx *w = arg;
    uint8_t buf[1024];
    for (uint64_t c = 0; !atomic_load(w->stop); c++) {
        size_t len = make_record(buf, w->id, c, record_len(w->id, c, sizeof buf));
        CHECK_RES(ring_write(w->r, buf, len), RING_RESULT_OK);
        w->written++;
    }
    return NULL;
}

static int case_soak(void) {
    const char *env = getenv("RINGLOG_SOAK_SECONDS");
    int64_t seconds = env ? atoll(env) : 60;
    alarm((unsigned)(seconds + 120));
    ring *r;
    CHECK_RES(ring_new(1 << 18, &r), RING_RESULT_OK);
    enum { W = 3, R = 3 };
    atomic_int stop = 0;
    soak_writer_ctx wc[W];
    reader_ctx rc[R];
    pthread_t wt[W], rt[R];
    for (int i = 0; i < R; i++) {
        memset(&rc[i], 0, sizeof rc[i]);
        CHECK_RES(ring_reader_new(r, RING_START_SEQ, 0, &rc[i].rd), RING_RESULT_OK);
        rc[i].writers = W;
        rc[i].slow = i == R - 1;
        CHECK(pthread_create(&rt[i], NULL, checker_main, &rc[i]) == 0);
    }
    for (int i = 0; i < W; i++) {
        wc[i] = (soak_writer_ctx){r, (uint32_t)i, &stop, 0};
        CHECK(pthread_create(&wt[i], NULL, soak_writer, &wc[i]) == 0);
    }
    sleep_ms(seconds * 1000);
    atomic_store(&stop, 1);
    uint64_t written = 0;
    for (int i = 0; i < W; i++) {
        join_within(wt[i], 60, "soak writer");
        written += wc[i].written;
    }
    CHECK_RES(ring_close(r), RING_RESULT_OK);
    uint64_t read = 0, lost = 0;
    for (int i = 0; i < R; i++) {
        join_within(rt[i], 120, "soak reader");
        if (rc[i].read + rc[i].lost != written)
            FAIL("soak reader %d: read %llu + lost %llu != written %llu", i, (unsigned long long)rc[i].read,
                 (unsigned long long)rc[i].lost, (unsigned long long)written);
        read += rc[i].read;
        lost += rc[i].lost;
        ring_reader_free(rc[i].rd);
    }
    ring_free(r);
    printf("   C soak: %lld s, %d writers x %d readers: written %llu, read %llu, lost %llu, errors 0\n",
           (long long)seconds, W, R, (unsigned long long)written, (unsigned long long)read, (unsigned long long)lost);
    return 0;
}

/* ---------------------------------------------------------------------
 * Dispatch.
 * ------------------------------------------------------------------- */

/* In faults.c. */
int case_fork(void);
int case_signals(void);
#ifdef RINGLOG_FAULT_INJECTION
int case_panic(void);
#endif
#ifdef RINGLOG_OOM_INTERPOSE
int case_oom(void);
#endif

static const struct {
    const char *name;
    int (*run)(void);
} cases[] = {
    {"writers_readers", case_writers_readers},
    {"lapping", case_lapping},
    {"close", case_close},
    {"flush", case_flush},
    {"bad_args", case_bad_args},
    {"buf_small", case_buf_small},
    {"seq_start", case_seq_start},
    {"free_order", case_free_order},
    {"byte_stream", case_byte_stream},
    {"fork", case_fork},
    {"signals", case_signals},
    {"soak", case_soak}, /* not in `list`: scripts/soak runs it */
#ifdef RINGLOG_FAULT_INJECTION
    {"panic", case_panic}, /* harness-fault: its library panics on demand */
#endif
#ifdef RINGLOG_OOM_INTERPOSE
    {"oom", case_oom}, /* harness-oom: its malloc fails on demand */
#endif
};

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL: case still running at its time limit (watchdog)\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

int main(int argc, char **argv) {
    size_t n = sizeof cases / sizeof cases[0];
    if (argc != 2) {
        fprintf(stderr, "usage: %s <case>|list\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "list") == 0) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(cases[i].name, "soak") != 0) printf("%s\n", cases[i].name);
        return 0;
    }
    const char *limit = getenv("RINGLOG_CASE_TIMEOUT");
    signal(SIGALRM, on_alarm);
    alarm(limit ? (unsigned)atoi(limit) : 300);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], cases[i].name) == 0) {
            int rc = cases[i].run();
            printf("%s %s\n", rc == 0 ? "ok  " : "FAIL", cases[i].name);
            return rc;
        }
    }
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}
