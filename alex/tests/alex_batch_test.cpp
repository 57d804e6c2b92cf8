// alex_batch_test.cpp: the pieces of the batch insert path, each against a plain reference:
// sort_entries (radix sort of a batch) against std::sort, and DataNode::merge_into (a
// split's input) against std::merge.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
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

}  // namespace
