// bulk_load.hpp: builds subtrees from sorted runs. Used by bulk_load() for the whole
// tree and by node splits for the replacement of one data node.
//
// A subtree over a run covers the smallest aligned block holding its keys. If the run is
// small (or has one key image, which no routing can separate: one repeated integral key, or
// Key128s sharing their leading 64 bits) it becomes a single data node; otherwise a model
// node whose fanout the cost model picks from a histogram of the keys (a flattened version
// of ALEX's fanout tree: every candidate fanout is scored from one pass over the keys).
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
#include <vector>

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

  // subtree() for input that has not been checked: throws std::invalid_argument, having
  // built nothing, unless e[0..m) is sorted by (key, payload). The check rides on the
  // first pass that building makes over the entries anyway (the root's fanout histogram)
  // rather than on a pass of its own: the input of a large bulk load is read from memory
  // once less.
  NodeBase* subtree_checked(const E* e, std::size_t m) {
    auto fail = [] { throw std::invalid_argument("alex::bulk_load: input not sorted by (key, payload)"); };
    if (m == 0 || m <= sz_.leaf_target || one_image(e, m)) {
      for (std::size_t i = 1; i < m; ++i)
        if (e[i] < e[i - 1]) fail();
      return leaf(e, m);
    }
    const std::uint64_t u0 = Traits::to_u64(e[0].key), u1 = Traits::to_u64(e[m - 1].key);
    if (u1 < u0) fail();
    const unsigned tb = common_block_bits(u0, u1);
    bool unsorted = false;
    const unsigned flog = choose_fanout(e, m, block_start_of(u0, tb), tb, &unsorted);
    if (unsorted) fail();
    return subtree_with_fanout(e, m, tb, flog);
  }

  NodeBase* subtree(const E* e, std::size_t m) {
    if (m == 0 || m <= sz_.leaf_target || one_image(e, m)) return leaf(e, m);
    const std::uint64_t u0 = Traits::to_u64(e[0].key), u1 = Traits::to_u64(e[m - 1].key);
    const unsigned tb = common_block_bits(u0, u1);
    return subtree_with_fanout(e, m, tb, choose_fanout(e, m, block_start_of(u0, tb), tb, nullptr));
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

  // With `unsorted` non-null, also checks the order of e[0..m) (setting *unsorted when it
  // is broken; the histogram is then meaningless but stays within bounds).
  unsigned choose_fanout(const E* e, std::size_t m, std::uint64_t start, unsigned tb, bool* unsorted) const {
    unsigned max_log = std::min<unsigned>(cost::kMaxFanoutLog, tb);
    const std::size_t pieces = (m + sz_.leaf_target - 1) / sz_.leaf_target;
    unsigned min_log = std::max(1u, ceil_log2(pieces));
    if (min_log > max_log) min_log = max_log;
    if (max_log > min_log + 10) max_log = min_log + 10;  // bound the histogram
    std::vector<std::size_t> counts(std::size_t{1} << max_log, 0);
    const unsigned sh = tb - max_log;
    if (unsorted) {
      const std::size_t last = counts.size() - 1;
      bool bad = false;
      for (std::size_t i = 0; i < m; ++i) {
        if (i > 0) bad |= e[i] < e[i - 1];
        const std::uint64_t u = Traits::to_u64(e[i].key);
        // Sorted keys lie in [e[0], e[m - 1]], inside the block; others are clamped.
        const std::uint64_t off = u < start ? 0 : u - start;
        ++counts[std::min<std::size_t>(static_cast<std::size_t>(off >> sh), last)];
      }
      *unsorted = bad;
      if (bad) return min_log;
    } else {
      for (std::size_t i = 0; i < m; ++i) ++counts[static_cast<std::size_t>((Traits::to_u64(e[i].key) - start) >> sh)];
    }
    unsigned best = max_log;
    double best_cost = 0;
    for (unsigned log = max_log;; --log) {
      const std::size_t f = std::size_t{1} << log;
      std::size_t overflow = 0;
      for (std::size_t s = 0; s < f; ++s)
        if (counts[s] > sz_.max_leaf_keys) overflow += counts[s];
      const double c = cost::fanout_cost(log, m, overflow);
      if (log == max_log || c <= best_cost) {
        best = log;
        best_cost = c;
      }
      if (log == min_log) break;
      for (std::size_t s = 0; s < f / 2; ++s) counts[s] = counts[2 * s] + counts[2 * s + 1];
    }
    return best;
  }

  Store& store_;
  const Sizing& sz_;
  const E* input_end_;
  bool append_tail_;
  double density_;
  Data* head_ = nullptr;
  Data* tail_ = nullptr;
};

}  // namespace alex::detail
