// Bulk load: the order check (done leaf by leaf while building) and the fanout choice
// (counted by binary searches instead of a pass over the keys).
#include <gtest/gtest.h>

#include <climits>
#include <functional>

#include "test_util.hpp"

using namespace alex_test;

namespace {

using Store = alex::detail::NodeStore<int64_t, uint64_t, std::allocator<std::byte>>;
using Builder = alex::detail::Builder<Store>;
using Traits = alex::detail::KeyTraits<int64_t>;

Entry E(int64_t k, uint64_t p) { return Entry{k, p}; }

alex::Params small_nodes() {
  alex::Params p;
  p.max_data_node_slots = 128;  // ~76 keys per data node at most: many leaves, deep subtrees
  return p;
}

// Sorted entries, payloads 0, 1, 2, ... (some keys repeat in the skewed shapes).
std::vector<Entry> shaped(const char* shape, std::size_t n) {
  std::mt19937_64 rng(n * 31 + shape[0]);
  std::vector<int64_t> k;
  const std::string s = shape;
  if (s == "gaps") {
    k = sequential_gaps_keys(n, 5);
  } else if (s == "lognormal") {
    k = lognormal_keys(n, 6);
  } else {
    // skewed: most keys in one narrow cluster (its slot needs a deeper subtree), the rest
    // spread over the whole key space, a few repeated keys.
    for (std::size_t i = 0; i < n; ++i) {
      const uint64_t r = rng();
      if (i % 4 != 0)
        k.push_back(int64_t{1} << 40 | static_cast<int64_t>(r % 20000));
      else if (i % 17 == 0)
        k.push_back(12345);
      else
        k.push_back(static_cast<int64_t>(r));
    }
  }
  std::sort(k.begin(), k.end());
  return with_payloads(k);
}

// t still holds `old` exactly, and uses the same memory as before.
void expect_untouched(const Tree& t, const std::vector<Entry>& old, std::size_t bytes) {
  std::string why;
  ASSERT_TRUE(t.validate(&why)) << why;
  ASSERT_EQ(t.size(), old.size());
  ASSERT_EQ(t.memory_bytes(), bytes);
  auto got = dump(t);
  ASSERT_EQ(got.size(), old.size());
  for (std::size_t i = 0; i < old.size(); ++i) ASSERT_TRUE(got[i] == old[i]) << "at " << i;
}

// Every entry is found, by key and by (key, payload), and the scan gives them all in order.
void expect_loaded(const Tree& t, const std::vector<Entry>& ref) {
  std::string why;
  ASSERT_TRUE(t.validate(&why)) << why;
  ASSERT_EQ(t.size(), ref.size());
  auto got = dump(t);
  ASSERT_EQ(got.size(), ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_TRUE(got[i] == ref[i]) << "at " << i;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    auto it = t.lower_bound(ref[i].key, ref[i].payload);
    ASSERT_TRUE(it != t.end() && *it == ref[i]) << "entry " << i;
    if (i == 0 || ref[i - 1].key != ref[i].key) {
      auto first = t.lower_bound(ref[i].key);
      ASSERT_TRUE(first != t.end() && *first == ref[i]) << "key of entry " << i;
    }
  }
}

}  // namespace

// One pair out of order at every position of inputs that build many data nodes and
// subtrees below the root: the pair lies inside a leaf's run or across the seam between
// two leaves' runs, wherever the leaves happen to start. Every one throws, and leaves the
// tree as it was.
TEST(AlexBulkOrder, OnePairOutOfOrderAnywhere) {
  for (const char* shape : {"gaps", "lognormal", "skewed"}) {
    SCOPED_TRACE(shape);
    const std::vector<Entry> good = shaped(shape, 3000);
    Tree t(small_nodes());
    t.bulk_load(good.data(), good.size());
    expect_loaded(t, good);
    const alex::Stats st = t.stats();
    ASSERT_GE(st.data_nodes, 40u);  // the positions below cross many leaf seams
    if (std::string(shape) == "skewed") {
      ASSERT_GE(st.depth, 3u);  // a slot's own subtree
    }
    std::vector<Entry> old;
    for (int64_t i = 0; i < 300; ++i) old.push_back(E(i * 7 - 1000, 1));
    t.bulk_load(old.data(), old.size());
    const std::size_t bytes = t.memory_bytes();
    std::size_t cases = 0;
    for (std::size_t at = 1; at < good.size(); ++at) {
      std::vector<Entry> bad = good;
      if (bad[at - 1] == bad[at]) continue;
      std::swap(bad[at - 1], bad[at]);
      ASSERT_THROW(t.bulk_load(bad.data(), bad.size()), std::invalid_argument) << "swap at " << at;
      // Equal keys, payloads out of order.
      bad = good;
      bad[at] = bad[at - 1];
      bad[at - 1].payload += 1;
      ASSERT_THROW(t.bulk_load(bad.data(), bad.size()), std::invalid_argument) << "payload at " << at;
      ++cases;
    }
    EXPECT_GT(cases, 2900u);
    expect_untouched(t, old, bytes);
  }
}

// The seam check on its own, in the Builder: a leaf whose run starts below the last entry
// of the previous leaf's run throws, though its own run is sorted. (Through bulk_load the
// seams between leaves come from the routing's binary searches, which leave an ordered
// pair at every seam, so there a descent always lands inside some leaf's run; the seam
// check keeps the order check complete whatever splits the runs.)
TEST(AlexBulkOrder, SeamCheckInTheBuilder) {
  const alex::detail::Sizing sz = [] {
    alex::detail::Sizing z;
    z.max_slots = 1 << 16;
    z.min_density = 0.5;
    z.max_density = 0.85;
    z.init_density = 0.6;
    z.max_leaf_keys = 1000;
    z.leaf_target = 500;
    return z;
  }();
  Store store{std::allocator<std::byte>()};
  std::vector<Entry> in;
  for (int64_t i = 0; i < 100; ++i) in.push_back(E(i * 2, 0));
  {
    Builder b(store, sz, in.data() + 50, false);
    alex::detail::NodeBase* first = b.subtree_checked(in.data(), 50);  // one leaf: in[0..50)
    // A sorted run that starts below in[49], the last entry checked.
    EXPECT_THROW(b.leaf(in.data() + 24, 10), std::invalid_argument);
    // Runs that go on from in[49] (an equal entry is in order).
    auto* same = b.leaf(in.data() + 49, 1);
    auto* next = b.leaf(in.data() + 50, 50);
    store.free_leaf(same);
    store.free_leaf(next);
    store.destroy(first);
  }
  EXPECT_EQ(store.bytes(), 0u);
}

// Out-of-order inputs of other shapes (reversed, shuffled, extreme keys dropped in, long
// blocks moved, equal keys with descending payloads): all throw, nothing leaks or
// crashes (the sanitizer build runs this too), the tree keeps its content.
TEST(AlexBulkOrder, ScrambledInputs) {
  std::mt19937_64 rng(77);
  for (const alex::Params& params : {small_nodes(), alex::Params()}) {
    Tree t(params);
    std::vector<Entry> old;
    for (int64_t i = 0; i < 5000; ++i) old.push_back(E(i * 11, 2));
    t.bulk_load(old.data(), old.size());
    const std::size_t bytes = t.memory_bytes();
    for (const char* shape : {"gaps", "lognormal", "skewed"}) {
      const std::size_t n = params.max_data_node_slots == 128 ? 5000 : 120000;
      const std::vector<Entry> good = shaped(shape, n);
      std::vector<std::vector<Entry>> bads;
      bads.emplace_back(good.rbegin(), good.rend());
      for (int r = 0; r < 3; ++r) {
        std::vector<Entry> b = good;
        std::shuffle(b.begin(), b.end(), rng);
        bads.push_back(b);
      }
      for (int64_t extreme : {INT64_MIN, INT64_MAX, int64_t{0}}) {
        for (int r = 0; r < 4; ++r) {
          std::vector<Entry> b = good;
          b[1 + rng() % (n - 2)].key = extreme;
          if (std::is_sorted(b.begin(), b.end())) continue;
          bads.push_back(b);
        }
      }
      for (int r = 0; r < 4; ++r) {
        std::vector<Entry> b = good;
        const std::size_t a = rng() % n, len = 1 + rng() % (n / 3), to = rng() % n;
        const std::size_t end = std::min(n, a + len);
        if (to < a) {
          std::rotate(b.begin() + to, b.begin() + a, b.begin() + end);
        } else if (to > end) {
          std::rotate(b.begin() + a, b.begin() + end, b.begin() + to);
        }
        if (std::is_sorted(b.begin(), b.end())) continue;
        bads.push_back(b);
      }
      {
        std::vector<Entry> b = good;
        for (std::size_t i = 0; i < n; ++i) b[i] = E(42, n - i);
        bads.push_back(b);
      }
      for (const auto& b : bads) ASSERT_THROW(t.bulk_load(b.data(), b.size()), std::invalid_argument) << shape;
      expect_untouched(t, old, bytes);
    }
  }
}

// A run whose first key lies above a block of small keys that ends it except for the last:
// routing puts all but the last entry in the slot of the small keys, whose block does not
// hold the first key. Without the check that a slot's keys lie in that slot, building that
// slot's subtree would start over with the same run, forever.
TEST(AlexBulkOrder, RunThatRoutingCannotNarrow) {
  for (const alex::Params& params : {small_nodes(), alex::Params()}) {
    Tree t(params);
    const std::size_t n = params.max_data_node_slots == 128 ? 1000 : 200000;
    std::vector<Entry> bad;
    bad.push_back(E(int64_t{1} << 40, 0));
    for (std::size_t i = 1; i + 1 < n; ++i) bad.push_back(E(5, i));
    bad.push_back(E((int64_t{1} << 40) + 1000, n));
    EXPECT_THROW(t.bulk_load(bad.data(), bad.size()), std::invalid_argument);
    EXPECT_EQ(t.memory_bytes(), 0u);
  }
}

// Sorted input with equal entries (same key and payload) is accepted, across seams too.
TEST(AlexBulkOrder, EqualEntriesAreInOrder) {
  std::vector<Entry> in;
  for (int64_t i = 0; i < 4000; ++i) {
    in.push_back(E(i / 3, 9));
    if (i % 5 == 0) in.push_back(E(i / 3, 9));
  }
  Tree t(small_nodes());
  t.bulk_load(in.data(), in.size());
  expect_loaded(t, in);
  EXPECT_GE(t.stats().data_nodes, 40u);
}

// Every key is found after bulk loads of skewed inputs whose fanouts come from the counted
// histogram, with small nodes (deep trees) and default ones.
TEST(AlexBulkFanout, EveryKeyFoundOnSkewedInputs) {
  for (const alex::Params& params : {small_nodes(), alex::Params()}) {
    for (const char* shape : {"gaps", "lognormal", "skewed"}) {
      SCOPED_TRACE(shape);
      const std::vector<Entry> in = shaped(shape, params.max_data_node_slots == 128 ? 20000 : 400000);
      Tree t(params);
      t.bulk_load(in.data(), in.size());
      expect_loaded(t, in);
    }
    {
      std::vector<Entry> in = with_payloads(clustered_keys(300000, 8));
      std::sort(in.begin(), in.end());
      Tree t(params);
      t.bulk_load(in.data(), in.size());
      expect_loaded(t, in);
    }
  }
}

namespace {

// The fanout choice as it was made before, from a full pass over the keys: a histogram at
// the finest candidate fanout, merged pairwise for the coarser ones.
unsigned full_pass_fanout(const Entry* e, std::size_t m, uint64_t start, unsigned tb, const alex::detail::Sizing& sz) {
  unsigned max_log = std::min<unsigned>(alex::detail::cost::kMaxFanoutLog, tb);
  const std::size_t pieces = (m + sz.leaf_target - 1) / sz.leaf_target;
  unsigned min_log = 1;
  while ((std::size_t{1} << min_log) < pieces) ++min_log;
  if (min_log > max_log) min_log = max_log;
  if (max_log > min_log + 10) max_log = min_log + 10;
  std::vector<std::size_t> counts(std::size_t{1} << max_log, 0);
  for (std::size_t i = 0; i < m; ++i) ++counts[(Traits::to_u64(e[i].key) - start) >> (tb - max_log)];
  unsigned best = max_log;
  double best_cost = 0;
  for (unsigned log = max_log;; --log) {
    std::size_t overflow = 0;
    for (std::size_t s = 0; s < (std::size_t{1} << log); ++s)
      if (counts[s] > sz.max_leaf_keys) overflow += counts[s];
    const double c = alex::detail::cost::fanout_cost(log, m, overflow);
    if (log == max_log || c <= best_cost) {
      best = log;
      best_cost = c;
    }
    if (log == min_log) break;
    for (std::size_t s = 0; s < (std::size_t{1} << (log - 1)); ++s) counts[s] = counts[2 * s] + counts[2 * s + 1];
  }
  return best;
}

alex::detail::Sizing sizing(std::size_t max_leaf_keys) {
  alex::detail::Sizing sz;
  sz.max_slots = 1 << 16;
  sz.init_density = 0.6;
  sz.min_density = 0.5;
  sz.max_density = 0.85;
  sz.max_leaf_keys = max_leaf_keys;
  sz.leaf_target = std::max<std::size_t>(1, max_leaf_keys / 2);
  return sz;
}

}  // namespace

// The fanout counted by binary searches equals the full pass's, for runs of many shapes
// and sizes (whole inputs and pieces of them), and several data node sizes.
TEST(AlexBulkFanout, SameChoiceAsAFullPass) {
  Store store{std::allocator<std::byte>()};
  std::mt19937_64 rng(3);
  std::size_t runs = 0, differing_choices = 0;
  std::vector<std::vector<Entry>> inputs;
  for (const char* shape : {"gaps", "lognormal", "skewed"}) inputs.push_back(shaped(shape, 200000));
  {
    std::vector<Entry> c = with_payloads(clustered_keys(200000, 4));
    std::sort(c.begin(), c.end());
    inputs.push_back(c);
    std::vector<Entry> u = with_payloads(uniform_keys(200000, 5));
    std::sort(u.begin(), u.end());
    inputs.push_back(u);
  }
  for (std::size_t max_leaf : {std::size_t{7}, std::size_t{76}, std::size_t{1000}, std::size_t{9000}}) {
    const alex::detail::Sizing sz = sizing(max_leaf);
    for (const auto& in : inputs) {
      for (int r = 0; r < 40; ++r) {
        std::size_t a = 0, b = in.size();
        if (r > 0) {
          a = rng() % in.size();
          b = std::min(in.size(), a + 2 + rng() % (r < 20 ? 5000 : in.size()));
        }
        const Entry* e = in.data() + a;
        const std::size_t m = b - a;
        const uint64_t u0 = Traits::to_u64(e[0].key), u1 = Traits::to_u64(e[m - 1].key);
        if (u0 == u1) continue;
        const unsigned tb = alex::detail::common_block_bits(u0, u1);
        const uint64_t start = alex::detail::block_start_of(u0, tb);
        Builder bld(store, sz, e + m, false);
        const unsigned got = bld.choose_fanout(e, m, start, tb);
        const unsigned want = full_pass_fanout(e, m, start, tb, sz);
        ASSERT_EQ(got, want) << "max_leaf " << max_leaf << " run [" << a << ", " << b << ")";
        ++runs;
        // How often the choice is not simply the smallest candidate: the comparison above
        // must see choices that depend on the counts.
        unsigned min_log = 1;
        while ((std::size_t{1} << min_log) < (m + sz.leaf_target - 1) / sz.leaf_target) ++min_log;
        differing_choices += want > min_log;
      }
    }
  }
  EXPECT_GT(runs, 600u);
  EXPECT_GT(differing_choices, 20u);
}
