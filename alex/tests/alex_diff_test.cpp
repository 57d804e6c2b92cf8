// Differential test: long seeded random traces of every operation against a reference
// multiset of (key, payload) pairs (std::multimap semantics with equal keys ordered by
// payload). Full equality and validate() after every phase.
//
//   ALEX_DIFF_OPS   operations in total (default 10,000,000; the sanitizer build sets 1M)
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

using Ref = std::multiset<std::pair<int64_t, uint64_t>>;

struct KeyGen {
  int mode = 0;
  int64_t small_domain = 10;
  int64_t seq = 0;
  std::lognormal_distribution<double> logn{0.0, 2.0};
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

class Runner {
 public:
  Runner(uint64_t seed) : rng_(seed) {}

  void run(uint64_t total_ops) {
    uint64_t done = 0;
    int phase = 0;
    while (done < total_ops) {
      if (phase % 6 == 0) new_tree();
      ++phase;
      gen_.mode = static_cast<int>(rng_() % 6);
      gen_.small_domain = int64_t{1} << (rng_() % 14);
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
      std::vector<Entry> b(1 + rng_() % 600);
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
      std::vector<Entry> b(1 + rng_() % 400);
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
      std::sort(all.begin(), all.end());
      ref_.clear();
      for (auto& e : all) ref_.insert({e.key, e.payload});
    }
    tree_->bulk_load(all.data(), all.size());
    return 1 + all.size() / 64;
  }

  void expect_at(Tree::iterator it, Ref::const_iterator want, const char* what) {
    if (want == ref_.end()) {
      ASSERT_TRUE(it == tree_->end()) << what;
    } else {
      ASSERT_TRUE(it != tree_->end()) << what;
      ASSERT_EQ(it.key(), want->first) << what;
      ASSERT_EQ(it.payload(), want->second) << what;
    }
  }

  void check_lookups() {
    const int64_t k = gen_(rng_);
    const uint64_t p = rng_() % 16;
    expect_at(tree_->lower_bound(k), ref_.lower_bound({k, 0}), "lower_bound(k)");
    expect_at(tree_->upper_bound(k), ref_.upper_bound({k, UINT64_MAX}), "upper_bound(k)");
    expect_at(tree_->lower_bound(k, p), ref_.lower_bound({k, p}), "lower_bound(k,p)");
  }

  // Chunked scan, each chunk compared with the reference's answer for the same resume
  // point (so exact duplicate pairs straddling a chunk boundary behave identically).
  void check_range(bool reverse) {
    int64_t lo = gen_(rng_), hi = gen_(rng_);
    if (rng_() % 8 == 0) std::swap(lo, hi);  // sometimes empty (hi < lo)
    else if (hi < lo) std::swap(lo, hi);
    const std::size_t chunk = 1 + rng_() % 64;
    std::vector<Entry> buf(chunk);
    const Entry* resume = nullptr;
    Entry last{};
    for (int calls = 0; calls < 30; ++calls) {
      const std::size_t c = reverse ? tree_->copy_range_reverse(lo, hi, resume, buf.data(), chunk)
                                    : tree_->copy_range(lo, hi, resume, buf.data(), chunk);
      ASSERT_LE(c, chunk);
      std::vector<std::pair<int64_t, uint64_t>> want;
      if (!(hi < lo)) {
        if (!reverse) {
          auto it = resume ? ref_.upper_bound({resume->key, resume->payload}) : ref_.lower_bound({lo, 0});
          if (resume && resume->key < lo) it = ref_.lower_bound({lo, 0});
          for (; it != ref_.end() && it->first <= hi && want.size() < chunk; ++it) want.push_back(*it);
        } else {
          auto it = resume ? ref_.lower_bound({resume->key, resume->payload}) : ref_.upper_bound({hi, UINT64_MAX});
          if (resume && hi < resume->key) it = ref_.upper_bound({hi, UINT64_MAX});
          while (it != ref_.begin() && want.size() < chunk) {
            --it;
            if (it->first < lo) break;
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
    const int64_t k = gen_(rng_);
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
  KeyGen gen_;
  std::unique_ptr<Tree> tree_;
  Ref ref_;
};

}  // namespace

TEST(AlexDifferential, RandomTraces) {
  const uint64_t seed = env_u64("ALEX_DIFF_SEED", 20240917);
  const uint64_t ops = env_u64("ALEX_DIFF_OPS", 10000000);
  SCOPED_TRACE("replay with ALEX_DIFF_SEED=" + std::to_string(seed) + " ALEX_DIFF_OPS=" + std::to_string(ops));
  std::printf("alex_diff_test: seed %llu, %llu operations\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(ops));
  Runner r(seed);
  r.run(ops);
}
