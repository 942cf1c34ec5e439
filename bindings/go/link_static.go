//go:build !ringlog_dynamic

package ringlog

// Static linking (the default): libringlog.a goes into the Go binary, so
// `go build` gives one self-contained program (libc aside). The library
// is looked for in this repository's target/release (built by
// `cargo build --release -p ringbuf-ffi`); CGO_LDFLAGS=-L/other/dir puts
// another directory first. The other libraries are what the Rust static
// library needs (`--print native-static-libs`).

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -l:libringlog.a -lgcc_s -lutil -lrt -lpthread -lm -ldl
*/
import "C"

// Linkage tells how libringlog was linked: "static" or "dynamic".
const Linkage = "static"
