// alex_batch_test.cpp: the pieces of the batch insert path, each against a plain reference:
// sort_entries (radix sort of a batch) against std::sort, DataNode::merge_into (a split's
// input) against std::merge, and insert_batch through each of its paths (in place,
// expansion, sideways and downward split) against a std::multiset.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "alex/alex.hpp"
#include "test_util.hpp"

namespace {

using alex_test::Entry;
using E128 = alex::detail::Entry<alex::Key128, uint64_t>;

template <class Ent>
void expect_sorts_like_std(std::vector<Ent> v, const char* what) {
  std::vector<Ent> want = v;
  std::sort(want.begin(), want.end());
  alex::detail::sort_entries(v.data(), v.size());
  ASSERT_EQ(v.size(), want.size()) << what;
  for (std::size_t i = 0; i < v.size(); ++i) {
    ASSERT_TRUE(v[i].key == want[i].key && v[i].payload == want[i].payload) << what << " at " << i;
  }
}

TEST(AlexBatchSort, MatchesStdSort) {
  std::mt19937_64 rng(11);
  for (std::size_t n : {std::size_t{1023}, std::size_t{1024}, std::size_t{5000}, std::size_t{65536}}) {
    std::vector<Entry> v(n);
    for (auto& e : v) e = Entry{static_cast<int64_t>(rng()), rng() % 1000};
    expect_sorts_like_std(v, "uniform");
    // Whole key range, extremes included (the offset from the smallest image spans 64 bits).
    v[0].key = std::numeric_limits<int64_t>::min();
    v[1].key = std::numeric_limits<int64_t>::max();
    v[2].key = std::numeric_limits<int64_t>::max();
    expect_sorts_like_std(v, "extremes");
    // A narrow span (fewer than 22 significant bits: no shift) with duplicates.
    for (auto& e : v) e = Entry{1000000 + static_cast<int64_t>(rng() % 5000), rng()};
    expect_sorts_like_std(v, "narrow");
    // Far-apart clusters: the top bits separate clusters only; the runs sort the rest.
    for (auto& e : v) e = Entry{(rng() % 2 ? int64_t{1} << 60 : -(int64_t{1} << 60)) + static_cast<int64_t>(rng() % 100000), rng()};
    expect_sorts_like_std(v, "clusters");
    // Few keys, many payloads each; and one key only (sorted by payload).
    for (auto& e : v) e = Entry{static_cast<int64_t>(rng() % 7) * (int64_t{1} << 40), rng()};
    expect_sorts_like_std(v, "few keys");
    for (auto& e : v) e = Entry{-5, rng()};
    expect_sorts_like_std(v, "one key");
    // Keys that differ only below the 22 top bits of a wide span, next to the extremes.
    for (std::size_t i = 0; i < n; ++i) v[i] = Entry{static_cast<int64_t>(rng() % 64), rng() % 3};
    v[0].key = std::numeric_limits<int64_t>::min();
    v[n - 1].key = std::numeric_limits<int64_t>::max();
    expect_sorts_like_std(v, "low bits under a wide span");
  }
}

TEST(AlexBatchSort, Key128SharingLeadingHalves) {
  std::mt19937_64 rng(12);
  std::vector<E128> v(20000);
  for (auto& e : v) e = E128{alex::Key128{rng() % 50, rng()}, rng() % 4};
  expect_sorts_like_std(v, "key128 shared hi");
  for (auto& e : v) e = E128{alex::Key128{rng(), rng() % 3}, rng() % 4};
  expect_sorts_like_std(v, "key128 random hi");
}

// merge_into over a real gapped node: entries equal to the node's, before its first and
// after its last, and a node laid out densely (centred) and sparsely.
TEST(AlexBatchMerge, MergeIntoMatchesStdMerge) {
  using Store = alex::detail::NodeStore<int64_t, uint64_t, std::allocator<std::byte>>;
  Store store{std::allocator<std::byte>()};
  std::mt19937_64 rng(13);
  for (double density : {0.6, 0.95}) {
    std::vector<Entry> have(3000);
    for (auto& e : have) e = Entry{static_cast<int64_t>(rng() % 100000), rng() % 3};
    std::sort(have.begin(), have.end());
    const std::size_t cap = alex::detail::Sizing::cap_at(have.size(), density);
    auto* d = store.new_leaf(have.data(), have.size(), cap, cap);
    std::vector<Entry> in;
    for (int i = 0; i < 500; ++i) in.push_back(Entry{static_cast<int64_t>(rng() % 100000), rng() % 3});
    for (int i = 0; i < 20; ++i) in.push_back(have[rng() % have.size()]);  // exact duplicates
    in.push_back(Entry{-1, 0});
    in.push_back(Entry{1000000, 0});
    std::sort(in.begin(), in.end());
    std::vector<Entry> got(have.size() + in.size()), want;
    d->merge_into(in.data(), in.size(), got.data());
    std::merge(have.begin(), have.end(), in.begin(), in.end(), std::back_inserter(want));
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_TRUE(got[i].key == want[i].key && got[i].payload == want[i].payload) << "at " << i;
    // An empty run copies the node; an empty node copies the run.
    std::vector<Entry> only(have.size());
    d->merge_into(nullptr, 0, only.data());
    EXPECT_TRUE(std::equal(only.begin(), only.end(), have.begin(),
                           [](const Entry& a, const Entry& b) { return a.key == b.key && a.payload == b.payload; }));
    store.free_leaf(d);
  }
  auto* empty = store.new_leaf(nullptr, 0, 0, 0);
  std::vector<Entry> in{Entry{1, 1}, Entry{2, 2}}, out(2);
  empty->merge_into(in.data(), in.size(), out.data());
  EXPECT_EQ(out[0].key, 1);
  EXPECT_EQ(out[1].key, 2);
  store.free_leaf(empty);
  EXPECT_EQ(store.bytes(), 0u);
}

// insert_batch against a std::multiset of the same entries: every entry, in order, by
// iteration, plus the tree's own invariants.
void expect_same(const alex_test::Tree& t, const std::multiset<Entry>& ref, const char* what) {
  std::string why;
  ASSERT_TRUE(t.validate(&why)) << what << ": " << why;
  ASSERT_EQ(t.size(), ref.size()) << what;
  auto r = ref.begin();
  std::size_t i = 0;
  for (auto it = t.begin(); it != t.end(); ++it, ++r, ++i) {
    ASSERT_TRUE(r != ref.end()) << what << ": more entries than the reference";
    const Entry e = *it;
    ASSERT_TRUE(e.key == r->key && e.payload == r->payload)
        << what << " at " << i << ": " << e.key << "/" << e.payload << " != " << r->key << "/" << r->payload;
  }
  ASSERT_TRUE(r == ref.end()) << what << ": fewer entries than the reference";
}

// Small data nodes (max 4096 slots), so that a test of a few 10k entries takes every path
// of insert_batch many times over: groups inserted in place, groups that expand their
// node, and groups that split it (sideways, and downwards for a run of one key).
TEST(AlexBatchInsert, EveryPathAgainstMultiset) {
  alex::Params p;
  p.max_data_node_slots = 4096;
  alex_test::Tree t(p);
  std::multiset<Entry> ref;
  std::mt19937_64 rng(29);
  constexpr int64_t kSpan = int64_t{1} << 40;
  std::vector<Entry> base(20000);
  for (auto& e : base) e = Entry{static_cast<int64_t>(rng() % kSpan), rng() % 4};
  std::sort(base.begin(), base.end());
  t.bulk_load(base.data(), base.size());
  ref.insert(base.begin(), base.end());
  expect_same(t, ref, "bulk load");

  auto apply = [&](std::vector<Entry> b, const char* what) {
    ref.insert(b.begin(), b.end());
    t.insert_batch(b.data(), b.size());  // reorders b
    expect_same(t, ref, what);
  };
  // Few keys per node: in place (into the bulk-loaded nodes first, which run full and grow).
  for (int round = 0; round < 6; ++round) {
    std::vector<Entry> b(300);
    for (auto& e : b) e = Entry{static_cast<int64_t>(rng() % kSpan), rng() % 4};
    apply(b, "sparse batch");
  }
  const alex::Events before = t.stats().events;
  // Many keys per node: expansions and splits.
  for (int round = 0; round < 4; ++round) {
    std::vector<Entry> b(15000);
    for (auto& e : b) e = Entry{static_cast<int64_t>(rng() % kSpan), rng() % 4};
    apply(b, "dense batch");
  }
  // Exact duplicates of stored pairs, and of each other.
  {
    std::vector<Entry> b;
    for (const Entry& e : base)
      if (rng() % 8 == 0) b.push_back(e);
    for (int i = 0; i < 500; ++i) b.push_back(b[rng() % b.size()]);
    apply(b, "duplicate pairs");
  }
  // Clustered batches: thousands of entries for one node's key range, again and again, so
  // that nodes over one parent slot overflow (split downwards).
  {
    const int64_t at = static_cast<int64_t>(rng() % kSpan);
    for (int round = 0; round < 4; ++round) {
      std::vector<Entry> b(6000);
      for (auto& e : b) e = Entry{at + static_cast<int64_t>(rng() % 20000), rng()};
      apply(b, "clustered batch");
    }
  }
  // One key many times (only a downward split or growth can take it).
  {
    std::vector<Entry> b(9000);
    for (auto& e : b) e = Entry{kSpan / 2, rng() % 100};
    apply(b, "one key");
  }
  // The edges of the key domain (new model nodes above and beside the old ones), and
  // entries right next to the smallest and largest stored ones.
  {
    std::vector<Entry> b;
    for (int i = 0; i < 200; ++i) {
      b.push_back(Entry{std::numeric_limits<int64_t>::min() + i / 4, static_cast<uint64_t>(i)});
      b.push_back(Entry{std::numeric_limits<int64_t>::max() - i / 4, static_cast<uint64_t>(i)});
      b.push_back(Entry{ref.begin()->key, rng()});
      b.push_back(Entry{std::prev(ref.end())->key, rng()});
    }
    apply(b, "domain edges");
  }
  // Batches of one and two entries (insert_batch's shortcut and its smallest sort).
  apply({Entry{12345, 1}}, "one entry");
  apply({Entry{-12345, 2}, Entry{-12345, 1}}, "two entries");
  const alex::Events after = t.stats().events;
  // The batches above did take the paths this test is about.
  EXPECT_GT(after.expansions, before.expansions);
  EXPECT_GT(after.sideways_splits, before.sideways_splits);
  EXPECT_GT(before.expansions, 0u);  // the sparse batches grew the bulk-loaded nodes

  // Erase some exact pairs (one copy each) and insert them back by batch.
  std::vector<Entry> gone;
  std::size_t k = 0;
  for (const Entry& e : ref)
    if (k++ % 7 == 0) gone.push_back(e);
  for (const Entry& e : gone) {
    ASSERT_TRUE(t.erase(e.key, e.payload));
    ref.erase(ref.find(e));
  }
  expect_same(t, ref, "after erases");
  apply(gone, "erased entries back");
}

// From an empty tree: the first batches land in the root data node, which grows and then
// splits downwards; later ones go through the model nodes above it.
TEST(AlexBatchInsert, FromEmptyAgainstMultiset) {
  alex::Params p;
  p.max_data_node_slots = 2048;
  alex_test::Tree t(p);
  std::multiset<Entry> ref;
  std::mt19937_64 rng(31);
  for (std::size_t size : {std::size_t{1}, std::size_t{700}, std::size_t{1500}, std::size_t{5000}, std::size_t{20000}}) {
    std::vector<Entry> b(size);
    for (auto& e : b) e = Entry{static_cast<int64_t>(rng() % 1000000) - 500000, rng() % 3};
    ref.insert(b.begin(), b.end());
    t.insert_batch(b.data(), b.size());
    expect_same(t, ref, "batch from empty");
  }
  const alex::Events ev = t.stats().events;
  EXPECT_GT(ev.downward_splits, 0u);
  EXPECT_GT(ev.expansions, 0u);
}

}  // namespace
