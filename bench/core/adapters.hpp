// Uniform adapters over the three structures compared by the core benchmark:
// alex::Alex, absl::btree_multimap and std::multimap (all Key -> uint64,
// multiset semantics; Key is int64, or alex::Key128 for the uuid datasets).
// absl and std::multimap allocate through a counting allocator so that memory
// per entry can be reported; alex reports its own allocator traffic via
// memory_bytes().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "alex/alex.hpp"
#include "datasets.hpp"

namespace corebench {

// ---------------------------------------------------------------- allocator
struct AllocCounter {
  std::size_t live = 0;
};

inline AllocCounter& default_counter() {
  static AllocCounter c;
  return c;
}

template <class T>
struct CountingAlloc {
  using value_type = T;
  AllocCounter* counter;

  CountingAlloc() noexcept : counter(&default_counter()) {}
  explicit CountingAlloc(AllocCounter* c) noexcept : counter(c) {}
  template <class U>
  CountingAlloc(const CountingAlloc<U>& o) noexcept : counter(o.counter) {}

  T* allocate(std::size_t n) {
    counter->live += n * sizeof(T);
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    counter->live -= n * sizeof(T);
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  bool operator==(const CountingAlloc<U>& o) const noexcept { return counter == o.counter; }
  template <class U>
  bool operator!=(const CountingAlloc<U>& o) const noexcept { return counter != o.counter; }
};

// ---------------------------------------------------------------- alex
template <class K>
struct AlexAdapterT {
  static constexpr const char* kName = "alex";
  using Key = K;
  using Map = alex::Alex<K, uint64_t>;
  using Elem = typename Map::Entry;

  Map m;

  static Elem make(const BasicKV<K>& kv) { return Elem{kv.key, kv.payload}; }

  void load(const Elem* sorted, std::size_t n) { m.bulk_load(sorted, n); }
  void insert(K k, uint64_t p) { m.insert(k, p); }
  bool erase(K k, uint64_t p) { return m.erase(k, p); }
  uint64_t find_first(K k) const {
    auto it = m.lower_bound(k);
    if (it != m.end() && it.key() == k) return it.payload();
    return std::numeric_limits<uint64_t>::max();
  }
  uint64_t scan(K k, int len) const {
    uint64_t sum = 0;
    auto it = m.lower_bound(k);
    const auto e = m.end();
    for (int i = 0; i < len && it != e; ++i, ++it) sum += it.payload();
    return sum;
  }
  uint64_t scan_copy(K k, int len, Elem* buf) const {
    std::size_t got = m.copy_range(k, std::numeric_limits<K>::max(), nullptr, buf,
                                   static_cast<std::size_t>(len));
    uint64_t sum = 0;
    for (std::size_t i = 0; i < got; ++i) sum += buf[i].payload;
    return sum;
  }
  void insert_batch(Elem* e, std::size_t n) { m.insert_batch(e, n); }
  std::size_t size() const { return m.size(); }
  std::size_t memory_bytes() const { return m.memory_bytes(); }
};
using AlexAdapter = AlexAdapterT<int64_t>;

// ---------------------------------------------------------------- maps
template <class MapT, class NameTag>
struct MultimapAdapter {
  static constexpr const char* kName = NameTag::kName;
  using Key = typename MapT::key_type;
  using Elem = BasicKV<Key>;

  AllocCounter counter;
  MapT m{typename MapT::allocator_type(&counter)};

  MultimapAdapter() = default;
  MultimapAdapter(const MultimapAdapter&) = delete;
  MultimapAdapter& operator=(const MultimapAdapter&) = delete;

  static Elem make(const Elem& kv) { return kv; }

  // "Bulk load" for the comparison structures: build from the same sorted
  // input, always inserting at the end with a hint (linear-time build).
  void load(const Elem* sorted, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) m.emplace_hint(m.end(), sorted[i].key, sorted[i].payload);
  }
  void insert(Key k, uint64_t p) { m.emplace(k, p); }
  bool erase(Key k, uint64_t p) {
    for (auto it = m.lower_bound(k); it != m.end() && it->first == k; ++it) {
      if (it->second == p) {
        m.erase(it);
        return true;
      }
    }
    return false;
  }
  uint64_t find_first(Key k) const {
    auto it = m.lower_bound(k);
    if (it != m.end() && it->first == k) return it->second;
    return std::numeric_limits<uint64_t>::max();
  }
  uint64_t scan(Key k, int len) const {
    uint64_t sum = 0;
    auto it = m.lower_bound(k);
    const auto e = m.end();
    for (int i = 0; i < len && it != e; ++i, ++it) sum += it->second;
    return sum;
  }
  std::size_t size() const { return m.size(); }
  std::size_t memory_bytes() const { return counter.live; }
};

struct AbslTag {
  static constexpr const char* kName = "absl";
};
struct StdTag {
  static constexpr const char* kName = "std";
};

template <class K>
using AbslMapT = absl::btree_multimap<K, uint64_t, std::less<K>, CountingAlloc<std::pair<const K, uint64_t>>>;
template <class K>
using StdMapT = std::multimap<K, uint64_t, std::less<K>, CountingAlloc<std::pair<const K, uint64_t>>>;
template <class K>
using AbslAdapterT = MultimapAdapter<AbslMapT<K>, AbslTag>;
template <class K>
using StdAdapterT = MultimapAdapter<StdMapT<K>, StdTag>;

using AbslAdapter = AbslAdapterT<int64_t>;
using StdAdapter = StdAdapterT<int64_t>;

}  // namespace corebench
