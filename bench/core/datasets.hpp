// Deterministic in-process dataset generators for the alexidx core benchmark.
//
// Every dataset is a sorted (by key, then payload) array of (int64 key,
// uint64 payload) pairs; payloads are unique ids so that (key, payload) pairs
// are unique even when keys repeat.  Everything derives from a fixed seed so
// that all structures see identical inputs in every run.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace corebench {

struct KV {
  int64_t key;
  uint64_t payload;
};

inline bool kv_less(const KV& a, const KV& b) {
  return a.key < b.key || (a.key == b.key && a.payload < b.payload);
}

enum class Dist { kSequential, kSeqGaps, kUniform, kLognormal, kClustered, kDuplicates };

inline const char* dist_name(Dist d) {
  switch (d) {
    case Dist::kSequential: return "sequential";
    case Dist::kSeqGaps: return "seq_gaps";
    case Dist::kUniform: return "uniform";
    case Dist::kLognormal: return "lognormal";
    case Dist::kClustered: return "clustered";
    case Dist::kDuplicates: return "duplicates";
  }
  return "?";
}

inline const Dist kAllDists[] = {Dist::kSequential, Dist::kSeqGaps,   Dist::kUniform,
                                 Dist::kLognormal,  Dist::kClustered, Dist::kDuplicates};

constexpr int kScanLength = 100;
constexpr uint64_t kSeed = 0x5eed'a1e7'1dc0'0001ULL;

// Keys stay inside [-2^62, 2^62] so that appends beyond the maximum never
// overflow int64 (see Dataset::append_key).
constexpr int64_t kKeyLimit = int64_t{1} << 62;

inline std::vector<int64_t> generate_keys(Dist d, std::size_t n) {
  std::mt19937_64 rng(kSeed ^ (static_cast<uint64_t>(d) * 0x9e3779b97f4a7c15ULL) ^ n);
  std::vector<int64_t> keys(n);
  switch (d) {
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

// A generated dataset plus the derived, pre-shuffled workloads.  Built once per
// (dist, size) and cached; nothing here is timed.
struct Dataset {
  Dist dist;
  std::size_t n = 0;
  std::vector<KV> sorted;       // all n entries, sorted by (key, payload)
  std::vector<KV> half_sorted;  // a random half of the entries, sorted (preload for inserts)
  std::vector<KV> other_half;   // the other half in random order (inserted / erased)
  std::vector<KV> probes;       // up to 1M existing entries in random order (lookups)
  std::vector<int64_t> scan_starts;  // 100k existing keys in random order (range scans)
  uint64_t probe_payload_sum = 0;    // sum of payloads of the first entry with each probe key
  uint64_t scan_payload_sum = 0;     // expected sum over all 100-entry scans from scan_starts
  int64_t max_key = 0;
  int64_t append_stride = 1;         // key distance for sequential appends

  std::size_t append_count() const { return n / 2; }
  int64_t append_key(std::size_t i) const {
    return max_key + append_stride * static_cast<int64_t>(i + 1);
  }
};

inline Dataset make_dataset(Dist d, std::size_t n) {
  Dataset ds;
  ds.dist = d;
  ds.n = n;
  std::vector<int64_t> keys = generate_keys(d, n);
  std::mt19937_64 rng(kSeed + 17 * n + static_cast<uint64_t>(d));

  // Payloads: a random permutation of [0, n) so they are unique but not
  // correlated with key order.
  std::vector<uint64_t> pay(n);
  for (std::size_t i = 0; i < n; ++i) pay[i] = i;
  std::shuffle(pay.begin(), pay.end(), rng);
  ds.sorted.resize(n);
  for (std::size_t i = 0; i < n; ++i) ds.sorted[i] = KV{keys[i], pay[i]};
  keys.clear();
  keys.shrink_to_fit();
  std::sort(ds.sorted.begin(), ds.sorted.end(), kv_less);

  // Random split into two halves.
  std::vector<KV> shuffled = ds.sorted;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  ds.half_sorted.assign(shuffled.begin(), shuffled.begin() + n / 2);
  ds.other_half.assign(shuffled.begin() + n / 2, shuffled.end());
  std::sort(ds.half_sorted.begin(), ds.half_sorted.end(), kv_less);

  // Lookup probes: existing keys in random order.
  const std::size_t np = std::min<std::size_t>(n, 1'000'000);
  ds.probes.assign(shuffled.begin(), shuffled.begin() + np);
  std::shuffle(ds.probes.begin(), ds.probes.end(), rng);
  // Expected result of a lookup = payload of the first entry with that key
  // (lower_bound semantics under (key, payload) ordering).
  for (const KV& p : ds.probes) {
    auto it = std::lower_bound(ds.sorted.begin(), ds.sorted.end(), p.key,
                               [](const KV& e, int64_t k) { return e.key < k; });
    ds.probe_payload_sum += it->payload;
  }

  const std::size_t ns = std::min<std::size_t>(n, 100'000);
  ds.scan_starts.resize(ns);
  for (std::size_t i = 0; i < ns; ++i) {
    ds.scan_starts[i] = shuffled[n - 1 - i].key;
    auto it = std::lower_bound(ds.sorted.begin(), ds.sorted.end(), ds.scan_starts[i],
                               [](const KV& e, int64_t k) { return e.key < k; });
    for (int j = 0; j < kScanLength && it != ds.sorted.end(); ++j, ++it)
      ds.scan_payload_sum += it->payload;
  }

  ds.max_key = ds.sorted.back().key;
  const int64_t min_key = ds.sorted.front().key;
  // Appends continue with the dataset's average key spacing (>= 1).
  long double avg = (static_cast<long double>(ds.max_key) - min_key) / static_cast<long double>(n);
  ds.append_stride = std::max<int64_t>(1, static_cast<int64_t>(avg));
  const long double room = static_cast<long double>(std::numeric_limits<int64_t>::max()) - ds.max_key;
  if (static_cast<long double>(ds.append_stride) * (ds.append_count() + 1) > room)
    ds.append_stride = std::max<int64_t>(1, static_cast<int64_t>(room / (ds.append_count() + 1)));
  return ds;
}

}  // namespace corebench
