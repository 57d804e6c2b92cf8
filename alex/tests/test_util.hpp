// test_util.hpp: key generators and helpers shared by the alex tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "alex/alex.hpp"

namespace alex {
// GoogleTest prints a Key128 in assertion messages through this (found by ADL).
inline void PrintTo(const Key128& k, std::ostream* os) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "{%016llx,%016llx}", static_cast<unsigned long long>(k.hi),
                static_cast<unsigned long long>(k.lo));
  *os << buf;
}
}  // namespace alex

namespace alex_test {

using Tree = alex::Alex<int64_t, uint64_t>;
using Entry = Tree::Entry;

inline std::vector<int64_t> uniform_keys(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> v(n);
  for (auto& k : v) k = static_cast<int64_t>(rng());
  return v;
}

// SOSD-style lognormal: exp(N(0, 2)) scaled to a wide integer range.
inline std::vector<int64_t> lognormal_keys(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(0.0, 2.0);
  std::vector<int64_t> v(n);
  for (auto& k : v) k = static_cast<int64_t>(std::min(d(rng) * 1e9, 9.0e18));
  return v;
}

// A few dense clusters far apart.
inline std::vector<int64_t> clustered_keys(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> centers;
  for (int i = 0; i < 8; ++i) centers.push_back(static_cast<int64_t>(rng() >> 2) - (int64_t{1} << 61));
  std::vector<int64_t> v(n);
  for (auto& k : v) k = centers[rng() % centers.size()] + static_cast<int64_t>(rng() % 100000);
  return v;
}

inline std::vector<int64_t> sequential_gaps_keys(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> v(n);
  int64_t k = 1000;
  for (auto& x : v) {
    k += 1 + static_cast<int64_t>(rng() % 16 == 0 ? rng() % 5000 : rng() % 4);
    x = k;
  }
  return v;
}

inline std::vector<Entry> with_payloads(const std::vector<int64_t>& keys) {
  std::vector<Entry> e(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) e[i] = Entry{keys[i], static_cast<uint64_t>(i)};
  return e;
}

// ---- reference order: written out here, independently of the key and entry operators
// under test, so that a wrong Key128 comparison cannot hide by also ordering the reference.

inline bool ref_key_less(int64_t a, int64_t b) { return a < b; }
inline bool ref_key_less(const alex::Key128& a, const alex::Key128& b) {
  return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
}
struct RefLess {
  template <class K, class P>
  bool operator()(const std::pair<K, P>& a, const std::pair<K, P>& b) const {
    return less(a.first, a.second, b.first, b.second);
  }
  template <class K, class P>
  bool operator()(const alex::detail::Entry<K, P>& a, const alex::detail::Entry<K, P>& b) const {
    return less(a.key, a.payload, b.key, b.payload);
  }
  template <class K, class P>
  static bool less(const K& ka, const P& pa, const K& kb, const P& pb) {
    if (ref_key_less(ka, kb)) return true;
    if (ref_key_less(kb, ka)) return false;
    return pa < pb;
  }
};

// ---- 128-bit keys (uuid-like), routed on their leading 64 bits (hi)

using K128 = alex::Key128;
using Tree128 = alex::Alex<K128, uint64_t>;
using Entry128 = Tree128::Entry;

inline std::vector<K128> uniform128_keys(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<K128> v(n);
  for (auto& k : v) {
    k.hi = rng();
    k.lo = rng();
  }
  return v;
}

// `his` distinct leading halves (from a random base, so some straddle no boundary and
// some do) with random low halves: many keys per routing image.
inline std::vector<K128> few_hi_keys(std::size_t n, uint64_t seed, uint64_t his = 4) {
  std::mt19937_64 rng(seed);
  const uint64_t base = rng();
  std::vector<K128> v(n);
  for (auto& k : v) {
    k.hi = base + rng() % his;
    k.lo = rng();
  }
  return v;
}

// UUIDv7-like, in generation order: 48-bit millisecond timestamp (increasing, several keys
// per millisecond), version 7, 12 random bits; then the variant bits (10) and 62 random bits.
inline K128 v7_key(uint64_t ms, std::mt19937_64& rng) {
  return K128{(ms << 16) | 0x7000 | (rng() & 0xfff), (rng() >> 2) | (uint64_t{1} << 63)};
}
inline std::vector<K128> v7_keys(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  uint64_t ms = 0x018f'0000'0000ull + rng() % 1000000;
  std::vector<K128> v(n);
  for (auto& k : v) {
    if (rng() % 8 == 0) ms += 1 + rng() % 3;
    k = v7_key(ms, rng);
  }
  return v;
}

inline std::vector<Entry128> with_payloads(const std::vector<K128>& keys) {
  std::vector<Entry128> e(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) e[i] = Entry128{keys[i], static_cast<uint64_t>(i)};
  return e;
}

template <class T>
std::vector<typename T::Entry> dump(const T& t) {
  std::vector<typename T::Entry> out;
  for (auto it = t.begin(); it != t.end(); ++it) out.push_back(*it);
  return out;
}

}  // namespace alex_test
