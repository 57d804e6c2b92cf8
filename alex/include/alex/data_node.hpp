// data_node.hpp: leaves. A data node is a gapped array (separate key and payload arrays
// plus one occupancy bit per slot) with a linear model predicting each key's slot.
//
// Gap invariant: every empty slot holds a copy of the next occupied slot's entry, and the
// empty slots after the last entry hold kEndSentinel. The key/payload arrays are therefore
// non-decreasing over all slots, so the exponential search runs over the arrays directly
// and only consults the bitmap once it has a position.
//
// Dead hints: a second bitmap marks occupied slots whose entry a reader found dead to every
// transaction (mark_dead; PostgreSQL's kill_prior_tuple), so that later scans may skip them
// (copy_range's skip_dead) instead of visiting their heap tuples again, as btree skips
// LP_DEAD items. A hint is only ever set on an occupied slot, under the tree's shared lock
// (an atomic OR: readers race only with each other); whoever moves or removes entries
// (under the exclusive lock) clears the hints of the slots involved, so a hint never
// passes to another entry, and a fresh layout has none. Losing a hint costs a heap visit;
// the entries stay until VACUUM removes them.
//
// Nothing here allocates: the slab (keys, payloads, bitmap, dead hints in one allocation)
// is handed in by the tree, which owns the allocator.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

#include "bitmap.hpp"
#include "cost_model.hpp"
#include "entry.hpp"
#include "key_traits.hpp"
#include "linear_model.hpp"
#include "model_node.hpp"

namespace alex::detail {

template <class K, class P>
struct DataNode : NodeBase {
  using E = Entry<K, P>;
  using Traits = KeyTraits<K>;
  static constexpr std::size_t npos = bitmap::npos;

  std::size_t cap = 0;  // slots; a multiple of 64
  std::size_t n = 0;    // occupied slots
  K* keys = nullptr;
  P* pays = nullptr;
  std::uint64_t* bits = nullptr;
  LinearModel model;
  DataNode* prev = nullptr;  // neighbours in key order, for scans
  DataNode* next = nullptr;
  // (After the fields a lookup reads, which stay within the header's first lines.)
  std::uint64_t* dead = nullptr;  // dead hints, one bit per slot (see the top of the file)
  // Insert statistics since the last layout, for the cost model.
  std::uint64_t inserts = 0, shifts = 0, search_iters = 0, appends = 0;
  double expected_cost = 0;
  mutable std::uint8_t any_dead = 0;  // a hint may be set (written under the shared lock: atomic)

  DataNode() noexcept : NodeBase(NodeKind::data) {}

  // ---- slab geometry ----
  static std::size_t slab_words(std::size_t c) noexcept {
    return (c * sizeof(K) + c * sizeof(P) + 2 * (c / 8) + 7) / 8;
  }
  void attach(std::uint64_t* slab, std::size_t c) noexcept {
    cap = c;
    if (c == 0) {
      keys = nullptr;
      pays = nullptr;
      bits = nullptr;
      dead = nullptr;
      return;
    }
    auto* b = reinterpret_cast<unsigned char*>(slab);
    keys = reinterpret_cast<K*>(b);
    pays = reinterpret_cast<P*>(b + c * sizeof(K));
    bits = reinterpret_cast<std::uint64_t*>(b + c * sizeof(K) + c * sizeof(P));
    dead = bits + c / 64;
  }
  std::uint64_t* slab() const noexcept { return reinterpret_cast<std::uint64_t*>(keys); }

  // ---- slot access ----
  bool occupied(std::size_t i) const noexcept { return bitmap::test(bits, i); }
  std::size_t next_occupied(std::size_t i) const noexcept { return bitmap::next_set(bits, cap, i); }
  std::size_t prev_occupied(std::size_t i) const noexcept { return bitmap::prev_set(bits, i); }  // < i
  std::size_t first() const noexcept { return n ? next_occupied(0) : npos; }
  std::size_t last() const noexcept { return n ? prev_occupied(cap) : npos; }
  E entry(std::size_t i) const noexcept { return E{keys[i], pays[i]}; }
  void put(std::size_t i, const E& e) noexcept {
    keys[i] = e.key;
    pays[i] = e.payload;
  }

  std::size_t predict(K k) const noexcept { return model.predict(Traits::to_u64(k), cap); }

  // First slot in [0, cap] for which less(slot) is false; less must be monotone over the
  // slots (true then false). Starts at `hint` and gallops outwards.
  template <class Less>
  std::size_t exp_search(std::size_t hint, Less less, std::uint64_t* iters = nullptr) const noexcept {
    std::size_t lo, hi;  // answer in (lo, hi]: less(lo) true (or lo = -1), less(hi) false (or hi = cap)
    std::size_t it = 0;
    if (less(hint)) {
      std::size_t b = 1;
      lo = hint;
      for (;;) {
        ++it;
        const std::size_t p = hint + b;
        if (p >= cap) {
          hi = cap;
          break;
        }
        if (!less(p)) {
          hi = p;
          break;
        }
        lo = p;
        b <<= 1;
      }
      ++lo;  // now the answer is in [lo, hi]
    } else {
      std::size_t b = 1;
      hi = hint;
      for (;;) {
        ++it;
        if (b > hi) {
          lo = 0;
          break;
        }
        const std::size_t p = hi - b;
        if (less(p)) {
          lo = p + 1;
          break;
        }
        hi = p;
        b <<= 1;
      }
    }
    // binary search for the first false in [lo, hi]; hi is known false (or cap)
    while (lo < hi) {
      ++it;
      const std::size_t mid = lo + (hi - lo) / 2;
      if (less(mid))
        lo = mid + 1;
      else
        hi = mid;
    }
    if (iters) *iters += it;
    return lo;
  }

  // The predicted slot for k, with its occupancy word and payload line requested from
  // memory: a lookup reads them right after the key search, whose misses they overlap.
  std::size_t predict_prefetch(K k) const noexcept {
    const std::size_t p = predict(k);
    __builtin_prefetch(bits + (p >> 6));
    __builtin_prefetch(pays + p);
    return p;
  }

  // Slot-level searches (result may be a gap; the entry is the next occupied slot).
  std::size_t slot_lower_key(K k) const noexcept {
    return exp_search(predict_prefetch(k), [&](std::size_t i) { return keys[i] < k; });
  }
  std::size_t slot_upper_key(K k) const noexcept {
    return exp_search(predict_prefetch(k), [&](std::size_t i) { return !(k < keys[i]); });
  }
  std::size_t slot_lower_pair(K k, P p, std::uint64_t* iters = nullptr) const noexcept {
    return exp_search(
        predict(k),
        [&](std::size_t i) { return keys[i] < k || (!(k < keys[i]) && pays[i] < p); }, iters);
  }
  std::size_t slot_upper_pair(K k, P p) const noexcept {
    return exp_search(predict(k),
                      [&](std::size_t i) { return keys[i] < k || (!(k < keys[i]) && !(p < pays[i])); });
  }

  // The occupied slot of the first pair >= (k, p) (npos when the node has none).
  std::size_t lower_pair(K k, P p) const noexcept { return cap ? next_occupied(slot_lower_pair(k, p)) : npos; }
  // The occupied slot holding exactly (k, p), or npos.
  std::size_t find_pair(K k, P p) const noexcept {
    const std::size_t s = lower_pair(k, p);
    return s != npos && keys[s] == k && pays[s] == p ? s : npos;
  }

  // ---- dead hints (see the top of the file) ----
  // Marks the entry (k, p) dead; false when the node does not hold it. Under the tree's
  // shared lock: only the hint words change, atomically.
  bool mark_dead(K k, P p) const noexcept {
    const std::size_t s = find_pair(k, p);
    if (s == npos) return false;
    std::atomic_ref<std::uint64_t>(dead[s >> 6]).fetch_or(std::uint64_t{1} << (s & 63), std::memory_order_relaxed);
    std::atomic_ref<std::uint8_t>(any_dead).store(1, std::memory_order_relaxed);
    return true;
  }
  bool any_dead_hint() const noexcept {
    return std::atomic_ref<std::uint8_t>(any_dead).load(std::memory_order_relaxed) != 0;
  }
  // The hint word of slots 64w..64w+63 (read while markers may be setting bits).
  std::uint64_t dead_word(std::size_t w) const noexcept {
    return std::atomic_ref<std::uint64_t>(dead[w]).load(std::memory_order_relaxed);
  }
  // Slots lo..hi got other entries, or none: their hints no longer apply.
  void forget_dead(std::size_t lo, std::size_t hi) noexcept {
    if (any_dead) bitmap::reset_range(dead, lo, hi);
  }

  // Insert into a node that has at least one free slot. Returns nothing; updates stats.
  void insert(K k, P p) noexcept {
    const E e{k, p};
    const std::uint64_t u = Traits::to_u64(k);
    const double raw = model.raw(u);
    const std::size_t pred = LinearModel::clamp_slot(raw, cap);
    std::uint64_t iters = 0;
    const std::size_t pos = exp_search(
        pred, [&](std::size_t i) { return keys[i] < k || (!(k < keys[i]) && pays[i] < p); }, &iters);
    ++inserts;
    search_iters += iters;
    // An append: past the node's last entry, or past what its model maps into the node.
    // The second also counts keys that arrive a little out of order at the right edge
    // (time-ordered keys with jitter), so that such a node is seen as append-heavy too and
    // grows with room on its right (instead of shifting a packed run for each key).
    const bool past_model = raw >= double(cap);
    if (pos < cap && !occupied(pos)) {
      // Gap run [pos, j): any slot in it keeps the order; prefer the model's prediction.
      std::size_t j = next_occupied(pos + 1);
      if (j == npos) j = cap;
      if (j == cap || past_model) ++appends;
      std::size_t slot;
      if (pred < pos)
        slot = pos;
      else if (pred < j)
        slot = pred;
      else
        // Past the model at the node's end: appends are packed to the right of the last
        // entry, with one free slot before each, so that a key arriving a little out of
        // order (time-ordered keys with jitter) finds a gap next to it instead of shifting
        // the whole packed run.
        slot = (j == cap && past_model) ? std::min(pos + 1, j - 1) : j - 1;
      for (std::size_t s = pos; s < slot; ++s) put(s, e);
      put(slot, e);
      bitmap::set(bits, slot);
      ++n;
      return;
    }
    if (pos == cap || past_model) ++appends;
    // pos is occupied (or the end): shift towards the nearest gap.
    const std::size_t gr = pos < cap ? bitmap::next_clear(bits, cap, pos) : npos;
    const std::size_t gl = bitmap::prev_clear(bits, pos);
    const bool go_right = gr != npos && (gl == npos || gr - pos <= pos - 1 - gl);
    if (go_right) {
      shift_in_right(pos, gr, e);
      shifts += gr - pos;
      bitmap::set(bits, gr);
      forget_dead(pos, gr);
    } else {
      // gl != npos because the node has a free slot
      shift_in_left(gl, pos - 1, e);
      shifts += pos - 1 - gl;
      bitmap::set(bits, gl);
      forget_dead(gl, pos - 1);
    }
    ++n;
  }

  // insert's shifts move a few slots as a rule (about four on average for random keys), for
  // which two memmove calls cost more than the moves themselves: a short shift carries the
  // displaced entry along from slot to slot instead (a loop that compilers do not turn back
  // into a memmove call), a long one uses memmove.
  static constexpr std::size_t kShortShift = 8;
  // Slots [pos, gap) move one slot right over the free slot gap; e goes to pos.
  void shift_in_right(std::size_t pos, std::size_t gap, const E& e) noexcept {
    if (gap - pos > kShortShift) {
      std::memmove(keys + pos + 1, keys + pos, (gap - pos) * sizeof(K));
      std::memmove(pays + pos + 1, pays + pos, (gap - pos) * sizeof(P));
      put(pos, e);
      return;
    }
    K ck = e.key;
    P cp = e.payload;
    for (std::size_t s = pos; s <= gap; ++s) {
      std::swap(ck, keys[s]);
      std::swap(cp, pays[s]);
    }
  }
  // Slots (gap, to] move one slot left over the free slot gap; e goes to to.
  void shift_in_left(std::size_t gap, std::size_t to, const E& e) noexcept {
    if (to - gap > kShortShift) {
      std::memmove(keys + gap, keys + gap + 1, (to - gap) * sizeof(K));
      std::memmove(pays + gap, pays + gap + 1, (to - gap) * sizeof(P));
      put(to, e);
      return;
    }
    K ck = e.key;
    P cp = e.payload;
    for (std::size_t s = to + 1; s-- > gap;) {
      std::swap(ck, keys[s]);
      std::swap(cp, pays[s]);
    }
  }

  // The entry of the first occupied slot after i, or kEndSentinel: what the gaps before it hold.
  E entry_after(std::size_t i) const noexcept {
    const std::size_t nx = next_occupied(i + 1);
    return nx == npos ? kEndSentinel<K, P> : entry(nx);
  }
  // Remove the entry at occupied slot i and restore the gap invariant to its left.
  void erase_at(std::size_t i) noexcept { erase_at(i, entry_after(i)); }
  // The same, given v, the entry of the first occupied slot after i (kEndSentinel if there
  // is none). The gap run left of i takes v too; returns its first slot, so that the slots
  // [returned, i] are now gaps holding v. An erase of the entry just left of that run (as
  // erase_batch's, which goes right to left) then knows its v without a search, and finds
  // its own gap run short: erasing a run of entries left to right would rewrite the growing
  // gap before each one, quadratic in the run's length.
  std::size_t erase_at(std::size_t i, const E& v) noexcept {
    bitmap::reset(bits, i);
    forget_dead(i, i);
    --n;
    std::size_t s = i;
    for (;; --s) {
      put(s, v);
      if (s == 0 || occupied(s - 1)) break;
    }
    return s;
  }

  // Sources for lay_out: an array of entries, or separate key / payload arrays.
  struct EntrySource {
    const E* e;
    K key(std::size_t i) const noexcept { return e[i].key; }
    P pay(std::size_t i) const noexcept { return e[i].payload; }
  };
  struct ArraySource {
    const K* k;
    const P* p;
    K key(std::size_t i) const noexcept { return k[i]; }
    P pay(std::size_t i) const noexcept { return p[i]; }
  };

  // Lay out m sorted entries into the attached (fresh) slab. The existing keys occupy
  // the first `spread` slots (spread < cap leaves room on the right for appends).
  // Placement is model-based as in ALEX: each key goes to its predicted slot or the first
  // free one after it. Runs of equal keys are spread at the average spacing so that inserts
  // among millions of duplicates still find a gap nearby. "Equal" here means equal key
  // images (to_u64): the model cannot tell such keys apart, so for Key128 a run of keys
  // sharing their leading 64 bits is spread like a run of duplicates.
  template <class Src>
  void lay_out(const Src& src, std::size_t m, std::size_t spread) noexcept {
    n = m;
    inserts = shifts = search_iters = appends = 0;
    expected_cost = 0;
    any_dead = 0;
    if (cap) std::memset(dead, 0, cap / 8);
    if (cap == 0) {
      model = LinearModel{};
      return;
    }
    if (m == 0) {
      std::memset(bits, 0, cap / 8);
      model = LinearModel{};
      std::fill(keys, keys + cap, kEndSentinel<K, P>.key);
      std::fill(pays, pays + cap, kEndSentinel<K, P>.payload);
      return;
    }
    if (spread > cap) spread = cap;
    if (spread < m) spread = m;
    const double step = double(spread) / double(m);
    if (lay_out_distinct(src, m, step)) return;
    std::memset(bits, 0, cap / 8);
    // Train on the rank of the first entry of each key image, so a run of duplicates is
    // predicted at its start (where lower_bound must land).
    {
      std::size_t run_first = 0;
      auto x_of = [&](std::size_t i) { return Traits::to_u64(src.key(i)); };
      auto y_of = [&](std::size_t i) {  // fit_linear visits i = 0, 1, 2, ... in each pass
        if (i == 0)
          run_first = 0;
        else if (!Traits::same_u64(src.key(i), src.key(i - 1)))
          run_first = i;
        return double(run_first) * step;
      };
      model = fit_linear(Traits::to_u64(src.key(0)), m, x_of, y_of);
    }
    // Centred placement as in lay_out_distinct (see there), for dense layouts: the wanted
    // slots go to the scratch first, then become the leftward-push placement in place.
    std::uint32_t* g = centre_scratch(m);
    if (g) {
      double ideal = 0;
      K prev_key{};
      for (std::size_t i = 0; i < m; ++i) {
        const K k = src.key(i);
        ideal = (i > 0 && Traits::same_u64(k, prev_key)) ? ideal + step : model.raw(Traits::to_u64(k));
        prev_key = k;
        g[i] = static_cast<std::uint32_t>(LinearModel::clamp_slot(ideal, cap));
      }
      centre_leftward(g, m, [&](std::size_t i) { return std::size_t{g[i]}; });
    }
    cost::LayoutCostAccumulator acc;
    std::size_t prev = 0;  // slot of the previous entry (valid when i > 0)
    std::size_t fwd = 0;   // rightward-push placement of entry i - 1
    double ideal = 0;
    K prev_key{};
    for (std::size_t i = 0; i < m; ++i) {
      const K k = src.key(i);
      const P p = src.pay(i);
      const double pr = model.raw(Traits::to_u64(k));
      if (i > 0 && Traits::same_u64(k, prev_key))
        ideal += step;
      else
        ideal = pr;
      prev_key = k;
      std::size_t want = LinearModel::clamp_slot(ideal, cap);
      if (g) want = centred_want(want, i, m, g, fwd);
      const std::size_t pos = place(k, p, want, i, m, prev);
      bitmap::set(bits, pos);
      acc.key_placed(LinearModel::clamp_slot(pr, cap), pos, i > 0 && pos == prev + 1);
      prev = pos;
    }
    std::fill(keys + prev + 1, keys + cap, kEndSentinel<K, P>.key);
    std::fill(pays + prev + 1, pays + cap, kEndSentinel<K, P>.payload);
    expected_cost = acc.finish();
  }
  // The centred placement's leftward-push part (see lay_out_distinct): from the right end,
  // entry i at the slot it wants, or left of entry i + 1's, and never left of slot i.
  // want(i) is read before g[i] is written (lay_out keeps the wanted slots in g itself),
  // once for each i, from m - 1 down to 0 (lay_out_distinct's want keeps state by that).
  template <class Want>
  void centre_leftward(std::uint32_t* g, std::size_t m, Want want) const noexcept {
    std::size_t nx = cap;  // g[i + 1]
    for (std::size_t i = m; i-- > 0;) {
      const std::size_t v = std::max(std::min<std::size_t>(want(i), nx - 1), i);  // branch-free
      g[i] = static_cast<std::uint32_t>(v);
      nx = v;
    }
  }
  // The slot entry i aims at: the midpoint of its rightward-push placement (fwd: entry
  // i - 1's on entry, entry i's on return) and its leftward-push one, g[i].
  std::size_t centred_want(std::size_t want, std::size_t i, std::size_t m, const std::uint32_t* g,
                           std::size_t& fwd) const noexcept {
    fwd = std::min(std::max(want, i > 0 ? fwd + 1 : 0), cap - m + i);
    return (fwd + g[i]) / 2;
  }
  // Scratch for the centred placement of m entries (32-bit slot numbers at the end of the
  // key array, see lay_out_distinct), or null: only dense layouts (80% full or more: at
  // init_density collisions are rare and the extra passes cost) and keys of 8 bytes or more.
  std::uint32_t* centre_scratch(std::size_t m) noexcept {
    if constexpr (sizeof(K) >= 8 && sizeof(K) % sizeof(std::uint32_t) == 0) {
      constexpr std::size_t W = sizeof(K) / sizeof(std::uint32_t);
      if (cap <= std::numeric_limits<std::uint32_t>::max() && 5 * m >= 4 * cap)
        return reinterpret_cast<std::uint32_t*>(keys) + (W * cap - m);
    }
    return nullptr;
  }
  // lay_out's step for entry i of m: puts (k, p) at the slot nearest `want` that keeps the
  // order (after prev, the slot of entry i - 1) and leaves a slot for each entry still to
  // come; the gaps before it copy the entry too. Returns the slot.
  // The slots [lo, pos] are written as a fixed window of kPlaceWindow slots from lo when it
  // stays within [lo, hi] (then the loop runs only for longer gaps): the usual gap of zero
  // or one slot costs no mispredicted loop exit. The window's slots past pos belong
  // to later entries, whose own window starts at pos + 1 and overwrites them (the slots
  // after the last entry are filled with the sentinel afterwards); staying below hi keeps
  // the window off the centred placement's scratch (see lay_out_distinct).
  static constexpr std::size_t kPlaceWindow = 2;
  std::size_t place(K k, P p, std::size_t want, std::size_t i, std::size_t m, std::size_t prev) noexcept {
    const std::size_t lo = i == 0 ? 0 : prev + 1;
    const std::size_t hi = cap - (m - i);
    std::size_t pos = want;
    if (pos < lo) pos = lo;
    if (pos > hi) pos = hi;
    std::size_t s = lo;
    if (lo + kPlaceWindow - 1 <= hi) {
      for (std::size_t j = 0; j < kPlaceWindow; ++j) {
        keys[lo + j] = k;
        pays[lo + j] = p;
      }
      s = lo + kPlaceWindow;
    }
    for (; s <= pos; ++s) {
      keys[s] = k;
      pays[s] = p;
    }
    return pos;
  }
  // lay_out's fast path for m >= 1 sorted entries with pairwise distinct key images (the usual
  // case): the targets are the ranks times `step`, so each key's predicted slot is also its
  // ideal slot, and the model is a least-squares fit of the ranks (fit_ranks, from a sample
  // of the entries). The bitmap is written one word at a time, in order, instead of being
  // zeroed first. The distinctness is checked on the way, in the first pass that reads
  // every key (the centred placement's leftward pass, or the placement itself): on two
  // equal key images it returns false, having written some slots, the bitmap and the model
  // in part or whole; lay_out's general path (which spreads the run) then writes them all
  // again.
  template <class Src>
  bool lay_out_distinct(const Src& src, std::size_t m, double step) noexcept {
    const LinearModel lm = fit_ranks(src, m, step);
    const std::uint64_t base = lm.base;
    model = lm;

    // Each entry's predicted slot, as LinearModel::predict computes it but cheaper (this
    // runs for every entry of every layout): the offsets from base are at most the last
    // entry's, so when that fits in 63 bits they convert to double as signed integers (one
    // instruction instead of the unsigned conversion's test and fix-up), and the clamp
    // into [0, cap - 1] is a max and a min on doubles instead of two branches.
    const bool offsets_fit_63 = Traits::to_u64(src.key(m - 1)) - base < (std::uint64_t{1} << 63);
    const double top_slot = static_cast<double>(cap - 1);
    auto pred_of = [&](K k) -> std::size_t {
      const std::uint64_t x = Traits::to_u64(k) - base;
      const double xd = offsets_fit_63 ? static_cast<double>(static_cast<std::int64_t>(x)) : static_cast<double>(x);
      double v = lm.slope * xd + lm.intercept;
      v = v > 0 ? v : 0.0;  // (no NaN: slope, intercept and xd are finite)
      v = v < top_slot ? v : top_slot;
      return static_cast<std::size_t>(static_cast<std::int64_t>(v));
    };
    // Centred placement: keys that want the same stretch of slots are laid around it, not
    // all pushed to its right. The slot of entry i is the midpoint of the placements that
    // push collisions only rightwards (f, computed on the fly below) and only leftwards
    // (g, computed here from the right end). Both are strictly increasing and within
    // [i, cap - m + i], so their rounded-down midpoint is too. A cluster of c keys predicted
    // at one slot then sits c/2 either side of it instead of c to its right, which keeps
    // searches short when the node is dense (bulk_density). g is kept as 32-bit slot numbers
    // at the end of the new key array, which the placement below overwrites only after it
    // has read them (entry i writes key slots <= cap - m + i; g[j] for j > i lies beyond).
    // The leftward pass also keeps each entry's predicted slot, likewise at the end of the
    // payload array when payloads are wide enough (pred_scratch), so that the placement
    // pass reads it instead of computing it again.
    std::uint32_t* g = centre_scratch(m);
    std::uint32_t* ps = g ? pred_scratch(m) : nullptr;
    if (g) {
      bool dup = false;
      K right{};  // key of entry i + 1 (centre_leftward asks for i = m - 1 down to 0)
      centre_leftward(g, m, [&](std::size_t i) {
        const K k = src.key(i);
        dup |= i + 1 < m && Traits::same_u64(k, right);
        right = k;
        const std::size_t pred = pred_of(k);
        if (ps) ps[i] = static_cast<std::uint32_t>(pred);
        return pred;
      });
      if (dup) return false;
    }

    cost::LayoutCostAccumulator acc;
    std::size_t prev = 0;  // slot of the previous entry (valid when i > 0)
    std::size_t fwd = 0;   // f[i - 1]
    std::size_t word_idx = 0;
    std::uint64_t word = 0;
    // The placement loop, compiled once per kind of layout so that none is told apart per
    // entry: 0 = not centred (checks distinctness), 1 = centred with the predicted slots
    // kept in ps, 2 = centred without.
    auto place_all = [&](auto kind) -> bool {
      constexpr int kKind = decltype(kind)::value;
      K left{};  // key of entry i - 1
      for (std::size_t i = 0; i < m; ++i) {
        const K k = src.key(i);
        const P p = src.pay(i);
        std::size_t pred, want;
        if constexpr (kKind == 0) {
          if (i > 0 && Traits::same_u64(k, left)) return false;
          left = k;
          pred = want = pred_of(k);
        } else {
          pred = kKind == 1 ? std::size_t{ps[i]} : pred_of(k);
          want = centred_want(pred, i, m, g, fwd);
        }
        const std::size_t pos = place(k, p, want, i, m, prev);
        const std::size_t w = pos >> 6;
        if (w != word_idx) {
          bits[word_idx] = word;
          for (std::size_t x = word_idx + 1; x < w; ++x) bits[x] = 0;
          word_idx = w;
          word = 0;
        }
        word |= std::uint64_t{1} << (pos & 63);
        acc.key_placed(pred, pos, i > 0 && pos == prev + 1);
        prev = pos;
      }
      return true;
    };
    if (!g) {
      if (!place_all(std::integral_constant<int, 0>{})) return false;
    } else if (ps) {
      place_all(std::integral_constant<int, 1>{});
    } else {
      place_all(std::integral_constant<int, 2>{});
    }
    bits[word_idx] = word;
    for (std::size_t x = word_idx + 1; x < cap / 64; ++x) bits[x] = 0;
    std::fill(keys + prev + 1, keys + cap, kEndSentinel<K, P>.key);
    std::fill(pays + prev + 1, pays + cap, kEndSentinel<K, P>.payload);
    expected_cost = acc.finish();
    return true;
  }
  // Scratch for the predicted slots of the centred placement (see lay_out_distinct): 32-bit
  // slot numbers at the end of the payload array, which the placement overwrites as late
  // as the key array's (centre_scratch), or null when payloads are narrower than 8 bytes.
  std::uint32_t* pred_scratch(std::size_t m) noexcept {
    if constexpr (sizeof(P) >= 8 && sizeof(P) % sizeof(std::uint32_t) == 0) {
      constexpr std::size_t W = sizeof(P) / sizeof(std::uint32_t);
      return reinterpret_cast<std::uint32_t*>(pays) + (W * cap - m);
    }
    return nullptr;
  }

  // Layouts of more than 2 * kFitSample entries fit their model to about kFitSample of them,
  // every stride-th by rank: the fit of a sorted run follows its key distribution (the
  // fitted line through the points (key, rank)), which a sample at a fixed rank stride
  // keeps up to a stride's worth of ranks per sampled point, far finer than the search
  // around each prediction needs, and the full fit's pass over all keys was a quarter of
  // a bulk load's time.
  static constexpr std::size_t kFitSample = 1024;

  // Least-squares fit of rank * step against the key images of the sorted, distinct
  // entries src[0..m), from every stride-th entry: one pass of raw moments (x measured from
  // the first key; the rank sums are closed-form), and a second from the mean when they
  // cancel (keys far from the first one and close to each other).
  template <class Src>
  LinearModel fit_ranks(const Src& src, std::size_t m, double step) const noexcept {
    const std::uint64_t base = Traits::to_u64(src.key(0));
    const std::size_t stride = m > 2 * kFitSample ? m / kFitSample : 1;
    const std::size_t c = (m - 1) / stride + 1;  // sampled ranks 0, stride, ..., (c - 1) * stride
    auto x_at = [&](std::size_t i) {             // sorted: never below base
      return static_cast<double>(Traits::to_u64(src.key(i)) - base);
    };
    double sx = 0, sxx_raw = 0, sxi_raw = 0;
    {
      // Two sets of sums (odd and even samples), so that the three floating-point add
      // chains run twice as wide.
      double sx2[2] = {0, 0}, sxx2[2] = {0, 0}, sxi2[2] = {0, 0};
      std::size_t j = 0;
      for (; j + 1 < c; j += 2) {
        const std::size_t i0 = j * stride, i1 = i0 + stride;
        const double x0 = x_at(i0), x1 = x_at(i1);
        sx2[0] += x0;
        sx2[1] += x1;
        sxx2[0] += x0 * x0;
        sxx2[1] += x1 * x1;
        sxi2[0] += x0 * static_cast<double>(i0);
        sxi2[1] += x1 * static_cast<double>(i1);
      }
      if (j < c) {
        const std::size_t i0 = j * stride;
        const double x0 = x_at(i0);
        sx2[0] += x0;
        sxx2[0] += x0 * x0;
        sxi2[0] += x0 * static_cast<double>(i0);
      }
      sx = sx2[0] + sx2[1];
      sxx_raw = sxx2[0] + sxx2[1];
      sxi_raw = sxi2[0] + sxi2[1];
    }
    const double dc = static_cast<double>(c), ds = static_cast<double>(stride);
    const double mx = sx / dc;
    const double mi = ds * (dc - 1) / 2;  // mean sampled rank
    const double my = step * mi;
    double sxx = sxx_raw - sx * mx;
    // sum (x - mx)(i * step - my) = step * (sum x i - mx * sum i), sum i = c * mi
    double sxy = step * (sxi_raw - mx * (dc * mi));
    if (!(sxx > 1e-6 * sxx_raw)) {
      sxy = 0;
      sxx = 0;
      for (std::size_t i = 0; i < m; i += stride) {
        const double dx = x_at(i) - mx;
        sxy += dx * (static_cast<double>(i) * step - my);
        sxx += dx * dx;
      }
    }
    return fitted_line(base, sxy, sxx, mx, my, 0.0);  // rank 0's target is 0
  }
  void lay_out(const E* e, std::size_t m, std::size_t spread) noexcept { lay_out(EntrySource{e}, m, spread); }

  // Packs the entries into slots [0, n) and merges the sorted run in[0..g) into them,
  // leaving n + g sorted entries at the front of the arrays (n + g <= cap). Destroys the
  // gapped layout: only for a node about to be re-laid out from its own arrays.
  void pack_and_merge(const E* in, std::size_t g) noexcept {
    std::size_t j = 0;
    for_each_occupied([&](std::size_t s) {
      keys[j] = keys[s];
      pays[j] = pays[s];
      ++j;
    });
    std::size_t i = n, k = g, w = n + g;
    while (k > 0) {
      if (i > 0 && (in[k - 1].key < keys[i - 1] || (!(keys[i - 1] < in[k - 1].key) && in[k - 1].payload < pays[i - 1]))) {
        --i;
        --w;
        keys[w] = keys[i];
        pays[w] = pays[i];
      } else {
        --k;
        --w;
        keys[w] = in[k].key;
        pays[w] = in[k].payload;
      }
    }
  }

  // Writes the node's entries merged with the sorted run in[0..g) to out (room for n + g),
  // in one pass: a split's input, without a copy of the node and a merge afterwards.
  void merge_into(const E* in, std::size_t g, E* out) const noexcept {
    std::size_t k = 0;
    for_each_occupied([&](std::size_t s) {
      const E e{keys[s], pays[s]};
      while (k < g && in[k] < e) *out++ = in[k++];
      *out++ = e;
    });
    while (k < g) *out++ = in[k++];
  }

  // Append the node's entries, in order, to out (which has room for n).
  template <class OutIt>
  OutIt copy_entries(OutIt out) const {
    if (n == 0) return out;
    for_each_occupied([&](std::size_t s) { *out++ = E{keys[s], pays[s]}; });
    return out;
  }

  // Calls f(s) for every occupied slot s, in order: the set bits of the bitmap, a word at a
  // time.
  template <class F>
  void for_each_occupied(F f) const {
    for (std::size_t w = 0; w < cap / 64; ++w)
      for (std::uint64_t word = bits[w]; word != 0; word &= word - 1)
        f((w << 6) + static_cast<std::size_t>(std::countr_zero(word)));
  }
};

}  // namespace alex::detail
