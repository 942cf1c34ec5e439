# Shared helpers for the scripts in this directory. Source it; do not run it.
# Tools the project installs for itself live in .tools/ (git-ignored).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
CBINDGEN_VERSION="0.29.4"
export PATH="$TOOLS/bin:$PATH"

say()  { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
die()  { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

# cbindgen at the pinned version, installed into .tools on first use.
ensure_cbindgen() {
    if [ "$(cbindgen --version 2>/dev/null)" != "cbindgen $CBINDGEN_VERSION" ]; then
        note "installing cbindgen $CBINDGEN_VERSION into .tools (once)"
        cargo install cbindgen --version "=$CBINDGEN_VERSION" --locked --root "$TOOLS" --quiet \
            || die "could not install cbindgen $CBINDGEN_VERSION"
    fi
}

# A Debian package's program, installed with apt-get when missing.
ensure_apt() { # ensure_apt <command> <package>
    command -v "$1" >/dev/null 2>&1 && return 0
    note "installing $2 (apt-get)"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo -n"
    { $sudo apt-get install -y -qq "$2" >/dev/null 2>&1 \
        || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq "$2" >/dev/null 2>&1; }; } \
        || return 1
    command -v "$1" >/dev/null 2>&1
}

# The project's virtualenv (.venv) with the pinned tools of
# python/requirements-dev.txt.
VENV="$ROOT/.venv"
ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        note "creating .venv"
        python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/python/requirements-dev.txt" \
        || die "could not install python/requirements-dev.txt"
}

# A Debian package (no command to test for), installed with apt-get.
ensure_apt_pkg() { # ensure_apt_pkg <package>
    dpkg -s "$1" >/dev/null 2>&1 && return 0
    note "installing $1 (apt-get)"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo -n"
    $sudo apt-get install -y -qq "$1" >/dev/null 2>&1 \
        || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq "$1" >/dev/null 2>&1; }
}
