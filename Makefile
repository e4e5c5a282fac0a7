# libftforest: build, examples, C tests and install.
#
#   make lib                  build target/release/libftforest.{so,a} (with the `cluster` feature: ftf_cluster_*)
#   make demo                 the main job: c-demo, then cluster-demo
#   make c-demo               build the library (release) and run the C demo
#   make cluster-demo         three-member etcd, two Rust + two C nodes, kill -9 of a C node (scripts/cluster-demo.sh)
#   make cpp-demo             build and run the C++ example (include/ftforest.hpp)
#   make check-c              build and run the C tests against the shared library
#   make asan                 C tests, demo and C++ example with -fsanitize=address
#   make valgrind             C tests, demo and C++ example under valgrind memcheck
#   make bench-c              C hot path (ftf_op_begin + ftf_op_end, shared + static) next to Rust's, one run
#   make check-cluster-c      the C cluster tests against real etcd on loopback (examples/c/cluster-tests)
#   make asan-cluster-c       the same with -fsanitize=address
#   make valgrind-cluster-c   the same under valgrind memcheck (no error, no leak)
#   make cluster-node         build the C cluster node (examples/c/cluster_node.c) the cluster demo runs
#   make bench-cluster-c      ftf_op_begin + ftf_op_end before joining and while joined (etcd on loopback)
#   make install PREFIX=/usr/local   library, headers (ftforest.h, ftforest.hpp + ftforest/*.hpp), ftforest.pc
#   make uninstall PREFIX=/usr/local what install put there
#   make header               regenerate include/ftforest.h (pinned cbindgen)
#
# The library itself is always built normally (no sanitizer): ASan instruments the C side and
# intercepts malloc/free for the Rust side too.

CARGO    ?= cargo
CC       ?= cc
CXX      ?= c++
PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
INCDIR   ?= $(PREFIX)/include
VALGRIND ?= valgrind

ROOT     := $(abspath .)
RELEASE  := $(ROOT)/target/release
BUILD    := $(ROOT)/target/c
VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)

# Shared-library names (ffi/build.rs sets the same soname from CARGO_PKG_VERSION_*): the soname
# carries the ABI version, MAJOR, or 0.MINOR while MAJOR is 0 (a 0.x minor bump is breaking).
# Installed: the real file libftforest.so.$(VERSION), the runtime link $(SONAME) and the
# development link libftforest.so (what -lftforest finds).
V_MAJOR  := $(word 1,$(subst ., ,$(VERSION)))
V_MINOR  := $(word 2,$(subst ., ,$(VERSION)))
SOABI    := $(if $(filter 0,$(V_MAJOR)),0.$(V_MINOR),$(V_MAJOR))
SONAME   := libftforest.so.$(SOABI)
REALNAME := libftforest.so.$(VERSION)

# What a static link of libftforest.a needs (rustc --print native-static-libs on Linux/glibc).
LIBS_PRIVATE ?= -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

CFLAGS   ?= -O2 -g
CXXFLAGS ?= -O2 -g
WARN     := -Wall -Wextra -Werror
CSTD     := -std=c11 -D_GNU_SOURCE
CXXSTD   := -std=c++17
# The library is built with the cluster member (`--features cluster`): its declarations are
# under FTF_CLUSTER in ftforest.h.
INC      := -I$(ROOT)/include -DFTF_CLUSTER
LINK     := -L$(RELEASE) -Wl,-rpath,$(RELEASE) -lftforest -lpthread
ASAN     := -fsanitize=address -fno-omit-frame-pointer

C_TESTS  := $(patsubst examples/c/tests/%.c,%,$(wildcard examples/c/tests/test_*.c)) test_wrapper
C_HDRS   := include/ftforest.h examples/c/tests/harness.h examples/c/tests/watchdog.h
CPP_HDRS := include/ftforest.h include/ftforest.hpp $(wildcard include/ftforest/*.hpp)

VG_FLAGS := --suppressions=$(ROOT)/examples/c/valgrind.supp --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes --quiet

.PHONY: all lib demo c-demo cluster-demo cpp-demo check-c asan valgrind bench-c install uninstall header clean-c \
        cluster-node cluster-programs asan-cluster-programs check-cluster-c asan-cluster-c valgrind-cluster-c \
        bench-cluster-c \
        print-native-static-libs print-libs-private print-soname print-version \
        c-programs asan-programs

all: lib

# The in-tree programs link target/release/libftforest.so with an rpath; the loader then looks
# for its soname there, so the soname link is made next to it.
# The cluster part builds etcd-client, whose build script needs protoc: installed with
# apt-get when missing (a fresh machine's `make demo` starts here).
lib:
	@command -v protoc >/dev/null 2>&1 || { echo "installing protobuf-compiler (apt-get)"; \
	  SUDO=; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq protobuf-compiler; }
	$(CARGO) build --release -p ftforest-ffi --features cluster
	ln -sf libftforest.so $(RELEASE)/$(SONAME)

header:
	scripts/gen-header.sh

$(BUILD) $(BUILD)/asan:
	mkdir -p $@

# ---- plain builds -------------------------------------------------------------------------

$(BUILD)/demo: examples/c/demo.c include/ftforest.h | $(BUILD)
	$(CC) $(CFLAGS) $(WARN) $(CSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/demo_cpp: examples/cpp/demo.cpp $(CPP_HDRS) | $(BUILD)
	$(CXX) $(CXXFLAGS) $(WARN) $(CXXSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/bench_c: examples/c/bench.c include/ftforest.h | $(BUILD)
	$(CC) -O2 $(WARN) $(CSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/bench_c_static: examples/c/bench.c include/ftforest.h $(RELEASE)/libftforest.a | $(BUILD)
	$(CC) -O2 $(WARN) $(CSTD) $(INC) $< -o $@ $(RELEASE)/libftforest.a $(LIBS_PRIVATE)

$(BUILD)/test_%: examples/c/tests/test_%.c $(C_HDRS) | $(BUILD)
	$(CC) $(CFLAGS) $(WARN) $(CSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/test_wrapper: examples/cpp/test_wrapper.cpp $(CPP_HDRS) | $(BUILD)
	$(CXX) $(CXXFLAGS) $(WARN) $(CXXSTD) $(INC) $< -o $@ $(LINK)

# ---- AddressSanitizer builds (C side instrumented, library built normally) ----------------

$(BUILD)/asan/demo: examples/c/demo.c include/ftforest.h | $(BUILD)/asan
	$(CC) -O1 -g $(ASAN) $(WARN) $(CSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/asan/demo_cpp: examples/cpp/demo.cpp $(CPP_HDRS) | $(BUILD)/asan
	$(CXX) -O1 -g $(ASAN) $(WARN) $(CXXSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/asan/test_%: examples/c/tests/test_%.c $(C_HDRS) | $(BUILD)/asan
	$(CC) -O1 -g $(ASAN) $(WARN) $(CSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/asan/test_wrapper: examples/cpp/test_wrapper.cpp $(CPP_HDRS) | $(BUILD)/asan
	$(CXX) -O1 -g $(ASAN) $(WARN) $(CXXSTD) $(INC) $< -o $@ $(LINK)

c-programs: lib $(addprefix $(BUILD)/,$(C_TESTS)) $(BUILD)/demo $(BUILD)/demo_cpp
asan-programs: lib $(addprefix $(BUILD)/asan/,$(C_TESTS)) $(BUILD)/asan/demo $(BUILD)/asan/demo_cpp

# ---- runs ---------------------------------------------------------------------------------

# The main job: the C forest demo, then the cluster demo (etcd, two Rust and two C nodes).
demo: c-demo cluster-demo

c-demo: lib $(BUILD)/demo
	$(BUILD)/demo

cluster-demo:
	bash scripts/cluster-demo.sh

cpp-demo: lib $(BUILD)/demo_cpp
	$(BUILD)/demo_cpp

check-c: lib $(addprefix $(BUILD)/,$(C_TESTS))
	@set -e; for t in $(C_TESTS); do echo "== $$t"; $(BUILD)/$$t; done

asan: asan-programs
	@set -e; for p in $(C_TESTS) demo demo_cpp; do \
	  nm $(BUILD)/asan/$$p | grep -q __asan_init || { echo "$$p: __asan_init not linked"; exit 1; }; \
	done; echo "asan: __asan_init linked in every program"
	@set -e; for p in $(C_TESTS); do echo "== asan $$p"; $(BUILD)/asan/$$p; done
	@echo "== asan demo"; $(BUILD)/asan/demo > $(BUILD)/asan/demo.out || { cat $(BUILD)/asan/demo.out; exit 1; }
	@tail -n 3 $(BUILD)/asan/demo.out
	@echo "== asan demo_cpp"; $(BUILD)/asan/demo_cpp > $(BUILD)/asan/demo_cpp.out || { cat $(BUILD)/asan/demo_cpp.out; exit 1; }
	@tail -n 3 $(BUILD)/asan/demo_cpp.out

valgrind: c-programs
	@set -e; for p in $(C_TESTS); do echo "== valgrind $$p"; \
	  $(VALGRIND) $(VG_FLAGS) $(BUILD)/$$p; done
	@echo "== valgrind demo"; $(VALGRIND) $(VG_FLAGS) $(BUILD)/demo > $(BUILD)/demo.vg.out || { cat $(BUILD)/demo.vg.out; exit 1; }
	@tail -n 3 $(BUILD)/demo.vg.out
	@echo "== valgrind demo_cpp"; $(VALGRIND) $(VG_FLAGS) $(BUILD)/demo_cpp > $(BUILD)/demo_cpp.vg.out || { cat $(BUILD)/demo_cpp.vg.out; exit 1; }
	@tail -n 3 $(BUILD)/demo_cpp.vg.out

bench-c: lib $(BUILD)/bench_c $(BUILD)/bench_c_static
	$(CARGO) build --release -p ftforest-ffi --example rust_hot_path
	BIN=$(ROOT)/target scripts/bench-c.sh

# ---- cluster (issue 9): the C node, the C++ member example, the C tests against etcd -----

CT_DIR      := examples/c/cluster-tests
CT_TESTS    := $(patsubst $(CT_DIR)/%.c,%,$(wildcard $(CT_DIR)/test_*.c))
CT_HDRS     := include/ftforest.h $(CT_DIR)/fixture.h examples/c/tests/harness.h examples/c/tests/watchdog.h
# Under valgrind everything runs ~20x slower: a longer lease keeps the members from fencing
# themselves for a late keepalive (the tests read FTF_TEST_TTL_MS), and each test gets 600 s
# instead of 60 before its watchdog calls it a deadlock (test_quorum takes ~15 s plain; under
# valgrind its leaves alone took 2-10 s, and 3 s to over 60 s once the hooks got a thread of
# their own: the time bounds are checked by the plain and ASan runs, valgrind checks memory).
VG_CLUSTER  := FTF_TEST_TTL_MS=6000 FTF_TEST_WATCHDOG_S=600 $(VALGRIND) $(VG_FLAGS) --suppressions=$(ROOT)/$(CT_DIR)/valgrind.supp

$(BUILD)/cluster $(BUILD)/asan/cluster:
	mkdir -p $@

$(BUILD)/cluster_node: examples/c/cluster_node.c include/ftforest.h | $(BUILD)
	$(CC) $(CFLAGS) $(WARN) $(CSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/asan/cluster_node: examples/c/cluster_node.c include/ftforest.h | $(BUILD)/asan
	$(CC) -O1 -g $(ASAN) $(WARN) $(CSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/cluster_member_cpp: examples/cpp/cluster_member.cpp $(CPP_HDRS) | $(BUILD)
	$(CXX) $(CXXFLAGS) $(WARN) $(CXXSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/asan/cluster_member_cpp: examples/cpp/cluster_member.cpp $(CPP_HDRS) | $(BUILD)/asan
	$(CXX) -O1 -g $(ASAN) $(WARN) $(CXXSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/cluster/test_%: $(CT_DIR)/test_%.c $(CT_HDRS) | $(BUILD)/cluster
	$(CC) $(CFLAGS) $(WARN) $(CSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/asan/cluster/test_%: $(CT_DIR)/test_%.c $(CT_HDRS) | $(BUILD)/asan/cluster
	$(CC) -O1 -g $(ASAN) $(WARN) $(CSTD) $(INC) $< -o $@ $(LINK)

$(BUILD)/bench_cluster: examples/c/bench_cluster.c include/ftforest.h | $(BUILD)
	$(CC) -O2 $(WARN) $(CSTD) $(INC) $< -o $@ $(LINK)

cluster-node: lib $(BUILD)/cluster_node

cluster-programs: lib $(BUILD)/cluster_node $(BUILD)/cluster_member_cpp $(addprefix $(BUILD)/cluster/,$(CT_TESTS))
asan-cluster-programs: lib $(BUILD)/asan/cluster_node $(BUILD)/asan/cluster_member_cpp \
                       $(addprefix $(BUILD)/asan/cluster/,$(CT_TESTS))

check-cluster-c: cluster-programs
	bash $(CT_DIR)/run.sh $(BUILD)

asan-cluster-c: asan-cluster-programs
	@set -e; for p in $(addprefix cluster/,$(CT_TESTS)) cluster_node cluster_member_cpp; do \
	  nm $(BUILD)/asan/$$p | grep -q __asan_init || { echo "$$p: __asan_init not linked"; exit 1; }; \
	done; echo "asan: __asan_init linked in every cluster program"
	bash $(CT_DIR)/run.sh $(BUILD)/asan

valgrind-cluster-c: cluster-programs
	bash $(CT_DIR)/run.sh $(BUILD) env $(VG_CLUSTER)

bench-cluster-c: lib $(BUILD)/bench_cluster
	bash $(CT_DIR)/run.sh $(BUILD) --only $(BUILD)/bench_cluster

# ---- install ------------------------------------------------------------------------------

# The .pc is generated at every install: it embeds PREFIX, which changes between installs.
install: lib | $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|g' \
	    ffi/ftforest.pc.in > $(BUILD)/ftforest.pc
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/ftforest
	install -m 0755 $(RELEASE)/libftforest.so $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libftforest.so
	install -m 0644 $(RELEASE)/libftforest.a $(DESTDIR)$(LIBDIR)/libftforest.a
	install -m 0644 include/ftforest.h include/ftforest.hpp $(DESTDIR)$(INCDIR)/
	install -m 0644 include/ftforest/*.hpp $(DESTDIR)$(INCDIR)/ftforest/
	install -m 0644 $(BUILD)/ftforest.pc $(DESTDIR)$(LIBDIR)/pkgconfig/ftforest.pc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libftforest.so $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/$(REALNAME) $(DESTDIR)$(LIBDIR)/libftforest.a \
	      $(DESTDIR)$(INCDIR)/ftforest.h $(DESTDIR)$(INCDIR)/ftforest.hpp \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/ftforest.pc
	rm -f $(patsubst include/%,$(DESTDIR)$(INCDIR)/%,$(wildcard include/ftforest/*.hpp))
	-rmdir $(DESTDIR)$(INCDIR)/ftforest 2>/dev/null

clean-c:
	rm -rf $(BUILD)

# The link line a static libftforest.a needs, straight from rustc (compare with LIBS_PRIVATE).
print-native-static-libs:
	@$(CARGO) rustc -q --release -p ftforest-ffi --features cluster --crate-type staticlib -- --print native-static-libs 2>&1 \
	  | sed -n 's/.*native-static-libs: //p'

print-libs-private:
	@echo "$(LIBS_PRIVATE)"

print-soname:
	@echo "$(SONAME)"

print-version:
	@echo "$(VERSION)"
