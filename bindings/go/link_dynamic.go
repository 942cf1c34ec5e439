//go:build ringlog_dynamic

package ringlog

// Dynamic linking (build tag ringlog_dynamic): the program loads
// libringlog.so at run time. The library is looked for in this
// repository's target/release, also at run time (an rpath); CGO_LDFLAGS
// ("-L/usr/local/lib -Wl,-rpath,/usr/local/lib") or LD_LIBRARY_PATH
// point elsewhere.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -Wl,-rpath,${SRCDIR}/../../target/release -lringlog
*/
import "C"

// Linkage tells how libringlog was linked: "static" or "dynamic".
const Linkage = "dynamic"
