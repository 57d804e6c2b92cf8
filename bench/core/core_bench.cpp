// alexidx core benchmark: alex::Alex vs absl::btree_multimap vs std::multimap.
//
// Benchmark names are "<op>/<structure>/<dataset>/<size>" (Google Benchmark
// appends "/iterations:N/manual_time").  The int64 datasets are sequential,
// seq_gaps, uniform, lognormal, clustered and duplicates; uuid_random and
// uuid_v7 have alex::Key128 keys (uuid-like, see datasets.hpp), run through
// the same operations with Alex<Key128, uint64>, absl::btree_multimap<Key128,
// uint64> and std::multimap<Key128, uint64>.
//
// Every benchmark uses manual timing: only the operation under test is inside
// the timed region; dataset generation, preloading, copying of batch inputs
// and destruction are not.
//
// Counters (all plain values, comparable across structures):
//   ns_per_op      mean wall-clock nanoseconds per key (per scan for range scans)
//   ns_per_op_min  best iteration's wall-clock nanoseconds per key
//   cpu_ns_per_op, cpu_ns_per_op_min  the same in thread CPU time (robust
//                  against preemption on a shared machine)
//   bytes_per_entry  allocator bytes / entries after the operation
//
// Own flags (after Google Benchmark's flags are consumed):
//   --quick                 only 1M sizes (same as CORE_BENCH_QUICK=1)
//   --sizes=1M,10M,100K     explicit sizes
//   --datasets=uniform,...  subset of datasets
//   --structs=alex,absl,std subset of structures
//   --iter_scale=X          multiply the per-benchmark iteration counts
//   --fresh_pages           keep glibc's default malloc tuning (see below)
//
// By default glibc malloc is told to serve blocks up to 32 MiB from the heap
// and never to trim it, so freed memory is reused across iterations instead of
// being returned to the kernel and faulted in again. Page faults on this VM are
// expensive and very noisy (same benchmark varied 5x between runs), and they
// hit alex's large data-node slabs (mmap'd by default) differently from the
// small B-tree nodes. With --fresh_pages every allocation pays first-touch
// faults the way glibc's defaults dictate.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <malloc.h>
#include <time.h>

#include "adapters.hpp"
#include "datasets.hpp"

namespace corebench {
namespace {

using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------------ caches
// One dataset and one loaded read-only structure are cached at a time; the
// benchmarks are registered grouped by (size, dataset, structure) so each is
// generated / loaded once.
template <class K>
std::unique_ptr<BasicDataset<K>> g_dataset;

template <class K>
const BasicDataset<K>& get_dataset(Dist d, std::size_t n) {
  auto& slot = g_dataset<K>;
  if (!slot || slot->dist != d || slot->n != n) {
    g_dataset<int64_t>.reset();  // at most one dataset in memory
    g_dataset<Key128>.reset();
    slot = std::make_unique<BasicDataset<K>>(make_dataset<K>(d, n));
  }
  return *slot;
}

struct StructCache {
  std::string key;
  std::shared_ptr<void> obj;
};
StructCache g_struct_cache;

void drop_struct_cache() {
  g_struct_cache.obj.reset();
  g_struct_cache.key.clear();
}

template <class A>
std::vector<typename A::Elem> to_elems(const std::vector<BasicKV<typename A::Key>>& v) {
  std::vector<typename A::Elem> out;
  out.reserve(v.size());
  for (const auto& kv : v) out.push_back(A::make(kv));
  return out;
}

template <class A>
A& get_loaded(const BasicDataset<typename A::Key>& ds) {
  std::string key = std::string(A::kName) + "/" + dist_name(ds.dist) + "/" + std::to_string(ds.n);
  if (g_struct_cache.key != key) {
    drop_struct_cache();
    auto in = to_elems<A>(ds.sorted);
    auto a = std::make_shared<A>();
    a->load(in.data(), in.size());
    g_struct_cache.obj = a;
    g_struct_cache.key = key;
  }
  return *static_cast<A*>(g_struct_cache.obj.get());
}

// ------------------------------------------------------------------ timing
// Wall-clock time is what Google Benchmark reports (manual time); thread CPU
// time is recorded too because the 2-core machine is shared and wall time
// includes preemption by other processes.
inline double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct Meter {
  double total_ns = 0, total_cpu_ns = 0;
  double total_ops = 0;
  double best = 1e300, best_cpu = 1e300;

  // Times fn() and reports it as this iteration's manual time.
  template <class F>
  void time(benchmark::State& st, double ops, F&& fn) {
    double c0 = thread_cpu_ns();
    auto t0 = Clock::now();
    fn();
    auto t1 = Clock::now();
    double c1 = thread_cpu_ns();
    double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    st.SetIterationTime(ns * 1e-9);
    total_ns += ns;
    total_cpu_ns += c1 - c0;
    total_ops += ops;
    best = std::min(best, ns / ops);
    best_cpu = std::min(best_cpu, (c1 - c0) / ops);
  }
  void report(benchmark::State& st) {
    if (total_ops <= 0) return;
    st.counters["ns_per_op"] = total_ns / total_ops;
    st.counters["ns_per_op_min"] = best;
    st.counters["cpu_ns_per_op"] = total_cpu_ns / total_ops;
    st.counters["cpu_ns_per_op_min"] = best_cpu;
    st.SetItemsProcessed(static_cast<int64_t>(total_ops));
  }
};

template <class A>
void set_mem(benchmark::State& st, const A& a) {
  if (a.size() > 0)
    st.counters["bytes_per_entry"] =
        static_cast<double>(a.memory_bytes()) / static_cast<double>(a.size());
}

template <class A>
void add_struct_stats(benchmark::State&, const A&) {}

template <class K>
void add_struct_stats(benchmark::State& st, const AlexAdapterT<K>& a) {
  alex::Stats s = a.m.stats();
  st.counters["depth"] = static_cast<double>(s.depth);
  st.counters["model_nodes"] = static_cast<double>(s.model_nodes);
  st.counters["data_nodes"] = static_cast<double>(s.data_nodes);
  st.counters["avg_search_distance"] = s.avg_search_distance;
  st.counters["model_bytes_per_entry"] =
      static_cast<double>(s.model_bytes) / std::max<double>(1, static_cast<double>(s.entries));
  st.counters["data_bytes_per_entry"] =
      static_cast<double>(s.data_bytes) / std::max<double>(1, static_cast<double>(s.entries));
}

// ------------------------------------------------------------------ benchmarks
template <class A>
void BM_BulkLoad(benchmark::State& st, Dist d, std::size_t n) {
  const auto& ds = get_dataset<typename A::Key>(d, n);
  drop_struct_cache();
  auto in = to_elems<A>(ds.sorted);
  Meter m;
  for (auto _ : st) {
    auto a = std::make_unique<A>();
    m.time(st, static_cast<double>(n), [&] { a->load(in.data(), in.size()); });
    if (a->size() != n) {
      st.SkipWithError("bulk load: wrong size");
      break;
    }
    set_mem(st, *a);
    add_struct_stats(st, *a);
  }
  m.report(st);
}

template <class A>
void BM_Lookup(benchmark::State& st, Dist d, std::size_t n) {
  const auto& ds = get_dataset<typename A::Key>(d, n);
  const A& a = get_loaded<A>(ds);
  Meter m;
  for (auto _ : st) {
    uint64_t sum = 0;
    m.time(st, static_cast<double>(ds.probes.size()), [&] {
      for (const auto& p : ds.probes) sum += a.find_first(p.key);
    });
    benchmark::DoNotOptimize(sum);
    if (sum != ds.probe_payload_sum) {
      st.SkipWithError("lookup: wrong results");
      break;
    }
  }
  set_mem(st, a);
  m.report(st);
}

template <class A>
void BM_RangeScan(benchmark::State& st, Dist d, std::size_t n) {
  const auto& ds = get_dataset<typename A::Key>(d, n);
  const A& a = get_loaded<A>(ds);
  Meter m;
  for (auto _ : st) {
    uint64_t sum = 0;
    m.time(st, static_cast<double>(ds.scan_starts.size()), [&] {
      for (const auto& k : ds.scan_starts) sum += a.scan(k, kScanLength);
    });
    benchmark::DoNotOptimize(sum);
    if (sum != ds.scan_payload_sum) {
      st.SkipWithError("range scan: wrong results");
      break;
    }
  }
  m.report(st);
}

template <class A>
void BM_RangeScanCopy(benchmark::State& st, Dist d, std::size_t n) {
  const auto& ds = get_dataset<typename A::Key>(d, n);
  const A& a = get_loaded<A>(ds);
  std::vector<typename A::Elem> buf(kScanLength);
  Meter m;
  for (auto _ : st) {
    uint64_t sum = 0;
    m.time(st, static_cast<double>(ds.scan_starts.size()), [&] {
      for (const auto& k : ds.scan_starts) sum += a.scan_copy(k, kScanLength, buf.data());
    });
    benchmark::DoNotOptimize(sum);
    if (sum != ds.scan_payload_sum) {
      st.SkipWithError("copy_range scan: wrong results");
      break;
    }
  }
  m.report(st);
}

template <class A>
std::unique_ptr<A> preload(const std::vector<typename A::Elem>& in) {
  auto a = std::make_unique<A>();
  a->load(in.data(), in.size());
  return a;
}

template <class A>
void BM_Insert(benchmark::State& st, Dist d, std::size_t n) {
  const auto& ds = get_dataset<typename A::Key>(d, n);
  drop_struct_cache();
  auto half = to_elems<A>(ds.half_sorted);
  Meter m;
  for (auto _ : st) {
    auto a = preload<A>(half);
    m.time(st, static_cast<double>(ds.other_half.size()), [&] {
      for (const auto& kv : ds.other_half) a->insert(kv.key, kv.payload);
    });
    if (a->size() != n) {
      st.SkipWithError("insert: wrong size");
      break;
    }
    set_mem(st, *a);
    add_struct_stats(st, *a);
  }
  m.report(st);
}

template <class A>
void BM_InsertBatch(benchmark::State& st, Dist d, std::size_t n, std::size_t batch) {
  const auto& ds = get_dataset<typename A::Key>(d, n);
  drop_struct_cache();
  auto half = to_elems<A>(ds.half_sorted);
  auto rest = to_elems<A>(ds.other_half);
  std::vector<typename A::Elem> scratch;
  Meter m;
  for (auto _ : st) {
    auto a = preload<A>(half);
    scratch = rest;  // insert_batch may reorder its input
    m.time(st, static_cast<double>(scratch.size()), [&] {
      for (std::size_t off = 0; off < scratch.size(); off += batch)
        a->insert_batch(scratch.data() + off, std::min(batch, scratch.size() - off));
    });
    if (a->size() != n) {
      st.SkipWithError("insert_batch: wrong size");
      break;
    }
    set_mem(st, *a);
    add_struct_stats(st, *a);
  }
  m.report(st);
}

template <class A>
void BM_Erase(benchmark::State& st, Dist d, std::size_t n) {
  const auto& ds = get_dataset<typename A::Key>(d, n);
  drop_struct_cache();
  auto all = to_elems<A>(ds.sorted);
  Meter m;
  for (auto _ : st) {
    auto a = preload<A>(all);
    std::size_t erased = 0;
    m.time(st, static_cast<double>(ds.other_half.size()), [&] {
      for (const auto& kv : ds.other_half) erased += a->erase(kv.key, kv.payload);
    });
    if (erased != ds.other_half.size() || a->size() != n - ds.other_half.size()) {
      st.SkipWithError("erase: wrong count");
      break;
    }
    set_mem(st, *a);
  }
  m.report(st);
}

template <class A>
void BM_Append(benchmark::State& st, Dist d, std::size_t n) {
  const auto& ds = get_dataset<typename A::Key>(d, n);
  drop_struct_cache();
  auto all = to_elems<A>(ds.sorted);
  const std::size_t cnt = ds.append_count();
  Meter m;
  for (auto _ : st) {
    auto a = preload<A>(all);
    m.time(st, static_cast<double>(cnt), [&] {
      for (std::size_t i = 0; i < cnt; ++i) a->insert(ds.append_key(i), n + i);
    });
    if (a->size() != n + cnt) {
      st.SkipWithError("append: wrong size");
      break;
    }
    set_mem(st, *a);
  }
  m.report(st);
}

// Time-ordered keys with jitter: the same keys as BM_Append, each window of 64
// consecutive keys shuffled (as uuid v7 or time series with clock jitter arrive). The
// shuffled order is made before the timed region.
template <class A>
void BM_AppendJitter(benchmark::State& st, Dist d, std::size_t n) {
  const auto& ds = get_dataset<typename A::Key>(d, n);
  drop_struct_cache();
  auto all = to_elems<A>(ds.sorted);
  const std::size_t cnt = ds.append_count();
  std::vector<std::size_t> order(cnt);
  for (std::size_t i = 0; i < cnt; ++i) order[i] = i;
  std::mt19937_64 rng(kSeed);
  for (std::size_t i = 0; i + 64 <= cnt; i += 64) std::shuffle(order.begin() + i, order.begin() + i + 64, rng);
  std::vector<typename A::Key> keys(cnt);
  for (std::size_t i = 0; i < cnt; ++i) keys[i] = ds.append_key(order[i]);
  Meter m;
  for (auto _ : st) {
    auto a = preload<A>(all);
    m.time(st, static_cast<double>(cnt), [&] {
      for (std::size_t i = 0; i < cnt; ++i) a->insert(keys[i], n + i);
    });
    if (a->size() != n + cnt) {
      st.SkipWithError("append_jitter: wrong size");
      break;
    }
    set_mem(st, *a);
  }
  m.report(st);
}

// The machine's floor for in-place inserts into a big tree: a random read-modify-write of
// `lines` cache lines per key, one in each of `lines` arrays as large as a 10M-entry tree's
// data, with the next keys' lines prefetched 8 keys ahead as insert_batch does. A batch's
// in-place insert reads and writes about three (the key's key line, payload line and
// occupancy word), so with every miss overlapped it can go no faster than line_rmw_3.
void BM_LineRmw(benchmark::State& st, std::size_t n, int lines) {
  constexpr std::size_t kAhead = 8;
  const std::size_t words = n * 24 / 8 / static_cast<std::size_t>(lines);  // ~ a grown tree's slabs
  std::vector<std::vector<std::uint64_t>> arr(static_cast<std::size_t>(lines), std::vector<std::uint64_t>(words, 1));
  const std::size_t ops = n / 2;
  std::vector<std::uint32_t> at(ops);
  std::mt19937_64 rng(14);
  for (auto& x : at) x = static_cast<std::uint32_t>(rng() % words);
  Meter m;
  std::uint64_t sum = 0;
  for (auto _ : st) {
    m.time(st, static_cast<double>(ops), [&] {
      for (std::size_t i = 0; i < ops; ++i) {
        if (i + kAhead < ops)
          for (auto& a : arr) __builtin_prefetch(&a[at[i + kAhead]], 1);
        for (auto& a : arr) {
          std::uint64_t& w = a[at[i]];
          sum += w;
          w = sum;  // a write, as an insert's shift makes
        }
      }
    });
  }
  benchmark::DoNotOptimize(sum);
  m.report(st);
}

// ------------------------------------------------------------------ registration
struct Options {
  std::vector<std::size_t> sizes{1'000'000, 10'000'000};
  std::vector<std::string> datasets;  // empty = all
  std::vector<std::string> structs{"alex", "absl", "std"};
  double iter_scale = 1.0;
  bool fresh_pages = false;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::size_t parse_size(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string suf = end ? end : "";
  if (suf == "K" || suf == "k") v *= 1e3;
  if (suf == "M" || suf == "m") v *= 1e6;
  return static_cast<std::size_t>(v);
}

std::string size_name(std::size_t n) {
  if (n % 1'000'000 == 0) return std::to_string(n / 1'000'000) + "M";
  if (n % 1'000 == 0) return std::to_string(n / 1'000) + "K";
  return std::to_string(n);
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Options g_opt;

// Iteration counts: few for 10M (setup dominates), more for 1M and below.
int iters(std::size_t n, int small, int large) {
  int base = n >= 5'000'000 ? large : small;
  return std::max(1, static_cast<int>(std::lround(base * g_opt.iter_scale)));
}

template <class F>
void reg(const std::string& op, const std::string& st, Dist d, std::size_t n, int it, F&& fn) {
  std::string name = op + "/" + st + "/" + dist_name(d) + "/" + size_name(n);
  benchmark::RegisterBenchmark(name.c_str(), std::forward<F>(fn))
      ->Iterations(it)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

template <class A>
void register_struct(Dist d, std::size_t n) {
  const std::string s = A::kName;
  if (!contains(g_opt.structs, s)) return;
  constexpr bool kIsAlex = std::is_same_v<A, AlexAdapterT<typename A::Key>>;
  // Read-only group first (shares one cached loaded structure).
  reg("bulk_load", s, d, n, iters(n, 5, 2), [d, n](benchmark::State& st) { BM_BulkLoad<A>(st, d, n); });
  reg("lookup", s, d, n, iters(n, 5, 3), [d, n](benchmark::State& st) { BM_Lookup<A>(st, d, n); });
  reg("range_scan", s, d, n, iters(n, 5, 3), [d, n](benchmark::State& st) { BM_RangeScan<A>(st, d, n); });
  if constexpr (kIsAlex)
    reg("range_scan_copy", s, d, n, iters(n, 5, 3),
        [d, n](benchmark::State& st) { BM_RangeScanCopy<A>(st, d, n); });
  // Mutating group: a fresh structure per iteration.
  // insert and insert_batch run twice at 10M as well, and the summary takes the better
  // iteration: the first one in a process to outgrow the heap pays every first touch of its
  // pages (a run filtered to these two measured insert 1.5x slower than in steady state,
  // because it ran first), which made their ratio depend on the order they ran in.
  reg("insert", s, d, n, iters(n, 3, 2), [d, n](benchmark::State& st) { BM_Insert<A>(st, d, n); });
  if constexpr (kIsAlex) {
    for (std::size_t b : {std::size_t{1000}, std::size_t{65536}})
      reg("insert_batch_" + std::to_string(b), s, d, n, iters(n, 3, 2),
          [d, n, b](benchmark::State& st) { BM_InsertBatch<A>(st, d, n, b); });
  }
  reg("erase", s, d, n, iters(n, 3, 1), [d, n](benchmark::State& st) { BM_Erase<A>(st, d, n); });
  reg("append", s, d, n, iters(n, 3, 1), [d, n](benchmark::State& st) { BM_Append<A>(st, d, n); });
  reg("append_jitter", s, d, n, iters(n, 3, 1), [d, n](benchmark::State& st) { BM_AppendJitter<A>(st, d, n); });
}

void register_all() {
  for (std::size_t n : g_opt.sizes) {
    // (with the uniform alex benchmarks, whose insert_batch it explains)
    if (contains(g_opt.structs, "alex") && (g_opt.datasets.empty() || contains(g_opt.datasets, "uniform")))
      for (int lines : {1, 2, 3})
        reg("line_rmw_" + std::to_string(lines), "machine", Dist::kUniform, n, iters(n, 3, 2),
            [n, lines](benchmark::State& st) { BM_LineRmw(st, n, lines); });
    for (Dist d : kAllDists) {
      if (!g_opt.datasets.empty() && !contains(g_opt.datasets, dist_name(d))) continue;
      if (is_key128(d)) {
        register_struct<AlexAdapterT<Key128>>(d, n);
        register_struct<AbslAdapterT<Key128>>(d, n);
        register_struct<StdAdapterT<Key128>>(d, n);
      } else {
        register_struct<AlexAdapter>(d, n);
        register_struct<AbslAdapter>(d, n);
        register_struct<StdAdapter>(d, n);
      }
    }
  }
}

}  // namespace
}  // namespace corebench

int main(int argc, char** argv) {
  using namespace corebench;
  benchmark::Initialize(&argc, argv);
  const char* q = std::getenv("CORE_BENCH_QUICK");
  if (q && *q && std::strcmp(q, "0") != 0) g_opt.sizes = {1'000'000};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char* pfx) -> std::optional<std::string> {
      std::size_t l = std::strlen(pfx);
      if (a.compare(0, l, pfx) == 0) return a.substr(l);
      return std::nullopt;
    };
    if (a == "--fresh_pages") {
      g_opt.fresh_pages = true;
    } else if (a == "--quick") {
      g_opt.sizes = {1'000'000};
    } else if (auto v = val("--sizes=")) {
      g_opt.sizes.clear();
      for (auto& s : split(*v)) g_opt.sizes.push_back(parse_size(s));
    } else if (auto v2 = val("--datasets=")) {
      g_opt.datasets = split(*v2);
    } else if (auto v3 = val("--structs=")) {
      g_opt.structs = split(*v3);
    } else if (auto v4 = val("--iter_scale=")) {
      g_opt.iter_scale = std::strtod(v4->c_str(), nullptr);
    } else {
      std::fprintf(stderr, "unknown argument: %s\n", argv[i]);
      return 2;
    }
  }
  if (!g_opt.fresh_pages) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
  }
  register_all();
  benchmark::AddCustomContext("core_bench_malloc", g_opt.fresh_pages ? "glibc default" : "no trim, mmap >= 32MiB");
  benchmark::AddCustomContext("core_bench_sizes", [] {
    std::string s;
    for (auto n : g_opt.sizes) s += (s.empty() ? "" : ",") + size_name(n);
    return s;
  }());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
