/* ring_writef and ring_vwritef: printf-style writes. C, not Rust: stable
 * Rust cannot define a variadic function. Compiled into libringlog by
 * build.rs (the cc crate); declared in include/ringlog.h by cbindgen.toml's
 * trailer, which this file includes so that the compiler checks the two
 * agree.
 *
 * The text is formatted with vsnprintf into a buffer on the stack of
 * RINGLOG_WRITEF_MAX + 1 bytes (the + 1 for vsnprintf's NUL, which is not
 * written to the ring), then written as one record by ring_write. Longer
 * text is cut to its first min(RINGLOG_WRITEF_MAX, ring_max_record(r))
 * bytes. Nothing is allocated here; glibc's vsnprintf does not allocate for
 * the usual conversions either, but it is not async-signal-safe by POSIX
 * (locale, %ls/%lc, floating point), so neither are these two. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#ifdef RINGLOG_WITH_HEADER
#include "ringlog.h"
#else
typedef struct ring ring;
typedef enum ring_result {
    RING_RESULT_NULL_PARAMETER = 5,
    RING_RESULT_INVALID_ARGUMENT = 6,
} ring_result;
size_t ring_max_record(const ring *r);
ring_result ring_write(const ring *r, const void *data, size_t len);
ring_result ring_vwritef(const ring *r, const char *fmt, va_list ap);
ring_result ring_writef(const ring *r, const char *fmt, ...);
/* src/writef.rs's RINGLOG_WRITEF_MAX (its unit tests check the cut). */
#define RINGLOG_WRITEF_MAX 4096
#endif

ring_result ring_vwritef(const ring *r, const char *fmt, va_list ap) {
    if (r == NULL || fmt == NULL) return RING_RESULT_NULL_PARAMETER;
    char buf[RINGLOG_WRITEF_MAX + 1];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n < 0) return RING_RESULT_INVALID_ARGUMENT; /* EILSEQ, EOVERFLOW: nothing written */
    size_t len = (size_t)n;
    if (len > RINGLOG_WRITEF_MAX) len = RINGLOG_WRITEF_MAX; /* what vsnprintf kept */
    size_t max = ring_max_record(r);
    if (len > max) len = max;
    return ring_write(r, buf, len);
}

ring_result ring_writef(const ring *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ring_result res = ring_vwritef(r, fmt, ap);
    va_end(ap);
    return res;
}
