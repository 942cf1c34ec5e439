package ringlog

// Hooks for this package's tests and benchmarks, in C because cgo is not
// allowed in _test.go files. Unexported and unused by the package itself:
// the linker leaves them out of programs.

/*
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ringlog.h"

// n calls of ring_write in a C loop: the cost of ring_write without cgo.
static uint32_t ringlog_go_write_loop(const ring *r, const void *p, size_t len, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        ring_result res = ring_write(r, p, len);
        if (res != RING_RESULT_OK) return (uint32_t)res;
    }
    return 0;
}

// Forks; the child writes one record to r and exits with the result code.
// Returns that code, or -1 if fork or waitpid failed.
static int ringlog_go_fork_write(const ring *r) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) _exit((int)ring_write(r, "x", 1));
    int st;
    while (waitpid(pid, &st, 0) < 0) {}
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
// Does nothing: the cost of a cgo call alone.
static void ringlog_go_nop(const ring *r, const void *p, size_t len) { (void)r; (void)p; (void)len; }
#cgo noescape ringlog_go_nop
#cgo nocallback ringlog_go_nop
#cgo noescape ringlog_go_write_loop
#cgo nocallback ringlog_go_write_loop
#cgo noescape ring_write
#cgo nocallback ring_write
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// cWriteLoop writes p n times with ring_write from a C loop (one cgo call).
func cWriteLoop(r *Ring, p []byte, n int) error {
	res := C.ringlog_go_write_loop(r.c, unsafe.Pointer(unsafe.SliceData(p)), C.size_t(len(p)), C.uint64_t(n))
	runtime.KeepAlive(r)
	return resultErr(uint32(res))
}

// cForkWrite forks; the child calls ring_write on r. It returns the
// child's result.
func cForkWrite(r *Ring) int {
	res := C.ringlog_go_fork_write(r.c)
	runtime.KeepAlive(r)
	return int(res)
}

// cNop makes a cgo call with Write's arguments to a C function that does
// nothing: the price of crossing into C, which every Write pays.
func cNop(r *Ring, p []byte) {
	C.ringlog_go_nop(r.c, unsafe.Pointer(unsafe.SliceData(p)), C.size_t(len(p)))
	runtime.KeepAlive(r)
}

// cgoWrite is the bare cgo call of ring_write that (*Ring).Write wraps,
// with the same noescape/nocallback annotations: the raw result code, no
// error mapping, no nil check of an empty p. The benchmark's baseline for
// Write: what the wrapper adds on top of the crossing it cannot avoid.
// (runtime.KeepAlive only extends r's liveness: it emits no code.)
func cgoWrite(r *Ring, p []byte) uint32 {
	res := C.ring_write(r.c, unsafe.Pointer(unsafe.SliceData(p)), C.size_t(len(p)))
	runtime.KeepAlive(r)
	return uint32(res)
}

// Result codes of ring_write for the benchmarks, which cannot use C.
const (
	cResultOK   = uint32(C.RING_RESULT_OK)
	cResultBusy = uint32(C.RING_RESULT_BUSY)
)
