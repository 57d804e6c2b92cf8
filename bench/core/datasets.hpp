// Deterministic in-process dataset generators for the alexidx core benchmark.
//
// Every dataset is a sorted (by key, then payload) array of (key, uint64
// payload) pairs; payloads are unique ids so that (key, payload) pairs are
// unique even when keys repeat.  Everything derives from a fixed seed so that
// all structures see identical inputs in every run.  Keys are int64, or
// alex::Key128 (uuid-like) for the uuid_* datasets.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "alex/key128.hpp"

namespace corebench {

template <class K>
struct BasicKV {
  K key;
  uint64_t payload;
};
using KV = BasicKV<int64_t>;
using Key128 = alex::Key128;

template <class K>
inline bool kv_less(const BasicKV<K>& a, const BasicKV<K>& b) {
  return a.key < b.key || (a.key == b.key && a.payload < b.payload);
}

enum class Dist { kSequential, kSeqGaps, kUniform, kLognormal, kClustered, kDuplicates, kUuidRandom, kUuidV7 };

inline const char* dist_name(Dist d) {
  switch (d) {
    case Dist::kSequential: return "sequential";
    case Dist::kSeqGaps: return "seq_gaps";
    case Dist::kUniform: return "uniform";
    case Dist::kLognormal: return "lognormal";
    case Dist::kClustered: return "clustered";
    case Dist::kDuplicates: return "duplicates";
    case Dist::kUuidRandom: return "uuid_random";
    case Dist::kUuidV7: return "uuid_v7";
  }
  return "?";
}

// The datasets with 128-bit keys (alex::Key128); the others have int64 keys.
inline bool is_key128(Dist d) { return d == Dist::kUuidRandom || d == Dist::kUuidV7; }

inline const Dist kAllDists[] = {Dist::kSequential, Dist::kSeqGaps,   Dist::kUniform,    Dist::kLognormal,
                                 Dist::kClustered,  Dist::kDuplicates, Dist::kUuidRandom, Dist::kUuidV7};

constexpr int kScanLength = 100;
constexpr uint64_t kSeed = 0x5eed'a1e7'1dc0'0001ULL;

// Keys stay inside [-2^62, 2^62] so that appends beyond the maximum never
// overflow int64 (see Dataset::append_key).
constexpr int64_t kKeyLimit = int64_t{1} << 62;

inline std::vector<int64_t> generate_keys(Dist d, std::size_t n) {
  std::mt19937_64 rng(kSeed ^ (static_cast<uint64_t>(d) * 0x9e3779b97f4a7c15ULL) ^ n);
  std::vector<int64_t> keys(n);
  switch (d) {
    case Dist::kUuidRandom:
    case Dist::kUuidV7:
      break;  // 128-bit keys: generate_keys128
    case Dist::kSequential:
      for (std::size_t i = 0; i < n; ++i) keys[i] = static_cast<int64_t>(i);
      break;
    case Dist::kSeqGaps: {
      // Increasing keys, gaps uniform in [1, 128] (mean ~64).
      int64_t k = 0;
      std::uniform_int_distribution<int64_t> gap(1, 128);
      for (std::size_t i = 0; i < n; ++i) {
        k += gap(rng);
        keys[i] = k;
      }
      break;
    }
    case Dist::kUniform: {
      std::uniform_int_distribution<int64_t> u(-kKeyLimit, kKeyLimit);
      for (auto& k : keys) k = u(rng);
      break;
    }
    case Dist::kLognormal: {
      // SOSD-style: lognormal(mu=0, sigma=2) scaled by 1e9, truncated to int64.
      std::lognormal_distribution<double> ln(0.0, 2.0);
      for (auto& k : keys) {
        double v = ln(rng) * 1e9;
        if (v > static_cast<double>(kKeyLimit)) v = static_cast<double>(kKeyLimit);
        k = static_cast<int64_t>(v);
      }
      break;
    }
    case Dist::kClustered: {
      // ~1000 dense clusters (gaps 1..8) placed uniformly in the key space.
      const std::size_t clusters = 1000;
      const std::size_t per = (n + clusters - 1) / clusters;
      std::uniform_int_distribution<int64_t> start(-kKeyLimit, kKeyLimit - (int64_t{1} << 40));
      std::uniform_int_distribution<int64_t> gap(1, 8);
      std::size_t i = 0;
      while (i < n) {
        int64_t k = start(rng);
        for (std::size_t j = 0; j < per && i < n; ++j, ++i) {
          k += gap(rng);
          keys[i] = k;
        }
      }
      break;
    }
    case Dist::kDuplicates: {
      // n/100 distinct uniform keys, each repeated 100 times.
      std::uniform_int_distribution<int64_t> u(-kKeyLimit, kKeyLimit);
      const std::size_t distinct = std::max<std::size_t>(1, n / 100);
      std::size_t i = 0;
      for (std::size_t d2 = 0; d2 < distinct && i < n; ++d2) {
        int64_t k = u(rng);
        for (int r = 0; r < 100 && i < n; ++r) keys[i++] = k;
      }
      for (std::size_t j = 0; i < n; ++i, ++j) keys[i] = keys[j % distinct];
      break;
    }
  }
  return keys;
}

// 128-bit keys, as PostgreSQL uuids (bytes 0..7 big-endian in hi, 8..15 in lo).
//   uuid_random: uniformly random 128 bits (v4-like: every bit random).
//   uuid_v7:     UUIDv7-like in generation order: a 48-bit millisecond timestamp
//                (increasing, about 8 keys per millisecond), version 7 and 12
//                random bits in hi; the variant bits (10) and 62 random bits in lo.
constexpr uint64_t kV7StartMs = 1'700'000'000'000ULL;  // November 2023
constexpr uint64_t kV7KeysPerMs = 8;

inline Key128 v7_key(uint64_t ms, uint64_t r1, uint64_t r2) {
  return Key128{(ms << 16) | 0x7000 | (r1 & 0xfff), (r2 >> 2) | (uint64_t{1} << 63)};
}

inline std::vector<Key128> generate_keys128(Dist d, std::size_t n) {
  std::mt19937_64 rng(kSeed ^ (static_cast<uint64_t>(d) * 0x9e3779b97f4a7c15ULL) ^ n);
  std::vector<Key128> keys(n);
  if (d == Dist::kUuidV7) {
    uint64_t ms = kV7StartMs;
    for (auto& k : keys) {
      if (rng() % kV7KeysPerMs == 0) ++ms;
      const uint64_t r1 = rng();
      k = v7_key(ms, r1, rng());
    }
  } else {
    for (auto& k : keys) {
      k.hi = rng();
      k.lo = rng();
    }
  }
  return keys;
}

inline uint64_t mix64(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A generated dataset plus the derived, pre-shuffled workloads.  Built once per
// (dist, size) and cached; nothing here is timed.
template <class K>
struct BasicDataset {
  using KVT = BasicKV<K>;
  Dist dist;
  std::size_t n = 0;
  std::vector<KVT> sorted;       // all n entries, sorted by (key, payload)
  std::vector<KVT> half_sorted;  // a random half of the entries, sorted (preload for inserts)
  std::vector<KVT> other_half;   // the other half in random order (inserted / erased)
  std::vector<KVT> probes;       // up to 1M existing entries in random order (lookups)
  std::vector<K> scan_starts;    // 100k existing keys in random order (range scans)
  uint64_t probe_payload_sum = 0;    // sum of payloads of the first entry with each probe key
  uint64_t scan_payload_sum = 0;     // expected sum over all 100-entry scans from scan_starts
  K max_key{};
  // int64: key distance for sequential appends. Key128: distance of the leading halves
  // (uuid_random), unused for uuid_v7 (appends continue the timestamps).
  int64_t append_stride = 1;
  uint64_t append_stride_hi = 1;

  std::size_t append_count() const { return n / 2; }
  K append_key(std::size_t i) const {
    if constexpr (std::is_same_v<K, Key128>) {
      if (dist == Dist::kUuidV7)  // later milliseconds, the same rate
        return v7_key((max_key.hi >> 16) + 1 + i / kV7KeysPerMs, mix64(2 * i), mix64(2 * i + 1));
      return Key128{max_key.hi + append_stride_hi * (i + 1), mix64(i)};
    } else {
      return max_key + append_stride * static_cast<int64_t>(i + 1);
    }
  }
};
using Dataset = BasicDataset<int64_t>;
using Dataset128 = BasicDataset<Key128>;

template <class K = int64_t>
inline BasicDataset<K> make_dataset(Dist d, std::size_t n) {
  using KVT = BasicKV<K>;
  BasicDataset<K> ds;
  ds.dist = d;
  ds.n = n;
  std::vector<K> keys;
  if constexpr (std::is_same_v<K, Key128>)
    keys = generate_keys128(d, n);
  else
    keys = generate_keys(d, n);
  std::mt19937_64 rng(kSeed + 17 * n + static_cast<uint64_t>(d));

  // Payloads: a random permutation of [0, n) so they are unique but not
  // correlated with key order.
  std::vector<uint64_t> pay(n);
  for (std::size_t i = 0; i < n; ++i) pay[i] = i;
  std::shuffle(pay.begin(), pay.end(), rng);
  ds.sorted.resize(n);
  for (std::size_t i = 0; i < n; ++i) ds.sorted[i] = KVT{keys[i], pay[i]};
  keys.clear();
  keys.shrink_to_fit();
  std::sort(ds.sorted.begin(), ds.sorted.end(), kv_less<K>);

  // Random split into two halves.
  std::vector<KVT> shuffled = ds.sorted;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  ds.half_sorted.assign(shuffled.begin(), shuffled.begin() + n / 2);
  ds.other_half.assign(shuffled.begin() + n / 2, shuffled.end());
  std::sort(ds.half_sorted.begin(), ds.half_sorted.end(), kv_less<K>);

  // Lookup probes: existing keys in random order.
  const std::size_t np = std::min<std::size_t>(n, 1'000'000);
  ds.probes.assign(shuffled.begin(), shuffled.begin() + np);
  std::shuffle(ds.probes.begin(), ds.probes.end(), rng);
  // Expected result of a lookup = payload of the first entry with that key
  // (lower_bound semantics under (key, payload) ordering).
  for (const KVT& p : ds.probes) {
    auto it = std::lower_bound(ds.sorted.begin(), ds.sorted.end(), p.key,
                               [](const KVT& e, const K& k) { return e.key < k; });
    ds.probe_payload_sum += it->payload;
  }

  const std::size_t ns = std::min<std::size_t>(n, 100'000);
  ds.scan_starts.resize(ns);
  for (std::size_t i = 0; i < ns; ++i) {
    ds.scan_starts[i] = shuffled[n - 1 - i].key;
    auto it = std::lower_bound(ds.sorted.begin(), ds.sorted.end(), ds.scan_starts[i],
                               [](const KVT& e, const K& k) { return e.key < k; });
    for (int j = 0; j < kScanLength && it != ds.sorted.end(); ++j, ++it)
      ds.scan_payload_sum += it->payload;
  }

  ds.max_key = ds.sorted.back().key;
  if constexpr (std::is_same_v<K, Key128>) {
    // uuid_random: appends get increasing leading halves at the average spacing, or
    // closer if that would run past 2^64 (as for int64 below).
    const uint64_t span = ds.max_key.hi - ds.sorted.front().key.hi;
    const uint64_t room = ~uint64_t{0} - ds.max_key.hi;
    ds.append_stride_hi = std::max<uint64_t>(1, std::min<uint64_t>(span / n, room / (ds.append_count() + 1)));
    return ds;
  } else {
    const int64_t min_key = ds.sorted.front().key;
    // Appends continue with the dataset's average key spacing (>= 1).
    long double avg = (static_cast<long double>(ds.max_key) - min_key) / static_cast<long double>(n);
    ds.append_stride = std::max<int64_t>(1, static_cast<int64_t>(avg));
    const long double room = static_cast<long double>(std::numeric_limits<int64_t>::max()) - ds.max_key;
    if (static_cast<long double>(ds.append_stride) * (ds.append_count() + 1) > room)
      ds.append_stride = std::max<int64_t>(1, static_cast<int64_t>(room / (ds.append_count() + 1)));
    return ds;
  }
}

}  // namespace corebench
