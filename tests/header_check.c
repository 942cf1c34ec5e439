/* Compiles include/ringlog.h on its own, as C99 and as C++ (see Makefile),
 * and uses each type and constant once so that the compiler checks them. */
#include "ringlog.h"

int ringlog_header_check(void);

int ringlog_header_check(void) {
    ring *r = 0;
    ring_reader *rd = 0;
    ring_record rec = {0, 0, 0};
    ring_start start = RING_START_SEQ;
    ring_result res = ring_new(4096, &r);
    if (res != RING_RESULT_OK) return (int)res;
    res = ring_reader_new(r, start, 0, &rd);
    res = ring_reader_next(rd, 0, 0, &rec, 0);
    ring_reader_free(rd);
    ring_free(r);
    return res == RING_RESULT_LOST ? 1 : 0;
}
