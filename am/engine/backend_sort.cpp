// backend_sort.cpp: ordering build entries by (key, key_lo, tid) before they feed the tree and the SST file.
//
// An LSD radix sort on the entries (24-byte AxEntry of wide indexes, 16-byte AxNarrowEntry of
// the others): its run time is linear and it beats
// comparison sorting by a wide margin on the tens of millions of entries an index build sees.
// A heap scan usually hands entries over in TID order already; then the stable passes over
// the key bytes alone give (key, tid) order and the TID passes are skipped.
//
// Not the core's batch sort (alex/batch_sort.hpp, same order): on build-shaped input it is
// slower, as it sorts every run of equal keys by TID again (10M entries in TID order, -O2:
// random keys 0.32 s here vs 0.40 s, 100 distinct keys 0.26 vs 0.32, keys in 0..65535
// 0.18 vs 0.24; it wins only where the TIDs are out of order).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "entry_order.hpp"
#include "guard.hpp"

namespace {

inline uint64_t key_lo_of(const AxEntry& e) noexcept { return e.key_lo; }
inline uint64_t key_lo_of(const AxNarrowEntry&) noexcept { return 0; }

// The entries' order (entry_order.hpp), for both layouts. Narrow entries compare as one
// 128-bit number (key, then TID), so that a merge's comparison is a subtraction and not a
// chain of branches.
inline unsigned __int128 order_of(const AxNarrowEntry& e) noexcept {
  return (static_cast<unsigned __int128>(axeng::key_bits(e.key)) << 64) | e.tid;
}
inline bool entry_less(const AxNarrowEntry& a, const AxNarrowEntry& b) noexcept { return order_of(a) < order_of(b); }
inline bool entry_less(const AxEntry& a, const AxEntry& b) noexcept { return axeng::entry_less(a, b); }

// The counts of every byte of a field, taken in one read of the array (counts do not depend on
// the order, so every later pass can use them): eight counting reads fewer than counting
// before each pass. A byte whose value is the same in every entry needs no pass.
struct FieldCounts {
  std::size_t count[8][256] = {};

  void add(uint64_t v) noexcept {
    for (unsigned b = 0; b < 8; b++) count[b][(v >> (8 * b)) & 0xff]++;
  }
  bool constant(unsigned b, std::size_t n) const noexcept {
    for (unsigned v = 0; v < 256; v++)
      if (count[b][v] != 0) return count[b][v] == n;
    return true;
  }
};

// One stable scatter over byte b of the value get() returns, with that byte's counts.
template <class E, class Get>
void radix_pass(const E* src, E* dst, std::size_t n, unsigned b, const std::size_t* counts, Get get) {
  std::size_t next[256];
  std::size_t at = 0;
  for (unsigned v = 0; v < 256; v++) {
    next[v] = at;
    at += counts[v];
  }
  const unsigned shift = 8 * b;
  for (std::size_t i = 0; i < n; i++) dst[next[(get(src[i]) >> shift) & 0xff]++] = src[i];
}

// Least significant byte first, over the low `Bytes` bytes of one field, those that vary.
template <unsigned Bytes, class E, class Get>
void radix_field(E*& src, E*& dst, std::size_t n, const FieldCounts& c, Get get) {
  for (unsigned b = 0; b < Bytes; b++) {
    if (c.constant(b, n)) continue;
    radix_pass(src, dst, n, b, c.count[b], get);
    std::swap(src, dst);
  }
}

template <class E>
void sort_build_entries(E* entries, std::size_t n) {
  auto less = [](const E& a, const E& b) { return entry_less(a, b); };
  // Appended keys (a time column, a sequence) come out of the heap scan in order already:
  // one comparison pass, and no copy of the whole array.
  if (std::is_sorted(entries, entries + n, less)) return;
  if (n < 4096) {
    std::sort(entries, entries + n, less);
    return;
  }
  constexpr bool wide = sizeof(E) == sizeof(AxEntry);
  auto tid = [](const E& e) { return e.tid; };
  auto key = [](const E& e) { return axeng::key_bits(e.key); };
  auto key_lo = [](const E& e) { return key_lo_of(e); };
  // the buffer first: one that cannot be had fails before the array is read any further
  std::vector<E> tmp(n);
  bool tids_sorted = true;
  for (std::size_t i = 1; i < n && tids_sorted; i++) tids_sorted = entries[i - 1].tid <= entries[i].tid;
  auto counts = std::make_unique<FieldCounts[]>(3);  // key, key_lo, tid
  for (std::size_t i = 0; i < n; i++) {
    counts[0].add(key(entries[i]));
    if constexpr (wide) counts[1].add(key_lo(entries[i]));
    if (!tids_sorted) counts[2].add(tid(entries[i]));
  }
  E* src = entries;
  E* dst = tmp.data();
  // Least significant first: the TID (6 bytes; skipped when the heap scan gave TID order,
  // which the stable passes keep), the trailing key word of wide keys (8 bytes; a narrow
  // array has none), then the key (8 bytes). Constant bytes (common: high key bytes of
  // narrow domains) are skipped.
  if (!tids_sorted) radix_field<6>(src, dst, n, counts[2], tid);
  if constexpr (wide) radix_field<8>(src, dst, n, counts[1], key_lo);
  radix_field<8>(src, dst, n, counts[0], key);
  if (src != entries) std::memcpy(static_cast<void*>(entries), src, n * sizeof(E));
}

// ---------- merging a parallel build's runs ----------

// Two sorted ranges into out; returns the end of what it wrote. The loop's only branch is
// its end test: the comparison picks a source pointer, not a path.
template <class E>
E* merge_two(const E* a, const E* a_end, const E* b, const E* b_end, E* out) noexcept {
  while (a != a_end && b != b_end) {
    const bool take_b = entry_less(*b, *a);
    *out++ = *(take_b ? b : a);
    b += take_b;
    a += !take_b;
  }
  out = std::copy(a, a_end, out);
  return std::copy(b, b_end, out);
}

// Three (a parallel build's usual count: two workers and the leader) in the same manner,
// until one runs out; the other two then go on as two.
template <class E>
E* merge_three(const E* a, const E* a_end, const E* b, const E* b_end, const E* c, const E* c_end,
               E* out) noexcept {
  while (a != a_end && b != b_end && c != c_end) {
    const E* m = entry_less(*b, *a) ? b : a;
    m = entry_less(*c, *m) ? c : m;
    *out++ = *m;
    a += m == a;
    b += m == b;
    c += m == c;
  }
  if (a == a_end) return merge_two(b, b_end, c, c_end, out);
  if (b == b_end) return merge_two(a, a_end, c, c_end, out);
  return merge_two(a, a_end, b, b_end, out);
}

// The slice [at[r], to[r]) of every run, merged into out; at is consumed. No two entries are
// equal (a TID is in one run only). More than three non-empty slices (more than two workers)
// take the smallest of their heads, found by a look over them.
template <class E>
void merge_slices(const E* const* runs, std::size_t* at, const std::size_t* to, int nruns, E* out) noexcept {
  const E* head[3];
  const E* end[3];
  int live = 0;
  for (int r = 0; r < nruns; r++)
    if (at[r] < to[r]) {
      if (live < 3) {
        head[live] = runs[r] + at[r];
        end[live] = runs[r] + to[r];
      }
      live++;
    }
  switch (live) {
    case 0:
      return;
    case 1:
      std::memcpy(static_cast<void*>(out), head[0], (end[0] - head[0]) * sizeof(E));
      return;
    case 2:
      merge_two(head[0], end[0], head[1], end[1], out);
      return;
    case 3:
      merge_three(head[0], end[0], head[1], end[1], head[2], end[2], out);
      return;
  }
  for (;;) {
    int best = -1;
    const E* best_head = nullptr;
    for (int r = 0; r < nruns; r++) {
      if (at[r] == to[r]) continue;
      const E* h = runs[r] + at[r];
      if (best < 0 || entry_less(*h, *best_head)) {
        best = r;
        best_head = h;
      }
    }
    if (best < 0) return;
    *out++ = *best_head;
    at[best]++;
  }
}

// Below this many entries one thread merges: a thread costs more than it saves.
constexpr std::size_t kParallelMergeMin = 1 << 20;

// Merges the runs with up to `threads` threads. The key space is cut at entries sampled from
// the longest run; every run is cut at the same entries by binary search, so part p merges the
// p-th slice of every run into its own stretch of out, independently of the others.
template <class E>
void merge_runs(const E* const* runs, const std::size_t* lengths, int nruns, E* out, int threads) {
  std::size_t total = 0;
  int longest = 0;
  for (int r = 0; r < nruns; r++) {
    total += lengths[r];
    if (lengths[r] > lengths[longest]) longest = r;
  }
  const int parts = total >= kParallelMergeMin ? std::max(threads, 1) : 1;
  // cut[p * nruns + r]: where part p starts in run r; part `parts` is the end
  std::vector<std::size_t> cut((parts + 1) * nruns);
  std::vector<std::size_t> out_at(parts + 1, 0);
  for (int r = 0; r < nruns; r++) cut[parts * nruns + r] = lengths[r];
  for (int p = 1; p < parts; p++) {
    const E split = runs[longest][lengths[longest] * p / parts];
    for (int r = 0; r < nruns; r++) {
      const std::size_t at = std::lower_bound(runs[r], runs[r] + lengths[r], split, [](const E& a, const E& b) {
                               return entry_less(a, b);
                             }) - runs[r];
      // cuts only move forward (split entries grow with p), so each part's slices are ordered
      cut[p * nruns + r] = at;
      out_at[p] += at;
    }
  }
  out_at[parts] = total;
  // merge_slices consumes the starts it is given: the parts get a copy of the cuts
  std::vector<std::size_t> starts(cut.begin(), cut.end() - nruns);
  auto run_part = [&](int p) {
    merge_slices(runs, &starts[p * nruns], &cut[(p + 1) * nruns], nruns, out + out_at[p]);
  };
  std::vector<std::thread> workers;
  {
    axeng::SignalBlock signals;  // the threads start with every signal blocked
    try {
      for (int p = 1; p < parts; p++) workers.emplace_back(run_part, p);
    } catch (...) {
      for (auto& t : workers) t.join();
      throw;
    }
  }
  run_part(0);
  for (auto& t : workers) t.join();
}

}  // namespace

extern "C" AxStatus ax_merge_entries(const AxEntry* const* runs, const std::size_t* lengths, int nruns,
                                     AxEntry* out, int threads, AxError* err) {
  return axeng::ax_guard(err, [&] { merge_runs(runs, lengths, nruns, out, threads); });
}

extern "C" AxStatus ax_merge_narrow_entries(const AxNarrowEntry* const* runs, const std::size_t* lengths,
                                            int nruns, AxNarrowEntry* out, int threads, AxError* err) {
  return axeng::ax_guard(err, [&] { merge_runs(runs, lengths, nruns, out, threads); });
}

extern "C" AxStatus ax_sort_entries(AxEntry* entries, std::size_t n, AxError* err) {
  return axeng::ax_guard(err, [&] { sort_build_entries(entries, n); });
}

extern "C" AxStatus ax_sort_narrow_entries(AxNarrowEntry* entries, std::size_t n, AxError* err) {
  return axeng::ax_guard(err, [&] { sort_build_entries(entries, n); });
}
