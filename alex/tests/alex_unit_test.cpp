// Unit tests: each operation, edge keys, key distributions, duplicates, iterators and
// the copy_range resume protocol.
#include <gtest/gtest.h>

#include <climits>
#include <set>

#include "test_util.hpp"

using namespace alex_test;

namespace {

void expect_valid(const Tree& t) {
  std::string why;
  ASSERT_TRUE(t.validate(&why)) << why;
}

// Checks the tree against a sorted reference: size, full scan, a sample of lookups.
void expect_matches(const Tree& t, std::vector<Entry> ref) {
  std::sort(ref.begin(), ref.end());
  expect_valid(t);
  ASSERT_EQ(t.size(), ref.size());
  auto got = dump(t);
  ASSERT_EQ(got.size(), ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_TRUE(got[i] == ref[i]) << "at " << i;
  std::mt19937_64 rng(7);
  for (int q = 0; q < 2000 && !ref.empty(); ++q) {
    const Entry& e = ref[rng() % ref.size()];
    auto it = t.lower_bound(e.key);
    auto want = std::lower_bound(ref.begin(), ref.end(), e.key, [](const Entry& a, int64_t k) { return a.key < k; });
    ASSERT_TRUE(it != t.end());
    ASSERT_TRUE(*it == *want);
    auto it2 = t.lower_bound(e.key, e.payload);
    ASSERT_TRUE(*it2 == e);
  }
}

Tree::Entry E(int64_t k, uint64_t p) { return Tree::Entry{k, p}; }

}  // namespace

// The bitmap searches against a bit-by-bit reference, on maps with long empty and full runs
// (a node's free tail, a packed run) ending at every offset within and across words.
TEST(Bitmap, SearchesMatchABitByBitScan) {
  namespace bm = alex::detail::bitmap;
  std::mt19937_64 rng(11);
  for (std::size_t words : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u, 13u, 37u}) {
    const std::size_t nbits = words * 64;
    for (int round = 0; round < 60; ++round) {
      std::vector<std::uint64_t> w(words, 0);
      // A few set bits, then maybe one solid run, in random places.
      const std::size_t ones = rng() % 4;
      for (std::size_t k = 0; k < ones; ++k) bm::set(w.data(), rng() % nbits);
      if (round % 3 == 0) {
        const std::size_t a = rng() % nbits, b = a + rng() % (nbits - a);
        for (std::size_t i = a; i <= b; ++i) bm::set(w.data(), i);
      }
      auto bit = [&](std::size_t i) { return bm::test(w.data(), i); };
      for (std::size_t i = 0; i <= nbits; ++i) {
        std::size_t ns = bm::npos, nc = bm::npos, ps = bm::npos, pc = bm::npos;
        for (std::size_t j = i; j < nbits; ++j)
          if (bit(j)) { ns = j; break; }
        for (std::size_t j = i; j < nbits; ++j)
          if (!bit(j)) { nc = j; break; }
        for (std::size_t j = i; j-- > 0;)
          if (bit(j)) { ps = j; break; }
        for (std::size_t j = i; j-- > 0;)
          if (!bit(j)) { pc = j; break; }
        ASSERT_EQ(bm::next_set(w.data(), nbits, i), ns) << "words " << words << " from " << i;
        ASSERT_EQ(bm::next_clear(w.data(), nbits, i), nc) << "words " << words << " from " << i;
        ASSERT_EQ(bm::prev_set(w.data(), i), ps) << "words " << words << " before " << i;
        ASSERT_EQ(bm::prev_clear(w.data(), i), pc) << "words " << words << " before " << i;
      }
    }
  }
}

TEST(AlexBasic, EmptyTree) {
  Tree t;
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.begin() == t.end());
  EXPECT_TRUE(t.lower_bound(5) == t.end());
  EXPECT_TRUE(t.upper_bound(5) == t.end());
  EXPECT_TRUE(t.lower_bound(5, 1) == t.end());
  EXPECT_FALSE(t.erase(1, 1));
  Entry out[4];
  EXPECT_EQ(t.copy_range(INT64_MIN, INT64_MAX, nullptr, out, 4), 0u);
  EXPECT_EQ(t.copy_range_reverse(INT64_MIN, INT64_MAX, nullptr, out, 4), 0u);
  EXPECT_EQ(t.memory_bytes(), 0u);
  EXPECT_EQ(t.stats().entries, 0u);
  expect_valid(t);
  t.bulk_load(nullptr, 0);
  expect_valid(t);
  t.insert_batch(nullptr, 0);
  EXPECT_EQ(t.erase_batch(nullptr, 0), 0u);
}

TEST(AlexBasic, SingleKey) {
  Tree t;
  t.insert(42, 7);
  expect_valid(t);
  ASSERT_EQ(t.size(), 1u);
  auto it = t.begin();
  EXPECT_EQ(it.key(), 42);
  EXPECT_EQ(it.payload(), 7u);
  ++it;
  EXPECT_TRUE(it == t.end());
  --it;
  EXPECT_EQ(it.key(), 42);
  EXPECT_TRUE(t.lower_bound(43) == t.end());
  EXPECT_EQ(t.lower_bound(41).key(), 42);
  EXPECT_TRUE(t.upper_bound(42) == t.end());
  EXPECT_TRUE(t.lower_bound(42, 8) == t.end());
  EXPECT_FALSE(t.erase(42, 8));
  EXPECT_TRUE(t.erase(42, 7));
  EXPECT_TRUE(t.empty());
  expect_valid(t);
  t.clear();
  EXPECT_EQ(t.memory_bytes(), 0u);
}

TEST(AlexBasic, ExtremeKeys) {
  Tree t;
  std::vector<Entry> ref;
  for (int64_t k : {INT64_MAX, INT64_MIN, int64_t{0}, int64_t{-1}, int64_t{1}, INT64_MAX - 1, INT64_MIN + 1}) {
    for (uint64_t p : {uint64_t{0}, UINT64_MAX, uint64_t{5}}) {
      t.insert(k, p);
      ref.push_back(E(k, p));
    }
  }
  expect_matches(t, ref);
  EXPECT_EQ(t.begin().key(), INT64_MIN);
  auto last = t.end();
  --last;
  EXPECT_EQ(last.key(), INT64_MAX);
  EXPECT_EQ(last.payload(), UINT64_MAX);
  Entry out[64];
  EXPECT_EQ(t.copy_range(INT64_MIN, INT64_MAX, nullptr, out, 64), ref.size());
  EXPECT_EQ(t.copy_range(INT64_MAX, INT64_MAX, nullptr, out, 64), 3u);
  EXPECT_EQ(t.copy_range_reverse(INT64_MIN, INT64_MIN, nullptr, out, 64), 3u);
  // The maximum payload of the maximum key is a real entry, not the gap sentinel.
  EXPECT_TRUE(t.erase(INT64_MAX, UINT64_MAX));
  EXPECT_FALSE(t.erase(INT64_MAX, UINT64_MAX));
  EXPECT_TRUE(t.erase(INT64_MIN, 0));
  ref.erase(std::find(ref.begin(), ref.end(), E(INT64_MAX, UINT64_MAX)));
  ref.erase(std::find(ref.begin(), ref.end(), E(INT64_MIN, 0)));
  expect_matches(t, ref);
}

TEST(AlexBasic, OutlierKeysDoNotDeepenTheTree) {
  Tree t;
  std::vector<Entry> ref;
  for (int64_t i = 0; i < 200000; ++i) ref.push_back(E(i, 0));
  t.bulk_load(ref.data(), ref.size());
  const std::size_t d0 = t.stats().depth;
  t.insert(INT64_MAX, 1);
  t.insert(INT64_MIN, 1);
  ref.push_back(E(INT64_MAX, 1));
  ref.push_back(E(INT64_MIN, 1));
  expect_matches(t, ref);
  EXPECT_LE(t.stats().depth, d0 + 2);
}

// Data-node layout has a fast path for pairwise distinct keys and falls back to the
// general path when it meets an equal pair, wherever that pair is.
TEST(AlexLayout, DistinctAndDuplicatePaths) {
  {  // distinct keys spanning the whole key range (offsets up to 2^64 - 1)
    Tree t;
    std::vector<Entry> ref;
    for (int64_t k : {INT64_MIN, INT64_MIN + 1, int64_t{-5}, int64_t{0}, int64_t{7}, INT64_MAX - 1, INT64_MAX})
      ref.push_back(E(k, 3));
    t.bulk_load(ref.data(), ref.size());
    expect_matches(t, ref);
  }
  {  // one entry
    Tree t;
    std::vector<Entry> ref{E(-9, 1)};
    t.bulk_load(ref.data(), ref.size());
    expect_matches(t, ref);
  }
  for (int where = 0; where < 3; ++where) {  // a single equal pair first, in the middle, last
    Tree t;
    std::vector<Entry> ref;
    for (int64_t i = 0; i < 3000; ++i) ref.push_back(E(i * 1000, 0));
    const std::size_t at = where == 0 ? 1 : where == 1 ? 1500 : 2999;
    ref[at].key = ref[at - 1].key;
    ref[at].payload = 1;
    t.bulk_load(ref.data(), ref.size());
    expect_matches(t, ref);
    // Inserts and batches on top (re-layouts go through both paths as well).
    std::vector<Entry> more;
    for (int64_t i = 0; i < 4000; ++i) more.push_back(E(i * 750 + 1, 2));
    for (std::size_t i = 0; i < 100; ++i) t.insert(more[i].key, more[i].payload);
    std::vector<Entry> batch(more.begin() + 100, more.end());
    t.insert_batch(batch.data(), batch.size());
    ref.insert(ref.end(), more.begin(), more.end());
    expect_matches(t, ref);
  }
}

// A whole batch into one (big) data node, hitting its first and last slots, where the
// batch path prefetches around the predicted slot.
TEST(AlexBatch, WholeBatchIntoOneLeafAtItsEdges) {
  // 15,000 keys: one bulk-loaded leaf at any default density (leaf_target is ~19,600 keys).
  Tree t;
  std::vector<Entry> ref;
  for (int64_t i = 0; i < 15000; ++i) ref.push_back(E(i * 100, 0));
  t.bulk_load(ref.data(), ref.size());
  ASSERT_EQ(t.stats().data_nodes, 1u);
  std::vector<Entry> batch;
  for (int64_t i = 0; i < 300; ++i) {
    batch.push_back(E(-1 - i, 1));             // before the first key
    batch.push_back(E(1499900 + 1 + i, 1));    // after the last key
    batch.push_back(E(i * 6000 + 50, 1));      // spread through the node
  }
  std::vector<Entry> copy = batch;
  t.insert_batch(copy.data(), copy.size());
  ref.insert(ref.end(), batch.begin(), batch.end());
  expect_matches(t, ref);
}

TEST(AlexBasic, UnsortedBulkLoadThrows) {
  Tree t;
  Entry e[2] = {E(2, 0), E(1, 0)};
  EXPECT_THROW(t.bulk_load(e, 2), std::invalid_argument);
}

// The order check of a large bulk load rides on the root's fanout histogram pass: a pair
// out of order anywhere (first, middle, last, or equal keys with payloads out of order)
// throws, builds nothing, and keeps the old content.
TEST(AlexBasic, UnsortedLargeBulkLoadThrowsAndKeepsContent) {
  Tree t;
  std::vector<Entry> old;
  for (int64_t i = 0; i < 1000; ++i) old.push_back(E(i * 3, 7));
  t.bulk_load(old.data(), old.size());
  const std::size_t bytes = t.memory_bytes();
  std::vector<Entry> big;
  for (int64_t i = 0; i < 300000; ++i) big.push_back(E(i * 1000 - 150000000, static_cast<uint64_t>(i)));
  for (std::size_t at : {std::size_t{1}, big.size() / 2, big.size() - 1}) {
    std::vector<Entry> bad = big;
    std::swap(bad[at - 1], bad[at]);
    EXPECT_THROW(t.bulk_load(bad.data(), bad.size()), std::invalid_argument) << "swap at " << at;
    std::vector<Entry> dup = big;
    dup[at].key = dup[at - 1].key;  // equal keys, payloads descending
    std::swap(dup[at - 1].payload, dup[at].payload);
    EXPECT_THROW(t.bulk_load(dup.data(), dup.size()), std::invalid_argument) << "payloads at " << at;
  }
  EXPECT_EQ(t.size(), old.size());
  EXPECT_EQ(t.memory_bytes(), bytes);
  std::string why;
  EXPECT_TRUE(t.validate(&why)) << why;
  EXPECT_EQ(t.lower_bound(300).key(), 300);
  t.bulk_load(big.data(), big.size());  // the sorted input loads
  EXPECT_EQ(t.size(), big.size());
  EXPECT_TRUE(t.validate(&why)) << why;
}

// Nodes laid out 90% full and filled to 99%: inserts shift short runs (carried slot by
// slot) and long ones (memmove), leftwards and rightwards, among duplicates, one by one and
// in batches; the content must match a reference after each round.
TEST(AlexShifts, ShortAndLongShiftsInDenseNodes) {
  alex::Params p;
  p.max_data_node_slots = 4096;
  p.min_density = 0.3;
  p.init_density = 0.9;
  p.max_density = 0.99;
  p.bulk_density = 0.95;
  Tree t(p);
  std::mt19937_64 rng(21);
  std::vector<Entry> ref;
  for (int64_t i = 0; i < 20000; ++i) ref.push_back(E(i * 4, 0));
  t.bulk_load(ref.data(), ref.size());
  for (int round = 0; round < 4; ++round) {
    std::vector<Entry> batch;
    for (int i = 0; i < 3000; ++i) {
      const Entry e = E(static_cast<int64_t>(rng() % 80000), rng() % 4);
      ref.push_back(e);
      if (round % 2) batch.push_back(e);
      else t.insert(e.key, e.payload);
    }
    if (!batch.empty()) t.insert_batch(batch.data(), batch.size());
    expect_matches(t, ref);
  }
}

TEST(AlexBasic, BadParamsThrow) {
  alex::Params p;
  p.max_density = 0.5;
  p.init_density = 0.7;
  EXPECT_THROW(Tree t(p), std::invalid_argument);
}

TEST(AlexDuplicates, MillionEqualKeys) {
  Tree t;
  std::mt19937_64 rng(3);
  std::vector<Entry> ref;
  for (int i = 0; i < 500000; ++i) {
    const uint64_t p = rng() % 1000000;
    t.insert(7, p);
    ref.push_back(E(7, p));
  }
  std::vector<Entry> batch;
  for (int i = 0; i < 500000; ++i) batch.push_back(E(7, rng() % 1000000));
  ref.insert(ref.end(), batch.begin(), batch.end());
  t.insert_batch(batch.data(), batch.size());
  expect_matches(t, ref);
  auto st = t.stats();
  EXPECT_LE(st.depth, 3u);
  // Neighbours of the big run still separate cleanly.
  for (int i = 0; i < 20000; ++i) {
    const int64_t k = (i % 2) ? 6 : 8;
    t.insert(k, i);
    ref.push_back(E(k, i));
  }
  // Erase a third of the run.
  std::sort(ref.begin(), ref.end());
  std::vector<Entry> gone;
  for (std::size_t i = 0; i < ref.size(); i += 3) gone.push_back(ref[i]);
  std::vector<Entry> keep;
  for (std::size_t i = 0; i < ref.size(); ++i)
    if (i % 3) keep.push_back(ref[i]);
  EXPECT_EQ(t.erase_batch(gone.data(), gone.size()), gone.size());
  expect_matches(t, keep);
  // Bulk load of a million equal keys.
  std::vector<Entry> eq;
  for (int i = 0; i < 1000000; ++i) eq.push_back(E(-5, i / 3));
  t.bulk_load(eq.data(), eq.size());
  expect_matches(t, eq);
  Entry out[100];
  EXPECT_EQ(t.copy_range(-5, -5, &eq[500000], out, 100), 100u);
  EXPECT_TRUE(out[0] == eq[500001]);
}

// Batch erases of whole stretches of long duplicate runs (VACUUM after deleting the oldest
// rows of a column with few distinct values: a prefix of each key's run by TID), of their
// ends and middles, of every other entry, of whole runs, of exact duplicate pairs, and of
// scattered entries and stretches (too few to make the node shrink, which would re-lay it
// out and hide a wrong gap value), from
// bulk-loaded and from inserted (gapped) nodes: every shape erase_batch's right-to-left
// pass with its carried gap value meets.
TEST(AlexDuplicates, BatchEraseStretchesOfRuns) {
  for (int gapped = 0; gapped < 2; ++gapped) {
    for (int shape = 0; shape < 8; ++shape) {
      Tree t;
      std::vector<Entry> all;
      for (int64_t k = 0; k < 6; ++k)
        for (uint64_t p = 0; p < 20000; ++p) all.push_back(E(k, p / (shape == 5 ? 2 : 1)));
      if (gapped) {
        std::vector<Entry> b(all);
        t.insert_batch(b.data(), b.size());
      } else {
        t.bulk_load(all.data(), all.size());
      }
      std::vector<Entry> gone, keep;
      for (const Entry& e : all) {
        const uint64_t p = e.payload;
        bool g = false;
        switch (shape) {
          case 0: g = p < 5000; break;                                   // prefix of each run
          case 1: g = p >= 15000; break;                                 // suffix
          case 2: g = p >= 7000 && p < 13000; break;                     // middle
          case 3: g = p % 2 == 0; break;                                 // every other
          case 4: g = e.key % 2 == 0 || (p >= 100 && p < 19900); break;  // whole runs, most of the rest
          case 5: g = p < 3000 || (p >= 6000 && p < 6500); break;        // exact duplicate pairs
          case 6: g = p % 7 == 3; break;                                 // scattered singles
          case 7: g = p % 10 < 3; break;                                 // scattered stretches
        }
        (g ? gone : keep).push_back(e);
      }
      SCOPED_TRACE(testing::Message() << "gapped " << gapped << " shape " << shape);
      EXPECT_EQ(t.erase_batch(gone.data(), gone.size()), gone.size());
      expect_matches(t, keep);
      // What is left still takes inserts and erases where the runs were cut.
      std::vector<Entry> more;
      for (int64_t k = 0; k < 6; ++k)
        for (uint64_t p = 0; p < 20000; p += 97) more.push_back(E(k, p));
      keep.insert(keep.end(), more.begin(), more.end());
      t.insert_batch(more.data(), more.size());
      expect_matches(t, keep);
    }
  }
}

TEST(AlexDuplicates, ExactDuplicatePairs) {
  Tree t;
  for (int i = 0; i < 1000; ++i) t.insert(1, 1);
  EXPECT_EQ(t.size(), 1000u);
  EXPECT_TRUE(t.erase(1, 1));
  EXPECT_EQ(t.size(), 999u);
  Entry b[3] = {E(1, 1), E(1, 1), E(1, 2)};
  EXPECT_EQ(t.erase_batch(b, 3), 2u);
  EXPECT_EQ(t.size(), 997u);
  expect_valid(t);
}

TEST(AlexDuplicates, ManySmallRuns) {
  Tree t;
  std::vector<Entry> ref;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 300000; ++i) {
    const Entry e = E(static_cast<int64_t>(rng() % 5000), rng() % 50);
    t.insert(e.key, e.payload);
    ref.push_back(e);
  }
  expect_matches(t, ref);
}

struct Dist {
  const char* name;
  std::vector<int64_t> (*gen)(std::size_t, uint64_t);
};

class AlexDistributions : public ::testing::TestWithParam<Dist> {};

TEST_P(AlexDistributions, InsertBulkBatchErase) {
  const auto keys = GetParam().gen(400000, 99);
  auto entries = with_payloads(keys);
  // 1) single inserts
  {
    Tree t;
    for (auto& e : entries) t.insert(e.key, e.payload);
    expect_matches(t, entries);
  }
  // 2) bulk load half, batch-insert the rest, erase a quarter one by one
  {
    Tree t;
    std::vector<Entry> first(entries.begin(), entries.begin() + entries.size() / 2);
    std::vector<Entry> rest(entries.begin() + entries.size() / 2, entries.end());
    std::sort(first.begin(), first.end());
    t.bulk_load(first.data(), first.size());
    expect_matches(t, first);
    for (std::size_t i = 0; i < rest.size(); i += 4096) {
      std::vector<Entry> b(rest.begin() + i, rest.begin() + std::min(rest.size(), i + 4096));
      t.insert_batch(b.data(), b.size());
    }
    expect_matches(t, entries);
    std::vector<Entry> keep;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (i % 4 == 0)
        ASSERT_TRUE(t.erase(entries[i].key, entries[i].payload));
      else
        keep.push_back(entries[i]);
    }
    expect_matches(t, keep);
    auto st = t.stats();
    EXPECT_LE(st.depth, 6u) << GetParam().name;
  }
}

std::vector<int64_t> sequential(std::size_t n, uint64_t) {
  std::vector<int64_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<int64_t>(i) * 3 - 1000;
  return v;
}

INSTANTIATE_TEST_SUITE_P(Keys, AlexDistributions,
                         ::testing::Values(Dist{"sequential", sequential}, Dist{"sequential_gaps", sequential_gaps_keys},
                                           Dist{"uniform", uniform_keys}, Dist{"lognormal", lognormal_keys},
                                           Dist{"clustered", clustered_keys}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(AlexAppend, MonotonicAppendsStayShallow) {
  Tree t;
  std::vector<Entry> ref;
  for (int64_t i = 0; i < 2000000; ++i) {
    t.insert(i * 7, static_cast<uint64_t>(i));
    ref.push_back(E(i * 7, static_cast<uint64_t>(i)));
  }
  expect_matches(t, ref);
  auto st = t.stats();
  EXPECT_LE(st.depth, 3u);
  EXPECT_LE(double(t.memory_bytes()) / double(t.size()), 40.0);
  // the tree grew by expanding full nodes, splitting them, and widening a model node to the right
  EXPECT_GT(st.events.expansions, 0u);
  EXPECT_GT(st.events.sideways_splits + st.events.downward_splits, 0u);
  EXPECT_GT(st.events.model_widenings + st.events.parents_added, 0u);
  EXPECT_EQ(st.events.shrinks, 0u);
}

TEST(AlexAppend, DescendingInserts) {
  Tree t;
  std::vector<Entry> ref;
  for (int64_t i = 500000; i > 0; --i) {
    t.insert(i, 0);
    ref.push_back(E(i, 0));
  }
  expect_matches(t, ref);
  EXPECT_LE(t.stats().depth, 4u);
}

TEST(AlexIterators, ForwardAndBackward) {
  Tree t;
  auto entries = with_payloads(uniform_keys(100000, 5));
  for (auto& e : entries) t.insert(e.key, e.payload);
  std::sort(entries.begin(), entries.end());
  std::size_t i = 0;
  for (auto it = t.begin(); it != t.end(); ++it, ++i) ASSERT_TRUE(*it == entries[i]);
  ASSERT_EQ(i, entries.size());
  auto it = t.end();
  for (std::size_t j = entries.size(); j-- > 0;) {
    --it;
    ASSERT_TRUE(*it == entries[j]);
  }
  EXPECT_TRUE(it == t.begin());
  // upper_bound / lower_bound agree with the sorted vector
  for (std::size_t q = 0; q < entries.size(); q += 97) {
    auto ub = t.upper_bound(entries[q].key);
    auto want = std::upper_bound(entries.begin(), entries.end(), entries[q].key,
                                 [](int64_t k, const Entry& a) { return k < a.key; });
    if (want == entries.end())
      EXPECT_TRUE(ub == t.end());
    else
      EXPECT_TRUE(*ub == *want);
  }
}

TEST(AlexRange, ChunkedResumeForwardAndBackward) {
  Tree t;
  std::vector<Entry> ref;
  std::mt19937_64 rng(21);
  // Payloads unique: resuming "strictly after" an entry cannot tell exact duplicate pairs
  // apart (the diff test covers that case chunk by chunk).
  for (int i = 0; i < 50000; ++i) {
    Entry e = E(static_cast<int64_t>(rng() % 20000), static_cast<uint64_t>(i));
    ref.push_back(e);
  }
  t.insert_batch(ref.data(), ref.size());
  std::sort(ref.begin(), ref.end());
  for (int q = 0; q < 50; ++q) {
    int64_t lo = static_cast<int64_t>(rng() % 20000), hi = static_cast<int64_t>(rng() % 20000);
    if (hi < lo) std::swap(lo, hi);
    std::vector<Entry> want;
    for (auto& e : ref)
      if (e.key >= lo && e.key <= hi) want.push_back(e);
    const std::size_t chunk = 1 + rng() % 50;
    std::vector<Entry> got, buf(chunk);
    const Entry* resume = nullptr;
    Entry last{};
    for (;;) {
      std::size_t c = t.copy_range(lo, hi, resume, buf.data(), chunk);
      got.insert(got.end(), buf.begin(), buf.begin() + c);
      if (c < chunk) break;
      last = buf[c - 1];
      resume = &last;
    }
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_TRUE(got[i] == want[i]);
    got.clear();
    resume = nullptr;
    for (;;) {
      std::size_t c = t.copy_range_reverse(lo, hi, resume, buf.data(), chunk);
      got.insert(got.end(), buf.begin(), buf.begin() + c);
      if (c < chunk) break;
      last = buf[c - 1];
      resume = &last;
    }
    std::reverse(got.begin(), got.end());
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_TRUE(got[i] == want[i]);
  }
}

// The scan protocol: copy a chunk, let the tree change, resume after the last entry seen.
// Entries inserted after the resume point must show up, entries deleted must not, and no
// entry is returned twice.
TEST(AlexRange, ResumeWhileTreeChanges) {
  Tree t;
  std::multiset<std::pair<int64_t, uint64_t>> ref;
  std::mt19937_64 rng(33);
  for (int i = 0; i < 20000; ++i) {
    Entry e = E(static_cast<int64_t>(rng() % 5000), rng() % 8);
    t.insert(e.key, e.payload);
    ref.insert({e.key, e.payload});
  }
  for (bool reverse : {false, true}) {
    Entry buf[64];
    Entry last{};
    const Entry* resume = nullptr;
    std::vector<Entry> seen;
    for (int round = 0;; ++round) {
      std::size_t c = reverse ? t.copy_range_reverse(1000, 4000, resume, buf, 64) : t.copy_range(1000, 4000, resume, buf, 64);
      for (std::size_t i = 0; i < c; ++i) seen.push_back(buf[i]);
      if (c < 64) break;
      last = buf[c - 1];
      resume = &last;
      // mutate: remove the resume entry itself, add entries on both sides of it
      ASSERT_TRUE(t.erase(last.key, last.payload));
      ref.erase(ref.find({last.key, last.payload}));
      for (int j = 0; j < 20; ++j) {
        Entry e = E(static_cast<int64_t>(1000 + rng() % 3001), rng() % 8);
        t.insert(e.key, e.payload);
        ref.insert({e.key, e.payload});
      }
      std::vector<Entry> b;
      for (int j = 0; j < 200; ++j) b.push_back(E(static_cast<int64_t>(rng() % 5000), rng() % 8));
      t.insert_batch(b.data(), b.size());
      for (auto& e : b) ref.insert({e.key, e.payload});
    }
    // strictly monotone in scan direction
    for (std::size_t i = 1; i < seen.size(); ++i) {
      if (reverse)
        ASSERT_TRUE(seen[i] < seen[i - 1] || seen[i] == seen[i - 1]);
      else
        ASSERT_TRUE(seen[i - 1] < seen[i] || seen[i - 1] == seen[i]);
    }
    // The scan ended with nothing left in range beyond its final position.
    const Entry endpos = seen.back();
    std::size_t beyond = 0;
    for (auto& [k, p] : ref) {
      if (k < 1000 || k > 4000) continue;
      Entry e = E(k, p);
      if (reverse ? (e < endpos) : (endpos < e)) ++beyond;
    }
    EXPECT_EQ(beyond, 0u);
    expect_valid(t);
  }
}

TEST(AlexRange, ResumeOutsideRange) {
  Tree t;
  for (int i = 0; i < 100; ++i) t.insert(i, 0);
  Entry buf[10];
  Entry before = E(-5, 0), after = E(500, 0);
  EXPECT_EQ(t.copy_range(10, 20, &before, buf, 10), 10u);
  EXPECT_EQ(buf[0].key, 10);
  EXPECT_EQ(t.copy_range(10, 20, &after, buf, 10), 0u);
  EXPECT_EQ(t.copy_range_reverse(10, 20, &after, buf, 10), 10u);
  EXPECT_EQ(buf[0].key, 20);
  EXPECT_EQ(t.copy_range_reverse(10, 20, &before, buf, 10), 0u);
  EXPECT_EQ(t.copy_range(20, 10, nullptr, buf, 10), 0u);
}

TEST(AlexParams, SmallNodesStillWork) {
  alex::Params p;
  p.max_data_node_slots = 64;
  Tree t(p);
  auto entries = with_payloads(lognormal_keys(50000, 8));
  for (auto& e : entries) t.insert(e.key, e.payload);
  expect_matches(t, entries);
  EXPECT_EQ(t.params().max_data_node_slots, 64u);
}

TEST(AlexKeys, OtherIntegralKeyTypes) {
  alex::Alex<uint32_t, uint32_t> a;
  alex::Alex<int32_t, uint64_t> b;
  for (uint32_t i = 0; i < 100000; ++i) {
    a.insert(i * 2654435761u, i);
    b.insert(static_cast<int32_t>(i * 2654435761u), i);
  }
  EXPECT_TRUE(a.validate());
  EXPECT_TRUE(b.validate());
  EXPECT_EQ(a.begin().key(), 0u);
  a.insert(UINT32_MAX, 1);
  auto it = a.end();
  --it;
  EXPECT_EQ(it.key(), UINT32_MAX);
  // from_u64 undoes to_u64 (the engine decodes sidecar keys with it)
  using T64 = alex::detail::KeyTraits<int64_t>;
  using T32 = alex::detail::KeyTraits<int32_t>;
  for (int64_t k : {INT64_MIN, int64_t{-1}, int64_t{0}, int64_t{1}, INT64_MAX}) EXPECT_EQ(T64::from_u64(T64::to_u64(k)), k);
  for (int32_t k : {INT32_MIN, -1, 0, 1, INT32_MAX}) EXPECT_EQ(T32::from_u64(T32::to_u64(k)), k);
  EXPECT_EQ(alex::detail::KeyTraits<uint32_t>::from_u64(UINT32_MAX), UINT32_MAX);
}

TEST(AlexStats, Reasonable) {
  Tree t;
  auto entries = with_payloads(uniform_keys(500000, 1));
  std::sort(entries.begin(), entries.end());
  t.bulk_load(entries.data(), entries.size());
  auto st = t.stats();
  EXPECT_EQ(st.entries, entries.size());
  EXPECT_GE(st.data_nodes, 1u);
  EXPECT_EQ(st.model_bytes + st.data_bytes, t.memory_bytes());
  // a bulk load builds the nodes at once: no event
  EXPECT_EQ(st.events.expansions + st.events.retrains + st.events.shrinks + st.events.sideways_splits +
                st.events.downward_splits + st.events.model_doublings + st.events.model_widenings +
                st.events.parents_added,
            0u);
  EXPECT_LT(st.avg_search_distance, 8.0);
  EXPECT_LE(double(t.memory_bytes()) / double(entries.size()), 24.0);
}

// bulk_load lays data nodes out at Params::bulk_density; the first insert into such a
// node grows it to init_density, and everything stays findable.
TEST(AlexBulkDensity, DenseBulkLoadThenInserts) {
  for (double bd : {0.93, 1.0, 0.7}) {
    alex::Params p;
    p.bulk_density = bd;
    Tree t(p);
    auto keys = uniform_keys(200000, 11);
    auto all = with_payloads(keys);
    auto sorted = all;
    std::sort(sorted.begin(), sorted.end());
    t.bulk_load(sorted.data(), sorted.size());
    expect_valid(t);
    const alex::Stats st = t.stats();
    // Slots per entry after bulk load: at most 1/bulk_density plus the rounding of each
    // node to 64 slots.
    const double slots = double(st.data_bytes) / (sizeof(int64_t) + sizeof(uint64_t) + 1.0 / 8) / double(st.entries);
    EXPECT_LE(slots, 1.0 / bd + 64.0 * double(st.data_nodes) / double(st.entries) + 0.01) << bd;
    auto extra = with_payloads(uniform_keys(20000, 12));
    for (auto& e : extra) t.insert(e.key, e.payload + 1000000);
    std::vector<Entry> ref = all;
    for (auto& e : extra) ref.push_back(Entry{e.key, e.payload + 1000000});
    expect_matches(t, ref);
  }
}

TEST(AlexBulkDensity, BadBulkDensityThrows) {
  alex::Params p;
  p.bulk_density = 1.5;
  EXPECT_THROW(Tree t(p), std::invalid_argument);
  p.bulk_density = p.min_density;
  EXPECT_THROW(Tree t(p), std::invalid_argument);
}

// Dense layouts place a cluster of keys predicted at one slot around that slot (centred),
// not all to its right: every entry is still found, including clusters at both node ends.
TEST(AlexBulkDensity, CentredPlacementKeepsOrderAtTheEdges) {
  alex::Params p;
  p.bulk_density = 1.0;  // no free slot at all
  p.max_data_node_slots = 1024;
  Tree t(p);
  std::vector<Entry> v;
  for (int64_t i = 0; i < 300; ++i) v.push_back(E(i, 0));                 // dense run at the left end
  for (int64_t i = 0; i < 300; ++i) v.push_back(E(1000000 + i * 3000, 0));  // spread
  for (int64_t i = 0; i < 300; ++i) v.push_back(E(5000000 + i, 0));       // dense run at the right end
  t.bulk_load(v.data(), v.size());
  expect_matches(t, v);
}

// Time-ordered keys with jitter (each window of 64 consecutive keys shuffled) appended
// past the end of a bulk-loaded tree, as uuid v7 or time series arrive: such inserts count
// as appends (past the node's model), the tail node grows with room on its right, and
// every entry stays where the reference has it.
TEST(AlexAppend, JitteredAppendsPastTheEnd) {
  Tree t;
  std::vector<Entry> ref;
  for (int64_t i = 0; i < 50000; ++i) ref.push_back(E(i * 10, 0));
  t.bulk_load(ref.data(), ref.size());
  std::mt19937_64 rng(5);
  std::vector<int64_t> ks;
  for (int64_t i = 0; i < 200000; ++i) ks.push_back(500000 + i * 10);
  for (std::size_t i = 0; i + 64 <= ks.size(); i += 64) std::shuffle(ks.begin() + i, ks.begin() + i + 64, rng);
  for (std::size_t i = 0; i < ks.size(); ++i) {
    t.insert(ks[i], i);
    ref.push_back(E(ks[i], i));
  }
  expect_matches(t, ref);
  EXPECT_GT(t.stats().events.expansions + t.stats().events.sideways_splits + t.stats().events.downward_splits, 0u);
}

// Random inserts into a bulk-loaded (densely laid out) tree: a key that lands past a
// node's model is not an append, so it must not make the node grow early (each re-layout
// rewrites the whole node). 20,000 inserts into 400,000 entries take a few re-layouts
// per node at most.
TEST(AlexAppend, RandomInsertsDoNotTriggerAppendGrowth) {
  Tree t;
  auto all = with_payloads(uniform_keys(400000, 21));
  auto sorted = all;
  std::sort(sorted.begin(), sorted.end());
  t.bulk_load(sorted.data(), sorted.size());
  const std::size_t nodes = t.stats().data_nodes;
  auto extra = with_payloads(uniform_keys(20000, 22));
  for (auto& e : extra) t.insert(e.key, e.payload);
  const alex::Events ev = t.stats().events;
  EXPECT_LE(ev.expansions + ev.retrains + ev.sideways_splits + ev.downward_splits, 3 * nodes);
  expect_valid(t);
  // Growing such a node as if it took appends (room on the right, keys laid out in the
  // left part only) overfills that part under further random inserts: the node would
  // sit at 1/1.5 of max_density on average. Nodes that grow at init_density stay above
  // ~0.68 full on average after doubling.
  auto more = with_payloads(uniform_keys(600000, 23));
  for (auto& e : more) t.insert(e.key, e.payload);
  const alex::Stats st = t.stats();
  const double slot_bytes = sizeof(int64_t) + sizeof(uint64_t) + 1.0 / 8;
  EXPECT_GE(double(st.entries) * slot_bytes / double(st.data_bytes), 0.66);
  expect_valid(t);
}

// The layout fits its model in one pass of raw moments; when they cancel (one key far
// below a tight cluster), it fits again from the mean (the second-pass path). The fit is
// poor either way (the outlier dominates it); every entry must still be found.
TEST(AlexBulkDensity, ModelFitWithAnOutlierKey) {
  Tree t;
  std::vector<Entry> v;
  v.push_back(E(-(int64_t{1} << 62), 0));
  for (int64_t i = 0; i < 5000; ++i) v.push_back(E((int64_t{1} << 61) + i * 7, 0));
  t.bulk_load(v.data(), v.size());
  expect_matches(t, v);
  for (int64_t i = 0; i < 2000; ++i) t.insert((int64_t{1} << 61) + i * 7 + 3, 1);
  for (int64_t i = 0; i < 2000; ++i) v.push_back(E((int64_t{1} << 61) + i * 7 + 3, 1));
  expect_matches(t, v);
}

// Layouts of more than 2 * kFitSample entries fit their model to every stride-th key by
// rank. The fit must still follow all the keys: one leaf of 15,000 linearly spaced keys
// predicts every slot almost exactly, also when each sampled key sits at the top of its
// gap (a sample biased by under a slot); keys whose spacing grows (quadratic)
// or that form two far-apart clusters are predicted about as well as the full fit did
// (bounds: the full fit's average search distance plus a margin). A wrong rank, stride or
// rank sum in the sampled moments skews the line by many slots per key.
TEST(AlexLayout, SampledFitFollowsTheKeys) {
  constexpr std::size_t kM = 15000;
  constexpr std::size_t kSample = alex::detail::DataNode<int64_t, uint64_t>::kFitSample;
  static_assert(kM > 2 * kSample, "the layout must take the sampled fit");
  const std::size_t stride = kM / kSample;
  for (int shape = 0; shape < 4; ++shape) {
    Tree t;
    std::vector<Entry> v;
    for (int64_t i = 0; i < int64_t(kM); ++i) {
      int64_t k = i * 100;
      if (shape == 1 && i % int64_t(stride) == 0) k += 99;  // sampled keys off the line
      if (shape == 2) k = i * i;
      if (shape == 3) k = i < int64_t(kM / 2) ? i : (int64_t{1} << 40) + i * 1000;
      v.push_back(E(k, uint64_t(i)));
    }
    t.bulk_load(v.data(), v.size());
    const alex::Stats st = t.stats();
    ASSERT_EQ(st.data_nodes, 1u) << "shape " << shape;
    expect_matches(t, v);
    const double bound[4] = {0.5, 0.5, 832, 1925};  // full fit: 0, 0.07, 815.5, 1886.8
    EXPECT_LT(st.avg_search_distance, bound[shape]) << "shape " << shape;
  }
}
