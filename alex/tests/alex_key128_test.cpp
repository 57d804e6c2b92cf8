// Unit tests for 128-bit keys (alex::Key128, for PostgreSQL's uuid): the key type itself,
// its KeyTraits (routing on the leading 64 bits only), and trees whose keys share their
// leading 64 bits, which must share a data node and be told apart by the full key.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <limits>
#include <set>

#include "alex/batch_sort.hpp"
#include "test_util.hpp"

using namespace alex_test;

namespace {

using T128 = alex::detail::KeyTraits<K128>;

void expect_valid(const Tree128& t) {
  std::string why;
  ASSERT_TRUE(t.validate(&why)) << why;
}

Entry128 E(uint64_t hi, uint64_t lo, uint64_t p) { return Entry128{K128{hi, lo}, p}; }

// Checks the tree against a sorted reference: size, full scan forwards and backwards,
// lower_bound / upper_bound / lower_bound(k, p) for a sample of present keys and of keys
// next to them (same hi, lo +- 1; lo 0 and ~0 of the same hi).
void expect_matches(const Tree128& t, std::vector<Entry128> ref) {
  std::sort(ref.begin(), ref.end(), RefLess());
  expect_valid(t);
  ASSERT_EQ(t.size(), ref.size());
  auto got = dump(t);
  ASSERT_EQ(got.size(), ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_TRUE(got[i] == ref[i]) << "at " << i;
  auto it = t.end();
  for (std::size_t i = ref.size(); i-- > 0;) {
    --it;
    ASSERT_TRUE(*it == ref[i]) << "backwards at " << i;
  }
  auto key_less = [](const Entry128& a, const K128& k) { return ref_key_less(a.key, k); };
  auto key_greater = [](const K128& k, const Entry128& a) { return ref_key_less(k, a.key); };
  std::mt19937_64 rng(7);
  for (int q = 0; q < 3000 && !ref.empty(); ++q) {
    const Entry128& e = ref[rng() % ref.size()];
    const K128 probes[] = {e.key, K128{e.key.hi, e.key.lo + 1}, K128{e.key.hi, e.key.lo - 1}, K128{e.key.hi, 0},
                           K128{e.key.hi, ~uint64_t{0}}};
    for (const K128& k : probes) {
      auto lb = t.lower_bound(k);
      auto want = std::lower_bound(ref.begin(), ref.end(), k, key_less);
      if (want == ref.end()) {
        ASSERT_TRUE(lb == t.end());
      } else {
        ASSERT_TRUE(lb != t.end());
        ASSERT_TRUE(*lb == *want) << "lower_bound";
      }
      auto ub = t.upper_bound(k);
      auto want_ub = std::upper_bound(ref.begin(), ref.end(), k, key_greater);
      if (want_ub == ref.end()) {
        ASSERT_TRUE(ub == t.end());
      } else {
        ASSERT_TRUE(ub != t.end());
        ASSERT_TRUE(*ub == *want_ub) << "upper_bound";
      }
    }
    auto it2 = t.lower_bound(e.key, e.payload);
    ASSERT_TRUE(it2 != t.end());
    ASSERT_TRUE(*it2 == e);
  }
}

// The 16 bytes of a uuid whose halves are hi and lo (big-endian), as PostgreSQL stores it.
std::array<unsigned char, 16> uuid_bytes(const K128& k) {
  std::array<unsigned char, 16> b{};
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<unsigned char>(k.hi >> (56 - 8 * i));
    b[8 + i] = static_cast<unsigned char>(k.lo >> (56 - 8 * i));
  }
  return b;
}

}  // namespace

// ------------------------------------------------------------------ the key type

TEST(Key128Type, OrderIsLexicographicUnsigned) {
  const uint64_t top = uint64_t{1} << 63, all = ~uint64_t{0};
  EXPECT_TRUE((K128{0, all} < K128{1, 0}));
  EXPECT_TRUE((K128{5, 1} < K128{5, 2}));
  EXPECT_FALSE((K128{5, 2} < K128{5, 2}));
  EXPECT_TRUE((K128{top - 1, all} < K128{top, 0}));  // unsigned: the top bit is not a sign
  EXPECT_TRUE((K128{7, top - 1} < K128{7, top}));
  EXPECT_TRUE((K128{all, all - 1} < K128{all, all}));
  EXPECT_TRUE((K128{3, 4} == K128{3, 4}));
  EXPECT_TRUE((K128{3, 4} != K128{3, 5}));
  EXPECT_TRUE((K128{3, 4} != K128{4, 4}));
  EXPECT_TRUE((K128{3, 4} <= K128{3, 4}));
  EXPECT_TRUE((K128{3, 4} >= K128{3, 4}));
  EXPECT_TRUE((K128{3, 5} > K128{3, 4}));
  EXPECT_TRUE((K128{4, 0} > K128{3, all}));
  EXPECT_TRUE((K128{1, 2} <=> K128{1, 3}) == std::strong_ordering::less);
  EXPECT_TRUE((K128{2, 0} <=> K128{1, 3}) == std::strong_ordering::greater);
  EXPECT_TRUE((K128{1, 3} <=> K128{1, 3}) == std::strong_ordering::equal);
  // The order is a uuid's bytewise order (memcmp of the 16 big-endian bytes), and all
  // operators agree with it.
  std::mt19937_64 rng(1);
  std::vector<K128> keys;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t hi = (i % 3 == 0) ? rng() % 4 : rng();  // many shared leading halves too
    keys.push_back(K128{hi, (i % 5 == 0) ? rng() % 3 : rng()});
  }
  for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
    const K128 a = keys[i], b = keys[i + 1];
    const int c = std::memcmp(uuid_bytes(a).data(), uuid_bytes(b).data(), 16);
    ASSERT_EQ(a < b, c < 0);
    ASSERT_EQ(a > b, c > 0);
    ASSERT_EQ(a == b, c == 0);
    ASSERT_EQ(a <= b, c <= 0);
    ASSERT_EQ(a >= b, c >= 0);
    ASSERT_EQ((a <=> b) < 0, c < 0);
  }
}

TEST(Key128Type, LayoutAndNumericLimits) {
  static_assert(sizeof(K128) == 16 && alignof(K128) == 8);
  static_assert(std::is_trivially_copyable_v<K128>);
  static_assert(sizeof(Entry128) == 24 && std::is_trivially_copyable_v<Entry128>);
  using L = std::numeric_limits<K128>;
  static_assert(L::is_specialized);
  static_assert(!L::is_signed);
  static_assert(L::min() == K128{0, 0});
  static_assert(L::lowest() == K128{0, 0});
  static_assert(L::max() == K128{~uint64_t{0}, ~uint64_t{0}});
  EXPECT_TRUE((L::min() < K128{0, 1}));
  EXPECT_TRUE((K128{~uint64_t{0}, ~uint64_t{0} - 1} < L::max()));
  // The gaps after a data node's last entry hold (max key, max payload).
  EXPECT_TRUE((alex::detail::kEndSentinel<K128, uint64_t>.key == L::max()));
}

TEST(Key128Type, TraitsRouteOnTheLeadingHalf) {
  static_assert(!T128::injective);
  static_assert(alex::detail::KeyTraits<int64_t>::injective);
  EXPECT_EQ(T128::to_u64(K128{0x1234, 0x5678}), 0x1234u);
  EXPECT_EQ(T128::to_u64(K128{~uint64_t{0}, 0}), ~uint64_t{0});
  EXPECT_TRUE(T128::from_u64(42) == (K128{42, 0}));
  EXPECT_TRUE(T128::same_u64(K128{9, 1}, K128{9, 2}));
  EXPECT_FALSE(T128::same_u64(K128{9, 1}, K128{10, 1}));
  // Monotone: a < b implies to_u64(a) <= to_u64(b); from_u64(u) is the least key of image u.
  auto keys = few_hi_keys(1000, 3, 5);
  std::sort(keys.begin(), keys.end(), [](const K128& a, const K128& b) { return ref_key_less(a, b); });
  for (std::size_t i = 1; i < keys.size(); ++i) {
    ASSERT_LE(T128::to_u64(keys[i - 1]), T128::to_u64(keys[i]));
    ASSERT_FALSE(keys[i] < T128::from_u64(T128::to_u64(keys[i])));
  }
}

// ------------------------------------------------------------------ batch sort

// Large batches are radix-sorted on the leading half only; each run of equal leading
// halves must then be sorted by the full (key, payload).
TEST(Key128Sort, RunsOfEqualLeadingHalvesSortedByFullKey) {
  std::mt19937_64 rng(5);
  for (std::size_t n : {std::size_t{100}, std::size_t{1023}, std::size_t{1024}, std::size_t{5000}, std::size_t{70000}}) {
    std::vector<Entry128> v;
    for (std::size_t i = 0; i < n; ++i) {
      const uint64_t hi = (i % 4 == 0) ? rng() : 1000 + rng() % 3;  // mostly three leading halves
      v.push_back(E(hi, (i % 7 == 0) ? rng() % 4 : rng(), rng() % 8));  // with exact duplicate keys
    }
    std::vector<Entry128> want = v;
    std::sort(want.begin(), want.end(), RefLess());
    alex::detail::sort_entries(v.data(), v.size());
    for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(v[i] == want[i]) << "n " << n << " at " << i;
  }
  // int64: unchanged (runs of one key by payload)
  std::vector<Entry> w;
  for (int i = 0; i < 5000; ++i) w.push_back(Entry{static_cast<int64_t>(rng() % 50) - 25, rng() % 100});
  std::vector<Entry> want = w;
  std::sort(want.begin(), want.end());
  alex::detail::sort_entries(w.data(), w.size());
  for (std::size_t i = 0; i < w.size(); ++i) ASSERT_TRUE(w[i] == want[i]);
}

// ------------------------------------------------------------------ layout

// A data node holding one key image (keys sharing their leading half) is laid out like a
// run of duplicates: spread at the average spacing, not packed, so that inserts into the
// run find gaps nearby. The int64 run of one repeated key is the control.
TEST(Key128Layout, RunOfOneImageIsSpread) {
  auto longest_occupied_run = [](const auto* d) {
    std::size_t best = 0, run = 0;
    for (std::size_t s = 0; s < d->cap; ++s) {
      run = d->occupied(s) ? run + 1 : 0;
      best = std::max(best, run);
    }
    return best;
  };
  alex::detail::Sizing sz;
  sz.init_density = 0.75;
  const std::size_t m = 3000, cap = sz.cap_for(m);
  {
    alex::detail::NodeStore<K128, uint64_t, std::allocator<std::byte>> store{std::allocator<std::byte>()};
    auto keys = few_hi_keys(m, 9, 1);  // one leading half, distinct low halves
    auto e = with_payloads(keys);
    std::sort(e.begin(), e.end(), RefLess());
    auto* d = store.new_leaf(e.data(), m, cap, cap);
    EXPECT_LE(longest_occupied_run(d), 4u);
    EXPECT_GE(d->last(), m + m / 4);  // reaches well past m slots
    // and it is searchable
    for (std::size_t i = 0; i < m; i += 37) {
      const std::size_t s = d->lower_pair(e[i].key, e[i].payload);
      ASSERT_NE(s, d->npos);
      ASSERT_TRUE(d->entry(s) == e[i]);
    }
    store.free_leaf(d);
  }
  {
    alex::detail::NodeStore<int64_t, uint64_t, std::allocator<std::byte>> store{std::allocator<std::byte>()};
    std::vector<Entry> e;
    for (std::size_t i = 0; i < m; ++i) e.push_back(Entry{77, i});
    auto* d = store.new_leaf(e.data(), m, cap, cap);
    EXPECT_LE(longest_occupied_run(d), 4u);
    store.free_leaf(d);
  }
}

// ------------------------------------------------------------------ trees

TEST(Key128Tree, EmptyAndExtremeKeys) {
  Tree128 t;
  EXPECT_TRUE(t.lower_bound(K128{1, 1}) == t.end());
  EXPECT_FALSE(t.erase(K128{1, 1}, 0));
  const uint64_t all = ~uint64_t{0}, top = uint64_t{1} << 63;
  std::vector<Entry128> ref;
  for (uint64_t hi : {uint64_t{0}, uint64_t{1}, top - 1, top, all - 1, all})
    for (uint64_t lo : {uint64_t{0}, uint64_t{1}, top, all})
      for (uint64_t p : {uint64_t{0}, all}) {
        t.insert(K128{hi, lo}, p);
        ref.push_back(E(hi, lo, p));
      }
  expect_matches(t, ref);
  EXPECT_TRUE(t.begin().key() == (K128{0, 0}));
  auto last = t.end();
  --last;
  EXPECT_TRUE(last.key() == (K128{all, all}));
  EXPECT_EQ(last.payload(), all);
  Entry128 out[64];
  EXPECT_EQ(t.copy_range(K128{0, 0}, K128{all, all}, nullptr, out, 64), 48u);
  EXPECT_EQ(t.copy_range(K128{all, all}, K128{all, all}, nullptr, out, 64), 2u);
  EXPECT_EQ(t.copy_range(K128{all, 1}, K128{all, top}, nullptr, out, 64), 4u);
  EXPECT_EQ(t.copy_range_reverse(K128{top - 1, 1}, K128{top, 0}, nullptr, out, 64), 8u);
  EXPECT_TRUE(out[0].key == (K128{top, 0}));
  EXPECT_EQ(out[0].payload, all);
  EXPECT_TRUE(out[7].key == (K128{top - 1, 1}));
  EXPECT_EQ(out[7].payload, 0u);
  // (max key, max payload) is a real entry, not the gap sentinel
  EXPECT_TRUE(t.erase(K128{all, all}, all));
  EXPECT_FALSE(t.erase(K128{all, all}, all));
  ref.erase(std::find(ref.begin(), ref.end(), E(all, all, all)));
  expect_matches(t, ref);
}

// Keys sharing their leading half can never be separated by routing: with tiny data nodes
// they stay in one node that grows past max_data_node_slots (like int64 duplicates), and
// keys with other leading halves still split off around it.
TEST(Key128Tree, SharedLeadingHalfStaysInOneNode) {
  alex::Params p;
  p.max_data_node_slots = 64;
  // The 10,000 other keys below must run the shared node full (so that it rebuilds and
  // splits them off): that holds at these densities, not at 0.6 / 0.85, whose node still
  // has room for them.
  p.min_density = 0.6;
  p.init_density = 0.75;
  const uint64_t H = 0x0123'4567'89ab'cdefull;
  std::mt19937_64 rng(17);
  std::vector<Entry128> ref;
  Tree128 t(p);
  for (int i = 0; i < 20000; ++i) {
    const Entry128 e = E(H, rng(), rng() % 4);
    t.insert(e.key, e.payload);
    ref.push_back(e);
  }
  expect_matches(t, ref);
  auto st = t.stats();
  EXPECT_EQ(st.data_nodes, 1u);
  EXPECT_GT(st.events.expansions, 0u);
  EXPECT_EQ(st.events.downward_splits + st.events.sideways_splits, 0u);  // never tried to split it
  // A large batch into the same node (radix sort, then the merge of a rebuild).
  std::vector<Entry128> batch;
  for (int i = 0; i < 30000; ++i) batch.push_back(E(H, rng(), rng() % 4));
  ref.insert(ref.end(), batch.begin(), batch.end());
  t.insert_batch(batch.data(), batch.size());
  expect_matches(t, ref);
  EXPECT_EQ(t.stats().data_nodes, 1u);
  EXPECT_EQ(t.stats().events.downward_splits + t.stats().events.sideways_splits, 0u);
  // Neighbouring leading halves split off into their own nodes.
  for (int i = 0; i < 5000; ++i) {
    const Entry128 e = E((i % 2) ? H - 1 : H + 1, rng(), i);
    t.insert(e.key, e.payload);
    ref.push_back(e);
  }
  for (int i = 0; i < 5000; ++i) {
    const Entry128 e = E(rng(), rng(), i);
    t.insert(e.key, e.payload);
    ref.push_back(e);
  }
  expect_matches(t, ref);
  EXPECT_GT(t.stats().data_nodes, 3u);
  // Bulk load of the same shape builds one node for the shared half too.
  std::sort(ref.begin(), ref.end(), RefLess());
  t.bulk_load(ref.data(), ref.size());
  expect_matches(t, ref);
  // Erase most of the shared half (batch and single), then the node shrinks.
  std::vector<Entry128> gone, keep;
  for (std::size_t i = 0; i < ref.size(); ++i) (ref[i].key.hi == H && i % 10 != 0 ? gone : keep).push_back(ref[i]);
  std::vector<Entry128> gone_batch(gone.begin(), gone.begin() + gone.size() / 2);
  EXPECT_EQ(t.erase_batch(gone_batch.data(), gone_batch.size()), gone_batch.size());
  for (std::size_t i = gone.size() / 2; i < gone.size(); ++i) ASSERT_TRUE(t.erase(gone[i].key, gone[i].payload));
  expect_matches(t, keep);
  EXPECT_GT(t.stats().events.shrinks, 0u);
}

// The same through bulk load only: one leading half, far more keys than a node may hold.
TEST(Key128Tree, BulkLoadOfOneLeadingHalf) {
  for (std::size_t slots : {std::size_t{64}, std::size_t{256}, std::size_t{65536}}) {
    alex::Params p;
    p.max_data_node_slots = slots;
    Tree128 t(p);
    auto e = with_payloads(few_hi_keys(200000, 4, 1));
    std::sort(e.begin(), e.end(), RefLess());
    t.bulk_load(e.data(), e.size());
    expect_matches(t, e);
    EXPECT_EQ(t.stats().data_nodes, 1u);
    // two leading halves: a model node over them (validate checks that each half is in
    // one data node)
    auto e2 = with_payloads(few_hi_keys(200000, 4, 2));
    std::sort(e2.begin(), e2.end(), RefLess());
    t.bulk_load(e2.data(), e2.size());
    expect_matches(t, e2);
    EXPECT_GE(t.stats().depth, 2u);
  }
}

// Distributions through every write path (single inserts, bulk load + batches, erases).
struct Dist128 {
  const char* name;
  std::vector<K128> (*gen)(std::size_t, uint64_t);
};

class Key128Distributions : public ::testing::TestWithParam<Dist128> {};

TEST_P(Key128Distributions, InsertBulkBatchErase) {
  const auto keys = GetParam().gen(300000, 99);
  auto entries = with_payloads(keys);
  for (std::size_t slots : {std::size_t{256}, std::size_t{65536}}) {
    alex::Params p;
    p.max_data_node_slots = slots;
    {
      Tree128 t(p);
      for (auto& e : entries) t.insert(e.key, e.payload);
      expect_matches(t, entries);
    }
    Tree128 t(p);
    std::vector<Entry128> first(entries.begin(), entries.begin() + entries.size() / 2);
    std::vector<Entry128> rest(entries.begin() + entries.size() / 2, entries.end());
    std::sort(first.begin(), first.end(), RefLess());
    t.bulk_load(first.data(), first.size());
    expect_matches(t, first);
    for (std::size_t i = 0; i < rest.size(); i += 4096) {
      std::vector<Entry128> b(rest.begin() + i, rest.begin() + std::min(rest.size(), i + 4096));
      t.insert_batch(b.data(), b.size());
    }
    expect_matches(t, entries);
    std::vector<Entry128> keep, gone;
    for (std::size_t i = 0; i < entries.size(); ++i) (i % 4 == 0 ? gone : keep).push_back(entries[i]);
    for (std::size_t i = 0; i < gone.size(); i += 2) ASSERT_TRUE(t.erase(gone[i].key, gone[i].payload));
    std::vector<Entry128> gb;
    for (std::size_t i = 1; i < gone.size(); i += 2) gb.push_back(gone[i]);
    EXPECT_EQ(t.erase_batch(gb.data(), gb.size()), gb.size());
    expect_matches(t, keep);
    EXPECT_LE(t.stats().depth, 6u) << GetParam().name;
  }
}

std::vector<K128> few_hi_16(std::size_t n, uint64_t seed) { return few_hi_keys(n, seed, 16); }
std::vector<K128> exact_dups(std::size_t n, uint64_t seed) {  // 1000 distinct keys, ~300 copies each
  auto base = uniform128_keys(1000, seed);
  std::mt19937_64 rng(seed + 1);
  std::vector<K128> v(n);
  for (auto& k : v) k = base[rng() % base.size()];
  return v;
}

INSTANTIATE_TEST_SUITE_P(Keys, Key128Distributions,
                         ::testing::Values(Dist128{"uniform", uniform128_keys}, Dist128{"v7", v7_keys},
                                           Dist128{"few_hi", few_hi_16}, Dist128{"exact_dups", exact_dups}),
                         [](const auto& info) { return std::string(info.param.name); });

// Chunked scans whose chunk boundaries fall inside runs of one leading half, forwards and
// backwards, with the tree changing between chunks.
TEST(Key128Range, ChunkedResumeInsideSharedLeadingHalves) {
  alex::Params p;
  p.max_data_node_slots = 256;
  Tree128 t(p);
  std::multiset<std::pair<K128, uint64_t>, RefLess> ref;
  std::mt19937_64 rng(23);
  auto rnd = [&] { return Entry128{K128{100 + rng() % 6, rng() % 3000}, rng() % 4}; };
  for (int i = 0; i < 30000; ++i) {
    const Entry128 e = rnd();
    t.insert(e.key, e.payload);
    ref.insert({e.key, e.payload});
  }
  for (int q = 0; q < 40; ++q) {
    K128 lo{100 + rng() % 6, rng() % 3000}, hi{100 + rng() % 6, rng() % 3000};
    if (ref_key_less(hi, lo)) std::swap(lo, hi);
    const bool reverse = q % 2;
    const std::size_t chunk = 1 + rng() % 80;
    std::vector<Entry128> buf(chunk);
    Entry128 last{};
    const Entry128* resume = nullptr;
    std::vector<Entry128> seen;
    for (int round = 0;; ++round) {
      const std::size_t c = reverse ? t.copy_range_reverse(lo, hi, resume, buf.data(), chunk)
                                    : t.copy_range(lo, hi, resume, buf.data(), chunk);
      // Each chunk equals the reference's answer from the same resume point.
      std::vector<Entry128> want;
      if (!reverse) {
        auto it = resume ? ref.upper_bound({resume->key, resume->payload}) : ref.lower_bound({lo, 0});
        for (; it != ref.end() && !ref_key_less(hi, it->first) && want.size() < chunk; ++it) want.push_back(Entry128{it->first, it->second});
      } else {
        auto it = resume ? ref.lower_bound({resume->key, resume->payload}) : ref.upper_bound({hi, UINT64_MAX});
        while (it != ref.begin() && want.size() < chunk) {
          --it;
          if (ref_key_less(it->first, lo)) break;
          want.push_back(Entry128{it->first, it->second});
        }
      }
      ASSERT_EQ(c, want.size()) << "query " << q;
      for (std::size_t i = 0; i < c; ++i) ASSERT_TRUE(buf[i] == want[i]) << "query " << q << " at " << i;
      seen.insert(seen.end(), buf.begin(), buf.begin() + c);
      if (c < chunk) break;
      last = buf[c - 1];
      resume = &last;
      // change the tree around the resume point (for the first rounds, so the scan ends):
      // erase it, add keys of the same leading half on both sides of it
      if (round >= 30) continue;
      if (rng() % 2 && t.erase(last.key, last.payload)) ref.erase(ref.find({last.key, last.payload}));
      std::vector<Entry128> b;
      for (int j = 0; j < 200; ++j) b.push_back(rng() % 2 ? rnd() : Entry128{K128{last.key.hi, rng() % 3000}, rng() % 4});
      for (auto& e : b) ref.insert({e.key, e.payload});
      t.insert_batch(b.data(), b.size());
    }
    expect_valid(t);
  }
}
