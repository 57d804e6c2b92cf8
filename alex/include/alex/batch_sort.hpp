// batch_sort.hpp: sorts a batch of entries by (key, payload). Batches are the hot path of
// insert_batch / erase_batch, so large ones use an LSD radix sort on the order-preserving
// key image (11-bit digits, passes whose digit is constant are skipped), then sort each
// run of equal images by (key, payload): for integral keys that is a run of one key sorted
// by payload; for Key128 the image is only the leading 64 bits, so a run may hold several
// keys. Scratch memory is process-local and temporary.
#pragma once

#include <algorithm>
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
  if (n < 1024) {
    std::sort(e, e + n);
    return;
  }
  constexpr unsigned kBits = 11, kPasses = 6;  // 6 * 11 >= 64
  constexpr std::size_t kBuckets = std::size_t{1} << kBits;
  auto counts = std::make_unique<std::size_t[]>(kPasses * kBuckets);  // zeroed
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t u = KeyTraits<K>::to_u64(e[i].key);
    for (unsigned p = 0; p < kPasses; ++p) ++counts[p * kBuckets + ((u >> (p * kBits)) & (kBuckets - 1))];
  }
  std::unique_ptr<E[]> tmp(new E[n]);
  E* src = e;
  E* dst = tmp.get();
  for (unsigned p = 0; p < kPasses; ++p) {
    std::size_t* c = counts.get() + p * kBuckets;
    if (*std::max_element(c, c + kBuckets) == n) continue;  // every key has the same digit
    std::size_t sum = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      const std::size_t x = c[b];
      c[b] = sum;
      sum += x;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t u = KeyTraits<K>::to_u64(src[i].key);
      dst[c[(u >> (p * kBits)) & (kBuckets - 1)]++] = src[i];
    }
    std::swap(src, dst);
  }
  if (src != e) std::memcpy(static_cast<void*>(e), src, n * sizeof(E));
  // Equal images: order by (key, payload).
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && KeyTraits<K>::same_u64(e[j].key, e[i].key)) ++j;
    if (j - i > 1) std::sort(e + i, e + j);
    i = j;
  }
}

}  // namespace alex::detail
