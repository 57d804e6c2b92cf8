// The C/C++ seam (am/engine.h): a C++ failure must reach the C caller as an AxStatus with a
// message, and the calls that cannot fail must give exact answers (issue 10, item 7).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "engine.h"
#include "engine/entry_order.hpp"
#include "engine/run_codec.hpp"
#include "engine/sidecar_keys.hpp"

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

// Wide (uuid) entries whose leading words repeat a lot: order then hangs on key_lo, and the
// trees must compare it (routing sees only the leading word).
std::vector<AxEntry> wide_entries(std::size_t n, unsigned seed, unsigned distinct_leading) {
  std::mt19937_64 rng(seed);
  std::vector<AxEntry> v(n);
  for (auto& e : v) {
    e.key = static_cast<int64_t>(rng() % distinct_leading) * 1000003 - 7;
    e.key_lo = rng() % 4 == 0 ? rng() % 16 : rng();  // small and huge trailing words
    e.tid = (rng() % 100000) << 16 | (1 + rng() % 200);
  }
  return v;
}

bool wide_less(const AxEntry& a, const AxEntry& b) {
  if (a.key != b.key) return a.key < b.key;
  if (a.key_lo != b.key_lo) return a.key_lo < b.key_lo;
  return a.tid < b.tid;
}

bool same(const AxEntry& a, const AxEntry& b) { return a.key == b.key && a.key_lo == b.key_lo && a.tid == b.tid; }

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
  std::size_t n = ax_tree_copy_range(tree, AxKey{INT64_MIN, 0}, AxKey{INT64_MAX, UINT64_MAX}, nullptr, false, false, out.data(), out.size());
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
  std::size_t n = ax_pair_copy_range(pair, true, AxKey{INT64_MIN, 0}, AxKey{INT64_MAX, UINT64_MAX}, nullptr, false, false, out.data(), out.size());
  ASSERT_EQ(n, nulls.size() + 1);
  for (std::size_t i = 0; i < n; i++) EXPECT_NE(out[i].tid & AX_NULL_FLAG, 0u);
  n = ax_pair_copy_range(pair, false, AxKey{123456, 0}, AxKey{123456, 0}, nullptr, false, false, out.data(), out.size());
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

TEST(EngineSeam, NarrowBuildArraysSortAndLoad) {
  // A narrow build's 16-byte entries: sorted as AxEntry would be, and loaded as they are.
  auto v = random_entries(60000, 13);
  std::vector<AxNarrowEntry> narrow(v.size());
  for (std::size_t i = 0; i < v.size(); i++) narrow[i] = AxNarrowEntry{v[i].key, v[i].tid};
  std::sort(v.begin(), v.end(), entry_less);
  AxError err{};
  ASSERT_EQ(ax_sort_narrow_entries(narrow.data(), narrow.size(), &err), AX_OK) << err.message;
  for (std::size_t i = 0; i < v.size(); i++) ASSERT_TRUE(narrow[i].key == v[i].key && narrow[i].tid == v[i].tid) << i;
  Arena arena(64 << 20);
  AxTreePair* pair = ax_pair_create(arena.base(), nullptr, &err);
  ASSERT_NE(pair, nullptr) << err.message;
  narrow.erase(std::unique(narrow.begin(), narrow.end(),
                           [](const AxNarrowEntry& a, const AxNarrowEntry& b) { return a.key == b.key && a.tid == b.tid; }),
               narrow.end());
  ASSERT_EQ(ax_pair_bulk_load_build(pair, narrow.data(), narrow.size(), nullptr, 0, &err), AX_OK) << err.message;
  std::vector<AxEntry> out(narrow.size() + 1);
  std::size_t n = ax_pair_copy_range(pair, false, AxKey{INT64_MIN, 0}, AxKey{INT64_MAX, UINT64_MAX}, nullptr, false, false,
                                     out.data(), out.size());
  ASSERT_EQ(n, narrow.size());
  for (std::size_t i = 0; i < n; i++)
    ASSERT_TRUE(out[i].key == narrow[i].key && out[i].tid == narrow[i].tid && out[i].key_lo == 0) << i;
  EXPECT_EQ(ax_pair_destroy(arena.base(), pair, &err), AX_OK) << err.message;
}

TEST(EngineSeam, SortOrdersWideKeysByBothWords) {
  for (std::size_t n : {std::size_t{100}, std::size_t{50000}}) {
    auto v = wide_entries(n, 11, 50);
    auto want = v;
    std::sort(want.begin(), want.end(), wide_less);
    AxError err{};
    ASSERT_EQ(ax_sort_entries(v.data(), v.size(), &err), AX_OK) << err.message;
    for (std::size_t i = 0; i < n; i++) ASSERT_TRUE(same(v[i], want[i])) << i;
  }
}

// Every entry of [lo, hi] in the given direction, read a few at a time with resumes.
std::vector<AxEntry> read_range(const AxTreePair* pair, AxKey lo, AxKey hi, bool backward) {
  std::vector<AxEntry> got, chunk(7);
  const AxEntry* resume = nullptr;
  AxEntry last{};
  for (;;) {
    std::size_t n = ax_pair_copy_range(pair, false, lo, hi, resume, backward, false, chunk.data(), chunk.size());
    got.insert(got.end(), chunk.begin(), chunk.begin() + n);
    if (n < chunk.size()) return got;
    last = chunk[n - 1];
    resume = &last;
  }
}

bool key_in(const AxEntry& e, AxKey lo, AxKey hi) {
  auto le = [](int64_t k1, uint64_t l1, int64_t k2, uint64_t l2) { return k1 != k2 ? k1 < k2 : l1 <= l2; };
  return le(lo.key, lo.key_lo, e.key, e.key_lo) && le(e.key, e.key_lo, hi.key, hi.key_lo);
}

TEST(EngineSeam, WidePairMatchesASortedArray) {
  // A wide pair after a bulk load, batch inserts and erases holds exactly what a sorted array
  // does, and its ranges cut on both words, forwards and backwards, across resumes.
  Arena arena(256 << 20);
  AxError err{};
  AxTreeParams params{};
  params.wide = true;
  AxTreePair* pair = ax_pair_create(arena.base(), &params, &err);
  ASSERT_NE(pair, nullptr) << err.message;
  EXPECT_TRUE(ax_pair_is_wide(pair));
  auto ref = wide_entries(20000, 5, 40);
  std::sort(ref.begin(), ref.end(), wide_less);
  ref.erase(std::unique(ref.begin(), ref.end(), same), ref.end());
  ASSERT_EQ(ax_pair_bulk_load(pair, ref.data(), ref.size(), nullptr, 0, &err), AX_OK) << err.message;
  auto more = wide_entries(30000, 6, 40);
  std::sort(more.begin(), more.end(), wide_less);
  more.erase(std::unique(more.begin(), more.end(), same), more.end());
  auto batch = more;
  ASSERT_EQ(ax_pair_insert_batch(pair, batch.data(), batch.size(), batch.size(), &err), AX_OK) << err.message;
  for (const AxEntry& e : more) ref.push_back(e);
  std::sort(ref.begin(), ref.end(), wide_less);
  // erase every third entry
  std::vector<AxEntry> gone;
  for (std::size_t i = 0; i < ref.size(); i += 3) gone.push_back(ref[i]);
  std::size_t removed = 0;
  auto gone_batch = gone;
  ASSERT_EQ(ax_pair_erase_batch(pair, gone_batch.data(), gone_batch.size(), gone_batch.size(), &removed, &err),
            AX_OK)
      << err.message;
  EXPECT_EQ(removed, gone.size());
  std::vector<AxEntry> left;
  for (std::size_t i = 0; i < ref.size(); i++)
    if (i % 3 != 0) left.push_back(ref[i]);
  ASSERT_EQ(ax_pair_size(pair), left.size());
  char why[256] = "";
  EXPECT_TRUE(ax_pair_validate(pair, why, sizeof(why))) << why;

  std::mt19937_64 rng(9);
  std::vector<std::pair<AxKey, AxKey>> ranges = {{AxKey{INT64_MIN, 0}, AxKey{INT64_MAX, UINT64_MAX}}};
  for (int i = 0; i < 200; i++) {
    const AxEntry& a = left[rng() % left.size()];
    const AxEntry& b = left[rng() % left.size()];
    AxKey lo{a.key, a.key_lo}, hi{b.key, b.key_lo};
    if (wide_less(b, a)) std::swap(lo, hi);
    if (i % 4 == 1) hi = lo;                        // one key
    if (i % 4 == 2) lo.key_lo += 1, hi = lo;        // usually no key
    if (i % 4 == 3) hi = AxKey{lo.key, UINT64_MAX};  // one leading word, all trailing ones
    ranges.push_back({lo, hi});
  }
  for (auto [lo, hi] : ranges) {
    std::vector<AxEntry> want;
    for (const AxEntry& e : left)
      if (key_in(e, lo, hi)) want.push_back(e);
    auto fwd = read_range(pair, lo, hi, false);
    ASSERT_EQ(fwd.size(), want.size());
    for (std::size_t i = 0; i < want.size(); i++) ASSERT_TRUE(same(fwd[i], want[i])) << i;
    auto bwd = read_range(pair, lo, hi, true);
    ASSERT_EQ(bwd.size(), want.size());
    for (std::size_t i = 0; i < want.size(); i++) ASSERT_TRUE(same(bwd[i], want[want.size() - 1 - i])) << i;
  }
  EXPECT_EQ(ax_pair_destroy(arena.base(), pair, &err), AX_OK) << err.message;
}

TEST(EngineSeam, NarrowBatchesKeepTheirEntries) {
  // A narrow tree packs a batch in place for the core and spreads it out again: the caller's
  // array must come back whole (erase failures reuse it).
  Arena arena(64 << 20);
  AxError err{};
  AxTreePair* pair = ax_pair_create(arena.base(), nullptr, &err);
  ASSERT_NE(pair, nullptr) << err.message;
  auto v = random_entries(5000, 3);
  std::sort(v.begin(), v.end(), entry_less);
  v.erase(std::unique(v.begin(), v.end(), same), v.end());
  auto batch = v;
  ASSERT_EQ(ax_pair_insert_batch(pair, batch.data(), batch.size(), batch.size(), &err), AX_OK) << err.message;
  std::sort(batch.begin(), batch.end(), entry_less);
  for (std::size_t i = 0; i < v.size(); i++) ASSERT_TRUE(same(batch[i], v[i])) << i;
  EXPECT_EQ(ax_pair_destroy(arena.base(), pair, &err), AX_OK) << err.message;
}

TEST(EngineSeam, SidecarKeysOfWideBuildsSortAsEntries) {
  // The sidecar's byte order of wide data keys is the entries' order, and runs round-trip.
  auto v = wide_entries(3000, 21, 30);
  std::sort(v.begin(), v.end(), wide_less);
  v.erase(std::unique(v.begin(), v.end(), same), v.end());
  std::vector<std::string> keys;
  for (const AxEntry& e : v) {
    char k[axeng::kMaxDataKeyLen];
    std::size_t len = axeng::encode_data_key(k, 77, e, true);
    ASSERT_EQ(len, axeng::kWideDataKeyLen);
    keys.emplace_back(k, len);
    AxEntry back = axeng::decode_data_key(k, len);
    ASSERT_TRUE(same(back, e));
  }
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  for (std::size_t i = 0; i + 1 < keys.size(); i++) ASSERT_LT(keys[i], keys[i + 1]) << i;
  for (std::size_t start = 0; start < v.size(); start += axeng::kRunEntries) {
    std::size_t n = std::min(axeng::kRunEntries, v.size() - start);
    std::string packed = axeng::encode_run(&v[start], n, true);
    std::vector<AxEntry> out;
    axeng::decode_run(v[start], packed.data(), packed.size(), out, true);
    ASSERT_EQ(out.size(), n);
    for (std::size_t i = 0; i < n; i++) ASSERT_TRUE(same(out[i], v[start + i])) << start + i;
  }
  // narrow keys keep their 22-byte layout
  char k[axeng::kMaxDataKeyLen];
  EXPECT_EQ(axeng::encode_data_key(k, 77, AxEntry{5, 1 << 16 | 1, 0}, false), axeng::kDataKeyLen);
}

// A parallel build's runs: every entry's TID is its own, the runs are sorted and of any
// lengths (some empty), and their merge must equal one sort of them all. 1.5M entries take
// the threaded path (parts cut by binary search), 1,000 the single-threaded one.
template <class E>
std::vector<std::vector<E>> split_into_runs(const std::vector<E>& all, int nruns, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<E>> runs(nruns);
  for (const E& e : all) {
    int r = static_cast<int>(rng() % (nruns + 1));
    runs[r == nruns ? 0 : r].push_back(e);  // run 0 gets about twice the share
  }
  if (nruns == 5) runs[nruns - 1].clear();  // an empty run: a worker that found nothing
  for (auto& run : runs)
    std::sort(run.begin(), run.end(), [](const E& a, const E& b) {
      return axeng::entry_less(axeng::as_entry(a), axeng::as_entry(b));
    });
  return runs;
}

template <class E, class Merge>
void check_merge(const std::vector<E>& all, Merge merge) {
  // 3 runs take the three-way loop, 4 and 5 (one of them empty) the look over the heads
  for (int nruns : {1, 2, 3, 4, 5}) {
    for (int threads : {1, 2, 3}) {
      auto runs = split_into_runs(all, nruns, 40 + nruns);
      std::vector<const E*> items;
      std::vector<std::size_t> lengths;
      std::size_t total = 0;
      for (auto& run : runs) {
        items.push_back(run.data());
        lengths.push_back(run.size());
        total += run.size();
      }
      std::vector<E> out(total);
      AxError err{};
      ASSERT_EQ(merge(items.data(), lengths.data(), nruns, out.data(), threads, &err), AX_OK) << err.message;
      std::vector<E> want;
      for (auto& run : runs) want.insert(want.end(), run.begin(), run.end());
      std::sort(want.begin(), want.end(), [](const E& a, const E& b) {
        return axeng::entry_less(axeng::as_entry(a), axeng::as_entry(b));
      });
      for (std::size_t i = 0; i < total; i++)
        ASSERT_TRUE(axeng::entry_eq(axeng::as_entry(out[i]), axeng::as_entry(want[i])))
            << "runs " << nruns << " threads " << threads << " at " << i << " of " << total;
    }
  }
}

TEST(EngineSeam, MergedRunsEqualOneSortNarrow) {
  for (std::size_t n : {std::size_t{1000}, std::size_t{1500000}}) {
    std::mt19937_64 rng(n);
    std::vector<AxNarrowEntry> all(n);
    for (std::size_t i = 0; i < n; i++) {
      // negative and positive keys (the sign bit orders them), each about 30 times
      all[i].key = static_cast<int64_t>(rng() % (n / 30 + 1)) - static_cast<int64_t>(n / 60);
      all[i].tid = (i + 1) << 16 | 1;
    }
    check_merge(all, ax_merge_narrow_entries);
  }
}

TEST(EngineSeam, MergedRunsEqualOneSortWide) {
  for (std::size_t n : {std::size_t{1000}, std::size_t{1500000}}) {
    auto all = wide_entries(n, 9, 50);
    for (std::size_t i = 0; i < n; i++) all[i].tid = (i + 1) << 16 | 1;
    check_merge(all, ax_merge_entries);
  }
}

}  // namespace
