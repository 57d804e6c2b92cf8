// entry_order.hpp: the order of AxEntry values, for every engine file that sorts, merges or
// encodes them: by key (its leading word, then key_lo, which is 0 in narrow indexes), then by TID, the order of the core library's Entry (which AxEntry
// mirrors, shared_tree.cpp) and of the sidecar's keys (sidecar_keys.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "../engine.h"
#include "alex/key_traits.hpp"

namespace axeng {

inline bool entry_less(const AxEntry& a, const AxEntry& b) noexcept {
  if (a.key != b.key) return a.key < b.key;
  if (a.key_lo != b.key_lo) return a.key_lo < b.key_lo;
  return a.tid < b.tid;
}
inline bool entry_eq(const AxEntry& a, const AxEntry& b) noexcept {
  return a.key == b.key && a.key_lo == b.key_lo && a.tid == b.tid;
}
// Both layouts of a build's arrays, read as AxEntry.
inline AxEntry as_entry(const AxEntry& e) noexcept { return e; }
inline AxEntry as_entry(const AxNarrowEntry& e) noexcept { return AxEntry{e.key, e.tid, 0}; }

// A build's array in either layout (wide: AxEntry, else AxNarrowEntry), read by index.
struct EntryView {
  const void* base = nullptr;
  bool wide = false;
  AxEntry operator[](std::size_t i) const noexcept {
    return wide ? static_cast<const AxEntry*>(base)[i] : as_entry(static_cast<const AxNarrowEntry*>(base)[i]);
  }
  EntryView from(std::size_t i) const noexcept {
    return EntryView{wide ? static_cast<const void*>(static_cast<const AxEntry*>(base) + i)
                          : static_cast<const void*>(static_cast<const AxNarrowEntry*>(base) + i),
                     wide};
  }
};

inline bool key_less(const AxKey& a, const AxKey& b) noexcept {
  return a.key != b.key ? a.key < b.key : a.key_lo < b.key_lo;
}

// A key as an unsigned number in the same order (the sign bit flipped): the core's mapping,
// so the sidecar's bytewise key order, run deltas and radix digits agree with the tree's.
using KeyBits = alex::detail::KeyTraits<int64_t>;
inline uint64_t key_bits(int64_t k) noexcept { return KeyBits::to_u64(k); }
inline int64_t key_of_bits(uint64_t u) noexcept { return KeyBits::from_u64(u); }

}  // namespace axeng
