/* Fault cases of the C harness: fork, signals (also handlers that write),
 * panics inside the library (needs libringlog built with the
 * fault-injection feature), allocation failures (needs the malloc
 * interposer of oom_interpose.c). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
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
    const ring_slice part[1] = {{"child", 5}};
    CHECK_RES(ring_writev(r, part, 1), RING_RESULT_FORKED);
    CHECK_RES(ring_writev(r, NULL, 1), RING_RESULT_NULL_PARAMETER); /* argument errors still first */
    CHECK_RES(ring_dump_fd(r, 2), RING_RESULT_FORKED);
    CHECK_RES(ring_dump_fd(r, -1), RING_RESULT_INVALID_ARGUMENT);
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

/* ---- signal handlers that write -------------------------------------------- */

/* ring_write, ring_writev, ring_snapshot and ring_dump_fd are documented
 * async-signal-safe, whatever the interrupted thread was doing. A pump
 * thread signals five target threads (SIGUSR1, one signal in flight per
 * target, each after the target made progress) for a few seconds:
 *   A      writes in a loop; its handler's writes nest inside its own;
 *   B1, B2 write in a loop (ring_write, ring_writev), signalled back to
 *          back: two handlers write at once;
 *   RC     a checking reader in ring_reader_next (no timeout, and short
 *          ones), interrupted while it sleeps;
 *   D      loops on malloc/free; its handler also snapshots into a static
 *          buffer and dumps to /dev/null or a pipe: ringlog must neither
 *          allocate nor lock.
 * Every handler writes self-checking records. Two checking readers verify
 * every record (whole, seq order, per-source counters increasing) and
 * read + lost == written; a thread checks the snapshots, another the bytes
 * dumped to the pipe. */
enum { T_A, T_B1, T_B2, T_RC, T_D, N_TARGETS };
/* Record sources (make_record's writer id): the writing threads A, B1, B2
 * (0..2), then each target's handler (3 + target). */
enum { N_THREAD_SRC = 3, N_SRC = N_THREAD_SRC + N_TARGETS };
#define HANDLER_SRC(t) ((uint32_t)(N_THREAD_SRC + (t)))
#define SIG_MAX_REC 400   /* records up to 400 bytes: under 4 KiB, so dumps hold them whole */
#define SNAP_CAP (1u << 20) /* at least the capacity of either ring */

static struct {
    ring *r;
    int pipe_wr, devnull;
    atomic_int stop_pump, stop_threads;
    atomic_ullong ok[N_SRC], busy[N_SRC];
    atomic_ullong sent[N_TARGETS], handled[N_TARGETS], progress[N_TARGETS];
    uint64_t hcount[N_TARGETS]; /* counter of each handler's next record: that handler's alone */
    atomic_ullong nested;       /* handlers that interrupted a ring_write/ring_writev of their thread */
    atomic_ullong in_malloc;    /* handlers that interrupted malloc or free */
    atomic_ullong snapshots, dumps, pipe_dumps;
} sw;

/* Which target the current thread is (-1: none), and what it is doing. */
static _Thread_local int tl_target = -1;
static _Thread_local volatile sig_atomic_t tl_in_write, tl_in_malloc;

/* Thread D and its handler only: a snapshot the handler took, for D to
 * check outside the handler. */
static uint8_t snap_check[SNAP_CAP], snap_scratch[SNAP_CAP];
static volatile size_t snap_len;
static volatile sig_atomic_t snap_state; /* 0: free; 1: filled, to check; 2: being checked */

/* Fails the case from a signal handler: write(2) and _exit only. `res`:
 * what the failed call returned (RING_RESULT_OK when no call failed). */
static void sig_fail(const char *what, ring_result res) {
    char msg[200];
    size_t n = 0;
    const char *parts[] = {"FAIL in a signal handler: ", what, res == RING_RESULT_OK ? "" : " returned ",
                           res == RING_RESULT_OK ? "" : ring_result_str(res), "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        for (const char *p = parts[i]; *p && n < sizeof msg; p++) msg[n++] = *p;
    (void)!write(2, msg, n);
    _exit(1);
}

/* Counts a write's result: OK, or BUSY (which the 1 MiB run then fails). */
static void count_write(uint32_t src, ring_result res, const char *what) {
    if (res == RING_RESULT_OK)
        atomic_fetch_add_explicit(&sw.ok[src], 1, memory_order_relaxed);
    else if (res == RING_RESULT_BUSY)
        atomic_fetch_add_explicit(&sw.busy[src], 1, memory_order_relaxed);
    else
        sig_fail(what, res);
}

/* The handler: async-signal-safe functions and ringlog's four only; errno
 * saved and restored. */
static void on_sigusr1(int sig) {
    (void)sig;
    int saved_errno = errno;
    int t = tl_target;
    if (t < 0) sig_fail("SIGUSR1 on a thread that is no target", RING_RESULT_OK);
    if (tl_in_write) atomic_fetch_add_explicit(&sw.nested, 1, memory_order_relaxed);
    if (tl_in_malloc) atomic_fetch_add_explicit(&sw.in_malloc, 1, memory_order_relaxed);
    uint8_t rec[SIG_MAX_REC];
    uint32_t src = HANDLER_SRC(t);
    uint64_t c = sw.hcount[t]++;
    size_t len = make_record(rec, src, c, record_len(src, c, SIG_MAX_REC));
    ring_result res = c % 2 ? ring_write(sw.r, rec, len) : writev_split(sw.r, rec, len, 1 + (unsigned)(c % 3), c);
    count_write(src, res, c % 2 ? "ring_write" : "ring_writev");
    if (t == T_D) {
        size_t n = 0;
        int keep = snap_state == 0; /* D is not checking the last one: this one is for it */
        res = ring_snapshot(sw.r, keep ? snap_check : snap_scratch, SNAP_CAP, &n);
        if (res != RING_RESULT_OK) sig_fail("ring_snapshot", res);
        if (keep) {
            snap_len = n;
            atomic_signal_fence(memory_order_release);
            snap_state = 1;
        }
        atomic_fetch_add_explicit(&sw.snapshots, 1, memory_order_relaxed);
        /* Every 4th dump to the pipe (a thread checks its bytes), the others to /dev/null. */
        int to_pipe = atomic_fetch_add_explicit(&sw.dumps, 1, memory_order_relaxed) % 4 == 0;
        res = ring_dump_fd(sw.r, to_pipe ? sw.pipe_wr : sw.devnull);
        if (res != RING_RESULT_OK) sig_fail("ring_dump_fd", res);
        if (to_pipe) atomic_fetch_add_explicit(&sw.pipe_dumps, 1, memory_order_relaxed);
    }
    atomic_fetch_add(&sw.handled[t], 1); /* last: the pump may signal again */
    errno = saved_errno;
}

/* A, B1, B2: write self-checking records until told to stop. */
static void *sig_writer(void *arg) {
    int t = (int)(intptr_t)arg;
    uint8_t rec[SIG_MAX_REC];
    tl_target = t;
    for (uint64_t c = 0; !atomic_load(&sw.stop_threads); c++) {
        size_t len = make_record(rec, (uint32_t)t, c, record_len((uint32_t)t, c, SIG_MAX_REC));
        tl_in_write = 1;
        ring_result res =
            t == T_B2 ? writev_split(sw.r, rec, len, 1 + (unsigned)(c % 4), c) : ring_write(sw.r, rec, len);
        tl_in_write = 0;
        if (res != RING_RESULT_OK && res != RING_RESULT_BUSY) FAIL("writer %d: %s", t, ring_result_str(res));
        count_write((uint32_t)t, res, "ring_write");
        atomic_fetch_add_explicit(&sw.progress[t], 1, memory_order_relaxed);
        if (c % 256 == 255) sched_yield(); /* valgrind runs one thread at a time */
    }
    return NULL;
}

/* RC: a checking reader that is itself signalled. */
static void *sig_checking_reader(void *arg) {
    tl_target = T_RC;
    return checker_main(arg);
}

/* D: malloc and free in a loop (sizes from the small bins to mmap), and
 * between them, the check of the last snapshot its handler kept. */
static atomic_ullong snapshots_checked;

static void *sig_mallocer(void *arg) {
    (void)arg;
    static const size_t sizes[] = {16, 24, 100, 512, 4000, 16384, 70000, 200000};
    int64_t last[N_SRC];
    tl_target = T_D;
    for (uint64_t i = 0; !atomic_load(&sw.stop_threads); i++) {
        size_t size = sizes[i % (sizeof sizes / sizeof sizes[0])];
        tl_in_malloc = 1;
        uint8_t *p = malloc(size);
        tl_in_malloc = 0;
        CHECK(p != NULL);
        p[0] = p[size - 1] = (uint8_t)i;
        tl_in_malloc = 1;
        free(p);
        tl_in_malloc = 0;
        atomic_fetch_add_explicit(&sw.progress[T_D], 1, memory_order_relaxed);
        if (snap_state == 1) {
            snap_state = 2; /* the handler leaves snap_check alone now */
            atomic_signal_fence(memory_order_acquire);
            for (int s = 0; s < N_SRC; s++) last[s] = -1;
            if (parse_records(snap_check, snap_len, N_SRC, last) < 0)
                FAIL("a snapshot taken in a signal handler (%zu bytes) holds a torn record or is out of order",
                     (size_t)snap_len);
            atomic_signal_fence(memory_order_release);
            snap_state = 0;
            atomic_fetch_add(&snapshots_checked, 1);
        }
    }
    return NULL;
}

/* The pipe's reader: every byte the handlers dumped must belong to a whole
 * record (records are under 4 KiB, so a dump writes each whole or not at
 * all). Allocates nothing while it runs: D's handler may wait for it while
 * D holds malloc's lock. */
typedef struct {
    int fd;
    uint64_t bytes, records;
} stream_check_ctx;

static void *stream_checker(void *arg) {
    stream_check_ctx *s = arg;
    static uint8_t buf[1 << 16];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(s->fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR) continue;
        CHECK(n >= 0);
        if (n == 0) break;
        have += (size_t)n;
        s->bytes += (uint64_t)n;
        size_t off = 0;
        while (have - off >= 8) {
            uint32_t len, w;
            uint64_t c;
            memcpy(&len, buf + off + 4, 4);
            if (len < REC_MIN || len > SIG_MAX_REC) FAIL("the dumped stream: no record at byte %llu",
                                                        (unsigned long long)(s->bytes - have + off));
            if (have - off < len) break;
            if (check_record(buf + off, len, N_SRC, &w, &c) != 0)
                FAIL("the dumped stream: a torn record at byte %llu", (unsigned long long)(s->bytes - have + off));
            off += len;
            s->records++;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    CHECK(have == 0); /* no record cut short at the end */
    return NULL;
}

/* Signals each target that handled its last signal and made progress since:
 * a signal lands wherever the target is, never in a row on one spot. */
static void *sig_pump(void *arg) {
    const pthread_t *tid = arg;
    unsigned long long seen[N_TARGETS] = {0}, idle = 0;
    while (!atomic_load(&sw.stop_pump)) {
        int sent = 0;
        for (int t = 0; t < N_TARGETS; t++) {
            if (atomic_load(&sw.handled[t]) != atomic_load(&sw.sent[t])) continue; /* one in flight */
            unsigned long long p = atomic_load_explicit(&sw.progress[t], memory_order_relaxed);
            if (p == seen[t]) continue;
            seen[t] = p;
            atomic_fetch_add(&sw.sent[t], 1);
            int e = pthread_kill(tid[t], SIGUSR1);
            if (e != 0) FAIL("pthread_kill: %s", strerror(e));
            sent = 1;
        }
        if (!sent && ++idle % 64 == 0) sched_yield(); /* spin mostly: a yield waits for every other thread */
    }
    return NULL;
}

static uint64_t sum(const atomic_ullong *a, int from, int to) {
    uint64_t s = 0;
    for (int i = from; i < to; i++) s += atomic_load(&a[i]);
    return s;
}

/* (a), deterministically: a write stopped in the middle of copying its
 * record. The record's last bytes lie in a page that is not readable yet,
 * so the library's copy faults half way, after the claim and before the
 * commit; the SIGSEGV handler on that same thread does what a crash
 * handler does (writes records, takes a snapshot, dumps), then makes the
 * page readable and returns, and the copy goes on. */
static struct {
    ring *r;
    uint8_t *locked;   /* the page that faults */
    size_t page;
    int records;       /* records the handler writes */
    int devnull;
    int faults;
    uint64_t ok, busy;
    int64_t in_snapshot; /* records the handler's snapshot parsed as (-1: torn) */
} mid;

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    int saved_errno = errno;
    uint8_t *at = si->si_addr;
    if (at < mid.locked || at >= mid.locked + mid.page || mid.faults > 0)
        sig_fail("a fault that is not the planned one", RING_RESULT_OK);
    mid.faults++;
    uint8_t rec[SIG_MAX_REC];
    for (int i = 0; i < mid.records; i++) {
        size_t len = make_record(rec, 1, (uint64_t)i, record_len(1, (uint64_t)i, SIG_MAX_REC));
        ring_result res = i % 2 ? ring_write(mid.r, rec, len) : writev_split(mid.r, rec, len, 3, (uint64_t)i);
        if (res == RING_RESULT_OK)
            mid.ok++;
        else if (res == RING_RESULT_BUSY)
            mid.busy++;
        else
            sig_fail("a write nested in a write", res);
    }
    size_t n = 0;
    ring_result res = ring_snapshot(mid.r, snap_scratch, SNAP_CAP, &n);
    if (res != RING_RESULT_OK) sig_fail("ring_snapshot nested in a write", res);
    mid.in_snapshot = parse_records(snap_scratch, n, 2, NULL);
    res = ring_dump_fd(mid.r, mid.devnull);
    if (res != RING_RESULT_OK) sig_fail("ring_dump_fd nested in a write", res);
    if (mprotect(mid.locked, mid.page, PROT_READ | PROT_WRITE) != 0) sig_fail("mprotect", RING_RESULT_OK);
    errno = saved_errno;
}

/* One such write (through ring_write, or ring_writev when `writev`) on a
 * ring of `capacity` bytes, the handler writing `records` records. */
static void write_interrupted_mid_record(size_t capacity, int records, int writev) {
    memset(&mid, 0, sizeof mid);
    mid.page = (size_t)sysconf(_SC_PAGESIZE);
    mid.records = records;
    mid.devnull = open("/dev/null", O_WRONLY);
    CHECK(mid.devnull >= 0);
    uint8_t *pages = mmap(NULL, 2 * mid.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(pages != MAP_FAILED);
    mid.locked = pages + mid.page;
    /* The record: 300 bytes at the end of the first page, 100 in the second. */
    const size_t len = 400;
    uint8_t *rec = mid.locked - 300;
    make_record(rec, 0, 0, len);
    uint8_t copy[400];
    memcpy(copy, rec, len);
    CHECK(mprotect(mid.locked, mid.page, PROT_NONE) == 0);

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGSEGV, &sa, &old) == 0);
    CHECK_RES(ring_new(capacity, &mid.r), RING_RESULT_OK);
    ring_reader *rd;
    CHECK_RES(ring_reader_new(mid.r, RING_START_OLDEST, 0, &rd), RING_RESULT_OK);
    const ring_slice parts[2] = {{rec, 200}, {rec + 200, len - 200}};
    ring_result res = writev ? ring_writev(mid.r, parts, 2) : ring_write(mid.r, rec, len);
    CHECK(sigaction(SIGSEGV, &old, NULL) == 0);
    CHECK_RES(res, RING_RESULT_OK); /* the interrupted write completes */
    CHECK(mid.faults == 1);         /* ... and it was interrupted */
    CHECK(memcmp(rec, copy, len) == 0);

    /* The outer record has the first seq, the handler's the next ones. In
     * the 1 MiB ring nothing is evicted or refused: the outer record reads
     * back first and whole, then every nested one, in order; the
     * handler's snapshot held the nested records (committed), not the
     * outer one (still being written). In the small ring the handler's
     * records lap the outer one: BUSY is allowed, every record read is
     * whole, and read + lost == written. */
    struct ring_stats st;
    CHECK_RES(ring_stats(mid.r, &st), RING_RESULT_OK);
    CHECK(st.written == 1 + mid.ok && st.dropped == mid.busy);
    CHECK_RES(ring_close(mid.r), RING_RESULT_OK);
    uint8_t buf[SIG_MAX_REC];
    ring_record r;
    uint64_t read = 0, lost = 0;
    int64_t next_nested = -1;
    while ((res = ring_reader_next(rd, buf, sizeof buf, &r, 0)) == RING_RESULT_OK) {
        uint32_t w;
        uint64_t c;
        if (check_record(buf, r.len, 2, &w, &c) != 0) FAIL("record seq %llu is torn", (unsigned long long)r.seq);
        if (w == 0) CHECK(r.seq == 0 && r.len == len && memcmp(buf, copy, len) == 0);
        if (w == 1) {
            CHECK((int64_t)c > next_nested);
            next_nested = (int64_t)c;
        }
        read++;
        lost += r.lost;
    }
    CHECK_RES(res, RING_RESULT_CLOSED);
    CHECK(read + lost == st.written);
    if (capacity >= (1u << 20)) {
        CHECK(mid.busy == 0 && mid.ok == (uint64_t)records && lost == 0 && read == 1 + (uint64_t)records);
        CHECK(mid.in_snapshot == records);
    } else {
        CHECK(mid.in_snapshot >= 0 && lost > 0);
    }
    printf("   a %s stopped mid-record, %d-byte ring: the handler wrote %llu records (busy %llu) and took a snapshot "
           "of %lld; read %llu, lost %llu\n",
           writev ? "ring_writev" : "ring_write", (int)capacity, (unsigned long long)mid.ok,
           (unsigned long long)mid.busy, (long long)mid.in_snapshot, (unsigned long long)read,
           (unsigned long long)lost);
    ring_reader_free(rd);
    ring_free(mid.r);
    close(mid.devnull);
    munmap(pages, 2 * mid.page);
}

/* One run: `ms` milliseconds on a ring of `capacity` bytes. BUSY is
 * accepted only when `busy_allowed` (a ring too small for its writers). */
static void run_signal_writes(size_t capacity, int64_t ms, int busy_allowed) {
    memset(&sw, 0, sizeof sw);
    snap_state = 0;
    atomic_store(&snapshots_checked, 0);
    CHECK_RES(ring_new(capacity, &sw.r), RING_RESULT_OK);
    CHECK(ring_max_record(sw.r) >= SIG_MAX_REC);
    int fds[2];
    CHECK(pipe(fds) == 0);
    sw.pipe_wr = fds[1];
    sw.devnull = open("/dev/null", O_WRONLY);
    CHECK(sw.devnull >= 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigusr1; /* no SA_RESTART: interrupted waits must resume by themselves */
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);

    /* The checkers first: they see every record from seq 0. */
    stream_check_ctx sc = {.fd = fds[0]};
    static const int64_t rc_timeouts[] = {-1, 0, 1, -1, 5, 20};
    reader_ctx checker = {.writers = N_SRC};
    reader_ctx rc = {.writers = N_SRC, .timeouts = rc_timeouts, .ntimeouts = 6, .progress = &sw.progress[T_RC]};
    CHECK_RES(ring_reader_new(sw.r, RING_START_OLDEST, 0, &checker.rd), RING_RESULT_OK);
    CHECK_RES(ring_reader_new(sw.r, RING_START_OLDEST, 0, &rc.rd), RING_RESULT_OK);
    pthread_t st, ct, tid[N_TARGETS], pump;
    CHECK(pthread_create(&st, NULL, stream_checker, &sc) == 0);
    CHECK(pthread_create(&ct, NULL, checker_main, &checker) == 0);
    CHECK(pthread_create(&tid[T_RC], NULL, sig_checking_reader, &rc) == 0);
    for (int t = T_A; t <= T_B2; t++) CHECK(pthread_create(&tid[t], NULL, sig_writer, (void *)(intptr_t)t) == 0);
    CHECK(pthread_create(&tid[T_D], NULL, sig_mallocer, NULL) == 0);
    CHECK(pthread_create(&pump, NULL, sig_pump, tid) == 0);

    sleep_ms(ms);

    /* Stop: the pump, then wait for the signals in flight (a handler
     * writing after `written` is read would spoil the count), then the
     * threads, then the pipe. */
    atomic_store(&sw.stop_pump, 1);
    join_within(pump, 10, "signal pump");
    int64_t deadline = now_ms() + 1000LL * watchdog_secs(10);
    for (int t = 0; t < N_TARGETS; t++)
        while (atomic_load(&sw.handled[t]) != atomic_load(&sw.sent[t])) {
            if (now_ms() > deadline) FAIL("target %d: a signal was never handled", t);
            sleep_ms(1);
        }
    atomic_store(&sw.stop_threads, 1);
    for (int t = 0; t < N_TARGETS; t++)
        if (t != T_RC) join_within(tid[t], 10, "signalled thread");
    close(sw.pipe_wr);
    join_within(st, 10, "dump stream checker");

    /* Every write that returned OK took a seq, every BUSY was counted as
     * dropped, and nothing else was written. */
    struct ring_stats stats;
    CHECK_RES(ring_stats(sw.r, &stats), RING_RESULT_OK);
    uint64_t from_threads = sum(sw.ok, 0, N_THREAD_SRC), from_handlers = sum(sw.ok, N_THREAD_SRC, N_SRC);
    uint64_t busy = sum(sw.busy, 0, N_SRC);
    if (stats.written != from_threads + from_handlers)
        FAIL("ring_stats().written %llu, but %llu writes returned OK", (unsigned long long)stats.written,
             (unsigned long long)(from_threads + from_handlers));
    if (stats.dropped != busy)
        FAIL("ring_stats().dropped %llu, but %llu writes returned BUSY", (unsigned long long)stats.dropped,
             (unsigned long long)busy);
    if (!busy_allowed && busy != 0)
        FAIL("%llu writes returned BUSY in a %zu-byte ring", (unsigned long long)busy, capacity);

    CHECK_RES(ring_close(sw.r), RING_RESULT_OK);
    join_within(ct, 60, "checking reader");
    join_within(tid[T_RC], 60, "signalled checking reader");
    reader_ctx *readers[2] = {&checker, &rc};
    for (int i = 0; i < 2; i++)
        if (readers[i]->read + readers[i]->lost != stats.written)
            FAIL("reader %d: read %llu + lost %llu != written %llu", i, (unsigned long long)readers[i]->read,
                 (unsigned long long)readers[i]->lost, (unsigned long long)stats.written);
    /* Every target was interrupted, and the pipe's checker saw records: the
     * run did what it is for. (Where a signal lands is up to the
     * scheduler; the summary says how many landed inside a write of their
     * thread or inside malloc. write_interrupted_mid_record makes the
     * first certain.) */
    for (int t = 0; t < N_TARGETS; t++) CHECK(atomic_load(&sw.handled[t]) > 0);
    CHECK(atomic_load(&sw.snapshots) > 0 && atomic_load(&sw.pipe_dumps) > 0 && sc.records > 0);

    printf("   %zu-byte ring, %lld ms: records from handlers %llu (%llu nested in a write on their thread, "
           "%llu signals inside malloc/free), from threads %llu; checker read %llu lost %llu, signalled reader "
           "read %llu lost %llu (%llu timeouts); busy %llu; snapshots %llu (%llu checked); dumps %llu (%llu to "
           "the pipe: %llu records, %llu bytes checked)\n",
           capacity, (long long)ms, (unsigned long long)from_handlers, (unsigned long long)atomic_load(&sw.nested),
           (unsigned long long)atomic_load(&sw.in_malloc), (unsigned long long)from_threads,
           (unsigned long long)checker.read, (unsigned long long)checker.lost, (unsigned long long)rc.read,
           (unsigned long long)rc.lost, (unsigned long long)rc.timeouts_seen, (unsigned long long)busy,
           (unsigned long long)atomic_load(&sw.snapshots), (unsigned long long)atomic_load(&snapshots_checked),
           (unsigned long long)atomic_load(&sw.dumps), (unsigned long long)atomic_load(&sw.pipe_dumps),
           (unsigned long long)sc.records, (unsigned long long)sc.bytes);
    ring_reader_free(checker.rd);
    ring_reader_free(rc.rd);
    ring_free(sw.r);
    close(fds[0]);
    close(sw.devnull);
}

int case_signal_writes(void) {
    if (!getenv("RINGLOG_CASE_TIMEOUT")) alarm((unsigned)watchdog_secs(120));
    /* The deterministic cases first: a handler inside a write on its own
     * thread, at the worst moment. */
    write_interrupted_mid_record(1 << 20, 100, 0);
    write_interrupted_mid_record(1 << 20, 100, 1);
    write_interrupted_mid_record(4096, 300, 0);
    write_interrupted_mid_record(2048, 300, 1);
    /* 1 MiB: room for every writer, so BUSY must never happen. */
    run_signal_writes(1 << 20, (int64_t)scaled(3000), 0);
    /* 4 KiB: too small for 8 sources of records up to 400 bytes: BUSY is
     * allowed, but every record written is whole and nothing deadlocks. */
    run_signal_writes(4096, (int64_t)scaled(1500), 1);
    return 0;
}

/* ---- panics (libringlog built with the fault-injection feature) ------------ */

#ifdef RINGLOG_FAULT_INJECTION
ring_result ring_test_panic_at(uint32_t point); /* test-only, not in the header */

/* Writes "xxxxxxxx" until told to stop (or `cap` writes); one write is
 * allowed to end in RING_RESULT_PANIC, any other result fails the case. */
typedef struct {
    ring *r;
    uint64_t cap;
    atomic_int stop;
    atomic_ullong ok, panic;
} panic_writer_ctx;

static void *panic_writer(void *arg) {
    panic_writer_ctx *p = arg;
    for (uint64_t i = 0; i < p->cap && !atomic_load(&p->stop); i++) {
        ring_result res = ring_write(p->r, "xxxxxxxx", 8);
        if (res == RING_RESULT_OK) {
            atomic_fetch_add(&p->ok, 1);
        } else {
            CHECK_RES(res, RING_RESULT_PANIC);
            atomic_fetch_add(&p->panic, 1);
        }
        if (i % 256 == 0) sched_yield();
    }
    return NULL;
}

/* Reads to the end of a closed ring, counting records and losses; every
 * record is one the panic case wrote. */
typedef struct {
    ring_reader *rd;
    int64_t timeout_ms;
    uint64_t read, lost;
    ring_result end;
} drain_count_ctx;

static void *drain_count(void *arg) {
    drain_count_ctx *d = arg;
    uint8_t buf[64];
    ring_record rec;
    while ((d->end = ring_reader_next(d->rd, buf, sizeof buf, &rec, d->timeout_ms)) == RING_RESULT_OK) {
        if (!((rec.len == 8 && memcmp(buf, "xxxxxxxx", 8) == 0) || (rec.len == 4 && memcmp(buf, "late", 4) == 0)))
            FAIL("record seq %llu is not one the case wrote", (unsigned long long)rec.seq);
        d->read++;
        d->lost += rec.lost;
    }
    return NULL;
}

int case_panic(void) {
    uint8_t buf[64];
    ring_record rec;
    size_t n;
    struct ring_stats st;
    CHECK_RES(ring_test_panic_at(99), RING_RESULT_INVALID_ARGUMENT);

    /* A read interrupted before the reader moves on: the record comes again. */
    ring *r;
    CHECK_RES(ring_new(4 << 20, &r), RING_RESULT_OK);
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

    /* A write interrupted between claim and commit, among 3 writers and a
     * reader blocked with no timeout: only that call returns PANIC; the
     * record is dead and takes its seq; the other writers go on (none
     * hangs behind it, none gets an error); the ring is not poisoned. The
     * 4 MiB ring keeps every record (24-byte frames, at most 120,000), so
     * the dead record is each reader's only loss. */
    drain_count_ctx blocked = {.timeout_ms = -1};
    CHECK_RES(ring_reader_new(r, RING_START_NEWEST, 0, &blocked.rd), RING_RESULT_OK);
    pthread_t bt;
    CHECK(pthread_create(&bt, NULL, drain_count, &blocked) == 0);
    panic_writer_ctx pw = {.r = r, .cap = 40000};
    pthread_t wt[3];
    for (int i = 0; i < 3; i++) CHECK(pthread_create(&wt[i], NULL, panic_writer, &pw) == 0);
    int64_t deadline = now_ms() + 10000;
    while (atomic_load(&pw.ok) < 100 && now_ms() < deadline) sched_yield();
    CHECK_RES(ring_test_panic_at(1), RING_RESULT_OK); /* while they write */
    while (atomic_load(&pw.panic) == 0 && now_ms() < deadline) sched_yield();
    CHECK(atomic_load(&pw.panic) == 1);
    unsigned long long at_panic = atomic_load(&pw.ok);
    while (atomic_load(&pw.ok) < at_panic + 100 && now_ms() < deadline) sched_yield();
    CHECK(atomic_load(&pw.ok) >= at_panic + 100); /* the others went on */
    atomic_store(&pw.stop, 1);
    for (int i = 0; i < 3; i++) join_within(wt[i], 10, "writer next to a dead record");
    CHECK(atomic_load(&pw.panic) == 1); /* the armed point fired once; every other write was OK */
    uint64_t ok = atomic_load(&pw.ok);
    CHECK_RES(ring_stats(r, &st), RING_RESULT_OK);
    CHECK(st.written == 1 + ok + 1); /* "zero", the writers' records, the dead one */
    CHECK(st.dropped == 0 && st.closed == 0);
    /* The ring goes on: writes after the panic succeed. */
    CHECK_RES(ring_write(r, "late", 4), RING_RESULT_OK);
    const ring_slice late[2] = {{"la", 2}, {"te", 2}};
    CHECK_RES(ring_writev(r, late, 2), RING_RESULT_OK);
    uint64_t written = st.written + 2;
    /* The dead record is left out of the snapshot: it holds exactly the
     * committed bytes ("zero", the writers' 8-byte records, two "late"). */
    CHECK_RES(ring_snapshot(r, NULL, 0, &n), RING_RESULT_BUF_SMALL);
    CHECK(n == 4 + 8 * ok + 8);
    CHECK_RES(ring_close(r), RING_RESULT_OK);

    /* Readers end with CLOSED (not PANIC) after every committed record:
     * read + lost == written, the dead record their one loss. */
    drain_count_ctx oldest = {.rd = rd, .timeout_ms = -1};
    drain_count(&oldest); /* it read "zero" above */
    CHECK_RES(oldest.end, RING_RESULT_CLOSED);
    if (oldest.read != written - 2 || oldest.lost != 1)
        FAIL("reader: read %llu, lost %llu; wanted read %llu, lost 1 (written %llu)",
             (unsigned long long)oldest.read, (unsigned long long)oldest.lost, (unsigned long long)(written - 2),
             (unsigned long long)written);
    join_within(bt, 10, "reader blocked next to a dead record");
    CHECK_RES(blocked.end, RING_RESULT_CLOSED);
    if (blocked.read != written - 2 || blocked.lost != 1)
        FAIL("blocked reader: read %llu, lost %llu; wanted read %llu, lost 1 (written %llu)",
             (unsigned long long)blocked.read, (unsigned long long)blocked.lost, (unsigned long long)(written - 2),
             (unsigned long long)written);
    printf("   one write panicked among %llu: its record dead, the ring went on; readers read %llu, lost 1\n",
           (unsigned long long)(ok + 3), (unsigned long long)oldest.read);
    ring_reader_free(blocked.rd);
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
    uint8_t *snap = malloc(ring_capacity(r)); /* before malloc fails */
    int devnull = open("/dev/null", O_WRONLY);
    CHECK(snap != NULL && devnull >= 0);

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
    /* The snapshot copies straight into the caller's buffer, the dump
     * goes through a buffer on the stack: both work with no allocation. */
    CHECK_RES(ring_snapshot(r, snap, ring_capacity(r), &n), RING_RESULT_OK);
    CHECK(n > 0 && n % 18 == 0 && memcmp(snap, "no allocation here", 18) == 0);
    CHECK_RES(ring_snapshot(r, buf, sizeof buf, &n), RING_RESULT_BUF_SMALL); /* too small: said, not allocated */
    CHECK_RES(ring_dump_fd(r, devnull), RING_RESULT_OK);
    const ring_slice parts[2] = {{"no allocation", 13}, {" here", 5}};
    CHECK_RES(ring_writev(r, parts, 2), RING_RESULT_OK);
    struct ring_stats st;
    CHECK_RES(ring_stats(r, &st), RING_RESULT_OK);
    CHECK(st.written == 100001 && st.readers == 2);
    CHECK(ring_result_str(RING_RESULT_NO_MEMORY) != NULL);
    CHECK_RES(ring_close(r), RING_RESULT_OK);
    unsigned long long attempts = atomic_load(&oom_attempts);
    atomic_store(&oom_mode, 0);
    CHECK(attempts == 0); /* nothing on the data path allocates */

    size_t need = 0;
    CHECK_RES(ring_snapshot(r, NULL, 0, &need), RING_RESULT_BUF_SMALL);
    CHECK(need > 0);
    printf("   100000 writes, a writev, reads, a flush, a snapshot, a dump and stats with every allocation failing: "
           "%llu allocation attempt(s)\n",
           attempts);
    close(devnull);
    free(snap);
    ring_reader_free(rd);
    ring_reader_free(stream);
    ring_free(r);
    return 0;
}
#endif
