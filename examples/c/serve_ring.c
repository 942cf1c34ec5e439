/* serve_ring: a program that logs into a ring in a file, for `ringlog serve`.
 *
 * The Go "circular" package's README example served its in-memory log
 * buffer over HTTP from inside the program. With ringlog the program only
 * writes its log lines into a ring file; any other process reads the file
 * while it is written, also after the program crashed:
 *
 *   terminal 1:  ./serve_ring app.ring            (a line every 500 ms)
 *   terminal 2:  ringlog serve app.ring
 *   browser:     http://127.0.0.1:8080/records    (or curl -N)
 *
 * Usage: serve_ring FILE [LINES [INTERVAL_MS]]
 *   FILE         the ring file; created (1 MiB) if missing, else used as it is
 *   LINES        how many lines to log; 0 (the default): until Ctrl-C
 *   INTERVAL_MS  milliseconds between lines (default 500)
 *
 * The program never waits for the readers: a stalled browser does not slow
 * its logging. It does not close the ring when it stops: the ring file
 * outlives the program, `ringlog serve` keeps streaming, and the program's
 * next run goes on with the next seq.
 *
 * Build and run: scripts/example-serve (or see that script for the cc line). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ringlog.h"

/* Capacity of a ring file created here: the last 1 MiB of log lines. */
#define RING_BYTES ((size_t)1 << 20)

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

/* Now as UTC, e.g. 2026-11-30T12:34:56.789Z. */
static void timestamp(char *out, size_t len) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Sleeps `ms` milliseconds, or less when a signal arrives. */
static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* EINTR on Ctrl-C: the loop then sees `stop` */
}

static long arg_number(const char *s, const char *what) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *s == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "serve_ring: %s must be a number >= 0, not `%s`\n", what, s);
        exit(2);
    }
    return v;
}

/* One log line, printf-style: one record. */
static void log_line(ring *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(ring *r, const char *fmt, ...) {
    char stamp[40], line[256];
    timestamp(stamp, sizeof stamp);
    int n = snprintf(line, sizeof line, "%s serve_ring[%ld]: ", stamp, (long)getpid());
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof line) n = (int)sizeof line - 1;
    ring_result res = ring_write(r, line, (size_t)n);
    if (res != RING_RESULT_OK) /* a log line lost is not worth stopping for */
        fprintf(stderr, "serve_ring: ring_write: %s\n", ring_result_str(res));
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: serve_ring FILE [LINES [INTERVAL_MS]]\n"
                        "  then, in another terminal: ringlog serve FILE\n");
        return 2;
    }
    const char *path = argv[1];
    long lines = argc > 2 ? arg_number(argv[2], "LINES") : 0;
    long interval = argc > 3 ? arg_number(argv[3], "INTERVAL_MS") : 500;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: Ctrl-C cuts the sleep short */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* An existing ring file as it is (capacity 0); a missing one created. */
    ring *r = NULL;
    ring_result res = ring_open_file(path, 0, &r);
    if (res == RING_RESULT_IO && errno == ENOENT) res = ring_open_file(path, RING_BYTES, &r);
    if (res != RING_RESULT_OK) {
        fprintf(stderr, "serve_ring: %s: %s%s%s\n", path, ring_result_str(res),
                res == RING_RESULT_IO ? ": " : "", res == RING_RESULT_IO ? strerror(errno) : "");
        return 1;
    }
    fprintf(stderr, "serve_ring: logging to %s every %ld ms; watch it with: ringlog serve %s\n", path,
            interval, path);

    long i;
    for (i = 1; !stop && (lines == 0 || i <= lines); i++) {
        if (lines == 0)
            log_line(r, "tick %ld\n", i);
        else
            log_line(r, "tick %ld of %ld\n", i, lines);
        if (lines == 0 || i < lines) sleep_ms(interval);
    }
    log_line(r, "stopping after %ld lines\n", i - 1);
    ring_free(r); /* the ring stays in the file, open for the next run */
    return 0;
}
