// alex_timing: a quick local timing harness against absl::btree_multimap (not a test).
// Usage: alex_timing [n=10000000]
#include <absl/container/btree_map.h>

#include <ctime>
#include <cstdio>
#include <cstdlib>

#include "test_util.hpp"

using namespace alex_test;
// CPU time of this process: the build machine is shared, wall time is not meaningful.
struct Clock {
  using time_point = double;
  static double now() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
  }
};
static double secs(double a) { return Clock::now() - a; }

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10000000;
  auto keys = uniform_keys(n, 1);
  auto entries = with_payloads(keys);
  auto sorted = entries;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t q = 2000000;
  auto probes = uniform_keys(q, 2);
  for (std::size_t i = 0; i < q; ++i) probes[i] = keys[(static_cast<std::size_t>(probes[i]) >> 1) % n];
  auto extra = uniform_keys(1000000, 3);

  // bulk load
  auto t0 = Clock::now();
  Tree t;
  t.bulk_load(sorted.data(), sorted.size());
  const double a_bulk = secs(t0);
  t0 = Clock::now();
  absl::btree_multimap<int64_t, uint64_t> b;
  for (auto& e : sorted) b.emplace_hint(b.end(), e.key, e.payload);
  const double b_bulk = secs(t0);
  std::printf("bulk load      alex %.3fs  absl %.3fs  ratio(absl/alex) %.2f\n", a_bulk, b_bulk, b_bulk / a_bulk);
  std::printf("memory/entry   alex %.2f B  (absl btree_multimap ~ 20-22 B)\n", double(t.memory_bytes()) / double(n));

  // lookups
  uint64_t sink = 0;
  t0 = Clock::now();
  for (auto k : probes) sink += t.lower_bound(k).payload();
  const double a_look = secs(t0);
  t0 = Clock::now();
  for (auto k : probes) sink += b.lower_bound(k)->second;
  const double b_look = secs(t0);
  std::printf("lookup         alex %.1fns absl %.1fns ratio %.2f\n", a_look * 1e9 / q, b_look * 1e9 / q, b_look / a_look);

  // random inserts
  t0 = Clock::now();
  for (std::size_t i = 0; i < extra.size(); ++i) t.insert(extra[i], i);
  const double a_ins = secs(t0);
  t0 = Clock::now();
  for (std::size_t i = 0; i < extra.size(); ++i) b.emplace(extra[i], i);
  const double b_ins = secs(t0);
  std::printf("insert         alex %.1fns absl %.1fns ratio %.2f\n", a_ins * 1e9 / extra.size(),
              b_ins * 1e9 / extra.size(), b_ins / a_ins);
  std::printf("memory/entry after inserts alex %.2f B\n", double(t.memory_bytes()) / double(t.size()));

  // batch (65,536 per batch) vs single inserts of the same 1M keys, each into its own
  // freshly bulk-loaded copy so both pay the same expansion wave.
  {
    auto more = uniform_keys(1 << 20, 4);
    Tree tb, ts;
    tb.bulk_load(sorted.data(), sorted.size());
    ts.bulk_load(sorted.data(), sorted.size());
    std::vector<Entry> batch(65536);
    t0 = Clock::now();
    for (std::size_t off = 0; off < more.size(); off += batch.size()) {
      for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = Entry{more[off + i], i};
      tb.insert_batch(batch.data(), batch.size());
    }
    const double a_batch = secs(t0);
    t0 = Clock::now();
    for (std::size_t i = 0; i < more.size(); ++i) ts.insert(more[i], i);
    const double a_single = secs(t0);
    std::printf("batch insert   %.1fns/key vs single %.1fns/key: %.2fx\n", a_batch * 1e9 / more.size(),
                a_single * 1e9 / more.size(), a_single / a_batch);
  }

  // sequential appends
  const std::size_t na = n;
  t0 = Clock::now();
  Tree ta;
  for (std::size_t i = 0; i < na; ++i) ta.insert(static_cast<int64_t>(i), i);
  const double a_app = secs(t0);
  t0 = Clock::now();
  absl::btree_multimap<int64_t, uint64_t> ba;
  for (std::size_t i = 0; i < na; ++i) ba.emplace(static_cast<int64_t>(i), i);
  const double b_app = secs(t0);
  std::printf("append         alex %.1fns absl %.1fns ratio %.2f  (alex mem/entry %.2f, depth %zu)\n", a_app * 1e9 / na,
              b_app * 1e9 / na, b_app / a_app, double(ta.memory_bytes()) / double(na), ta.stats().depth);

  // scans
  std::vector<Entry> out(1024);
  t0 = Clock::now();
  std::size_t got = 0;
  const Entry* resume = nullptr;
  Entry last{};
  for (;;) {
    std::size_t c = t.copy_range(INT64_MIN, INT64_MAX, resume, out.data(), out.size());
    got += c;
    if (c < out.size()) break;
    last = out[c - 1];
    resume = &last;
  }
  std::printf("full scan      %.2fns/entry (%zu entries)\n", secs(t0) * 1e9 / double(got), got);
  auto st = t.stats();
  std::printf("stats depth %zu model %zu data %zu avg_dist %.2f\n", st.depth, st.model_nodes, st.data_nodes,
              st.avg_search_distance);
  return static_cast<int>(sink & 1) * 0;
}
