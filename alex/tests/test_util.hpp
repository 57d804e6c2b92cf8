// test_util.hpp: key generators and helpers shared by the alex tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "alex/alex.hpp"

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

template <class T>
std::vector<typename T::Entry> dump(const T& t) {
  std::vector<typename T::Entry> out;
  for (auto it = t.begin(); it != t.end(); ++it) out.push_back(*it);
  return out;
}

}  // namespace alex_test
