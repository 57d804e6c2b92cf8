// batch_sort.hpp: sorts a batch of entries by (key, payload). Batches are the hot path of
// insert_batch / erase_batch, so large ones use a radix sort on the order-preserving key
// image: one pass finds the batch's smallest and largest image, and the entries are
// sorted (LSD, two passes of 11-bit digits, counted in one pass) by the top 22 bits of
// the image's offset from the smallest one, so that clustered keys spread over all the
// digits too. The runs of entries that share those 22 bits are then sorted by (key,
// payload) with std::sort: in a uniform batch of 2^16 entries they are rare pairs, and a
// run of one key image (for integral keys: one key, sorted by payload; for Key128, keys
// sharing their leading 64 bits) is sorted there too. Five passes in all, where an LSD
// sort of the whole 64-bit images takes seven. Scratch memory is process-local and
// temporary.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "entry.hpp"
#include "key_traits.hpp"

namespace alex::detail {

template <class K, class P>
void sort_entries(Entry<K, P>* e, std::size_t n) {
  using E = Entry<K, P>;
  using Traits = KeyTraits<K>;
  if (n < 1024) {
    std::sort(e, e + n);
    return;
  }
  constexpr unsigned kBits = 11, kPasses = 2, kTop = kBits * kPasses;
  constexpr std::size_t kBuckets = std::size_t{1} << kBits;
  std::uint64_t lo = Traits::to_u64(e[0].key), hi = lo;
  for (std::size_t i = 1; i < n; ++i) {
    const std::uint64_t u = Traits::to_u64(e[i].key);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  const unsigned span_bits = static_cast<unsigned>(std::bit_width(hi - lo));
  const unsigned shift = span_bits > kTop ? span_bits - kTop : 0;
  auto top = [&](const E& x) { return (Traits::to_u64(x.key) - lo) >> shift; };  // < 2^kTop
  auto counts = std::make_unique<std::size_t[]>(kPasses * kBuckets);  // zeroed
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t v = top(e[i]);
    for (unsigned p = 0; p < kPasses; ++p) ++counts[p * kBuckets + ((v >> (p * kBits)) & (kBuckets - 1))];
  }
  std::unique_ptr<E[]> tmp(new E[n]);
  E* src = e;
  E* dst = tmp.get();
  for (unsigned p = 0; p < kPasses; ++p) {
    std::size_t* c = counts.get() + p * kBuckets;
    if (*std::max_element(c, c + kBuckets) == n) continue;  // every entry has the same digit
    std::size_t sum = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      const std::size_t x = c[b];
      c[b] = sum;
      sum += x;
    }
    for (std::size_t i = 0; i < n; ++i) dst[c[(top(src[i]) >> (p * kBits)) & (kBuckets - 1)]++] = src[i];
    std::swap(src, dst);
  }
  if (src != e) std::memcpy(static_cast<void*>(e), src, n * sizeof(E));
  // Entries sharing their top bits: order by (key, payload).
  for (std::size_t i = 0; i < n;) {
    const std::uint64_t v = top(e[i]);
    std::size_t j = i + 1;
    while (j < n && top(e[j]) == v) ++j;
    if (j - i > 1) std::sort(e + i, e + j);
    i = j;
  }
}

}  // namespace alex::detail
