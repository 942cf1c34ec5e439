/* ringlog's C harness: drives the C ABI with concurrent writers and readers
 * and checks the contract. Run one case: ./harness <case>; list them:
 * ./harness list. Each case exits 0 on success and 1 on the first failed
 * check; every wait is bounded (a timeout on each blocking call, a timed
 * join on each thread, and an alarm() per case). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------
 * Writers and checking readers, shared by the concurrency cases.
 * ------------------------------------------------------------------- */

typedef struct {
    ring *r;
    uint32_t id;
    uint64_t count;
    size_t max_len;
    int writev; /* 1: each record through ring_writev, cut into 1..4 parts */
} writer_ctx;

static void *writer_main(void *arg) {
    writer_ctx *w = arg;
    uint8_t *buf = malloc(w->max_len);
    CHECK(buf != NULL);
    for (uint64_t c = 0; c < w->count; c++) {
        size_t len = make_record(buf, w->id, c, record_len(w->id, c, w->max_len));
        if (w->writev)
            CHECK_RES(writev_split(w->r, buf, len, 1 + (unsigned)(c % 4), c * 31 + w->id), RING_RESULT_OK);
        else
            CHECK_RES(ring_write(w->r, buf, len), RING_RESULT_OK);
    }
    free(buf);
    return NULL;
}

/* W writers (through ring_writev when `writev`) x R checking readers (the
 * first `slow` of them slow) on a ring of `capacity`; checks read + lost =
 * written for every reader. */
static int run_concurrent_with(size_t capacity, uint32_t writers, uint64_t per_writer, size_t max_len, int readers,
                               int slow, uint64_t *lost_out, int writev) {
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
        wc[i] = (writer_ctx){r, i, per_writer, max_len, writev};
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

static int run_concurrent(size_t capacity, uint32_t writers, uint64_t per_writer, size_t max_len, int readers,
                          int slow, uint64_t *lost_out) {
    return run_concurrent_with(capacity, writers, per_writer, max_len, readers, slow, lost_out, 0);
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

/* The entry points added with the lock-free write path (ring_writev,
 * ring_dump_fd, ring_stats): every NULL pointer, every absurd size, and
 * argument errors reported before state errors. On a ring of its own, so
 * that ring_stats can prove no refused call wrote anything. */
static void bad_args_writev_dump_stats(void) {
    ring *r;
    CHECK_RES(ring_new(4096, &r), RING_RESULT_OK);
    const size_t max = ring_max_record(r);
    static uint8_t big[2048];
    struct ring_stats st;
    ring_result res;
    const ring_slice one[1] = {{"x", 1}};

    CHECK_RES(ring_stats(NULL, &st), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_stats(r, NULL), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_stats(NULL, NULL), RING_RESULT_NULL_PARAMETER);

    /* NULL pointers: the ring, the array, a part's data with len > 0. */
    CHECK_RES(ring_writev(NULL, one, 1), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_writev(NULL, NULL, 0), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_writev(r, NULL, 1), RING_RESULT_NULL_PARAMETER);
    const ring_slice null_part[2] = {{"ab", 2}, {NULL, 1}};
    CHECK_RES(ring_writev(r, null_part, 2), RING_RESULT_NULL_PARAMETER);
    /* An absurd count (the array would pass PTRDIFF_MAX bytes) is refused
     * before the array is read: `one` has a single element. */
    CHECK_RES(ring_writev(r, one, SIZE_MAX), RING_RESULT_INVALID_ARGUMENT);
    CHECK_RES(ring_writev(r, one, (size_t)PTRDIFF_MAX / sizeof(ring_slice) + 1), RING_RESULT_INVALID_ARGUMENT);
    res = ring_writev(r, NULL, SIZE_MAX); /* both errors at once: either may be named */
    CHECK(res == RING_RESULT_NULL_PARAMETER || res == RING_RESULT_INVALID_ARGUMENT);
    /* Too large: a total above max_record though each part fits, one part
     * above it, SIZE_MAX, and totals that overflow size_t (to 0 and to 1:
     * a wrapping sum would pass the size check). */
    const ring_slice halves[2] = {{big, max / 2 + 1}, {big, max / 2}};
    CHECK_RES(ring_writev(r, halves, 2), RING_RESULT_TOO_LARGE);
    const ring_slice over[1] = {{big, max + 1}};
    CHECK_RES(ring_writev(r, over, 1), RING_RESULT_TOO_LARGE);
    const ring_slice huge[1] = {{big, SIZE_MAX}};
    CHECK_RES(ring_writev(r, huge, 1), RING_RESULT_TOO_LARGE);
    const ring_slice wrap0[2] = {{big, SIZE_MAX / 2 + 1}, {big, SIZE_MAX / 2 + 1}};
    CHECK_RES(ring_writev(r, wrap0, 2), RING_RESULT_TOO_LARGE);
    const ring_slice wrap1[3] = {{big, 1}, {big, SIZE_MAX}, {big, 1}};
    CHECK_RES(ring_writev(r, wrap1, 3), RING_RESULT_TOO_LARGE);
    CHECK_RES(ring_dump_fd(NULL, 1), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_dump_fd(r, -1), RING_RESULT_INVALID_ARGUMENT);
    CHECK_RES(ring_dump_fd(r, INT32_MIN), RING_RESULT_INVALID_ARGUMENT);
    CHECK_RES(ring_stats(r, &st), RING_RESULT_OK);
    CHECK(st.written == 0 && st.dropped == 0 && st.bytes_used == 0); /* nothing above wrote */

    /* The valid edges: no parts (NULL array), empty parts (NULL data),
     * a total of exactly max_record. */
    CHECK_RES(ring_writev(r, NULL, 0), RING_RESULT_OK);
    CHECK_RES(ring_writev(r, one, 0), RING_RESULT_OK);
    const ring_slice empties[3] = {{NULL, 0}, {"y", 0}, {NULL, 0}};
    CHECK_RES(ring_writev(r, empties, 3), RING_RESULT_OK);
    const ring_slice exact[3] = {{big, max / 2}, {NULL, 0}, {big, max - max / 2}};
    CHECK_RES(ring_writev(r, exact, 3), RING_RESULT_OK);
    CHECK_RES(ring_stats(r, &st), RING_RESULT_OK);
    CHECK(st.written == 4 && st.bytes_used == 3 * frame_size(0) + frame_size(max));

    /* Closed: argument errors still come first, then CLOSED; reading the
     * ring (stats, snapshot, dump) still works. */
    CHECK_RES(ring_close(r), RING_RESULT_OK);
    CHECK_RES(ring_writev(r, halves, 2), RING_RESULT_TOO_LARGE);
    CHECK_RES(ring_writev(r, wrap0, 2), RING_RESULT_TOO_LARGE);
    CHECK_RES(ring_writev(r, null_part, 2), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_writev(r, NULL, 1), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_writev(r, one, SIZE_MAX), RING_RESULT_INVALID_ARGUMENT);
    CHECK_RES(ring_writev(r, one, 1), RING_RESULT_CLOSED);
    CHECK_RES(ring_writev(r, NULL, 0), RING_RESULT_CLOSED);
    CHECK_RES(ring_dump_fd(r, -1), RING_RESULT_INVALID_ARGUMENT);
    CHECK_RES(ring_stats(r, NULL), RING_RESULT_NULL_PARAMETER);
    CHECK_RES(ring_stats(r, &st), RING_RESULT_OK);
    CHECK(st.written == 4 && st.closed == 1 && st.dropped == 0);
    size_t n = 0;
    CHECK_RES(ring_snapshot(r, big, sizeof big, &n), RING_RESULT_OK);
    CHECK(n == max);
    int devnull = open("/dev/null", O_WRONLY);
    CHECK(devnull >= 0);
    CHECK_RES(ring_dump_fd(r, devnull), RING_RESULT_OK);
    close(devnull);
    ring_free(r);
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
    for (uint32_t c = 0; c <= 13; c++) {
        CHECK(ring_result_str(c) != NULL && ring_result_str(c)[0] != '\0');
        CHECK(strcmp(ring_result_str(c), "unknown ring_result code") != 0);
    }
    CHECK(strcmp(ring_result_str(14), "unknown ring_result code") == 0);
    CHECK(strcmp(ring_result_str(RING_RESULT_FORKED), "unknown ring_result code") != 0);
    CHECK(strcmp(ring_result_str(UINT32_MAX), "unknown ring_result code") == 0);
    CHECK(strcmp(ring_result_str(RING_RESULT_CLOSED), "ring is closed") == 0);
    CHECK(strcmp(ring_result_str(RING_RESULT_BUSY), ring_result_str(RING_RESULT_IO)) != 0);
    ring_reader_free(rd);
    ring_free(r);

    bad_args_writev_dump_stats();
    return 0;
}

/* Checks every field of ring_stats. The struct is first filled with a
 * pattern, so a field the library did not write (or wrote at another
 * offset, if the C and Rust layouts differed) shows as a wrong value. */
static void check_stats(const ring *r, uint64_t written, uint64_t oldest_seq, uint64_t bytes_used, uint64_t readers,
                        uint32_t closed) {
    struct ring_stats st;
    memset(&st, 0xa5, sizeof st);
    CHECK_RES(ring_stats(r, &st), RING_RESULT_OK);
    if (st.written != written || st.oldest_seq != oldest_seq || st.bytes_used != bytes_used || st.dropped != 0 ||
        st.readers != readers || st.capacity != ring_capacity(r) || st.max_record != ring_max_record(r) ||
        st.closed != closed)
        FAIL("ring_stats: written %llu oldest_seq %llu bytes_used %llu dropped %llu readers %llu capacity %llu "
             "max_record %llu closed %u; wanted written %llu oldest_seq %llu bytes_used %llu dropped 0 readers %llu "
             "capacity %zu max_record %zu closed %u",
             (unsigned long long)st.written, (unsigned long long)st.oldest_seq, (unsigned long long)st.bytes_used,
             (unsigned long long)st.dropped, (unsigned long long)st.readers, (unsigned long long)st.capacity,
             (unsigned long long)st.max_record, (unsigned)st.closed, (unsigned long long)written,
             (unsigned long long)oldest_seq, (unsigned long long)bytes_used, (unsigned long long)readers,
             ring_capacity(r), ring_max_record(r), (unsigned)closed);
}

/* ring_stats against values computed here: records of known lengths on one
 * thread, and a model of the retention rule (the ring keeps the newest
 * records whose frames, 16 + len rounded up to 8, fit in its capacity). */
static int case_stats(void) {
    /* The layout cbindgen declares: seven u64 then a u32 (and padding). */
    CHECK(sizeof(struct ring_stats) == 64 && offsetof(struct ring_stats, max_record) == 48 &&
          offsetof(struct ring_stats, closed) == 56);
    ring *r;
    CHECK_RES(ring_new(4096, &r), RING_RESULT_OK);
    CHECK(ring_capacity(r) == 4096 && ring_max_record(r) == 1024);
    check_stats(r, 0, 0, 0, 0, 0); /* empty: oldest_seq is `written` */
    ring_reader *a, *b, *c;
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &a), RING_RESULT_OK);
    CHECK_RES(ring_reader_new(r, RING_START_NEWEST, 0, &b), RING_RESULT_OK);
    check_stats(r, 0, 0, 0, 2, 0);

    /* Lengths at the padding edges, the largest record, then a mix: enough
     * to evict many times over. */
    enum { N = 200 };
    static uint8_t payload[1024];
    uint64_t frames[N];
    uint64_t oldest = 0, used = 0;
    for (uint64_t i = 0; i < N; i++) {
        static const size_t first[] = {0, 1, 7, 8, 9, 15, 16, 17, 100, 1024, 1023};
        size_t len = i < sizeof first / sizeof first[0] ? first[i] : (size_t)((i * 7919) % 301);
        memset(payload, (int)i, len);
        CHECK_RES(ring_write(r, payload, len), RING_RESULT_OK);
        frames[i] = frame_size(len);
        used += frames[i];
        while (used > 4096) used -= frames[oldest++]; /* evict the oldest until the rest fits */
        check_stats(r, i + 1, oldest, used, 2, 0);
    }
    CHECK(oldest > 100); /* evicted many times: oldest_seq moved */

    /* The reader count follows ring_reader_new and ring_reader_free. */
    ring_reader_free(b);
    check_stats(r, N, oldest, used, 1, 0);
    CHECK_RES(ring_reader_new(r, RING_START_SEQ, 3, &b), RING_RESULT_OK);
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &c), RING_RESULT_OK);
    check_stats(r, N, oldest, used, 3, 0);

    /* Close: `closed` is 1, refused writes count nowhere, readers that
     * read do not change what is retained. */
    CHECK_RES(ring_close(r), RING_RESULT_OK);
    CHECK_RES(ring_write(r, "late", 4), RING_RESULT_CLOSED);
    uint8_t buf[1024];
    ring_record rec;
    CHECK_RES(ring_reader_next(c, buf, sizeof buf, &rec, 0), RING_RESULT_OK);
    CHECK(rec.seq == oldest);
    check_stats(r, N, oldest, used, 3, 1);
    ring_reader_free(a);
    ring_reader_free(b);
    ring_reader_free(c);
    check_stats(r, N, oldest, used, 0, 1);
    ring_free(r);

    /* A closed empty ring, and a 1 MiB one (capacity and max_record). */
    CHECK_RES(ring_new(1 << 20, &r), RING_RESULT_OK);
    CHECK(ring_max_record(r) == 1 << 18);
    CHECK_RES(ring_close(r), RING_RESULT_OK);
    check_stats(r, 0, 0, 0, 0, 1);
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

/* Reads the reader's next record (without waiting) and checks that it is
 * exactly `len` bytes equal to `want`, with seq `seq` and nothing lost. */
static void expect_record(ring_reader *rd, const void *want, size_t len, uint64_t seq) {
    static uint8_t buf[1 << 16];
    ring_record rec;
    CHECK_RES(ring_reader_next(rd, buf, sizeof buf, &rec, 0), RING_RESULT_OK);
    if (rec.len != len || rec.seq != seq || rec.lost != 0 || (len > 0 && memcmp(buf, want, len) != 0))
        FAIL("record seq %llu (%zu bytes, lost %llu): wanted seq %llu, %zu bytes as written",
             (unsigned long long)rec.seq, rec.len, (unsigned long long)rec.lost, (unsigned long long)seq, len);
}

/* ring_writev: a record made of parts reads back as their concatenation,
 * exactly as ring_write of the same bytes would; then 4 threads writing
 * self-checking records through it, with checking readers. */
static int case_writev(void) {
    ring *r;
    CHECK_RES(ring_new(1 << 16, &r), RING_RESULT_OK);
    const size_t max = ring_max_record(r);
    ring_reader *rd;
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &rd), RING_RESULT_OK);
    uint64_t seq = 0;

    /* 0 parts: an empty record (NULL array allowed). */
    CHECK_RES(ring_writev(r, NULL, 0), RING_RESULT_OK);
    expect_record(rd, "", 0, seq++);
    /* 1 part. */
    const ring_slice hello[1] = {{"hello", 5}};
    CHECK_RES(ring_writev(r, hello, 1), RING_RESULT_OK);
    expect_record(rd, "hello", 5, seq++);
    /* 3 parts, the middle one empty with NULL data. */
    const ring_slice abcde[3] = {{"ab", 2}, {NULL, 0}, {"cde", 3}};
    CHECK_RES(ring_writev(r, abcde, 3), RING_RESULT_OK);
    expect_record(rd, "abcde", 5, seq++);
    /* 3 parts, all empty (one with data): still one empty record. */
    const ring_slice empties[3] = {{NULL, 0}, {"unused", 0}, {NULL, 0}};
    CHECK_RES(ring_writev(r, empties, 3), RING_RESULT_OK);
    expect_record(rd, "", 0, seq++);
    /* 3 parts from unrelated memory (static, stack, a string), and a part
     * given twice: the parts are copied in order, whatever they are. */
    static const uint8_t head[3] = {1, 2, 3};
    uint8_t body[5] = {4, 5, 6, 7, 8};
    const ring_slice scattered[4] = {{head, 3}, {body, 5}, {"\x09", 1}, {head, 3}};
    CHECK_RES(ring_writev(r, scattered, 4), RING_RESULT_OK);
    expect_record(rd, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x01\x02\x03", 12, seq++);

    /* Self-checking records of lengths at the edges (the smallest, around
     * 4 KiB, the largest) cut into 1 to 8 parts at varied points. */
    static uint8_t rec[1 << 14];
    CHECK(sizeof rec >= max);
    const size_t lens[] = {REC_MIN, REC_MIN + 1, 100, 4095, 4096, 4097, max - 1, max};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (unsigned parts = 1; parts <= 8; parts++)
            for (uint64_t salt = 0; salt < 4; salt++) {
                size_t len = make_record(rec, 0, seq, lens[li]);
                CHECK_RES(writev_split(r, rec, len, parts, salt + li * 8 + parts), RING_RESULT_OK);
                expect_record(rd, rec, len, seq++);
            }
    struct ring_stats st;
    CHECK_RES(ring_stats(r, &st), RING_RESULT_OK);
    CHECK(st.written == seq && st.dropped == 0);
    ring_reader_free(rd);
    ring_free(r);

    /* 4 threads, every record through ring_writev (1 to 4 parts, some
     * empty), 2 readers checking each record whole and in order. */
    return run_concurrent_with(1 << 20, 4, scaled(20000), 400, 2, 0, NULL, 1);
}

/* ---- ring_dump_fd ---------------------------------------------------------- */

/* A temporary file, already unlinked. */
static int temp_fd(void) {
    char path[] = "/tmp/ringlog-harness-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(unlink(path) == 0);
    return fd;
}

/* Empties the file, for the next dump. */
static void reset_file(int fd) {
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
}

/* The whole file into `buf` (`cap` bytes); its size. */
static size_t file_bytes(int fd, uint8_t *buf, size_t cap) {
    struct stat sb;
    CHECK(fstat(fd, &sb) == 0);
    CHECK((size_t)sb.st_size <= cap);
    size_t got = 0;
    while (got < (size_t)sb.st_size) {
        ssize_t n = pread(fd, buf + got, (size_t)sb.st_size - got, (off_t)got);
        CHECK(n > 0);
        got += (size_t)n;
    }
    return got;
}

/* Reads a pipe to its end into a buffer. */
typedef struct {
    int fd;
    uint8_t *buf;
    size_t cap, len;
} pipe_sink;

static void *pipe_drain(void *arg) {
    pipe_sink *p = arg;
    for (;;) {
        ssize_t n = read(p->fd, p->buf + p->len, p->cap - p->len);
        if (n < 0 && errno == EINTR) continue;
        CHECK(n >= 0);
        if (n == 0) return NULL;
        p->len += (size_t)n;
        CHECK(p->len < p->cap); /* more than the ring can hold: wrong */
    }
}

/* The dump through a pipe, collected by a thread; its length. */
static size_t dump_through_pipe(const ring *r, uint8_t *buf, size_t cap) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    pipe_sink sink = {fds[0], buf, cap, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, pipe_drain, &sink) == 0);
    CHECK_RES(ring_dump_fd(r, fds[1]), RING_RESULT_OK);
    close(fds[1]);
    join_within(t, 10, "pipe reader");
    close(fds[0]);
    return sink.len;
}

/* Expects ring_dump_fd to fail with RING_RESULT_IO and `want` in errno. */
static void expect_io_error(const ring *r, int fd, int want, const char *what) {
    errno = 0;
    ring_result res = ring_dump_fd(r, fd);
    int e = errno;
    if (res != RING_RESULT_IO || e != want)
        FAIL("dump to %s: %s, errno %d (%s); wanted RING_RESULT_IO, errno %d (%s)", what, ring_result_str(res), e,
             strerror(e), want, strerror(want));
}

typedef struct {
    ring *r;
    uint32_t id;
    size_t max_len;
    atomic_int *stop;
    atomic_ullong written;
} loop_writer_ctx;

/* Writes self-checking records until told to stop. */
static void *loop_writer(void *arg) {
    loop_writer_ctx *w = arg;
    uint8_t buf[1024];
    CHECK(w->max_len <= sizeof buf);
    for (uint64_t c = 0; !atomic_load(w->stop); c++) {
        size_t len = make_record(buf, w->id, c, record_len(w->id, c, w->max_len));
        CHECK_RES(ring_write(w->r, buf, len), RING_RESULT_OK);
        atomic_fetch_add(&w->written, 1);
        if (c % 64 == 0) sched_yield(); /* valgrind runs one thread at a time */
    }
    return NULL;
}

static int case_dump_fd(void) {
    static uint8_t snap[1 << 16], dumped[(1 << 16) + 4096];
    size_t n;
    int64_t last[2];
    ring *r;
    CHECK_RES(ring_new(1 << 16, &r), RING_RESULT_OK);
    int file = temp_fd();

    /* An empty ring dumps nothing. */
    CHECK_RES(ring_dump_fd(r, file), RING_RESULT_OK);
    CHECK(file_bytes(file, dumped, sizeof dumped) == 0);

    /* A ring that wrapped, with records under, at and over 4 KiB (those
     * are written in pieces): the dump is byte for byte the snapshot. */
    uint8_t rec[10000];
    for (uint64_t c = 0; c < 300; c++) {
        size_t len = c == 290 ? 10000 : c == 291 ? 4096 : c == 292 ? 4097 : record_len(0, c, 600);
        CHECK_RES(ring_write(r, rec, make_record(rec, 0, c, len)), RING_RESULT_OK);
    }
    struct ring_stats st;
    CHECK_RES(ring_stats(r, &st), RING_RESULT_OK);
    CHECK(st.oldest_seq > 0); /* wrapped */
    CHECK_RES(ring_snapshot(r, snap, sizeof snap, &n), RING_RESULT_OK);
    last[0] = -1;
    CHECK(parse_records(snap, n, 1, last) == (int64_t)(st.written - st.oldest_seq));
    reset_file(file);
    CHECK_RES(ring_dump_fd(r, file), RING_RESULT_OK);
    CHECK(file_bytes(file, dumped, sizeof dumped) == n && memcmp(dumped, snap, n) == 0);
    CHECK(dump_through_pipe(r, dumped, sizeof dumped) == n && memcmp(dumped, snap, n) == 0);

    /* write(2) failures: RING_RESULT_IO with write's errno. */
    int fd = open("/dev/null", O_WRONLY);
    CHECK(fd >= 0);
    close(fd);
    expect_io_error(r, fd, EBADF, "a closed fd");
    fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0);
    expect_io_error(r, fd, EBADF, "a read-only fd");
    close(fd);
    int fds[2];
    CHECK(pipe(fds) == 0);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    expect_io_error(r, fds[1], EPIPE, "a pipe with no reader");
    signal(SIGPIPE, SIG_DFL);
    close(fds[1]);
    CHECK(pipe(fds) == 0);
    CHECK(fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0);
    CHECK(fcntl(fds[1], F_SETPIPE_SZ, 4096) >= 0 && n > (size_t)fcntl(fds[1], F_GETPIPE_SZ));
    expect_io_error(r, fds[1], EAGAIN, "a full non-blocking pipe");
    close(fds[0]);
    close(fds[1]);
    /* ... and the ring is unharmed. */
    reset_file(file);
    CHECK_RES(ring_dump_fd(r, file), RING_RESULT_OK);
    CHECK(file_bytes(file, dumped, sizeof dumped) == n && memcmp(dumped, snap, n) == 0);
    ring_free(r);

    /* Dumps while 2 threads write records under 4 KiB: every byte of
     * every dump belongs to a whole record, and in each dump each writer's
     * counters increase (oldest first, none twice). */
    CHECK_RES(ring_new(1 << 16, &r), RING_RESULT_OK);
    atomic_int stop = 0;
    loop_writer_ctx w[2];
    pthread_t wt[2];
    for (uint32_t i = 0; i < 2; i++) {
        w[i] = (loop_writer_ctx){.r = r, .id = i, .max_len = 1000, .stop = &stop};
        CHECK(pthread_create(&wt[i], NULL, loop_writer, &w[i]) == 0);
    }
    struct ring_stats before_dumps;
    int64_t deadline = now_ms() + 10000;
    do { /* dump a ring that wrapped: eviction goes on during the dumps */
        sched_yield();
        CHECK_RES(ring_stats(r, &before_dumps), RING_RESULT_OK);
    } while (before_dumps.oldest_seq == 0 && now_ms() < deadline);
    CHECK(before_dumps.oldest_seq > 0);
    uint64_t dumps = scaled(300), records = 0, bytes = 0, moved = 0;
    for (uint64_t d = 0; d < dumps; d++) {
        unsigned long long before = atomic_load(&w[0].written) + atomic_load(&w[1].written);
        reset_file(file);
        CHECK_RES(ring_dump_fd(r, file), RING_RESULT_OK);
        moved += atomic_load(&w[0].written) + atomic_load(&w[1].written) != before;
        size_t len = file_bytes(file, dumped, sizeof dumped);
        CHECK(len <= ring_capacity(r));
        last[0] = last[1] = -1;
        int64_t got = parse_records(dumped, len, 2, last);
        if (got < 0) FAIL("dump %llu (%zu bytes) holds a torn or corrupt record", (unsigned long long)d, len);
        records += (uint64_t)got;
        bytes += len;
    }
    CHECK_RES(ring_stats(r, &st), RING_RESULT_OK);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) join_within(wt[i], 10, "writer");
    CHECK(st.written > before_dumps.written); /* the writers wrote during the dumps */
    /* Quiet again: the dump is the snapshot. */
    CHECK_RES(ring_snapshot(r, snap, sizeof snap, &n), RING_RESULT_OK);
    reset_file(file);
    CHECK_RES(ring_dump_fd(r, file), RING_RESULT_OK);
    CHECK(file_bytes(file, dumped, sizeof dumped) == n && memcmp(dumped, snap, n) == 0);
    printf("   %llu dumps during %llu writes (%llu dumps while a write completed): %llu whole records, %llu bytes\n",
           (unsigned long long)dumps, (unsigned long long)(st.written - before_dumps.written),
           (unsigned long long)moved, (unsigned long long)records, (unsigned long long)bytes);
    close(file);
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

/* ---- ring_open_file ---------------------------------------------------------- */

/* The bytes of the file at `path` (malloc'd; `*len` its size). */
static uint8_t *read_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    struct stat sb;
    CHECK(fstat(fd, &sb) == 0);
    uint8_t *buf = malloc((size_t)sb.st_size + 1);
    CHECK(buf);
    size_t got = 0;
    while (got < (size_t)sb.st_size) {
        ssize_t n = pread(fd, buf + got, (size_t)sb.st_size - got, (off_t)got);
        CHECK(n > 0);
        got += (size_t)n;
    }
    close(fd);
    *len = got;
    return buf;
}

static void write_file(const char *path, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, data, len) == (ssize_t)len);
    CHECK(close(fd) == 0);
}

/* Expects ring_open_file(path, capacity) to fail with `want` (and errno
 * `want_errno` for RING_RESULT_IO), `*out` NULL. */
static void expect_open_fails(const char *path, size_t capacity, ring_result want, int want_errno) {
    ring *r = (ring *)&r; /* not NULL: the call must clear it */
    errno = 0;
    ring_result got = ring_open_file(path, capacity, &r);
    int e = errno;
    if (got != want)
        FAIL("ring_open_file(%s, %zu): %s, wanted %s", path ? path : "NULL", capacity, ring_result_str(got),
             ring_result_str(want));
    if (want == RING_RESULT_IO && e != want_errno)
        FAIL("ring_open_file(%s, %zu): errno %d (%s), wanted %d (%s)", path ? path : "NULL", capacity, e,
             strerror(e), want_errno, strerror(want_errno));
    if (r != NULL) FAIL("ring_open_file(%s, %zu) failed but left *out set", path ? path : "NULL", capacity);
}

/* A file that is not a ring: BAD_FILE for every capacity, the file byte
 * for byte as it was. */
static void expect_bad_file(const char *path, const void *data, size_t len) {
    write_file(path, data, len);
    size_t caps[] = {0, 4096};
    for (size_t i = 0; i < 2; i++) {
        expect_open_fails(path, caps[i], RING_RESULT_BAD_FILE, 0);
        size_t n;
        uint8_t *after = read_file(path, &n);
        if (n != len || (len > 0 && memcmp(after, data, len) != 0))
            FAIL("%s: refused, but changed (%zu bytes before, %zu after)", path, len, n);
        free(after);
    }
}

typedef struct {
    ring_reader *rd;
    ring_record rec;
    ring_result res;
    uint8_t buf[256];
} file_wait_ctx;

static void *file_wait_one(void *arg) {
    file_wait_ctx *w = arg;
    w->res = ring_reader_next(w->rd, w->buf, sizeof w->buf, &w->rec, 10000);
    return NULL;
}

static int case_open_file(void) {
    char dir[] = "/tmp/ringlog-harness-file-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128], text[128], missing[128];
    snprintf(path, sizeof path, "%s/ring", dir);
    snprintf(text, sizeof text, "%s/notes.txt", dir);
    snprintf(missing, sizeof missing, "%s/no-such-dir/ring", dir);
    ring *r, *r2;

    /* NULL path or out. */
    expect_open_fails(NULL, 4096, RING_RESULT_NULL_PARAMETER, 0);
    expect_open_fails(NULL, 0, RING_RESULT_NULL_PARAMETER, 0);
    CHECK_RES(ring_open_file(path, 4096, NULL), RING_RESULT_NULL_PARAMETER);
    CHECK(access(path, F_OK) != 0); /* nothing created */

    /* System errors: IO with errno. */
    expect_open_fails(missing, 4096, RING_RESULT_IO, ENOENT);
    expect_open_fails(missing, 0, RING_RESULT_IO, ENOENT);
    expect_open_fails(path, 0, RING_RESULT_IO, ENOENT); /* capacity 0 creates nothing */
    CHECK(access(path, F_OK) != 0);

    /* Capacities out of range: nothing created. */
    expect_open_fails(path, 1, RING_RESULT_INVALID_ARGUMENT, 0);
    expect_open_fails(path, 1023, RING_RESULT_INVALID_ARGUMENT, 0);
    expect_open_fails(path, SIZE_MAX, RING_RESULT_INVALID_ARGUMENT, 0);
    CHECK(access(path, F_OK) != 0);

    /* Not a ring: refused, untouched. */
    static const char notes[] = "2026-11-29 12:00:00 INFO a log file, not a ring\n";
    expect_bad_file(text, notes, sizeof notes - 1);
    expect_bad_file(text, "", 0);
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 131u + 7u);
    expect_bad_file(text, junk, sizeof junk);

    /* Created (mode 0600, 20 KiB of header and tables + capacity + slack),
     * written, freed, opened again: every record is there. */
    CHECK_RES(ring_open_file(path, 4096, &r), RING_RESULT_OK);
    CHECK(r != NULL);
    struct stat sb;
    CHECK(stat(path, &sb) == 0);
    CHECK((sb.st_mode & 0777) == 0600);
    CHECK(sb.st_size == 20480 + 4096 + 256);
    CHECK(ring_capacity(r) == 4096 && ring_max_record(r) == 1024);
    const uint64_t n = 40;
    uint8_t rec[128];
    for (uint64_t i = 0; i < n; i++) {
        size_t len = make_record(rec, 0, i, record_len(0, i, 60));
        CHECK_RES(ring_write(r, rec, len), RING_RESULT_OK);
    }
    ring_free(r);

    /* A capacity other than the file's: INVALID_ARGUMENT, file untouched. */
    size_t before_len;
    uint8_t *before = read_file(path, &before_len);
    expect_open_fails(path, 8192, RING_RESULT_INVALID_ARGUMENT, 0);
    expect_open_fails(path, 1024, RING_RESULT_INVALID_ARGUMENT, 0);
    size_t after_len;
    uint8_t *after = read_file(path, &after_len);
    CHECK(after_len == before_len && memcmp(after, before, before_len) == 0);
    free(before);
    free(after);

    CHECK_RES(ring_open_file(path, 0, &r), RING_RESULT_OK);
    CHECK_RES(ring_open_file(path, 4096, &r2), RING_RESULT_OK); /* its capacity, also fine */
    CHECK(ring_capacity(r) == 4096 && ring_capacity(r2) == 4096);
    ring_reader *rd;
    ring_record got;
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &rd), RING_RESULT_OK);
    for (uint64_t i = 0; i < n; i++) {
        CHECK_RES(ring_reader_next(rd, rec, sizeof rec, &got, 1000), RING_RESULT_OK);
        uint32_t w;
        uint64_t counter;
        CHECK(got.seq == i && got.lost == 0);
        CHECK(check_record(rec, got.len, 1, &w, &counter) == 0 && counter == i);
    }
    CHECK_RES(ring_reader_next(rd, rec, sizeof rec, &got, 0), RING_RESULT_TIMEOUT);
    struct ring_stats st;
    CHECK_RES(ring_stats(r, &st), RING_RESULT_OK);
    CHECK(st.written == n && st.closed == 0 && st.capacity == 4096);

    /* A reader waiting in one handle is woken by a write through the other
     * (the futex word is in the file). */
    file_wait_ctx wc = {.rd = rd};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, file_wait_one, &wc) == 0);
    sleep_ms(50);
    CHECK_RES(ring_write(r2, "through the other handle", 24), RING_RESULT_OK);
    join_within(t, 20, "reader waiting on a file ring");
    CHECK_RES(wc.res, RING_RESULT_OK);
    CHECK(wc.rec.seq == n && wc.rec.len == 24 && memcmp(wc.buf, "through the other handle", 24) == 0);

    /* Freeing a handle does not close a file ring; ring_close does, for
     * every handle: the reader drains and ends, writes fail. */
    ring_free(r2);
    CHECK_RES(ring_write(r, "still open", 10), RING_RESULT_OK);
    CHECK_RES(ring_close(r), RING_RESULT_OK);
    CHECK_RES(ring_write(r, "after close", 11), RING_RESULT_CLOSED);
    CHECK_RES(ring_reader_next(rd, rec, sizeof rec, &got, 1000), RING_RESULT_OK);
    CHECK(got.seq == n + 1 && got.len == 10);
    CHECK_RES(ring_reader_next(rd, rec, sizeof rec, &got, 1000), RING_RESULT_CLOSED);
    ring_reader_free(rd);
    ring_free(r);

    /* The next run opens it again for writing; seqs go on. */
    CHECK_RES(ring_open_file(path, 0, &r), RING_RESULT_OK);
    CHECK_RES(ring_write(r, "next run", 8), RING_RESULT_OK);
    CHECK_RES(ring_stats(r, &st), RING_RESULT_OK);
    CHECK(st.written == n + 3 && st.closed == 0);
    CHECK_RES(ring_reader_new(r, RING_START_SEQ, n + 2, &rd), RING_RESULT_OK);
    CHECK_RES(ring_reader_next(rd, rec, sizeof rec, &got, 1000), RING_RESULT_OK);
    CHECK(got.seq == n + 2 && got.len == 8 && memcmp(rec, "next run", 8) == 0);
    ring_reader_free(rd);
    ring_free(r);

    /* A directory is not a ring file. */
    r = (ring *)&r;
    ring_result res = ring_open_file(dir, 0, &r);
    CHECK((res == RING_RESULT_BAD_FILE || res == RING_RESULT_IO) && r == NULL);

    CHECK(unlink(path) == 0);
    CHECK(unlink(text) == 0);
    CHECK(rmdir(dir) == 0);
    return 0;
}

/* ---------------------------------------------------------------------
 * Dispatch.
 * ------------------------------------------------------------------- */

/* In faults.c. */
int case_fork(void);
int case_signals(void);
int case_signal_writes(void);
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
    {"stats", case_stats},
    {"writev", case_writev},
    {"dump_fd", case_dump_fd},
    {"open_file", case_open_file},
    {"fork", case_fork},
    {"signals", case_signals},
    {"signal_writes", case_signal_writes},
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
    alarm(limit ? (unsigned)atoi(limit) : (unsigned)watchdog_secs(300));
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
