# Makefile: builds and installs the alexidx extension with PGXS.
# The core library (alex/) is header-only; its tests and benchmarks build with CMake.

MODULE_big = alexidx
EXTENSION = alexidx
DATA = alexidx--0.1.0.sql alexidx--0.3.0.sql alexidx--0.1.0--0.2.0.sql \
	alexidx--0.2.0--0.3.0.sql

C_SOURCES = $(wildcard $(srcdir)/am/*.c)
CXX_SOURCES = $(wildcard $(srcdir)/am/engine/*.cpp)
OBJS = $(patsubst $(srcdir)/%.c,%.o,$(C_SOURCES)) $(patsubst $(srcdir)/%.cpp,%.o,$(CXX_SOURCES))

PG_CPPFLAGS = -I$(srcdir)/am
PG_CXXFLAGS = -std=c++20 -fPIC -I$(srcdir)/alex/include -I$(srcdir)/am
SHLIB_LINK = -lrocksdb -lstdc++

# Regression suite (run through scripts/regress.sh, which starts a preloaded temporary server).
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))

PG_CONFIG ?= pg_config
# No LLVM bitcode: the C++ side is not JIT material, and clang may not be installed.
override with_llvm = no
PGXS := $(shell $(PG_CONFIG) --pgxs)
srcdir ?= .
include $(PGXS)

# PGXS tracks no header dependencies: every object is rebuilt when any header of am/ changes
# (the IPC structs and AxBuildRecord are shared by C and C++ files, and a stale object
# would read them with the wrong layout).
AM_HEADERS = $(wildcard $(srcdir)/am/*.h $(srcdir)/am/engine/*.hpp)
$(OBJS): $(AM_HEADERS)

# Newcomer demo and PostgreSQL-level benchmark: the targets only call the scripts.
.PHONY: demo bench
demo:
	bash scripts/demo.sh
bench:
	bash scripts/pg-bench.sh
