// Differential test: long seeded random traces of every operation against a reference
// multiset of (key, payload) pairs (std::multimap semantics with equal keys ordered by
// payload). Full equality and validate() after every phase. One trace with int64 keys,
// one with alex::Key128 (routed on its leading 64 bits only, so the key generators make
// many keys share them).
//
//   ALEX_DIFF_OPS   operations in total per trace (default 10,000,000; the sanitizer build sets 1M)
//   ALEX_DIFF_SEED  seed to replay (printed on failure)
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "test_util.hpp"

using namespace alex_test;

namespace {

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return (v && *v) ? std::strtoull(v, nullptr, 10) : dflt;
}

struct KeyGen {
  using Key = int64_t;
  static constexpr uint64_t kMaxInsertBatch = 600, kMaxEraseBatch = 400;
  int mode = 0;
  int64_t small_domain = 10;
  int64_t seq = 0;
  std::lognormal_distribution<double> logn{0.0, 2.0};
  void new_phase(std::mt19937_64& rng) {
    mode = static_cast<int>(rng() % 6);
    small_domain = int64_t{1} << (rng() % 14);
  }
  int64_t operator()(std::mt19937_64& rng) {
    switch (mode) {
      case 0: return static_cast<int64_t>(rng() % static_cast<uint64_t>(small_domain));   // heavy duplicates
      case 1: return static_cast<int64_t>(rng() % 1000000) - 500000;                       // medium
      case 2: return static_cast<int64_t>(rng());                                           // full range
      case 3: seq += 1 + static_cast<int64_t>(rng() % 8); return seq;                       // appends
      case 4: return static_cast<int64_t>(std::min(logn(rng) * 1e6, 9e18));                 // lognormal
      default: {                                                                            // edges
        const int64_t edge[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX};
        return rng() % 2 ? edge[rng() % 7] : static_cast<int64_t>(rng() % 64) - 32;
      }
    }
  }
};

// 128-bit keys. The tree routes and predicts on hi only, so most modes make many keys share
// a hi: those keys must stay in one data node (which then cannot be split) and every exact
// comparison must look at lo as well.
struct Key128Gen {
  using Key = alex::Key128;
  // Batches of 1024 and more also take batch_sort's radix path (on hi only, then runs of
  // equal hi sorted by the full key).
  static constexpr uint64_t kMaxInsertBatch = 3000, kMaxEraseBatch = 2500;
  int mode = 0;
  uint64_t small_domain = 10;  // distinct hi values (or keys) in the small-domain modes
  uint64_t hi_base = 0;
  uint64_t ms = 0x018f'0000'0000ull;  // v7 timestamp, only ever increases
  std::vector<Key> pool;              // mode 3: the few full keys of the phase
  void new_phase(std::mt19937_64& rng) {
    mode = static_cast<int>(rng() % 7);
    small_domain = uint64_t{1} << (rng() % 12);
    const uint64_t bases[] = {0, (uint64_t{1} << 63) - 4, ~uint64_t{0} - 8, rng()};
    hi_base = bases[rng() % 4];
    pool.clear();
    for (uint64_t i = 0; i < small_domain; ++i) pool.push_back(Key{hi_base + rng() % 4, rng() % 4 == 0 ? 0 : rng()});
  }
  Key operator()(std::mt19937_64& rng) {
    switch (mode) {
      case 0: return Key{rng(), rng()};                                 // uniform 128-bit
      case 1: return Key{hi_base + rng() % small_domain, rng()};        // few hi, many lo
      case 2:                                                          // UUIDv7-like
        if (rng() % 4 == 0) ms += 1 + rng() % 3;
        return Key{(ms << 16) | 0x7000 | (rng() & 0xfff), (rng() >> 2) | (uint64_t{1} << 63)};
      case 3: return pool[rng() % pool.size()];                         // exact duplicates
      case 4: {                                                        // edges of both halves
        const uint64_t e[] = {0, 1, (uint64_t{1} << 63) - 1, uint64_t{1} << 63, ~uint64_t{0} - 1, ~uint64_t{0}};
        return Key{e[rng() % 6], rng() % 2 ? e[rng() % 6] : rng() % 8};
      }
      case 5: return Key{rng() % small_domain, rng() % small_domain};  // dense in both halves
      default: return Key{hi_base + rng() % 1000, rng()};              // medium hi repetition
    }
  }
};

template <class Gen>
class Runner {
  using K = typename Gen::Key;
  using Tree = alex::Alex<K, uint64_t>;
  using Entry = typename Tree::Entry;
  using Ref = std::multiset<std::pair<K, uint64_t>, RefLess>;

 public:
  Runner(uint64_t seed) : rng_(seed) {}

  void run(uint64_t total_ops) {
    uint64_t done = 0;
    int phase = 0;
    while (done < total_ops) {
      if (phase % 6 == 0) new_tree();
      ++phase;
      gen_.new_phase(rng_);
      const uint64_t ops = std::min<uint64_t>(total_ops - done, 5000 + rng_() % 40000);
      SCOPED_TRACE("phase " + std::to_string(phase) + " mode " + std::to_string(gen_.mode));
      uint64_t n = 0;
      while (n < ops) {
        n += step();
        if (::testing::Test::HasFatalFailure()) return;
      }
      done += n;
      check_all();
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

 private:
  void new_tree() {
    alex::Params p;
    const int v = static_cast<int>(rng_() % 4);
    p.max_data_node_slots = v == 0 ? 64 : v == 1 ? 256 : v == 2 ? 4096 : 65536;
    if (rng_() % 2) {
      p.min_density = 0.3;
      p.init_density = 0.5;
      p.max_density = 0.95;
    }
    tree_ = std::make_unique<Tree>(p);
    ref_.clear();
  }

  Entry random_existing() {
    auto it = ref_.lower_bound({gen_(rng_), 0});
    if (it == ref_.end()) it = ref_.begin();
    return Entry{it->first, it->second};
  }

  uint64_t step() {
    const unsigned r = static_cast<unsigned>(rng_() % 1000);
    const bool big = ref_.size() > 150000;
    if (r < 300 && !big) {
      Entry e{gen_(rng_), rng_() % 16};
      tree_->insert(e.key, e.payload);
      ref_.insert({e.key, e.payload});
      return 1;
    }
    if (r < 420 && !big) {
      std::vector<Entry> b(1 + rng_() % Gen::kMaxInsertBatch);
      for (auto& e : b) e = Entry{gen_(rng_), rng_() % 16};
      for (auto& e : b) ref_.insert({e.key, e.payload});
      tree_->insert_batch(b.data(), b.size());
      return b.size();
    }
    if (r < 600) {
      Entry e = (ref_.empty() || rng_() % 4 == 0) ? Entry{gen_(rng_), rng_() % 16} : random_existing();
      auto it = ref_.find({e.key, e.payload});
      const bool want = it != ref_.end();
      if (want) ref_.erase(it);
      EXPECT_EQ(tree_->erase(e.key, e.payload), want);
      return 1;
    }
    if (r < 650) {
      std::vector<Entry> b(1 + rng_() % Gen::kMaxEraseBatch);
      for (auto& e : b) e = (ref_.empty() || rng_() % 3 == 0) ? Entry{gen_(rng_), rng_() % 16} : random_existing();
      std::size_t want = 0;
      for (auto& e : b) {
        auto it = ref_.find({e.key, e.payload});
        if (it != ref_.end()) {
          ref_.erase(it);
          ++want;
        }
      }
      EXPECT_EQ(tree_->erase_batch(b.data(), b.size()), want);
      return b.size();
    }
    if (r < 800) {
      check_lookups();
      return 3;
    }
    if (r < 900) {
      check_range(false);
      return 1;
    }
    if (r < 960) {
      check_range(true);
      return 1;
    }
    if (r < 998) {
      check_backward();
      return 1;
    }
    // bulk load: either the current contents or fresh data
    std::vector<Entry> all;
    if (rng_() % 2) {
      for (auto& [k, v] : ref_) all.push_back(Entry{k, v});
    } else {
      all.resize(rng_() % 100000);
      for (auto& e : all) e = Entry{gen_(rng_), rng_() % 16};
      std::sort(all.begin(), all.end(), RefLess());
      ref_.clear();
      for (auto& e : all) ref_.insert({e.key, e.payload});
    }
    tree_->bulk_load(all.data(), all.size());
    return 1 + all.size() / 64;
  }

  void expect_at(typename Tree::iterator it, typename Ref::const_iterator want, const char* what) {
    if (want == ref_.end()) {
      ASSERT_TRUE(it == tree_->end()) << what;
    } else {
      ASSERT_TRUE(it != tree_->end()) << what;
      ASSERT_EQ(it.key(), want->first) << what;
      ASSERT_EQ(it.payload(), want->second) << what;
    }
  }

  void check_lookups() {
    const K k = gen_(rng_);
    const uint64_t p = rng_() % 16;
    expect_at(tree_->lower_bound(k), ref_.lower_bound({k, 0}), "lower_bound(k)");
    expect_at(tree_->upper_bound(k), ref_.upper_bound({k, UINT64_MAX}), "upper_bound(k)");
    expect_at(tree_->lower_bound(k, p), ref_.lower_bound({k, p}), "lower_bound(k,p)");
  }

  // Chunked scan, each chunk compared with the reference's answer for the same resume
  // point (so exact duplicate pairs straddling a chunk boundary behave identically).
  void check_range(bool reverse) {
    K lo = gen_(rng_), hi = gen_(rng_);
    if (rng_() % 8 == 0) std::swap(lo, hi);  // sometimes empty (hi < lo)
    else if (ref_key_less(hi, lo)) std::swap(lo, hi);
    const std::size_t chunk = 1 + rng_() % 64;
    std::vector<Entry> buf(chunk);
    const Entry* resume = nullptr;
    Entry last{};
    for (int calls = 0; calls < 30; ++calls) {
      const std::size_t c = reverse ? tree_->copy_range_reverse(lo, hi, resume, buf.data(), chunk)
                                    : tree_->copy_range(lo, hi, resume, buf.data(), chunk);
      ASSERT_LE(c, chunk);
      std::vector<std::pair<K, uint64_t>> want;
      if (!ref_key_less(hi, lo)) {
        if (!reverse) {
          auto it = resume ? ref_.upper_bound({resume->key, resume->payload}) : ref_.lower_bound({lo, 0});
          if (resume && ref_key_less(resume->key, lo)) it = ref_.lower_bound({lo, 0});
          for (; it != ref_.end() && !ref_key_less(hi, it->first) && want.size() < chunk; ++it) want.push_back(*it);
        } else {
          auto it = resume ? ref_.lower_bound({resume->key, resume->payload}) : ref_.upper_bound({hi, UINT64_MAX});
          if (resume && ref_key_less(hi, resume->key)) it = ref_.upper_bound({hi, UINT64_MAX});
          while (it != ref_.begin() && want.size() < chunk) {
            --it;
            if (ref_key_less(it->first, lo)) break;
            want.push_back(*it);
          }
        }
      }
      ASSERT_EQ(c, want.size()) << (reverse ? "copy_range_reverse" : "copy_range") << " chunk " << calls;
      for (std::size_t i = 0; i < c; ++i) {
        ASSERT_EQ(buf[i].key, want[i].first);
        ASSERT_EQ(buf[i].payload, want[i].second);
      }
      if (c < chunk) break;
      last = buf[c - 1];
      resume = &last;
    }
  }

  void check_backward() {
    const K k = gen_(rng_);
    auto it = tree_->lower_bound(k);
    auto want = ref_.lower_bound({k, 0});
    for (int i = 0; i < 20; ++i) {
      if (want == ref_.begin()) {
        ASSERT_TRUE(it == tree_->begin());
        return;
      }
      --it;
      --want;
      ASSERT_EQ(it.key(), want->first);
      ASSERT_EQ(it.payload(), want->second);
    }
  }

  void check_all() {
    std::string why;
    ASSERT_TRUE(tree_->validate(&why)) << why;
    ASSERT_EQ(tree_->size(), ref_.size());
    auto it = tree_->begin();
    for (auto& [k, v] : ref_) {
      ASSERT_TRUE(it != tree_->end());
      ASSERT_EQ(it.key(), k);
      ASSERT_EQ(it.payload(), v);
      ++it;
    }
    ASSERT_TRUE(it == tree_->end());
  }

  std::mt19937_64 rng_;
  Gen gen_;
  std::unique_ptr<Tree> tree_;
  Ref ref_;
};

}  // namespace

template <class Gen>
void run_traces(const char* what, uint64_t default_seed) {
  const uint64_t seed = env_u64("ALEX_DIFF_SEED", default_seed);
  const uint64_t ops = env_u64("ALEX_DIFF_OPS", 10000000);
  SCOPED_TRACE("replay with ALEX_DIFF_SEED=" + std::to_string(seed) + " ALEX_DIFF_OPS=" + std::to_string(ops));
  std::printf("alex_diff_test (%s keys): seed %llu, %llu operations\n", what, static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(ops));
  Runner<Gen> r(seed);
  r.run(ops);
}

TEST(AlexDifferential, RandomTraces) { run_traces<KeyGen>("int64", 20240917); }

TEST(AlexDifferentialKey128, RandomTraces) { run_traces<Key128Gen>("Key128", 20240918); }
