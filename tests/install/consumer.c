/* A C program built against an installed ringlog only (tests/install/run):
 * writes records with ring_write, ring_writef, ring_vwritef and ring_writev,
 * reads them back and checks their seqs and bytes, and that ring_version()
 * is the header's RINGLOG_VERSION_*. Exits non-zero on any mismatch. */
#include <ringlog.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "consumer.c:%d: check failed: %s\n", __LINE__, #cond); \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

static ring_result log_line(const ring *r, const char *fmt, ...) RINGLOG_PRINTF_FORMAT(2, 3);
static ring_result log_line(const ring *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ring_result res = ring_vwritef(r, fmt, ap);
    va_end(ap);
    return res;
}

int main(void) {
    char version[64];
    snprintf(version, sizeof version, "%d.%d.%d", RINGLOG_VERSION_MAJOR, RINGLOG_VERSION_MINOR,
             RINGLOG_VERSION_PATCH);
    CHECK(strcmp(ring_version(), version) == 0);

    ring *r = NULL;
    CHECK(ring_new(1 << 16, &r) == RING_RESULT_OK);
    CHECK(ring_write(r, "hello", 5) == RING_RESULT_OK);
    CHECK(ring_writef(r, "n=%d s=%s x=%04x", 42, "abc", 0xbeefu) == RING_RESULT_OK);
    CHECK(log_line(r, "%s-%lu", "vwritef", 7ul) == RING_RESULT_OK);
    ring_slice parts[3] = {{"one ", 4}, {NULL, 0}, {"record", 6}};
    CHECK(ring_writev(r, parts, 3) == RING_RESULT_OK);
    static char longtext[3 * RINGLOG_WRITEF_MAX];
    memset(longtext, 'z', sizeof longtext - 1);
    CHECK(ring_writef(r, "%s", longtext) == RING_RESULT_OK); /* cut at RINGLOG_WRITEF_MAX */
    CHECK(ring_writef(NULL, "x") == RING_RESULT_NULL_PARAMETER);

    const char *want[] = {"hello", "n=42 s=abc x=beef", "vwritef-7", "one record", NULL};
    ring_reader *rd = NULL;
    CHECK(ring_reader_new(r, RING_START_OLDEST, 0, &rd) == RING_RESULT_OK);
    CHECK(ring_close(r) == RING_RESULT_OK);
    static char buf[1 << 14];
    ring_record rec;
    for (unsigned i = 0; i < 5; i++) {
        CHECK(ring_reader_next(rd, buf, sizeof buf, &rec, 1000) == RING_RESULT_OK);
        CHECK(rec.seq == i && rec.lost == 0);
        if (want[i] != NULL) {
            CHECK(rec.len == strlen(want[i]) && memcmp(buf, want[i], rec.len) == 0);
        } else {
            CHECK(rec.len == RINGLOG_WRITEF_MAX && memcmp(buf, longtext, rec.len) == 0);
        }
    }
    CHECK(ring_reader_next(rd, buf, sizeof buf, &rec, 1000) == RING_RESULT_CLOSED);
    CHECK(strcmp(ring_result_str(RING_RESULT_CLOSED), "ring is closed") == 0);
    ring_reader_free(rd);
    ring_free(r);
    printf("ok: ringlog %s\n", ring_version());
    return 0;
}
