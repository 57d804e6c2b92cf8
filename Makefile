# Makefile: builds and installs the alexidx extension with PGXS.
# The core library (alex/) is header-only; its tests and benchmarks build with CMake.

MODULE_big = alexidx
EXTENSION = alexidx
DATA = alexidx--0.1.0.sql alexidx--0.4.0.sql alexidx--0.1.0--0.2.0.sql \
	alexidx--0.2.0--0.3.0.sql alexidx--0.3.0--0.4.0.sql

C_SOURCES = $(wildcard $(srcdir)/am/*.c $(srcdir)/am/*/*.c)
CXX_SOURCES = $(wildcard $(srcdir)/am/engine/*.cpp)
OBJS = $(patsubst $(srcdir)/%.c,%.o,$(C_SOURCES)) $(patsubst $(srcdir)/%.cpp,%.o,$(CXX_SOURCES))

PG_CPPFLAGS = -I$(srcdir)/am
PG_CXXFLAGS = -std=c++20 -fPIC -I$(srcdir)/alex/include -I$(srcdir)/am
SHLIB_LINK = -lrocksdb -lstdc++

# ---------- tests, in PostgreSQL's style ----------
#   make installcheck        pg_regress: test/sql against test/expected, on a temporary instance
#                            that preloads alexidx (test/regress.conf); `make install` first
#   make prove_installcheck  the TAP files test/t/*.pl; PROVE_TESTS='t/001_restart.pl ...' picks
#   make check-core          the core library's GoogleTest suites (CMake, ctest)
#   ASAN=1                   any of them on the AddressSanitizer builds: the core with ASan and
#                            UBSan; the extension on an ASan + cassert PostgreSQL, which
#                            `make asan-install` builds (once) and installs the extension into
# PostgreSQL refuses to run as root: as root, scripts/test-all.sh runs these as `postgres`.
# Outputs (results, server logs, data directories) go under TEST_OUT.
TEST_OUT ?= $(CURDIR)/build/test$(if $(ASAN),-asan)
REGRESS = $(patsubst $(srcdir)/test/sql/%.sql,%,$(sort $(wildcard $(srcdir)/test/sql/*.sql)))
REGRESS_OPTS = --inputdir=$(srcdir)/test --outputdir=$(TEST_OUT)/regress \
	--temp-instance=$(TEST_OUT)/regress/instance --temp-config=$(srcdir)/test/regress.conf
# pg_regress makes only the last level of its output directory
REGRESS_PREP = regress-outdir

ifdef ASAN
# where scripts/asan-postgres.sh installs its PostgreSQL
ASAN_PREFIX ?= /var/tmp/alexidx-asan-pg/install
# (check-core ASAN=1 needs no ASan PostgreSQL; the server targets check that there is one)
ifneq ($(wildcard $(ASAN_PREFIX)/bin/pg_config),)
PG_CONFIG = ASAN_OPTIONS=detect_leaks=0 $(ASAN_PREFIX)/bin/pg_config
endif
# the instrumented programs must not fail on the leaks PostgreSQL allows (pg_config, run by
# make itself, gets the setting in PG_CONFIG: make 4.3 does not export to $(shell))
export ASAN_OPTIONS ?= detect_leaks=0:abort_on_error=1
endif

PG_CONFIG ?= pg_config
# No LLVM bitcode: the C++ side is not JIT material, and clang may not be installed.
override with_llvm = no
PGXS := $(shell $(PG_CONFIG) --pgxs)
srcdir ?= .
include $(PGXS)

# PGXS tracks no header dependencies: every object is rebuilt when any header of am/ or of the
# core library changes (the IPC structs and AxBuildRecord are shared by C and C++ files, the
# trees' node layout by every C++ file, and a stale object would read them with the wrong
# layout).
AM_HEADERS = $(wildcard $(srcdir)/am/*.h $(srcdir)/am/*/*.h $(srcdir)/am/engine/*.hpp \
	$(srcdir)/alex/include/alex/*.hpp)
$(OBJS): $(AM_HEADERS)

.PHONY: regress-outdir prove_installcheck check-core asan-install
ASAN_GUARD = $(if $(ASAN),@test -x $(ASAN_PREFIX)/bin/pg_config || \
	{ echo "no ASan PostgreSQL in $(ASAN_PREFIX): run make asan-install first"; exit 1; })
regress-outdir:
	$(ASAN_GUARD)
	$(MKDIR_P) $(TEST_OUT)/regress

PROVE_TESTS ?= t/*.pl
# PostgreSQL::Test::Cluster and prove come with the system's PostgreSQL (the ASan build has
# neither); under ASAN=1 the servers run the ASan binaries through ALEXIDX_INSTALL_PATH.
SYSTEM_PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
SYSTEM_PGXS_DIR = $(shell $(SYSTEM_PG_CONFIG) --pkglibdir)/pgxs
# TESTDIR: where PostgreSQL::Test::Utils keeps tmp_check (data directories, logs)
prove_installcheck:
	$(ASAN_GUARD)
	rm -rf $(TEST_OUT)/tap
	$(MKDIR_P) $(TEST_OUT)/tap
	cd $(srcdir)/test && TESTDIR=$(TEST_OUT)/tap \
	  PATH="$(shell $(SYSTEM_PG_CONFIG) --bindir):$$PATH" \
	  PG_REGRESS=$(SYSTEM_PGXS_DIR)/src/test/regress/pg_regress \
	  $(if $(ASAN),ALEXIDX_INSTALL_PATH=$(ASAN_PREFIX)) \
	  $(or $(PROVE),prove) -I $(SYSTEM_PGXS_DIR)/src/test/perl $(PROVE_FLAGS) $(PROVE_TESTS)

CORE_BUILD ?= $(CURDIR)/build/$(if $(ASAN),asan,core)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check-core:
	cmake -S $(srcdir) -B $(CORE_BUILD) -DCMAKE_BUILD_TYPE=Release -DALEX_BUILD_BENCH=OFF \
	  $(if $(ASAN),-DALEX_SANITIZE=ON)
	cmake --build $(CORE_BUILD) -j$(JOBS)
	ctest --test-dir $(CORE_BUILD) --output-on-failure -j$(JOBS)

asan-install:
	bash $(srcdir)/scripts/asan-extension.sh

# Newcomer demo and PostgreSQL-level benchmark: the targets only call the scripts.
.PHONY: demo bench
demo:
	bash scripts/demo.sh
bench:
	bash scripts/pg-bench.sh
