# Builds and installs ringlog for C and C++ users: libringlog.so.0 (soname
# libringlog.so.0) and its libringlog.so link, libringlog.a, ringlog.h,
# ringlog.hpp, pkg-config files (ringlog.pc, ringlog-static.pc), a CMake
# package (find_package(ringlog) giving ringlog::ringlog and
# ringlog::ringlog_static) and the ringlog command.
#
#   make                                  cargo build --release (library, command)
#   make install PREFIX=/usr/local        (DESTDIR=/staging for packaging)
#   make uninstall PREFIX=/usr/local
#
# A plain Makefile over cargo, not cargo-c: it builds exactly what
# scripts/test tests (target/release), needs nothing but cargo and binutils,
# and installing after the tests costs no compile. Installed binaries are
# stripped of debug info (the workspace's release profile keeps line tables
# for profiling and benchmarks); `make install STRIP=:` keeps them.
# Honours CARGO_TARGET_DIR.

PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR    ?= $(LIBDIR)/cmake/ringlog

CARGO       ?= cargo
CARGOFLAGS  ?=
STRIP       ?= strip
INSTALL     ?= install

TARGET_DIR  := $(or $(CARGO_TARGET_DIR),target)
OUT         := $(TARGET_DIR)/release
LIBS_FILE   := $(OUT)/ringlog-native-static-libs

# The version, from the generated header (scripts/gen-header takes it from
# the crate).
HASH := \#
version_part = $(shell sed -n 's/^$(HASH)define RINGLOG_VERSION_$(1) \([0-9]*\)$$/\1/p' include/ringlog.h)
VERSION_MAJOR := $(call version_part,MAJOR)
VERSION := $(VERSION_MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)

# Paths the CMake package uses, relative to its own directory.
rel = $(shell realpath -m --relative-to='$(CMAKEDIR)' '$(1)')

.PHONY: all lib cli install uninstall

all: lib cli

# Two cargo invocations, not one: built together, the command's features of
# ringbuf-core would be unified into the library.
lib:
	$(CARGO) build --release $(CARGOFLAGS) -p ringbuf-ffi

cli:
	$(CARGO) build --release $(CARGOFLAGS) -p ringlog-cli

# What libringlog.a needs from the system besides (rustc prints it only
# when it links the static library: a scratch build, once).
$(LIBS_FILE): Cargo.lock ringbuf-ffi/Cargo.toml ringbuf-ffi/build.rs
	@mkdir -p $(OUT)
	rm -rf $(TARGET_DIR)/native-static-libs
	$(CARGO) rustc --release $(CARGOFLAGS) -p ringbuf-ffi --crate-type staticlib \
	    --target-dir $(TARGET_DIR)/native-static-libs -- --print native-static-libs 2>&1 \
	    | sed -n 's/^.*native-static-libs: //p' | tail -1 > $@.tmp
	rm -rf $(TARGET_DIR)/native-static-libs
	@test -s $@.tmp || { echo "rustc printed no native-static-libs" >&2; rm -f $@.tmp; exit 1; }
	mv $@.tmp $@

SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	-e 's|@VERSION@|$(VERSION)|g' -e 's|@VERSION_MAJOR@|$(VERSION_MAJOR)|g' \
	-e "s|@NATIVE_STATIC_LIBS@|$$(cat $(LIBS_FILE))|g" \
	-e "s|@CMAKE_NATIVE_STATIC_LIBS@|$$(sed 's/-l//g; s/ /;/g' $(LIBS_FILE))|g" \
	-e 's|@CMAKE_TO_LIBDIR@|$(call rel,$(LIBDIR))|g' -e 's|@CMAKE_TO_INCLUDEDIR@|$(call rel,$(INCLUDEDIR))|g' \
	-e "s|@SIZEOF_VOID_P@|$$(( $$(getconf LONG_BIT) / 8 ))|g"

install: all $(LIBS_FILE)
	@test -n "$(VERSION_MAJOR)" || { echo "no RINGLOG_VERSION_MAJOR in include/ringlog.h" >&2; exit 1; }
	$(INSTALL) -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(INCLUDEDIR)' \
	    '$(DESTDIR)$(PKGCONFIGDIR)' '$(DESTDIR)$(CMAKEDIR)'
	$(INSTALL) -m 0755 $(OUT)/libringlog.so '$(DESTDIR)$(LIBDIR)/libringlog.so.0'
	$(STRIP) --strip-debug '$(DESTDIR)$(LIBDIR)/libringlog.so.0'
	ln -sfn libringlog.so.0 '$(DESTDIR)$(LIBDIR)/libringlog.so'
	$(INSTALL) -m 0644 $(OUT)/libringlog.a '$(DESTDIR)$(LIBDIR)/libringlog.a'
	$(STRIP) --strip-debug '$(DESTDIR)$(LIBDIR)/libringlog.a'
	$(INSTALL) -m 0755 $(OUT)/ringlog '$(DESTDIR)$(BINDIR)/ringlog'
	$(STRIP) --strip-debug '$(DESTDIR)$(BINDIR)/ringlog'
	$(INSTALL) -m 0644 include/ringlog.h '$(DESTDIR)$(INCLUDEDIR)/ringlog.h'
	if [ -f include/ringlog.hpp ]; then \
	    $(INSTALL) -m 0644 include/ringlog.hpp '$(DESTDIR)$(INCLUDEDIR)/ringlog.hpp'; fi
	$(SUBST) packaging/ringlog.pc.in > '$(DESTDIR)$(PKGCONFIGDIR)/ringlog.pc'
	$(SUBST) packaging/ringlog-static.pc.in > '$(DESTDIR)$(PKGCONFIGDIR)/ringlog-static.pc'
	$(SUBST) packaging/ringlogConfig.cmake.in > '$(DESTDIR)$(CMAKEDIR)/ringlogConfig.cmake'
	$(SUBST) packaging/ringlogConfigVersion.cmake.in > '$(DESTDIR)$(CMAKEDIR)/ringlogConfigVersion.cmake'
	chmod 0644 '$(DESTDIR)$(PKGCONFIGDIR)/ringlog.pc' '$(DESTDIR)$(PKGCONFIGDIR)/ringlog-static.pc' \
	    '$(DESTDIR)$(CMAKEDIR)/ringlogConfig.cmake' '$(DESTDIR)$(CMAKEDIR)/ringlogConfigVersion.cmake'

uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/ringlog' \
	    '$(DESTDIR)$(LIBDIR)/libringlog.so' '$(DESTDIR)$(LIBDIR)/libringlog.so.0' '$(DESTDIR)$(LIBDIR)/libringlog.a' \
	    '$(DESTDIR)$(INCLUDEDIR)/ringlog.h' '$(DESTDIR)$(INCLUDEDIR)/ringlog.hpp' \
	    '$(DESTDIR)$(PKGCONFIGDIR)/ringlog.pc' '$(DESTDIR)$(PKGCONFIGDIR)/ringlog-static.pc' \
	    '$(DESTDIR)$(CMAKEDIR)/ringlogConfig.cmake' '$(DESTDIR)$(CMAKEDIR)/ringlogConfigVersion.cmake'
	-rmdir '$(DESTDIR)$(CMAKEDIR)' 2>/dev/null
