// Allocation tests: every node byte goes through the tree's allocator and comes back, and
// an allocator that runs out (std::bad_alloc) leaves a valid tree that lost nothing.
#include <gtest/gtest.h>

#include <map>
#include <new>
#include <set>

#include "test_util.hpp"

namespace {

struct Arena {
  std::size_t live_allocs = 0, live_bytes = 0, total_allocs = 0;
  std::size_t fail_after = SIZE_MAX;  // allocations allowed before the next one throws
  std::map<void*, std::size_t> blocks;
};

// Stateful, not default-constructible, like the shared-memory arena allocator.
template <class T>
struct ArenaAlloc {
  using value_type = T;
  Arena* arena;
  explicit ArenaAlloc(Arena* a) noexcept : arena(a) {}
  template <class U>
  ArenaAlloc(const ArenaAlloc<U>& o) noexcept : arena(o.arena) {}
  T* allocate(std::size_t n) {
    if (arena->fail_after == 0) throw std::bad_alloc();
    if (arena->fail_after != SIZE_MAX) --arena->fail_after;
    T* p = static_cast<T*>(::operator new(n * sizeof(T)));
    arena->live_allocs++;
    arena->total_allocs++;
    arena->live_bytes += n * sizeof(T);
    arena->blocks[p] = n * sizeof(T);
    return p;
  }
  void deallocate(T* p, std::size_t n) noexcept {
    auto it = arena->blocks.find(p);
    if (it == arena->blocks.end() || it->second != n * sizeof(T)) std::abort();  // foreign or mis-sized free
    arena->blocks.erase(it);
    arena->live_allocs--;
    arena->live_bytes -= n * sizeof(T);
    ::operator delete(p);
  }
  template <class U>
  bool operator==(const ArenaAlloc<U>& o) const noexcept { return arena == o.arena; }
};

using ATree = alex::Alex<int64_t, uint64_t, ArenaAlloc<std::byte>>;
using AEntry = ATree::Entry;
static_assert(!std::is_default_constructible_v<ArenaAlloc<std::byte>>);

template <class T>
std::multiset<std::pair<decltype(T::Entry::key), uint64_t>> contents(const T& t) {
  std::multiset<std::pair<decltype(T::Entry::key), uint64_t>> s;
  for (auto it = t.begin(); it != t.end(); ++it) s.insert({it.key(), it.payload()});
  return s;
}

}  // namespace

TEST(AlexAlloc, AllMemoryThroughAllocatorAndFreed) {
  Arena arena;
  {
    ATree t(alex::Params{}, ArenaAlloc<std::byte>(&arena));
    EXPECT_EQ(arena.live_allocs, 0u);
    std::mt19937_64 rng(1);
    for (int i = 0; i < 300000; ++i) t.insert(static_cast<int64_t>(rng() % 1000000), i);
    EXPECT_EQ(t.memory_bytes(), arena.live_bytes);
    std::vector<AEntry> b;
    for (int i = 0; i < 100000; ++i) b.push_back(AEntry{static_cast<int64_t>(rng()), 1});
    t.insert_batch(b.data(), b.size());
    EXPECT_EQ(t.memory_bytes(), arena.live_bytes);
    EXPECT_EQ(t.erase_batch(b.data(), b.size()), b.size());
    EXPECT_EQ(t.memory_bytes(), arena.live_bytes);
    for (int i = 0; i < 100000; ++i) t.insert(INT64_MAX - i, 0);  // appends, root growth
    EXPECT_EQ(t.memory_bytes(), arena.live_bytes);
    EXPECT_TRUE(t.validate());
    t.clear();
    EXPECT_EQ(t.memory_bytes(), 0u);
    EXPECT_EQ(arena.live_allocs, 0u);
    std::vector<AEntry> sorted;
    for (int i = 0; i < 100000; ++i) sorted.push_back(AEntry{i, 0});
    t.bulk_load(sorted.data(), sorted.size());
    EXPECT_EQ(t.memory_bytes(), arena.live_bytes);
    t.bulk_load(sorted.data(), 1000);  // replaces contents, frees the old tree
    EXPECT_EQ(t.memory_bytes(), arena.live_bytes);
    EXPECT_GT(arena.live_allocs, 0u);
  }
  EXPECT_EQ(arena.live_allocs, 0u);
  EXPECT_EQ(arena.live_bytes, 0u);
  EXPECT_GT(arena.total_allocs, 0u);
}

TEST(AlexAlloc, AllMemoryThroughAllocatorAndFreedKey128) {
  using KTree = alex::Alex<alex::Key128, uint64_t, ArenaAlloc<std::byte>>;
  using KEntry = KTree::Entry;
  Arena arena;
  {
    alex::Params p;
    p.max_data_node_slots = 256;
    KTree t(p, ArenaAlloc<std::byte>(&arena));
    std::mt19937_64 rng(2);
    for (int i = 0; i < 100000; ++i) t.insert(alex::Key128{rng() % 4, rng()}, i);  // nodes past their limit
    EXPECT_EQ(t.memory_bytes(), arena.live_bytes);
    std::vector<KEntry> b;
    for (int i = 0; i < 100000; ++i) b.push_back(KEntry{alex::Key128{rng(), rng()}, 1});
    t.insert_batch(b.data(), b.size());
    EXPECT_EQ(t.memory_bytes(), arena.live_bytes);
    EXPECT_EQ(t.erase_batch(b.data(), b.size()), b.size());
    EXPECT_EQ(t.memory_bytes(), arena.live_bytes);
    for (int i = 0; i < 50000; ++i) t.insert(alex::Key128{~uint64_t{0} - i / 16, ~uint64_t{0} - i}, 0);
    EXPECT_EQ(t.memory_bytes(), arena.live_bytes);
    std::string why;
    EXPECT_TRUE(t.validate(&why)) << why;
    // iteration order by the full key (reference order written out in test_util.hpp)
    std::size_t count = 0;
    for (auto it = t.begin(), prev = t.end(); it != t.end(); prev = it, ++it, ++count)
      if (prev != t.end()) {
        ASSERT_FALSE(alex_test::RefLess()(*it, *prev)) << "out of order at " << count;
      }
    EXPECT_EQ(count, t.size());
    std::vector<KEntry> sorted;
    for (uint64_t i = 0; i < 100000; ++i) sorted.push_back(KEntry{alex::Key128{i / 1000, i}, 0});
    t.bulk_load(sorted.data(), sorted.size());
    EXPECT_EQ(t.memory_bytes(), arena.live_bytes);
    EXPECT_TRUE(t.validate(&why)) << why;
  }
  EXPECT_EQ(arena.live_allocs, 0u);
  EXPECT_EQ(arena.live_bytes, 0u);
}

// Random operations against an allocator that fails after a random number of further
// allocations; after every failure the tree must validate, keep every entry it had, hold
// only entries from before plus part of the failing batch, and account its memory exactly.
// rnd_key(rng, round) draws the keys of a round.
template <class K, class KeyFn>
void bad_alloc_rounds(uint64_t seed, KeyFn rnd_key_of) {
  using ATree = alex::Alex<K, uint64_t, ArenaAlloc<std::byte>>;
  using AEntry = typename ATree::Entry;
  std::mt19937_64 rng(seed);
  std::size_t failures = 0;
#if defined(__SANITIZE_ADDRESS__)
  const int rounds = 10;  // ASan makes the reference bookkeeping slow; keep the suite in minutes
#else
  const int rounds = 40;
#endif
  for (int round = 0; round < rounds; ++round) {
    Arena arena;
    {
      alex::Params p;
      p.max_data_node_slots = 64u << (rng() % 6);  // small nodes: many splits
      ATree t(p, ArenaAlloc<std::byte>(&arena));
      std::multiset<std::pair<K, uint64_t>> ref;
      auto rnd_key = [&]() -> K { return rnd_key_of(rng, round); };
      for (int op = 0; op < 400; ++op) {
        arena.fail_after = rng() % 40;
        const int kind = static_cast<int>(rng() % 5);
        std::vector<AEntry> batch;
        try {
          if (kind == 0) {
            AEntry e{rnd_key(), rng() % 4};
            batch.push_back(e);
            t.insert(e.key, e.payload);
          } else if (kind == 1 || kind == 2) {
            const std::size_t n = 1 + rng() % 2000;
            for (std::size_t i = 0; i < n; ++i) batch.push_back(AEntry{rnd_key(), rng() % 4});
            std::vector<AEntry> copy = batch;
            t.insert_batch(copy.data(), copy.size());
          } else if (kind == 3) {
            std::vector<AEntry> all;
            for (auto& [k, v] : ref) all.push_back(AEntry{k, v});
            for (int i = 0; i < 500; ++i) all.push_back(AEntry{rnd_key(), rng() % 4});
            std::sort(all.begin(), all.end());
            t.bulk_load(all.data(), all.size());
            ref.clear();
            for (auto& e : all) ref.insert({e.key, e.payload});
          } else {
            std::vector<AEntry> er;
            for (auto& [k, v] : ref)
              if (rng() % 4 == 0) er.push_back(AEntry{k, v});
            const std::size_t n = t.erase_batch(er.data(), er.size());
            EXPECT_EQ(n, er.size());
            for (auto& e : er) ref.erase(ref.find({e.key, e.payload}));
          }
          for (auto& e : batch) ref.insert({e.key, e.payload});
        } catch (const std::bad_alloc&) {
          ++failures;
          arena.fail_after = SIZE_MAX;
          std::string why;
          ASSERT_TRUE(t.validate(&why)) << "seed " << seed << " round " << round << ": " << why;
          auto now = contents(t);
          // everything from before is still there
          std::multiset<std::pair<K, uint64_t>> extra = now;
          for (auto& x : ref) {
            auto it = extra.find(x);
            ASSERT_TRUE(it != extra.end()) << "lost an entry after bad_alloc, seed " << seed;
            extra.erase(it);
          }
          // anything new came from the failing batch
          std::multiset<std::pair<K, uint64_t>> allowed;
          for (auto& e : batch) allowed.insert({e.key, e.payload});
          for (auto& x : extra) {
            auto it = allowed.find(x);
            ASSERT_TRUE(it != allowed.end()) << "unexpected entry after bad_alloc";
            allowed.erase(it);
          }
          ref = now;
          EXPECT_EQ(t.size(), ref.size());
        }
        arena.fail_after = SIZE_MAX;
        ASSERT_EQ(t.memory_bytes(), arena.live_bytes);
      }
      std::string why;
      ASSERT_TRUE(t.validate(&why)) << why;
      ASSERT_EQ(contents(t), ref);
    }
    ASSERT_EQ(arena.live_allocs, 0u) << "leak after round " << round;
  }
  EXPECT_GT(failures, static_cast<std::size_t>(rounds) * 2);
}

TEST(AlexAlloc, BadAllocLeavesTreeValid) {
  bad_alloc_rounds<int64_t>(4242, [](std::mt19937_64& rng, int round) -> int64_t {
    const int64_t domain = (round % 3 == 0) ? 50 : (round % 3 == 1) ? 100000 : INT64_MAX;
    if (domain == INT64_MAX) return static_cast<int64_t>(rng());
    return static_cast<int64_t>(rng() % static_cast<uint64_t>(domain));
  });
}

// The same with 128-bit keys: few leading halves (so data nodes that cannot split grow
// past their size limit), UUIDv7-like keys, and uniform ones.
TEST(AlexAlloc, BadAllocLeavesTreeValidKey128) {
  uint64_t ms = 0x018f'0000'0000ull;
  bad_alloc_rounds<alex::Key128>(4343, [&ms](std::mt19937_64& rng, int round) -> alex::Key128 {
    switch (round % 3) {
      case 0: return alex::Key128{rng() % 3, rng() % 64};
      case 1:
        if (rng() % 8 == 0) ++ms;
        return alex_test::v7_key(ms, rng);
      default: return alex::Key128{rng(), rng()};
    }
  });
}

TEST(AlexAlloc, FailedShrinkIsCounted) {
  // Erasing most of a node shrinks it; when that re-layout cannot allocate, the erase still
  // succeeds and the failure shows in the events instead of vanishing.
  Arena arena;
  {
    ATree t(alex::Params{}, ArenaAlloc<std::byte>(&arena));
    std::vector<AEntry> all;
    for (int64_t i = 0; i < 20000; ++i) all.push_back(AEntry{i, 1});
    t.bulk_load(all.data(), all.size());
    std::vector<AEntry> gone(all.begin(), all.end() - 100);
    arena.fail_after = 0;
    EXPECT_EQ(t.erase_batch(gone.data(), gone.size()), gone.size());
    arena.fail_after = SIZE_MAX;
    EXPECT_GT(t.stats().events.failed_shrinks, 0u);
    EXPECT_EQ(t.size(), 100u);
    std::string why;
    EXPECT_TRUE(t.validate(&why)) << why;
    EXPECT_EQ(t.memory_bytes(), arena.live_bytes);
  }
  EXPECT_EQ(arena.live_allocs, 0u);
}

// A bulk load into a fresh tree that runs out part way (a CREATE INDEX too large for the
// arena) frees everything it built, whichever of its allocations fails.
TEST(AlexAlloc, FailedBulkLoadIntoFreshTreeFreesAll) {
  std::vector<AEntry> sorted;
  for (int64_t i = 0; i < 300000; ++i) sorted.push_back(AEntry{i * 7, static_cast<uint64_t>(i)});
  std::size_t allocs = 0;
  {
    Arena arena;
    ATree t(alex::Params{}, ArenaAlloc<std::byte>(&arena));
    t.bulk_load(sorted.data(), sorted.size());
    allocs = arena.total_allocs;
  }
  ASSERT_GT(allocs, 8u);
  for (std::size_t fail_after : {std::size_t{0}, std::size_t{1}, std::size_t{2}, allocs / 4, allocs / 2, allocs - 1}) {
    Arena arena;
    {
      ATree t(alex::Params{}, ArenaAlloc<std::byte>(&arena));
      arena.fail_after = fail_after;
      EXPECT_THROW(t.bulk_load(sorted.data(), sorted.size()), std::bad_alloc) << "fail_after " << fail_after;
      arena.fail_after = SIZE_MAX;
      EXPECT_EQ(t.memory_bytes(), arena.live_bytes) << "fail_after " << fail_after;
      EXPECT_EQ(t.size(), 0u);
    }
    EXPECT_EQ(arena.live_allocs, 0u) << "fail_after " << fail_after;
  }
}
