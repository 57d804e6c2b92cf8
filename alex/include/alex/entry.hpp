// entry.hpp: the (key, payload) pair the tree stores, ordered by key then payload.
#pragma once

#include <limits>
#include <type_traits>

namespace alex::detail {

template <class K, class P>
struct Entry {
  K key;
  P payload;

  friend bool operator<(const Entry& a, const Entry& b) noexcept {
    return a.key < b.key || (!(b.key < a.key) && a.payload < b.payload);
  }
  friend bool operator==(const Entry& a, const Entry& b) noexcept {
    return a.key == b.key && a.payload == b.payload;
  }
};

// Value stored in the gaps after a data node's last entry: compares >= every entry.
template <class K, class P>
inline constexpr Entry<K, P> kEndSentinel{std::numeric_limits<K>::max(), std::numeric_limits<P>::max()};

}  // namespace alex::detail
