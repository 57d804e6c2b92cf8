// Dead hints (mark_dead, copy_range's skip_dead): a marked entry is left out of skipping
// copies, and a hint never hides an entry it was not set on, whatever the tree does after:
// inserts that shift entries, erases, expansions, splits, shrinks. Above all, an entry erased
// and inserted again (PostgreSQL: VACUUM removed it, the TID went to a new row with the same
// key) must come back unmarked.
#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace alex_test;

namespace {

// The entries with lo <= key <= hi, copied `chunk` at a time, in the order of the copy.
std::vector<Entry> copy_chunked(const Tree& t, int64_t lo, int64_t hi, bool skip_dead, bool reverse,
                                std::size_t chunk) {
  std::vector<Entry> out, buf(chunk);
  for (;;) {
    const Entry* resume = out.empty() ? nullptr : &out.back();
    const std::size_t n = reverse ? t.copy_range_reverse(lo, hi, resume, buf.data(), chunk, skip_dead)
                                  : t.copy_range(lo, hi, resume, buf.data(), chunk, skip_dead);
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    if (n < chunk) break;
  }
  return out;
}

// All of them, in ascending order.
std::vector<Entry> copy_all(const Tree& t, bool skip_dead, bool reverse, std::size_t chunk) {
  std::vector<Entry> out = copy_chunked(t, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                                        skip_dead, reverse, chunk);
  if (reverse) std::reverse(out.begin(), out.end());
  return out;
}

// The tree holds exactly `all`. A skipping copy returns all of them but marked ones: every
// unmarked entry, and with exact = true none of the marked ones (a hint may be lost when
// its entry moves, which costs a heap visit, never a row).
void expect_tree(const Tree& t, const std::multiset<Entry>& all, const std::set<Entry>& marked,
                 const std::string& what, bool exact = false) {
  std::string why;
  ASSERT_TRUE(t.validate(&why)) << what << ": " << why;
  const std::vector<Entry> every(all.begin(), all.end());
  std::vector<Entry> live;
  for (const Entry& e : all)
    if (!marked.count(e)) live.push_back(e);
  const auto show = [](const std::vector<Entry>& v, std::size_t i) {
    std::ostringstream o;
    if (i < v.size())
      o << '(' << v[i].key << ", " << v[i].payload << ')';
    else
      o << "end";
    return o.str();
  };
  for (bool reverse : {false, true}) {
    const std::string how = reverse ? " (reverse)" : "";
    ASSERT_TRUE(copy_all(t, false, reverse, 1000) == every) << what << how;
    const std::vector<Entry> got = copy_all(t, true, reverse, 7);
    if (exact) {
      ASSERT_TRUE(got == live) << what << how << ": skipping returned " << got.size() << ", want " << live.size();
      continue;
    }
    // live <= got <= every, as sorted sequences
    std::size_t j = 0, l = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      while (j < every.size() && every[j] < got[i]) {
        ASSERT_FALSE(l < live.size() && live[l] == every[j]) << what << how << ": unmarked entry " << show(live, l) << " skipped";
        if (l < live.size() && live[l] == every[j]) ++l;
        ++j;
      }
      ASSERT_TRUE(j < every.size() && every[j] == got[i]) << what << how << ": returned " << show(got, i) << ", not in the tree";
      if (l < live.size() && live[l] == got[i]) ++l;
      ++j;
    }
    ASSERT_EQ(l, live.size()) << what << how << ": unmarked entry " << show(live, l) << " skipped";
  }
}

}  // namespace

TEST(AlexDeadHints, MarkedEntriesAreSkippedAndOnlyThey) {
  const auto keys = uniform_keys(20000, 5);
  std::vector<Entry> e(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) e[i] = Entry{keys[i] % 5000, i};  // duplicates too
  std::sort(e.begin(), e.end());
  Tree t;
  t.bulk_load(e.data(), e.size());
  std::multiset<Entry> all(e.begin(), e.end());
  std::set<Entry> marked;
  std::mt19937_64 rng(1);
  std::vector<Entry> mark;
  for (const Entry& x : e)
    if (rng() % 3 == 0) mark.push_back(x);
  EXPECT_EQ(t.mark_dead(mark.data(), mark.size()), mark.size());
  marked.insert(mark.begin(), mark.end());
  expect_tree(t, all, marked, "after marking a third", true);
  // again, and entries the tree does not hold: nothing more
  EXPECT_EQ(t.mark_dead(mark.data(), std::min<std::size_t>(mark.size(), 100)), std::min<std::size_t>(mark.size(), 100));
  const Entry absent[] = {Entry{5000, 1}, Entry{e[0].key, 999999999}, Entry{-6000, 0}};
  EXPECT_EQ(t.mark_dead(absent, 3), 0u);
  expect_tree(t, all, marked, "after marking again and marking absent entries", true);
}

// Ranges that end where a long run of marked entries begins (or, backwards, where one ends):
// exactly the unmarked entries of the range, whole or in chunks.
TEST(AlexDeadHints, RangesBesideMarkedRuns) {
  std::vector<Entry> e(100000);
  for (std::size_t i = 0; i < e.size(); ++i) e[i] = Entry{static_cast<int64_t>(i), i};
  Tree t;
  t.bulk_load(e.data(), e.size());
  std::vector<Entry> high(e.begin() + 50000, e.end()), low(e.begin(), e.begin() + 20000);
  ASSERT_EQ(t.mark_dead(high.data(), high.size()), high.size());
  ASSERT_EQ(t.mark_dead(low.data(), low.size()), low.size());
  auto count = [&](int64_t lo, int64_t hi, bool reverse, std::size_t chunk) {
    const std::vector<Entry> got = copy_chunked(t, lo, hi, true, reverse, chunk);
    for (std::size_t i = 1; i < got.size(); ++i)
      if (reverse ? !(got[i] < got[i - 1]) : !(got[i - 1] < got[i])) return std::size_t{999999};
    for (const Entry& x : got)
      if (x.key < lo || x.key > hi || x.key < 20000 || x.key >= 50000) return std::size_t{888888};
    return got.size();
  };
  for (bool reverse : {false, true})
    for (std::size_t chunk : {std::size_t{7}, std::size_t{100000}}) {
      EXPECT_EQ(count(0, 49999, reverse, chunk), 30000u);
      EXPECT_EQ(count(30000, 99999, reverse, chunk), 20000u);
      EXPECT_EQ(count(0, 99999, reverse, chunk), 30000u);
      EXPECT_EQ(count(49990, 60000, reverse, chunk), 10u);
      EXPECT_EQ(count(50000, 99999, reverse, chunk), 0u);
      EXPECT_EQ(count(0, 19999, reverse, chunk), 0u);
      EXPECT_EQ(count(19990, 20009, reverse, chunk), 10u);
    }
}

TEST(AlexDeadHints, AHintNeverHidesAnotherEntry) {
  // Small nodes, so that inserts shift, expand and split nodes often, and erases shrink them.
  alex::Params p;
  p.max_data_node_slots = 1024;
  Tree t(p);
  std::multiset<Entry> all;
  std::set<Entry> marked;
  std::mt19937_64 rng(7);
  auto rand_entry = [&] { return Entry{static_cast<int64_t>(rng() % 3000), rng() % 8}; };
  {
    std::vector<Entry> e(4000);
    for (auto& x : e) x = rand_entry();
    std::sort(e.begin(), e.end());
    e.erase(std::unique(e.begin(), e.end()), e.end());
    t.bulk_load(e.data(), e.size());
    all.insert(e.begin(), e.end());
  }
  for (int step = 0; step < 400; ++step) {
    const int op = static_cast<int>(rng() % 6);
    if (op == 0 || op == 1) {  // mark some present entries
      std::vector<Entry> m;
      for (const Entry& x : all)
        if (rng() % 20 == 0) m.push_back(x);
      t.mark_dead(m.data(), m.size());
      marked.insert(m.begin(), m.end());
    } else if (op == 2) {  // single inserts (entries the tree may hold already: multiset)
      for (int i = 0; i < 50; ++i) {
        const Entry x = rand_entry();
        if (all.count(x)) continue;  // an exact duplicate would share the hint of its twin
        t.insert(x.key, x.payload);
        all.insert(x);
      }
    } else if (op == 3) {  // a batch
      std::vector<Entry> b;
      for (int i = 0; i < 300; ++i) {
        const Entry x = rand_entry();
        if (all.count(x) || std::find(b.begin(), b.end(), x) != b.end()) continue;
        b.push_back(x);
      }
      all.insert(b.begin(), b.end());
      t.insert_batch(b.data(), b.size());
    } else if (op == 4) {  // erase marked entries (VACUUM), then insert some of them again
      std::vector<Entry> gone(marked.begin(), marked.end());
      std::vector<Entry> again;
      for (const Entry& x : gone) {
        ASSERT_TRUE(t.erase(x.key, x.payload));
        all.erase(all.find(x));
        if (rng() % 2) again.push_back(x);
      }
      marked.clear();
      // the same (key, payload) back, as a new row on a reused TID: it must be returned
      for (const Entry& x : again) {
        t.insert(x.key, x.payload);
        all.insert(x);
      }
    } else {  // erase a run of unmarked entries
      std::vector<Entry> gone;
      for (const Entry& x : all)
        if (!marked.count(x) && rng() % 10 == 0) gone.push_back(x);
      std::size_t removed = t.erase_batch(gone.data(), gone.size());
      ASSERT_EQ(removed, gone.size());
      for (const Entry& x : gone) all.erase(all.find(x));
    }
    expect_tree(t, all, marked, "step " + std::to_string(step) + " op " + std::to_string(op));
    if (HasFatalFailure()) return;
  }
}
