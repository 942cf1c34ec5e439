/* Fault cases of the C harness: fork, signals, panics inside the library
 * (needs libringlog built with the fault-injection feature), allocation
 * failures (needs the malloc interposer of oom_interpose.c). */
#include "harness.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fork --------------------------------------------------------------- */

typedef struct {
    ring *r;
    atomic_int stop;
    atomic_ullong writes;
} hammer_ctx;

static void *hammer(void *arg) {
    hammer_ctx *h = arg;
    while (!atomic_load(&h->stop)) {
        ring_result res = ring_write(h->r, "parent", 6);
        if (res != RING_RESULT_OK && res != RING_RESULT_CLOSED) FAIL("parent writer: %s", ring_result_str(res));
        /* Busy, but not a CPU hog: under valgrind (one thread at a time) a
         * thread that never blocks starves the others. */
        if (atomic_fetch_add(&h->writes, 1) % 256 == 0) sched_yield();
    }
    return NULL;
}

typedef struct {
    ring_reader *rd;
    uint64_t read;
} follow_ctx;

static void *follow(void *arg) {
    follow_ctx *f = arg;
    uint8_t buf[64];
    ring_record rec;
    ring_result res;
    while ((res = ring_reader_next(f->rd, buf, sizeof buf, &rec, -1)) == RING_RESULT_OK) f->read++;
    CHECK_RES(res, RING_RESULT_CLOSED);
    return NULL;
}

/* The child of a multi-threaded parent: every call on an inherited ring or
 * reader returns FORKED at once (an alarm turns a deadlock into a failure),
 * freeing them does not hang, and a new ring works. */
static void child_after_fork(ring *r, ring_reader *rd) {
    alarm(10);
    uint8_t buf[64];
    ring_record rec;
    size_t n;
    ring_reader *rd2 = NULL;
    CHECK_RES(ring_write(r, "child", 5), RING_RESULT_FORKED);
    CHECK_RES(ring_write(r, buf, SIZE_MAX), RING_RESULT_TOO_LARGE); /* argument errors still first */
    CHECK_RES(ring_reader_next(rd, buf, sizeof buf, &rec, -1), RING_RESULT_FORKED);
    CHECK_RES(ring_reader_read(rd, buf, sizeof buf, &n, -1), RING_RESULT_FORKED);
    CHECK_RES(ring_flush(r, -1), RING_RESULT_FORKED);
    CHECK_RES(ring_snapshot(r, NULL, 0, &n), RING_RESULT_FORKED);
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &rd2), RING_RESULT_FORKED);
    CHECK_RES(ring_close(r), RING_RESULT_FORKED);
    CHECK(ring_capacity(r) == 1 << 16);
    ring_reader_free(rd);
    ring_free(r);
    ring *c;
    CHECK_RES(ring_new(4096, &c), RING_RESULT_OK);
    ring_reader *crd;
    CHECK_RES(ring_reader_new(c, RING_START_OLDEST, 0, &crd), RING_RESULT_OK);
    CHECK_RES(ring_write(c, "fresh", 5), RING_RESULT_OK);
    CHECK_RES(ring_reader_next(crd, buf, sizeof buf, &rec, 0), RING_RESULT_OK);
    CHECK(rec.len == 5 && memcmp(buf, "fresh", 5) == 0);
    ring_reader_free(crd);
    ring_free(c);
    _exit(0);
}

int case_fork(void) {
    ring *r;
    CHECK_RES(ring_new(1 << 16, &r), RING_RESULT_OK);
    ring_reader *rd, *rd_follow;
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &rd), RING_RESULT_OK);
    CHECK_RES(ring_reader_new(r, RING_START_NEWEST, 0, &rd_follow), RING_RESULT_OK);
    hammer_ctx h = {.r = r};
    follow_ctx f = {.rd = rd_follow};
    pthread_t ht, ft;
    CHECK(pthread_create(&ht, NULL, hammer, &h) == 0);
    CHECK(pthread_create(&ft, NULL, follow, &f) == 0);
    sleep_ms(50);
    for (int round = 0; round < 5; round++) { /* fork at different moments */
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) child_after_fork(r, rd);
        int status = 0;
        int64_t deadline = now_ms() + 20000;
        while (waitpid(pid, &status, WNOHANG) == 0) {
            if (now_ms() > deadline) {
                kill(pid, SIGKILL);
                FAIL("the child of fork %d hung", round);
            }
            sleep_ms(5);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            FAIL("child of fork %d failed (status 0x%x)", round, status);
        sleep_ms(10);
    }
    /* The parent is unaffected. */
    unsigned long long before = atomic_load(&h.writes);
    sleep_ms(50);
    CHECK(atomic_load(&h.writes) > before);
    CHECK_RES(ring_write(r, "parent", 6), RING_RESULT_OK);
    atomic_store(&h.stop, 1);
    join_within(ht, 10, "parent writer");
    ring_reader_free(rd); /* idle: it would hold up the flush */
    CHECK_RES(ring_flush(r, 10000), RING_RESULT_OK);
    CHECK_RES(ring_close(r), RING_RESULT_OK);
    join_within(ft, 10, "parent reader");
    CHECK(f.read > 0);
    printf("   5 forks: each child refused the inherited ring and used a new one; parent wrote %llu records\n",
           atomic_load(&h.writes));
    ring_reader_free(rd_follow);
    ring_free(r);
    return 0;
}

/* ---- signals --------------------------------------------------------------- */

static atomic_int signal_hits;

static void on_usr1(int sig) {
    (void)sig;
    atomic_fetch_add(&signal_hits, 1);
}

typedef struct {
    ring_reader *rd;
    int64_t timeout_ms;
    ring_result res;
    ring_record rec;
    int64_t took_ms;
    atomic_int done;
} sig_reader_ctx;

static void *sig_reader(void *arg) {
    sig_reader_ctx *c = arg;
    uint8_t buf[64];
    int64_t t0 = now_ms();
    c->res = ring_reader_next(c->rd, buf, sizeof buf, &c->rec, c->timeout_ms);
    c->took_ms = now_ms() - t0;
    atomic_store(&c->done, 1);
    return NULL;
}

/* A burst of signals neither wakes a blocked reader early nor breaks it. */
int case_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: interrupted waits must resume by themselves */
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    ring *r;
    CHECK_RES(ring_new(4096, &r), RING_RESULT_OK);
    sig_reader_ctx forever = {.timeout_ms = -1}, bounded = {.timeout_ms = 300};
    CHECK_RES(ring_reader_new(r, RING_START_NEWEST, 0, &forever.rd), RING_RESULT_OK);
    CHECK_RES(ring_reader_new(r, RING_START_NEWEST, 0, &bounded.rd), RING_RESULT_OK);
    pthread_t tf, tb;
    CHECK(pthread_create(&tf, NULL, sig_reader, &forever) == 0);
    CHECK(pthread_create(&tb, NULL, sig_reader, &bounded) == 0);
    sleep_ms(20);
    for (uint64_t i = 0; i < scaled(2000); i++) {
        pthread_kill(tf, SIGUSR1);
        if (!atomic_load(&bounded.done)) pthread_kill(tb, SIGUSR1);
        if (i % 50 == 0) sleep_ms(1);
    }
    join_within(tb, 10, "bounded reader");
    CHECK_RES(bounded.res, RING_RESULT_TIMEOUT);
    if (bounded.took_ms < 295) FAIL("a 300 ms wait ended after %lld ms under signals", (long long)bounded.took_ms);
    CHECK(!atomic_load(&forever.done)); /* still blocked, not woken by a signal */
    CHECK_RES(ring_write(r, "after the storm", 15), RING_RESULT_OK);
    join_within(tf, 10, "blocked reader");
    CHECK_RES(forever.res, RING_RESULT_OK);
    CHECK(forever.rec.len == 15 && forever.rec.seq == 0);
    CHECK(atomic_load(&signal_hits) > 0); /* delivered (sanitizers may coalesce some) */
    printf("   %d signals delivered; the bounded wait took %lld ms, the blocked one got its record\n",
           atomic_load(&signal_hits), (long long)bounded.took_ms);
    ring_reader_free(forever.rd);
    ring_reader_free(bounded.rd);
    ring_free(r);
    return 0;
}

/* ---- panics (libringlog built with the fault-injection feature) ------------ */

#ifdef RINGLOG_FAULT_INJECTION
ring_result ring_test_panic_at(uint32_t point); /* test-only, not in the header */

typedef struct {
    ring *r;
    atomic_ullong ok, panic;
} panic_writer_ctx;

static void *panic_writer(void *arg) {
    panic_writer_ctx *p = arg;
    for (;;) {
        ring_result res = ring_write(p->r, "xxxxxxxx", 8);
        if (res == RING_RESULT_OK) {
            atomic_fetch_add(&p->ok, 1);
        } else {
            CHECK_RES(res, RING_RESULT_PANIC);
            atomic_fetch_add(&p->panic, 1);
            return NULL;
        }
    }
}

int case_panic(void) {
    uint8_t buf[64];
    ring_record rec;
    size_t n;
    CHECK_RES(ring_test_panic_at(99), RING_RESULT_INVALID_ARGUMENT);

    /* A read interrupted before the reader moves on: the record comes again. */
    ring *r;
    CHECK_RES(ring_new(4096, &r), RING_RESULT_OK);
    ring_reader *rd;
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &rd), RING_RESULT_OK);
    CHECK_RES(ring_write(r, "zero", 4), RING_RESULT_OK);
    CHECK_RES(ring_test_panic_at(2), RING_RESULT_OK);
    CHECK_RES(ring_reader_next(rd, buf, sizeof buf, &rec, 0), RING_RESULT_PANIC);
    CHECK_RES(ring_reader_next(rd, buf, sizeof buf, &rec, 0), RING_RESULT_OK);
    CHECK(rec.seq == 0 && rec.len == 4 && memcmp(buf, "zero", 4) == 0);

    /* Snapshot and flush interrupted: nothing changed. */
    CHECK_RES(ring_test_panic_at(3), RING_RESULT_OK);
    CHECK_RES(ring_snapshot(r, buf, sizeof buf, &n), RING_RESULT_PANIC);
    CHECK_RES(ring_snapshot(r, buf, sizeof buf, &n), RING_RESULT_OK);
    CHECK(n == 4 && memcmp(buf, "zero", 4) == 0);
    CHECK_RES(ring_test_panic_at(4), RING_RESULT_OK);
    CHECK_RES(ring_flush(r, 0), RING_RESULT_PANIC);
    CHECK_RES(ring_flush(r, 0), RING_RESULT_OK);

    /* A write interrupted between reserve and commit: the ring is poisoned.
     * Concurrent writers stop (none hangs behind the dead record), a
     * blocked reader wakes, readers end after the committed records. */
    panic_writer_ctx pw = {.r = r};
    pthread_t wt[3];
    for (int i = 0; i < 3; i++) CHECK(pthread_create(&wt[i], NULL, panic_writer, &pw) == 0);
    sleep_ms(20);
    CHECK_RES(ring_test_panic_at(1), RING_RESULT_OK);
    for (int i = 0; i < 3; i++) join_within(wt[i], 10, "writer behind a poisoned reservation");
    CHECK(atomic_load(&pw.panic) == 3);
    CHECK_RES(ring_write(r, "late", 4), RING_RESULT_PANIC);
    uint64_t committed = 1 + atomic_load(&pw.ok), read = 0;
    ring_result res;
    while ((res = ring_reader_next(rd, buf, sizeof buf, &rec, -1)) == RING_RESULT_OK) {
        CHECK(rec.len == 8 && memcmp(buf, "xxxxxxxx", 8) == 0);
        read += 1 + rec.lost;
    }
    CHECK_RES(res, RING_RESULT_PANIC); /* the end of a poisoned ring */
    CHECK(read + 1 == committed);      /* every committed record accounted for */
    res = ring_snapshot(r, NULL, 0, &n); /* what was committed can still be dumped */
    CHECK(res == RING_RESULT_BUF_SMALL && n > 0);
    printf("   poisoned after %llu committed writes; readers ended cleanly\n", (unsigned long long)committed);
    ring_reader_free(rd);
    ring_free(r);

    /* Other rings are unaffected. */
    CHECK_RES(ring_new(4096, &r), RING_RESULT_OK);
    CHECK_RES(ring_write(r, "fine", 4), RING_RESULT_OK);
    ring_free(r);
    return 0;
}
#endif

/* ---- allocation failures (the malloc interposer of oom_interpose.c) -------- */

#ifdef RINGLOG_OOM_INTERPOSE
extern atomic_int oom_mode;             /* 0: off; 1: fail every allocation; 2: fail those >= oom_min */
extern atomic_size_t oom_min;
extern atomic_ullong oom_attempts;      /* allocation calls seen while armed */

int case_oom(void) {
    /* The ring's memory cannot be had: NO_MEMORY, no abort. */
    ring *r = NULL;
    atomic_store(&oom_min, (size_t)1 << 20);
    atomic_store(&oom_mode, 2);
    CHECK_RES(ring_new((size_t)8 << 20, &r), RING_RESULT_NO_MEMORY);
    CHECK(r == NULL);
    atomic_store(&oom_mode, 0);

    CHECK_RES(ring_new(1 << 16, &r), RING_RESULT_OK);
    ring_reader *rd, *stream;
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &rd), RING_RESULT_OK);
    CHECK_RES(ring_reader_new(r, RING_START_OLDEST, 0, &stream), RING_RESULT_OK);
    uint8_t buf[256];
    ring_record rec;
    size_t n;

    /* With every allocation failing, the data path still works: it does
     * not allocate at all. */
    atomic_store(&oom_attempts, 0);
    atomic_store(&oom_mode, 1);
    for (int i = 0; i < 100000; i++) {
        CHECK_RES(ring_write(r, "no allocation here", 18), RING_RESULT_OK);
        if (i % 10 == 0) {
            ring_result res = ring_reader_next(rd, buf, sizeof buf, &rec, 0);
            CHECK(res == RING_RESULT_OK);
            res = ring_reader_read(stream, buf, sizeof buf, &n, 0);
            CHECK(res == RING_RESULT_OK || res == RING_RESULT_LOST);
        }
    }
    ring_result fr = ring_flush(r, 0);
    CHECK(fr == RING_RESULT_OK || fr == RING_RESULT_TIMEOUT);
    CHECK_RES(ring_snapshot(r, buf, sizeof buf, &n), RING_RESULT_NO_MEMORY); /* needs a copy: reported */
    CHECK(ring_result_str(RING_RESULT_NO_MEMORY) != NULL);
    CHECK_RES(ring_close(r), RING_RESULT_OK);
    unsigned long long attempts = atomic_load(&oom_attempts);
    atomic_store(&oom_mode, 0);
    CHECK(attempts == 1); /* the snapshot's, and nothing else */

    size_t need = 0;
    CHECK_RES(ring_snapshot(r, NULL, 0, &need), RING_RESULT_BUF_SMALL);
    CHECK(need > 0);
    printf("   100000 writes, reads and a flush with every allocation failing: %llu allocation attempt(s)\n",
           attempts);
    ring_reader_free(rd);
    ring_reader_free(stream);
    ring_free(r);
    return 0;
}
#endif
