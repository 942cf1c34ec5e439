/* A malloc interposer for the harness's oom case: the executable defines
 * the allocation functions, so (ELF interposition) they serve the whole
 * process, libringlog included. Armed, they fail; unarmed, they forward to
 * glibc's own. Built only into harness-oom (no ASan, no valgrind: both
 * replace malloc themselves). */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

atomic_int oom_mode;        /* 0: off; 1: fail every allocation; 2: fail those >= oom_min */
atomic_size_t oom_min;
atomic_ullong oom_attempts; /* allocation calls seen while armed */

static int refuse(size_t n) {
    int mode = atomic_load(&oom_mode);
    if (mode == 0) return 0;
    atomic_fetch_add(&oom_attempts, 1);
    return mode == 1 || n >= atomic_load(&oom_min);
}

void *malloc(size_t n) { return refuse(n) ? NULL : __libc_malloc(n); }
void *calloc(size_t k, size_t n) { return refuse(k * n) ? NULL : __libc_calloc(k, n); }
void *realloc(void *p, size_t n) { return refuse(n) ? NULL : __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t a, size_t n) { return refuse(n) ? NULL : __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { return refuse(n) ? NULL : __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    if (refuse(n)) return ENOMEM;
    void *p = __libc_memalign(a, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
