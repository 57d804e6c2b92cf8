// bulk_load.hpp: builds subtrees from sorted runs. Used by bulk_load() for the whole
// tree and by node splits for the replacement of one data node.
//
// A subtree over a run covers the smallest aligned block holding its keys. If the run is
// small (or has one key image, which no routing can separate: one repeated integral key, or
// Key128s sharing their leading 64 bits) it becomes a single data node; otherwise a model
// node whose fanout the cost model picks from a histogram of the keys (a flattened version
// of ALEX's fanout tree: every candidate fanout is scored from the same counts). The
// histogram is counted by binary searches in the sorted run, not by a pass over its keys:
// only buckets holding more keys than a data node takes count (see choose_fanout).
// Slots are then grouped buddy-style: an aligned run of slots whose keys fit in one data
// node shares that node, an over-full single slot recurses into a deeper subtree.
//
// Leaves are chained (prev/next) in key order as they are built; the caller splices the
// chain into the tree when it commits. If an allocation fails, everything built so far is
// freed and the exception propagates; the live tree is never touched here.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "cost_model.hpp"
#include "key_traits.hpp"
#include "node_store.hpp"

namespace alex::detail {

template <class Store>
class Builder {
 public:
  using Data = typename Store::Data;
  using E = typename Store::E;
  using K = decltype(E::key);
  using Traits = KeyTraits<K>;

  // input_end: end of the whole run being built; append_tail: give the data node holding
  // the run's last entry room on the right (the node it replaces was taking appends).
  // density: how full the data nodes are laid out (0 = sz.init_density).
  Builder(Store& store, const Sizing& sz, const E* input_end, bool append_tail, double density = 0) noexcept
      : store_(store), sz_(sz), input_end_(input_end), append_tail_(append_tail),
        density_(density > 0 ? density : sz.init_density) {}

  Data* head() const noexcept { return head_; }
  Data* tail() const noexcept { return tail_; }

  Data* leaf(const E* e, std::size_t m) {
    if (checking_ && m > 0) check_order(e, m);
    std::size_t spread = Sizing::cap_at(m, density_), cap = spread;
    if (append_tail_ && m > 0 && e + m == input_end_ && e[0].key != e[m - 1].key) {
      const std::size_t roomy = ((spread * 3 / 2) + 63) & ~std::size_t{63};
      cap = std::max(spread, std::min(roomy, sz_.max_slots));
    }
    Data* d = store_.new_leaf(e, m, cap, spread);
    d->prev = tail_;
    if (tail_) tail_->next = d;
    else head_ = d;
    tail_ = d;
    return d;
  }

  // subtree() for input that has not been checked: throws std::invalid_argument unless
  // e[0..m) is sorted by (key, payload), having freed whatever it built. The order is
  // checked leaf by leaf just before each data node is laid out (leaf()), which brings the
  // leaf's entries into the cache for the layout that follows: the input of a large bulk
  // load is read from memory once, not once for a check and again for the layout. The
  // leaves' runs cover e[0..m) in order, so checking each run and the seam to the one
  // before it checks every adjacent pair. Until the failing leaf, building proceeds on
  // input that may be out of order; it stays in bounds and terminates (see groups()).
  NodeBase* subtree_checked(const E* e, std::size_t m) {
    checking_ = true;
    checked_last_ = nullptr;
    if (m > 1 && e[m - 1] < e[0]) unsorted();  // the cheap case first
    return subtree(e, m);
  }

  NodeBase* subtree(const E* e, std::size_t m) {
    if (m == 0 || m <= sz_.leaf_target || one_image(e, m)) return leaf(e, m);
    const std::uint64_t u0 = Traits::to_u64(e[0].key), u1 = Traits::to_u64(e[m - 1].key);
    const unsigned tb = common_block_bits(u0, u1);
    return subtree_with_fanout(e, m, tb, choose_fanout(e, m, block_start_of(u0, tb), tb));
  }

 private:
  // A model node of 2^flog slots over the aligned block of 2^tb holding e[0..m), and its children.
  NodeBase* subtree_with_fanout(const E* e, std::size_t m, unsigned tb, unsigned flog) {
    const std::uint64_t u0 = Traits::to_u64(e[0].key);
    ModelNode* mn = store_.new_model(flog);
    mn->start = block_start_of(u0, tb);
    mn->block_bits = static_cast<std::uint8_t>(tb);
    mn->shift = static_cast<std::uint8_t>(tb - flog);
    try {
      groups(mn->start, mn->shift, 0, mn->fanout(), e, m, sz_.leaf_target, false,
             [&](std::size_t gs, std::size_t r, NodeBase* c) {
               for (std::size_t i = gs; i < gs + r; ++i) mn->children[i] = c;
             });
    } catch (...) {
      store_.destroy(mn);
      throw;
    }
    return mn;
  }

 public:
  // Cover slots [gs, gs + r) of a node (block start `start`, slot width 2^shift) with
  // children built from e[0..m), all of which lie in those slots. sink(gs, r, node) takes
  // ownership of each child as soon as it exists.
  template <class Sink>
  void groups(std::uint64_t start, unsigned shift, std::size_t gs, std::size_t r, const E* e, std::size_t m,
              std::size_t threshold, bool force_split, Sink&& sink) {
    if (one_image(e, m) || (!force_split && (m <= threshold || (r == 1 && m <= sz_.max_leaf_keys)))) {
      sink(gs, r, leaf(e, m));
      return;
    }
    if (r == 1) {
      // Sorted keys routed to this slot lie inside it, so the subtree's block is smaller
      // than this node's: on unchecked input, that bounds the recursion.
      if (checking_ && m > 0) {
        const std::uint64_t lo = start + (static_cast<std::uint64_t>(gs) << shift);
        const std::uint64_t u0 = Traits::to_u64(e[0].key), u1 = Traits::to_u64(e[m - 1].key);
        if (u0 < lo || u1 < u0 || u1 > block_last(lo, shift)) unsorted();
      }
      sink(gs, 1, subtree(e, m));
      return;
    }
    const std::size_t half = r / 2;
    const std::uint64_t boundary = start + (static_cast<std::uint64_t>(gs + half) << shift);
    const E* mid = std::partition_point(e, e + m, [&](const E& x) { return Traits::to_u64(x.key) < boundary; });
    const std::size_t ml = static_cast<std::size_t>(mid - e);
    groups(start, shift, gs, half, e, ml, threshold, false, sink);
    groups(start, shift, gs + half, half, mid, m - ml, threshold, false, sink);
  }

 private:
  // The sorted run e[0..m) has one key image (for integral keys: one repeated key), so no
  // model node can route its entries apart.
  static bool one_image(const E* e, std::size_t m) noexcept {
    return m > 0 && Traits::same_u64(e[0].key, e[m - 1].key);
  }

  static unsigned ceil_log2(std::size_t x) noexcept {
    unsigned l = 0;
    while ((std::size_t{1} << l) < x) ++l;
    return l;
  }

  [[noreturn]] static void unsorted() {
    throw std::invalid_argument("alex::bulk_load: input not sorted by (key, payload)");
  }

  // The check of leaf(): e[0..m) in order, and after the previous leaf's last entry. (The
  // seams that bulk loading makes come from groups()' binary searches, which leave an
  // ordered pair at each; the seam check keeps the check whole whatever splits the runs.)
  void check_order(const E* e, std::size_t m) {
    bool bad = checked_last_ != nullptr && e[0] < *checked_last_;
    for (std::size_t i = 1; i < m; ++i) bad |= e[i] < e[i - 1];
    if (bad) unsorted();
    checked_last_ = e + m - 1;
  }

 public:  // (for tests)
  // The fanout (log2) of a model node over the sorted run e[0..m) in the block of 2^tb
  // from start. Candidate fanout 2^log is scored by the keys in its over-full slots (more
  // than max_leaf_keys keys: they need another level), for log in [min_log, max_log].
  // Those counts come from halving the block recursively, each half's keys found by a
  // binary search in its parent's; a bucket that is not over-full has none below it, so
  // the recursion stops there. That is a few searches per data node-sized piece of the run
  // instead of a pass over all of its keys, and the same counts as such a pass would give.
  // On unsorted input the counts are meaningless, but every search stays within e[0..m).
  unsigned choose_fanout(const E* e, std::size_t m, std::uint64_t start, unsigned tb) const {
    unsigned max_log = std::min<unsigned>(cost::kMaxFanoutLog, tb);
    const std::size_t pieces = (m + sz_.leaf_target - 1) / sz_.leaf_target;
    unsigned min_log = std::max(1u, ceil_log2(pieces));
    if (min_log > max_log) min_log = max_log;
    if (max_log > min_log + 10) max_log = min_log + 10;  // bound the candidates
    std::size_t overflow[cost::kMaxFanoutLog + 1] = {};
    count_overflow(e, e + m, start, tb, 0, min_log, max_log, overflow);
    unsigned best = max_log;
    double best_cost = 0;
    for (unsigned log = max_log;; --log) {
      const double c = cost::fanout_cost(log, m, overflow[log]);
      if (log == max_log || c <= best_cost) {
        best = log;
        best_cost = c;
      }
      if (log == min_log) break;
    }
    return best;
  }

 private:
  // Adds the keys of over-full buckets at levels min_log..max_log within the bucket
  // [bstart, bstart + 2^bits) at level log, which holds [b, end).
  void count_overflow(const E* b, const E* end, std::uint64_t bstart, unsigned bits, unsigned log,
                      unsigned min_log, unsigned max_log, std::size_t* overflow) const {
    const std::size_t c = static_cast<std::size_t>(end - b);
    if (c <= sz_.max_leaf_keys) return;
    if (log >= min_log) overflow[log] += c;
    if (log == max_log) return;
    const std::uint64_t mid = bstart + (std::uint64_t{1} << (bits - 1));  // log < max_log <= tb: bits >= 1
    const E* p = std::partition_point(b, end, [&](const E& x) { return Traits::to_u64(x.key) < mid; });
    count_overflow(b, p, bstart, bits - 1, log + 1, min_log, max_log, overflow);
    count_overflow(p, end, mid, bits - 1, log + 1, min_log, max_log, overflow);
  }

  Store& store_;
  const Sizing& sz_;
  const E* input_end_;
  bool append_tail_;
  double density_;
  Data* head_ = nullptr;
  Data* tail_ = nullptr;
  bool checking_ = false;             // subtree_checked(): leaf() checks the order
  const E* checked_last_ = nullptr;  // last entry of the last leaf checked
};

}  // namespace alex::detail
