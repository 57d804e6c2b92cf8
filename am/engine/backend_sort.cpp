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
#include <vector>

#include "entry_order.hpp"
#include "guard.hpp"

namespace {

inline uint64_t key_lo_of(const AxEntry& e) noexcept { return e.key_lo; }
inline uint64_t key_lo_of(const AxNarrowEntry&) noexcept { return 0; }

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
  auto less = [](const E& a, const E& b) { return axeng::entry_less(axeng::as_entry(a), axeng::as_entry(b)); };
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

// A k-way merge of sorted runs. A parallel build has one run per participant, usually two or
// three, so the smallest head is found by a linear look over the heads: no heap to keep, and
// two runs take std::merge's tighter loop. Equal entries cannot occur (a TID is in one run).
template <class E>
void merge_runs(const E* const* runs, const std::size_t* lengths, int nruns, E* out) {
  auto less = [](const E& a, const E& b) { return axeng::entry_less(axeng::as_entry(a), axeng::as_entry(b)); };
  if (nruns == 1) {
    std::memcpy(static_cast<void*>(out), runs[0], lengths[0] * sizeof(E));
    return;
  }
  if (nruns == 2) {
    std::merge(runs[0], runs[0] + lengths[0], runs[1], runs[1] + lengths[1], out, less);
    return;
  }
  std::vector<std::size_t> at(nruns, 0);
  for (;;) {
    int best = -1;
    for (int r = 0; r < nruns; r++)
      if (at[r] < lengths[r] && (best < 0 || less(runs[r][at[r]], runs[best][at[best]]))) best = r;
    if (best < 0) return;
    *out++ = runs[best][at[best]++];
  }
}

}  // namespace

extern "C" AxStatus ax_merge_entries(const AxEntry* const* runs, const std::size_t* lengths, int nruns,
                                     AxEntry* out, AxError* err) {
  return axeng::ax_guard(err, [&] { merge_runs(runs, lengths, nruns, out); });
}

extern "C" AxStatus ax_merge_narrow_entries(const AxNarrowEntry* const* runs, const std::size_t* lengths,
                                            int nruns, AxNarrowEntry* out, AxError* err) {
  return axeng::ax_guard(err, [&] { merge_runs(runs, lengths, nruns, out); });
}

extern "C" AxStatus ax_sort_entries(AxEntry* entries, std::size_t n, AxError* err) {
  return axeng::ax_guard(err, [&] { sort_build_entries(entries, n); });
}

extern "C" AxStatus ax_sort_narrow_entries(AxNarrowEntry* entries, std::size_t n, AxError* err) {
  return axeng::ax_guard(err, [&] { sort_build_entries(entries, n); });
}
