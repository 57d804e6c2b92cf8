// The C/C++ seam (am/engine.h): a C++ failure must reach the C caller as an AxStatus with a
// message, and the calls that cannot fail must give exact answers (issue 10, item 7).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "engine.h"

namespace {

struct Arena {
  std::vector<std::uint64_t> mem;
  explicit Arena(std::size_t bytes) : mem(bytes / 8) {
    AxError err{};
    EXPECT_EQ(ax_arena_create(mem.data(), bytes, &err), AX_OK) << err.message;
  }
  void* base() { return mem.data(); }
};

std::vector<AxEntry> random_entries(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<AxEntry> v(n);
  for (auto& e : v) {
    e.key = static_cast<int64_t>(rng() % 100000) - 50000;
    e.tid = (rng() % 100000) << 16 | (1 + rng() % 200);
  }
  return v;
}

bool entry_less(const AxEntry& a, const AxEntry& b) {
  return a.key != b.key ? a.key < b.key : a.tid < b.tid;
}

TEST(EngineSeam, SortReportsWhatItCannotDo) {
  // A radix buffer that cannot exist: the array is left alone and the caller is told. (The
  // sort first looks for input already in order; the first two entries are out of order, so
  // it reads no further than them.)
  AxEntry two[2] = {{5, 7}, {4, 1}};
  AxError err{};
  std::size_t absurd = SIZE_MAX / sizeof(AxEntry);
  EXPECT_NE(ax_sort_entries(two, absurd, &err), AX_OK);
  EXPECT_NE(err.status, AX_OK);
  EXPECT_STRNE(err.message, "");
}

TEST(EngineSeam, SortOrdersByKeyThenTid) {
  for (std::size_t n : {std::size_t{100}, std::size_t{50000}}) {
    auto v = random_entries(n, 7);
    auto want = v;
    std::sort(want.begin(), want.end(), entry_less);
    AxError err{};
    ASSERT_EQ(ax_sort_entries(v.data(), v.size(), &err), AX_OK) << err.message;
    for (std::size_t i = 0; i < n; i++) {
      ASSERT_EQ(v[i].key, want[i].key) << i;
      ASSERT_EQ(v[i].tid, want[i].tid) << i;
    }
  }
}

TEST(EngineSeam, EraseCountsWhatItRemoved) {
  Arena arena(64 << 20);
  AxError err{};
  AxTree* tree = ax_tree_create(arena.base(), nullptr, &err);
  ASSERT_NE(tree, nullptr) << err.message;
  auto v = random_entries(20000, 11);
  std::sort(v.begin(), v.end(), entry_less);
  v.erase(std::unique(v.begin(), v.end(), [](const AxEntry& a, const AxEntry& b) {
            return a.key == b.key && a.tid == b.tid;
          }), v.end());
  ASSERT_EQ(ax_tree_bulk_load(tree, v.data(), v.size(), &err), AX_OK) << err.message;

  // every other entry, plus entries that are not there
  std::vector<AxEntry> gone;
  for (std::size_t i = 0; i < v.size(); i += 2) gone.push_back(v[i]);
  std::size_t present = gone.size();
  gone.push_back({999999, 1});
  gone.push_back({-999999, 2});
  std::size_t removed = 12345;
  ASSERT_EQ(ax_tree_erase_batch(tree, gone.data(), gone.size(), &removed, &err), AX_OK) << err.message;
  EXPECT_EQ(removed, present);
  EXPECT_EQ(ax_tree_size(tree), v.size() - present);

  AxTreeStats st;
  ASSERT_EQ(ax_tree_stats(tree, &st, &err), AX_OK) << err.message;
  EXPECT_EQ(st.entries, v.size() - present);
  // half of each node went: the nodes were re-laid out (the core's events come through)
  EXPECT_GT(st.shrinks + st.retrains, 0u);
  EXPECT_EQ(st.expansions + st.sideways_splits + st.downward_splits, 0u);

  std::vector<AxEntry> out(v.size());
  std::size_t n = ax_tree_copy_range(tree, INT64_MIN, INT64_MAX, nullptr, false, out.data(), out.size());
  ASSERT_EQ(n, v.size() - present);
  for (std::size_t i = 0; i < n; i++) {
    ASSERT_EQ(out[i].key, v[2 * i + 1].key);
    ASSERT_EQ(out[i].tid, v[2 * i + 1].tid);
  }
  EXPECT_EQ(ax_tree_destroy(arena.base(), tree, &err), AX_OK) << err.message;
}

TEST(EngineSeam, FullArenaIsReported) {
  // Inserting into a small arena ends in AX_NOMEM with a message, never in silence.
  Arena arena(1 << 20);
  AxError err{};
  AxTree* tree = ax_tree_create(arena.base(), nullptr, &err);
  ASSERT_NE(tree, nullptr) << err.message;
  AxStatus st = AX_OK;
  for (int round = 0; round < 1000 && st == AX_OK; round++) {
    auto v = random_entries(1000, 100 + round);
    st = ax_tree_insert_batch(tree, v.data(), v.size(), &err);
  }
  EXPECT_EQ(st, AX_NOMEM);
  EXPECT_STRNE(err.message, "");
  EXPECT_EQ(ax_tree_destroy(arena.base(), tree, &err), AX_OK) << err.message;
}

TEST(EngineSeam, PairRoutesValuesAndNulls) {
  // The pair keeps the entries with a key and the NULLs (AX_NULL_FLAG) in separate trees:
  // values come first in a batch, NULLs from nvalues on.
  Arena arena(64 << 20);
  AxError err{};
  AxTreePair* pair = ax_pair_create(arena.base(), nullptr, &err);
  ASSERT_NE(pair, nullptr) << err.message;
  auto values = random_entries(2000, 7);
  std::sort(values.begin(), values.end(), entry_less);
  std::vector<AxEntry> nulls(50);
  for (std::size_t i = 0; i < nulls.size(); i++) nulls[i] = AxEntry{0, (i + 1) << 16 | AX_NULL_FLAG | 1};
  ASSERT_EQ(ax_pair_bulk_load(pair, values.data(), values.size(), nulls.data(), nulls.size(), &err), AX_OK)
      << err.message;
  EXPECT_EQ(ax_pair_size(pair), values.size() + nulls.size());

  std::vector<AxEntry> batch = {AxEntry{123456, 1 << 16 | 7}, AxEntry{0, 999ull << 16 | AX_NULL_FLAG | 2}};
  ASSERT_EQ(ax_pair_insert_batch(pair, batch.data(), 1, batch.size(), &err), AX_OK) << err.message;
  std::vector<AxEntry> out(nulls.size() + 10);
  std::size_t n = ax_pair_copy_range(pair, true, INT64_MIN, INT64_MAX, nullptr, false, out.data(), out.size());
  ASSERT_EQ(n, nulls.size() + 1);
  for (std::size_t i = 0; i < n; i++) EXPECT_NE(out[i].tid & AX_NULL_FLAG, 0u);
  n = ax_pair_copy_range(pair, false, 123456, 123456, nullptr, false, out.data(), out.size());
  ASSERT_GE(n, 1u);

  AxTreeStats st;
  ASSERT_EQ(ax_pair_stats(pair, &st, &err), AX_OK) << err.message;
  EXPECT_EQ(st.entries, values.size() + nulls.size() + 2);
  char why[256] = "";
  EXPECT_TRUE(ax_pair_validate(pair, why, sizeof(why))) << why;

  std::size_t removed = 0;
  ASSERT_EQ(ax_pair_erase_batch(pair, batch.data(), 1, batch.size(), &removed, &err), AX_OK) << err.message;
  EXPECT_EQ(removed, 2u);
  EXPECT_EQ(ax_pair_size(pair), values.size() + nulls.size());
  EXPECT_EQ(ax_pair_destroy(arena.base(), pair, &err), AX_OK) << err.message;
}

TEST(EngineSeam, PairFullArenaIsReported) {
  // Creating a pair in an arena too small for it fails with a status, leaking nothing.
  Arena arena(1 << 20);
  AxError err{};
  std::vector<AxTreePair*> pairs;
  AxTreePair* p;
  while ((p = ax_pair_create(arena.base(), nullptr, &err)) != nullptr) pairs.push_back(p);
  EXPECT_EQ(err.status, AX_NOMEM);
  EXPECT_STRNE(err.message, "");
  ASSERT_FALSE(pairs.empty());
  for (AxTreePair* q : pairs) EXPECT_EQ(ax_pair_destroy(arena.base(), q, &err), AX_OK) << err.message;
  // everything came back: as many pairs fit again
  std::size_t again = 0;
  while ((p = ax_pair_create(arena.base(), nullptr, &err)) != nullptr) again++;
  EXPECT_EQ(again, pairs.size());
}

}  // namespace
