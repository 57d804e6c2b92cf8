// alex.hpp: ALEX, an updatable adaptive learned index (Ding et al., SIGMOD 2020), as a
// multiset of (key, payload) entries ordered by (key, payload).
//
// Structure: model nodes route through linear models to children; data nodes are gapped
// arrays with a linear model, an occupancy bitmap and exponential search (data_node.hpp).
// Model nodes use power-of-two slopes over aligned key blocks (model_node.hpp), so routing
// is exact and every key value lives in exactly one data node; data nodes keep a
// least-squares model. The cost model (cost_model.hpp) decides between expanding a full
// data node and splitting it, and between sideways and downward splits.
//
// Shared-memory friendly: every node byte comes from the Allocator (stored in the tree),
// nodes hold only raw pointers to other nodes, and there is no virtual function, static or
// thread-local state. If the allocator throws, the operation stops with the tree valid:
// all previous entries are kept, a batch may be partly applied, nothing leaks.
//
// Not thread-safe: callers serialize writers against everything else.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "batch_sort.hpp"
#include "bitmap.hpp"
#include "bulk_load.hpp"
#include "cost_model.hpp"
#include "data_node.hpp"
#include "entry.hpp"
#include "key_traits.hpp"
#include "model_node.hpp"
#include "node_store.hpp"

namespace alex {

struct Params {
  std::size_t max_data_node_slots = std::size_t{1} << 16;  // rounded down to a multiple of 64
  // Nodes are laid out at init_density, grow when they pass max_density and shrink below
  // min_density. A node that runs full is re-laid out at init_density, so the gap between
  // the two sets how often a growing node is rewritten: from 0.85 to 0.6 a node grows by
  // 1.42x each time, and random inserts re-lay out ~2.7 entries per inserted entry (from
  // 0.85 to 0.75, by 1.13x: ~8.4). Memory per entry after random inserts stays about a
  // B+-tree's (nodes sit between 0.6 and 0.85 full); bulk loads are denser (bulk_density).
  double min_density = 0.5, max_density = 0.85, init_density = 0.6;
  // bulk_load() lays its data nodes out at this density (in (min_density, 1]). Like a
  // B+-tree built from sorted input, whose pages are packed full: a bulk-loaded index is
  // mostly read, and a node that is inserted into first grows to init_density (one
  // re-layout of that node), so it pays for its room only once it is written to.
  double bulk_density = 0.93;
};

// How often the tree changed shape, since it was made (bulk_load and clear keep counting).
// Each counts an operation that succeeded; one that threw counts nothing.
struct Events {
  std::size_t expansions = 0;       // a data node re-laid out in a bigger array, and retrained
  std::size_t retrains = 0;         // a data node re-laid out and retrained in no more slots
  std::size_t shrinks = 0;          // a data node re-laid out smaller after erases
  std::size_t sideways_splits = 0;  // a data node replaced by nodes across its parent's slots
  std::size_t downward_splits = 0;  // a data node replaced by a subtree in its place
  std::size_t model_doublings = 0;  // a model node doubled its slots to split a child sideways
  std::size_t model_widenings = 0;  // a model node widened its block in place to cover a new key
  std::size_t parents_added = 0;    // a model node put above another to cover a new key
  std::size_t failed_shrinks = 0;   // a shrink after erases ran out of memory (node kept as is)
};

struct Stats {
  std::size_t entries = 0, depth = 0, model_nodes = 0, data_nodes = 0, model_bytes = 0,
              data_bytes = 0;
  double avg_search_distance = 0;  // mean |predicted slot - actual slot| over a sample of entries
  Events events;
};

template <class Key, class Payload, class Allocator = std::allocator<std::byte>>
class Alex {
  static_assert(std::is_trivially_copyable_v<Payload>, "payloads are copied with memmove");
  static_assert(std::numeric_limits<Payload>::is_specialized, "payload needs numeric_limits<>::max()");
  static_assert(alignof(Key) <= 8 && alignof(Payload) <= 8, "slab layout assumes alignment <= 8");

  using Data = detail::DataNode<Key, Payload>;
  using Model = detail::ModelNode;
  using Node = detail::NodeBase;
  using Store = detail::NodeStore<Key, Payload, Allocator>;
  using Build = detail::Builder<Store>;
  using Traits = detail::KeyTraits<Key>;
  static constexpr std::size_t npos = detail::bitmap::npos;
  static constexpr std::size_t kMaxDepth = 96;  // block bits shrink at every level: <= 65 levels

 public:
  using Entry = detail::Entry<Key, Payload>;
  static_assert(std::is_trivially_copyable_v<Entry>);

  class iterator {
   public:
    using value_type = Entry;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::bidirectional_iterator_tag;

    iterator() = default;
    Entry operator*() const noexcept { return leaf_->entry(slot_); }
    Key key() const noexcept { return leaf_->keys[slot_]; }
    Payload payload() const noexcept { return leaf_->pays[slot_]; }
    iterator& operator++() noexcept {
      *this = tree_->step_forward(leaf_, slot_);
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator t = *this;
      ++*this;
      return t;
    }
    iterator& operator--() noexcept {
      *this = tree_->step_back(leaf_, slot_);
      return *this;
    }
    iterator operator--(int) noexcept {
      iterator t = *this;
      --*this;
      return t;
    }
    bool operator==(const iterator& o) const noexcept { return leaf_ == o.leaf_ && slot_ == o.slot_; }
    bool operator!=(const iterator& o) const noexcept { return !(*this == o); }

   private:
    friend class Alex;
    iterator(const Alex* t, const Data* l, std::size_t s) noexcept : tree_(t), leaf_(l), slot_(s) {}
    const Alex* tree_ = nullptr;
    const Data* leaf_ = nullptr;  // nullptr: end()
    std::size_t slot_ = 0;
  };

  explicit Alex(const Params& p = Params(), const Allocator& a = Allocator()) : params_(p), store_(a) {
    if (!(params_.min_density >= 0 && params_.min_density < params_.init_density &&
          params_.init_density < params_.max_density && params_.max_density <= 1.0))
      throw std::invalid_argument("alex::Params: need 0 <= min_density < init_density < max_density <= 1");
    if (!(params_.bulk_density > params_.min_density && params_.bulk_density <= 1.0))
      throw std::invalid_argument("alex::Params: need min_density < bulk_density <= 1");
    params_.max_data_node_slots = std::max<std::size_t>(64, params_.max_data_node_slots & ~std::size_t{63});
    sz_.max_slots = params_.max_data_node_slots;
    sz_.min_density = params_.min_density;
    sz_.max_density = params_.max_density;
    sz_.init_density = params_.init_density;
    sz_.max_leaf_keys = std::max<std::size_t>(1, static_cast<std::size_t>(double(sz_.max_slots) * sz_.init_density));
    while (sz_.max_leaf_keys > 1 && sz_.cap_for(sz_.max_leaf_keys) > sz_.max_slots) --sz_.max_leaf_keys;
    sz_.leaf_target = std::max<std::size_t>(1, sz_.max_leaf_keys / 2);
  }
  Alex(const Alex&) = delete;
  Alex& operator=(const Alex&) = delete;
  ~Alex() { clear(); }

  // ---------------------------------------------------------------- bulk load

  void bulk_load(const Entry* sorted, std::size_t n) {
    Node* fresh = nullptr;
    if (n > 0) {
      Build b(store_, sz_, sorted + n, false, params_.bulk_density);
      // Checks the order as it lays out each data node; if the input is out of order, it
      // frees what it built and throws before the live tree is touched.
      fresh = b.subtree_checked(sorted, n);
    }
    clear();
    root_ = fresh;
    size_ = n;
  }

  // ---------------------------------------------------------------- insert

  void insert(Key k, Payload p) {
    ensure_root();
    Step path[kMaxDepth];
    std::size_t depth = 0;
    Data* leaf = descend_for_insert(Traits::to_u64(k), path, &depth);
    const bool edge = at_append_edge(leaf, k, p);
    if (leaf->n + 1 <= sz_.max_fill(leaf->cap) && !edge) {
      leaf->insert(k, p);
    } else {
      const Entry e{k, p};
      rebuild_leaf(leaf, path, depth, &e, 1, edge);
    }
    ++size_;
  }

  // Sorts the batch, then visits each target data node once with all of its keys.
  void insert_batch(Entry* entries, std::size_t n) {
    if (n == 0) return;
    if (n == 1) return insert(entries[0].key, entries[0].payload);
    detail::sort_entries(entries, n);
    ensure_root();
    std::size_t i = 0;
    while (i < n) {
      Step path[kMaxDepth];
      std::size_t depth = 0;
      const std::uint64_t u = Traits::to_u64(entries[i].key);
      Data* leaf = descend_for_insert(u, path, &depth);
      const std::uint64_t hi = depth == 0 ? ~std::uint64_t{0} : group_last(path[depth - 1]);
      const Entry* end = std::partition_point(entries + i, entries + n,
                                              [&](const Entry& x) { return Traits::to_u64(x.key) <= hi; });
      const std::size_t g = static_cast<std::size_t>(end - (entries + i));
      insert_group(leaf, path, depth, entries + i, g);
      size_ += g;
      i += g;
    }
  }

  // ---------------------------------------------------------------- erase

  bool erase(Key k, Payload p) {
    if (root_ == nullptr) return false;
    Data* leaf = const_cast<Data*>(find_leaf(Traits::to_u64(k), nullptr, nullptr));
    const std::size_t s = leaf->find_pair(k, p);
    if (s == npos) return false;
    leaf->erase_at(s);
    --size_;
    maybe_shrink(leaf);
    return true;
  }

  std::size_t erase_batch(Entry* entries, std::size_t n) {
    if (n == 0 || root_ == nullptr) return 0;
    detail::sort_entries(entries, n);
    std::size_t removed = 0, i = 0;
    while (i < n) {
      std::uint64_t lo, hi;
      Data* leaf = const_cast<Data*>(find_leaf(Traits::to_u64(entries[i].key), &lo, &hi));
      std::size_t j = i + 1;
      while (j < n && Traits::to_u64(entries[j].key) >= lo && Traits::to_u64(entries[j].key) <= hi) ++j;
      // The leaf's entries right to left (see DataNode::erase_at): run_first is the first
      // slot of the gap run the last erase left, holding run_next.
      std::size_t run_first = npos;
      Entry run_next{};
      for (std::size_t x = j; x-- > i;) {
        const std::size_t s = leaf->find_pair(entries[x].key, entries[x].payload);
        if (s == npos) continue;
        if (s + 1 != run_first) run_next = leaf->entry_after(s);
        run_first = leaf->erase_at(s, run_next);
        ++removed;
        --size_;
      }
      maybe_shrink(leaf);
      i = j;
    }
    return removed;
  }

  // ---------------------------------------------------------------- dead hints

  // Marks each entry of e[0..n) that the tree holds as dead to every reader, so that
  // copy_range(..., skip_dead = true) leaves it out (see data_node.hpp). A hint, not a
  // removal: the entries stay, erase removes them. Safe alongside other readers and markers
  // (callers that share the tree hold it shared); returns how many entries it marked.
  std::size_t mark_dead(const Entry* e, std::size_t n) const noexcept {
    if (root_ == nullptr) return 0;
    std::size_t marked = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const Data* leaf = find_leaf(Traits::to_u64(e[i].key), nullptr, nullptr);
      marked += leaf->mark_dead(e[i].key, e[i].payload);
    }
    return marked;
  }

  // ---------------------------------------------------------------- lookups

  iterator begin() const noexcept { return normalize(root_ ? leftmost_leaf(root_) : nullptr, 0); }
  iterator end() const noexcept { return iterator(this, nullptr, 0); }

  iterator lower_bound(Key k) const noexcept {
    if (!root_) return end();
    const Data* l = find_leaf(Traits::to_u64(k), nullptr, nullptr);
    return normalize(l, l->cap ? l->slot_lower_key(k) : 0);
  }
  iterator upper_bound(Key k) const noexcept {
    if (!root_) return end();
    const Data* l = find_leaf(Traits::to_u64(k), nullptr, nullptr);
    return normalize(l, l->cap ? l->slot_upper_key(k) : 0);
  }
  iterator lower_bound(Key k, Payload p) const noexcept {
    if (!root_) return end();
    const Data* l = find_leaf(Traits::to_u64(k), nullptr, nullptr);
    return normalize(l, l->cap ? l->slot_lower_pair(k, p) : 0);
  }

  // Range visit in bounded chunks: up to `max` entries with lo <= key <= hi, ascending,
  // strictly after *resume_after when it is non-null. A count < max means the range is
  // exhausted. The tree may change between calls; resuming re-finds the position by value.
  // (Exact duplicate (key, payload) pairs split across a chunk boundary are indistinguishable
  // from the resume entry and are skipped with it.) With skip_dead, entries marked dead
  // (mark_dead) are left out.
  std::size_t copy_range(Key lo, Key hi, const Entry* resume_after, Entry* out, std::size_t max,
                         bool skip_dead = false) const noexcept {
    if (max == 0 || root_ == nullptr || hi < lo) return 0;
    iterator it;
    if (resume_after && !(resume_after->key < lo)) {
      if (hi < resume_after->key) return 0;
      const Data* l = find_leaf(Traits::to_u64(resume_after->key), nullptr, nullptr);
      it = normalize(l, l->cap ? l->slot_upper_pair(resume_after->key, resume_after->payload) : 0);
    } else {
      it = lower_bound(lo);
    }
    std::size_t count = 0;
    const Data* l = it.leaf_;
    std::size_t s = it.slot_;
    while (l) {
      const std::uint64_t* bits = l->bits;
      const std::size_t words = l->cap / 64;
      const bool skip = skip_dead && l->any_dead_hint();
      std::size_t w = s >> 6;
      std::uint64_t word = w < words ? bits[w] & (~std::uint64_t{0} << (s & 63)) : 0;
      if (skip && w < words) word &= ~l->dead_word(w);
      while (w < words) {
        while (word) {
          const std::size_t slot = (w << 6) + static_cast<std::size_t>(std::countr_zero(word));
          word &= word - 1;
          const Key k = l->keys[slot];
          if (hi < k) return count;
          out[count].key = k;
          out[count].payload = l->pays[slot];
          if (++count == max) return count;
        }
        if (++w < words) {
          word = bits[w];
          if (skip) {
            const std::uint64_t live = word & ~l->dead_word(w);
            // Every entry of the word is marked and the last one is past hi: so is the rest
            // (a long marked run after the range is not walked to its end).
            if (live == 0 && word != 0 && hi < l->keys[(w << 6) + 63 - static_cast<std::size_t>(std::countl_zero(word))])
              return count;
            word = live;
          }
        }
      }
      l = l->next;
      s = 0;
    }
    return count;
  }

  // Same, descending, strictly before *resume_before when it is non-null.
  std::size_t copy_range_reverse(Key lo, Key hi, const Entry* resume_before, Entry* out, std::size_t max,
                                 bool skip_dead = false) const noexcept {
    if (max == 0 || root_ == nullptr || hi < lo) return 0;
    // Position: one past the first entry to return, as (leaf, slot) with slot = end of scan.
    const Data* l;
    std::size_t s;
    if (resume_before && !(hi < resume_before->key)) {
      if (resume_before->key < lo) return 0;
      l = find_leaf(Traits::to_u64(resume_before->key), nullptr, nullptr);
      s = l->cap ? l->slot_lower_pair(resume_before->key, resume_before->payload) : 0;
    } else {
      l = find_leaf(Traits::to_u64(hi), nullptr, nullptr);
      s = l->cap ? l->slot_upper_key(hi) : 0;
    }
    std::size_t count = 0;
    // Scan slots < s in l, then whole earlier leaves.
    while (l) {
      const std::uint64_t* bits = l->bits;
      const bool skip = skip_dead && l->any_dead_hint();
      if (s > 0) {
        std::size_t w = (s - 1) >> 6;
        const unsigned b = static_cast<unsigned>((s - 1) & 63);
        std::uint64_t word = bits[w] & (b == 63 ? ~std::uint64_t{0} : ((std::uint64_t{1} << (b + 1)) - 1));
        if (skip) word &= ~l->dead_word(w);
        for (;;) {
          while (word) {
            const unsigned top = 63u - static_cast<unsigned>(std::countl_zero(word));
            const std::size_t slot = (w << 6) + top;
            word &= ~(std::uint64_t{1} << top);
            const Key k = l->keys[slot];
            if (k < lo) return count;
            out[count].key = k;
            out[count].payload = l->pays[slot];
            if (++count == max) return count;
          }
          if (w == 0) break;
          --w;
          word = bits[w];
          if (skip) {
            const std::uint64_t live = word & ~l->dead_word(w);
            // (as in copy_range: a marked run before lo is not walked)
            if (live == 0 && word != 0 && l->keys[(w << 6) + static_cast<std::size_t>(std::countr_zero(word))] < lo)
              return count;
            word = live;
          }
        }
      }
      l = l->prev;
      s = l ? l->cap : 0;
    }
    return count;
  }

  // ---------------------------------------------------------------- housekeeping

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  void clear() noexcept {
    store_.destroy(root_);
    root_ = nullptr;
    size_ = 0;
  }

  Stats stats() const {
    Stats st;
    st.entries = size_;
    st.events = events_;
    if (!root_) return st;
    const std::size_t stride = std::max<std::size_t>(1, size_ / (std::size_t{1} << 20));
    StatsWalk w{&st, stride, 0, 0, 0};
    stats_node(root_, 1, w);
    st.avg_search_distance = w.samples ? w.dist_sum / double(w.samples) : 0.0;
    return st;
  }

  std::size_t memory_bytes() const noexcept { return store_.bytes(); }

  bool validate(std::string* why = nullptr) const {
    ValidateWalk w;
    bool ok = true;
    if (root_ == nullptr) {
      if (size_ != 0) ok = w.fail("empty root but size != 0");
      else if (store_.bytes() != 0) ok = w.fail("empty tree still holds memory");
    } else {
      ok = validate_node(root_, 0, ~std::uint64_t{0}, 1, w);
      if (ok && w.last_leaf && w.last_leaf->next != nullptr) ok = w.fail("last leaf has a next pointer");
      if (ok && w.entries != size_) ok = w.fail("entry count " + std::to_string(w.entries) + " != size " + std::to_string(size_));
      if (ok && w.bytes != store_.bytes())
        ok = w.fail("node bytes " + std::to_string(w.bytes) + " != allocated " + std::to_string(store_.bytes()));
    }
    if (!ok && why) *why = w.why;
    return ok;
  }

  const Params& params() const noexcept { return params_; }

 private:
  struct Step {
    Model* node;
    std::size_t idx;
  };

  // ================================================================ navigation

  static const Data* leftmost_leaf(const Node* n) noexcept {
    while (n->kind == detail::NodeKind::model) n = static_cast<const Model*>(n)->children[0];
    return static_cast<const Data*>(n);
  }
  static const Data* rightmost_leaf(const Node* n) noexcept {
    while (n->kind == detail::NodeKind::model) {
      auto* m = static_cast<const Model*>(n);
      n = m->children[m->fanout() - 1];
    }
    return static_cast<const Data*>(n);
  }

  // Data node for u; if lo/hi are given, also the range of keys that route exactly there.
  const Data* find_leaf(std::uint64_t u, std::uint64_t* lo, std::uint64_t* hi) const noexcept {
    const Node* n = root_;
    std::uint64_t a = 0, b = ~std::uint64_t{0};
    while (n->kind == detail::NodeKind::model) {
      auto* m = static_cast<const Model*>(n);
      const std::size_t idx = m->route(u);
      if (lo) {
        std::size_t gs, r;
        m->group_of(idx, &gs, &r);
        const std::uint64_t s = m->slot_start(gs);
        const std::uint64_t e = detail::block_last(s, m->shift + static_cast<unsigned>(std::countr_zero(r)));
        a = std::max(a, s);
        b = std::min(b, e);
      }
      n = m->children[idx];
    }
    if (lo) {
      *lo = a;
      *hi = b;
    }
    return static_cast<const Data*>(n);
  }

  // Last key (ordered space) of the slot group that the path step routes into.
  static std::uint64_t group_last(const Step& st) noexcept {
    std::size_t gs, r;
    st.node->group_of(st.idx, &gs, &r);
    return detail::block_last(st.node->slot_start(gs), st.node->shift + static_cast<unsigned>(std::countr_zero(r)));
  }

  // First entry at or after slot s of l (following the leaf chain), as an iterator.
  iterator normalize(const Data* l, std::size_t s) const noexcept {
    while (l) {
      if (l->n) {
        const std::size_t x = l->next_occupied(s);
        if (x != npos) return iterator(this, l, x);
      }
      l = l->next;
      s = 0;
    }
    return end();
  }
  iterator step_forward(const Data* l, std::size_t s) const noexcept { return normalize(l, s + 1); }
  iterator step_back(const Data* l, std::size_t s) const noexcept {
    if (l == nullptr) {
      if (!root_) return end();
      l = rightmost_leaf(root_);
      s = l->cap;
    }
    while (l) {
      if (l->n) {
        const std::size_t x = l->prev_occupied(s);
        if (x != npos) return iterator(this, l, x);
      }
      l = l->prev;
      s = l ? l->cap : 0;
    }
    return end();
  }

  // ================================================================ insert machinery

  void ensure_root() {
    if (root_ == nullptr) root_ = store_.new_leaf(nullptr, 0, 0, 0);
  }

  // Descends to the data node for u, growing any model node on the way whose block does
  // not contain u yet (so that no entry ever sits outside its model nodes' blocks).
  Data* descend_for_insert(std::uint64_t u, Step* path, std::size_t* depth) {
    Node* n = root_;
    std::size_t d = 0;
    while (n->kind == detail::NodeKind::model) {
      Model* m = static_cast<Model*>(n);
      if (!m->covers(u)) m = grow_to_cover(m, u, d ? &path[d - 1] : nullptr);
      const std::size_t idx = m->route(u);
      path[d++] = Step{m, idx};
      n = m->children[idx];
    }
    *depth = d;
    return static_cast<Data*>(n);
  }

  // Links the chain first..last between `before` and `after` (either may be null).
  static void splice(Data* before, Data* after, Data* first, Data* last) noexcept {
    first->prev = before;
    last->next = after;
    if (before) before->next = first;
    if (after) after->prev = last;
  }

  // Points every slot of the parent that holds `from` at `to` (or the root).
  void replace_child(Step* parent, Node* from, Node* to) noexcept {
    if (parent == nullptr) {
      root_ = to;
      return;
    }
    std::size_t gs, r;
    parent->node->group_of(parent->idx, &gs, &r);
    for (std::size_t i = gs; i < gs + r; ++i)
      if (parent->node->children[i] == from) parent->node->children[i] = to;
  }

  // Grows model node m until its block contains u. Grows the node itself by powers of two
  // (the monotonic-append case: the right edge of the key domain just gets new empty data
  // nodes, nothing is retrained), or, when that would pass the fanout limit, puts a new
  // model node above it. Returns the node now standing where m stood.
  Model* grow_to_cover(Model* m, std::uint64_t u, Step* parent) {
    const unsigned c = std::max<unsigned>(m->block_bits, detail::common_block_bits(m->start, u));
    if (m->fanout_log + (c - m->block_bits) <= detail::cost::kMaxFanoutLog) {
      widen_model(m, c);
      return m;
    }
    return add_parent(m, c, parent);
  }

  // Extends m in place to the aligned block of 2^c that holds it: same slope, wider block,
  // old slots keep their children, the new ones get empty data nodes (one per sibling block).
  void widen_model(Model* m, unsigned c) {
    const unsigned b = m->block_bits;
    const unsigned levels = c - b;
    const std::uint64_t tstart = detail::block_start_of(m->start, c);
    Data* first_leaf = const_cast<Data*>(leftmost_leaf(m));
    Data* last_leaf = const_cast<Data*>(rightmost_leaf(m));
    const unsigned nlog = m->fanout_log + levels;
    const std::size_t nf = std::size_t{1} << nlog;
    Node** nc = store_.template allocate<Node*>(nf);
    Data* empties[64];
    try {
      new_empty_leaves(empties, levels);
    } catch (...) {
      store_.deallocate(nc, nf);
      throw;
    }
    const std::size_t off = static_cast<std::size_t>((m->start - tstart) >> m->shift);
    for (std::size_t i = 0; i < m->fanout(); ++i) nc[off + i] = m->children[i];
    Data *lchain_first = nullptr, *lchain_last = nullptr, *rchain_first = nullptr, *rchain_last = nullptr;
    // Sibling blocks of m's block at growing sizes: left ones get further left as they
    // grow, right ones further right.
    for (unsigned dd = levels; dd-- > 0;) {
      const unsigned bd = b + dd;
      const std::uint64_t sib = detail::block_start_of(m->start, bd) ^ (std::uint64_t{1} << bd);
      if (sib < m->start) chain_append(lchain_first, lchain_last, empties[dd]);
    }
    for (unsigned dd = 0; dd < levels; ++dd) {
      const unsigned bd = b + dd;
      const std::uint64_t sib = detail::block_start_of(m->start, bd) ^ (std::uint64_t{1} << bd);
      const std::size_t s0 = static_cast<std::size_t>((sib - tstart) >> m->shift);
      const std::size_t cnt = std::size_t{1} << (bd - m->shift);
      for (std::size_t i = s0; i < s0 + cnt; ++i) nc[i] = empties[dd];
      if (sib > m->start) chain_append(rchain_first, rchain_last, empties[dd]);
    }
    store_.deallocate(m->children, m->fanout());
    m->children = nc;
    m->fanout_log = static_cast<std::uint8_t>(nlog);
    m->start = tstart;
    m->block_bits = static_cast<std::uint8_t>(c);
    if (lchain_first) splice(first_leaf->prev, first_leaf, lchain_first, lchain_last);
    if (rchain_first) splice(last_leaf, last_leaf->next, rchain_first, rchain_last);
    ++events_.model_widenings;
  }

  // Puts a new model node over the aligned block of 2^c that holds m, in m's place; m keeps
  // its (smaller) block inside one of the new slots, the others get empty data nodes.
  Model* add_parent(Model* m, unsigned c, Step* parent) {
    const unsigned flog = std::min(c - m->block_bits, detail::cost::kMaxFanoutLog);
    const std::uint64_t tstart = detail::block_start_of(m->start, c);
    Data* first_leaf = const_cast<Data*>(leftmost_leaf(m));
    Data* last_leaf = const_cast<Data*>(rightmost_leaf(m));
    Model* top = store_.new_model(flog);
    Data* empties[64];
    try {
      new_empty_leaves(empties, flog);
    } catch (...) {
      store_.free_model(top);
      throw;
    }
    top->start = tstart;
    top->block_bits = static_cast<std::uint8_t>(c);
    top->shift = static_cast<std::uint8_t>(c - flog);
    const std::size_t sm = static_cast<std::size_t>((m->start - tstart) >> top->shift);
    top->children[sm] = m;
    Data *lf = nullptr, *ll = nullptr, *rf = nullptr, *rl = nullptr;
    for (unsigned lv = flog; lv-- > 0;) {  // left siblings, leftmost (largest) first
      const std::size_t blk = sm & ~((std::size_t{1} << lv) - 1);
      const std::size_t sib = blk ^ (std::size_t{1} << lv);
      if (sib < sm) chain_append(lf, ll, empties[lv]);
    }
    for (unsigned lv = 0; lv < flog; ++lv) {
      const std::size_t blk = sm & ~((std::size_t{1} << lv) - 1);
      const std::size_t sib = blk ^ (std::size_t{1} << lv);
      for (std::size_t i = sib; i < sib + (std::size_t{1} << lv); ++i) top->children[i] = empties[lv];
      if (sib > sm) chain_append(rf, rl, empties[lv]);
    }
    replace_child(parent, m, top);
    if (lf) splice(first_leaf->prev, first_leaf, lf, ll);
    if (rf) splice(last_leaf, last_leaf->next, rf, rl);
    ++events_.parents_added;
    return top;
  }

  // count new empty data nodes into out; none are left if one cannot be made.
  void new_empty_leaves(Data** out, std::size_t count) {
    std::size_t made = 0;
    try {
      for (; made < count; ++made) out[made] = store_.new_leaf(nullptr, 0, 0, 0);
    } catch (...) {
      for (std::size_t i = 0; i < made; ++i) store_.free_leaf(out[i]);
      throw;
    }
  }

  // Appends e to the unlinked chain first..last.
  static void chain_append(Data*& first, Data*& last, Data* e) noexcept {
    if (!first)
      first = e;
    else {
      last->next = e;
      e->prev = last;
    }
    last = e;
  }

  // An append-heavy node whose last slot is taken would shift ever longer runs left for
  // each further append; it grows (or splits) early instead.
  // The same holds for a key a little below the last entry but past the node's model (a
  // time-ordered key with jitter), and for any node whose slots at the right edge are one
  // packed run of kEdgeRun or more: the key would shift that run (or a key arriving out
  // of order a little later would), so the node grows now, with room on its right.
  static constexpr std::size_t kEdgeRun = 64;
  static bool at_append_edge(const Data* leaf, Key k, Payload p) noexcept {
    if (leaf->cap == 0 || !leaf->occupied(leaf->cap - 1)) return false;
    if (Entry{k, p} < leaf->entry(leaf->cap - 1) && leaf->model.raw(Traits::to_u64(k)) < double(leaf->cap))
      return false;
    if (detail::cost::is_append_heavy(leaf->inserts, leaf->appends)) return true;
    // (Only in a node that does take appends: random inserts that happen to land past the
    // model of a densely laid-out node do not make it grow.)
    if (!detail::cost::takes_appends(leaf->inserts, leaf->appends)) return false;
    const std::size_t gap = detail::bitmap::prev_clear(leaf->bits, leaf->cap - 1);
    return gap == npos || leaf->cap - 1 - gap >= kEdgeRun;
  }

  void insert_group(Data* leaf, Step* path, std::size_t depth, const Entry* e, std::size_t g) {
    if (leaf->n + g <= sz_.max_fill(leaf->cap) && g * 16 < leaf->cap) {
      // Few keys for a big node: insert in place, prefetching the next key's slots so the
      // cache misses of consecutive keys overlap.
      constexpr std::size_t kAhead = 8;
      for (std::size_t i = 0; i < g; ++i) {
        if (i + kAhead < g) {
          const std::size_t p = leaf->predict(e[i + kAhead].key);
          __builtin_prefetch(leaf->keys + p);
          __builtin_prefetch(leaf->pays + p);
          __builtin_prefetch(leaf->bits + (p >> 6));
          // The search and the shift often spill into the neighbouring lines.
          if (p + 8 < leaf->cap) {
            __builtin_prefetch(leaf->keys + p + 8);
            __builtin_prefetch(leaf->pays + p + 8);
          }
          if (p >= 8) {
            __builtin_prefetch(leaf->keys + p - 8);
            __builtin_prefetch(leaf->pays + p - 8);
          }
        }
        leaf->insert(e[i].key, e[i].payload);
      }
      return;
    }
    rebuild_leaf(leaf, path, depth, e, g);
  }

  // The leaf cannot take the incoming run in place (or should not): merge the run with the
  // leaf's entries and either re-lay out the leaf in a bigger array (expand + retrain) or
  // replace it by several nodes (split), as the cost model decides.
  void rebuild_leaf(Data* leaf, Step* path, std::size_t depth, const Entry* in, std::size_t g,
                    bool append_edge = false) {
    const LeafPlan plan = plan_rebuild(leaf, in, g, append_edge);
    if (plan.expand)
      expand_leaf(leaf, in, g, plan);
    else
      split_leaf(leaf, path, depth, merged_with(leaf, in, g), plan.append);
  }

  // What rebuild_leaf does with a leaf and its incoming run of g entries.
  struct LeafPlan {
    std::size_t m;     // entries after the merge
    std::size_t need;  // slots they need at init_density
    std::size_t cap;   // slots to lay them out in when expanding (room to the right for appends)
    bool append;       // append-heavy: builders leave room to the right as well
    bool expand;       // expand (re-lay out and retrain) rather than split
  };

  LeafPlan plan_rebuild(const Data* leaf, const Entry* in, std::size_t g, bool append_edge) const {
    LeafPlan p;
    p.m = leaf->n + g;
    Entry lo = in[0], hi = in[g - 1];
    if (leaf->n) {
      lo = std::min(lo, leaf->entry(leaf->first()));
      hi = std::max(hi, leaf->entry(leaf->last()));
    }
    // One key image (one repeated integral key, or Key128s sharing their leading 64 bits):
    // routing cannot separate the entries, so the node can only grow.
    const bool all_equal = Traits::same_u64(lo.key, hi.key);
    p.append = append_edge || detail::cost::is_append_heavy(leaf->inserts, leaf->appends) ||
               (g > 1 && leaf->n > 0 && leaf->entry(leaf->last()) < in[0]);
    p.need = sz_.cap_for(p.m);
    const bool stale = detail::cost::is_catastrophic(leaf->inserts, leaf->search_iters, leaf->shifts,
                                                     leaf->expected_cost);
    // Called before the node is full, for an append at its right edge (see at_append_edge).
    const bool early = append_edge && p.m <= sz_.max_fill(leaf->cap);
    p.cap = p.need;
    if (p.append || early) {
      const std::size_t roomy = ((p.need * 3 / 2) + 63) & ~std::size_t{63};
      p.cap = all_equal ? std::max(p.need, roomy) : std::max(p.need, std::min(roomy, sz_.max_slots));
    }
    p.expand = all_equal || (p.need <= sz_.max_slots && !stale);
    if (early && p.cap <= leaf->cap) p.expand = false;  // cannot grow any more: split instead
    return p;
  }

  // A sorted run of entries in process-local scratch (a rebuild's input). Not zeroed
  // first (as a std::vector of the same size would be): merge_into writes every entry.
  struct Run {
    std::unique_ptr<Entry[]> e;
    std::size_t n = 0;
    Entry* data() const noexcept { return e.get(); }
    std::size_t size() const noexcept { return n; }
    const Entry& front() const noexcept { return e[0]; }
    const Entry& back() const noexcept { return e[n - 1]; }
  };

  // The leaf's entries merged with the incoming run, as one sorted array.
  static Run merged_with(const Data* leaf, const Entry* in, std::size_t g) {
    Run all{std::unique_ptr<Entry[]>(new Entry[leaf->n + g]), leaf->n + g};
    leaf->merge_into(in, g, all.data());
    return all;
  }

  // Expand (or re-lay out) and retrain.
  void expand_leaf(Data* leaf, const Entry* in, std::size_t g, const LeafPlan& plan) {
    const std::size_t old_cap = leaf->cap;
    if (plan.m <= leaf->cap) {
      store_.relayout_merged(leaf, in, g, plan.cap, plan.need);
    } else {
      const Run all = merged_with(leaf, in, g);
      store_.relayout(leaf, all.data(), plan.m, plan.cap, plan.need);
    }
    if (leaf->cap > old_cap)
      ++events_.expansions;
    else
      ++events_.retrains;
  }

  // Replaces the leaf by nodes built from `all`: below its parent's slots (downwards), or
  // across them (sideways), as the cost model chooses; the root leaf always splits downwards.
  void split_leaf(Data* leaf, Step* path, std::size_t depth, Run all, bool append) {
    const std::size_t m = all.size();
    Build b(store_, sz_, all.data() + m, append);
    if (depth == 0) {  // root data node: split downwards
      Node* sub = b.subtree(all.data(), m);
      splice(leaf->prev, leaf->next, b.head(), b.tail());
      root_ = sub;
      store_.free_leaf(leaf);
      ++events_.downward_splits;
      return;
    }
    Step& ps = path[depth - 1];
    Model* parent = ps.node;
    std::size_t gs, r;
    parent->group_of(ps.idx, &gs, &r);
    const unsigned tb = detail::common_block_bits(Traits::to_u64(all.front().key), Traits::to_u64(all.back().key));
    auto kind = detail::cost::choose_split(r, tb, parent->shift, parent->fanout_log);
    if (kind == detail::cost::SplitKind::double_parent_then_sideways) {
      double_model(parent);
      gs *= 2;
      r *= 2;
      ps.idx = gs;
      kind = detail::cost::SplitKind::sideways;
    }
    if (kind == detail::cost::SplitKind::downward) {
      Node* sub = b.subtree(all.data(), m);
      splice(leaf->prev, leaf->next, b.head(), b.tail());
      for (std::size_t i = gs; i < gs + r; ++i) parent->children[i] = sub;
      store_.free_leaf(leaf);
      ++events_.downward_splits;
      return;
    }
    split_sideways(leaf, parent, gs, r, b, all);
  }

  // Builds nodes for the parent's slots [gs, gs + r) from `all` and puts them where the leaf was.
  void split_sideways(Data* leaf, Model* parent, std::size_t gs, std::size_t r, Build& b,
                      Run& all) {
    struct Piece {
      std::size_t gs, r;
      Node* node;
    };
    std::vector<Piece> pieces;
    pieces.reserve(8);
    try {
      b.groups(parent->start, parent->shift, gs, r, all.data(), all.size(), sz_.max_leaf_keys, true,
               [&](std::size_t s, std::size_t cnt, Node* node) {
                 try {
                   pieces.push_back(Piece{s, cnt, node});
                 } catch (...) {
                   store_.destroy(node);
                   throw;
                 }
               });
    } catch (...) {
      for (auto& pc : pieces) store_.destroy(pc.node);
      throw;
    }
    splice(leaf->prev, leaf->next, b.head(), b.tail());
    for (auto& pc : pieces)
      for (std::size_t i = pc.gs; i < pc.gs + pc.r; ++i) parent->children[i] = pc.node;
    store_.free_leaf(leaf);
    ++events_.sideways_splits;
  }

  // Doubles a model node's resolution: slope x2, each child now owns twice the slots.
  void double_model(Model* m) {
    const std::size_t f = m->fanout();
    Node** nc = store_.template allocate<Node*>(2 * f);
    for (std::size_t i = 0; i < f; ++i) nc[2 * i] = nc[2 * i + 1] = m->children[i];
    store_.deallocate(m->children, f);
    m->children = nc;
    m->fanout_log = static_cast<std::uint8_t>(m->fanout_log + 1);
    m->shift = static_cast<std::uint8_t>(m->shift - 1);
    ++events_.model_doublings;
  }

  // After erases: a node well below min_density is re-laid out smaller. Optional: the erase
  // itself has already succeeded, and a failed re-layout leaves the node valid as it was, so
  // a failure (the allocator ran out) does not fail the erase. It is not dropped either: it
  // is counted in events().failed_shrinks, which stats() reports.
  void maybe_shrink(Data* leaf) noexcept {
    if (leaf->cap <= 64 && leaf->n > 0) return;
    if (double(leaf->n) >= sz_.min_density * double(leaf->cap)) return;
    try {
      const std::size_t c = sz_.cap_for(leaf->n), old_cap = leaf->cap;
      store_.relayout_merged(leaf, nullptr, 0, c, c);
      if (leaf->cap < old_cap)
        ++events_.shrinks;
      else
        ++events_.retrains;
    } catch (...) {
      ++events_.failed_shrinks;
    }
  }

  // ================================================================ stats / validate

  struct StatsWalk {
    Stats* st;
    std::size_t stride;
    std::size_t counter;
    std::size_t samples;
    double dist_sum;
  };

  void stats_node(const Node* n, std::size_t depth, StatsWalk& w) const {
    w.st->depth = std::max(w.st->depth, depth);
    if (n->kind == detail::NodeKind::data) {
      auto* d = static_cast<const Data*>(n);
      ++w.st->data_nodes;
      w.st->data_bytes += sizeof(Data) + (d->cap ? Data::slab_words(d->cap) * 8 : 0);
      for (std::size_t s = d->first(); s != npos; s = d->next_occupied(s + 1)) {
        if (w.counter++ % w.stride) continue;
        const std::size_t p = d->predict(d->keys[s]);
        w.dist_sum += double(p > s ? p - s : s - p);
        ++w.samples;
      }
      return;
    }
    auto* m = static_cast<const Model*>(n);
    ++w.st->model_nodes;
    w.st->model_bytes += sizeof(Model) + m->fanout() * sizeof(Node*);
    const Node* prev = nullptr;
    for (std::size_t i = 0; i < m->fanout(); ++i) {
      if (m->children[i] != prev) stats_node(m->children[i], depth + 1, w);
      prev = m->children[i];
    }
  }

  struct ValidateWalk {
    std::string why;
    const Data* last_leaf = nullptr;
    bool have_last = false;
    Entry last{};
    std::size_t entries = 0, bytes = 0;
    bool fail(std::string s) {
      why = std::move(s);
      return false;
    }
  };

  bool validate_node(const Node* n, std::uint64_t lo, std::uint64_t hi, std::size_t depth, ValidateWalk& w) const {
    if (n == nullptr) return w.fail("null child");
    if (depth > kMaxDepth) return w.fail("tree too deep");
    if (n->kind == detail::NodeKind::model) {
      auto* m = static_cast<const Model*>(n);
      w.bytes += sizeof(Model) + m->fanout() * sizeof(Node*);
      if (m->fanout_log < 1 || m->fanout_log > detail::cost::kMaxFanoutLog) return w.fail("bad fanout");
      if (unsigned(m->shift) + m->fanout_log != m->block_bits || m->block_bits > 64) return w.fail("bad block bits");
      if (detail::block_start_of(m->start, m->block_bits) != m->start) return w.fail("unaligned model block");
      if (m->start < lo || detail::block_last(m->start, m->block_bits) > hi)
        return w.fail("model block outside its parent slot range");
      std::size_t i = 0;
      while (i < m->fanout()) {
        std::size_t gs, r;
        m->group_of(i, &gs, &r);
        if (gs != i) return w.fail("child slots not an aligned power-of-two run");
        for (std::size_t j = gs; j < gs + r; ++j)
          if (m->children[j] != m->children[i]) return w.fail("child run broken");
        if (gs + r < m->fanout() && m->children[gs + r] == m->children[i]) return w.fail("child run not maximal");
        const std::uint64_t s = m->slot_start(gs);
        const std::uint64_t e = detail::block_last(s, m->shift + static_cast<unsigned>(std::countr_zero(r)));
        if (!validate_node(m->children[i], s, e, depth + 1, w)) return false;
        i = gs + r;
      }
      return true;
    }
    auto* d = static_cast<const Data*>(n);
    w.bytes += sizeof(Data) + (d->cap ? Data::slab_words(d->cap) * 8 : 0);
    if (d->prev != w.last_leaf) return w.fail("leaf prev pointer out of order");
    if (w.last_leaf && w.last_leaf->next != d) return w.fail("leaf next pointer out of order");
    w.last_leaf = d;
    if (d->cap % 64) return w.fail("capacity not a multiple of 64");
    if (d->cap == 0) {
      if (d->n != 0 || d->keys) return w.fail("zero-capacity node with entries");
      return true;
    }
    if (detail::bitmap::count(d->bits, d->cap) != d->n) return w.fail("bitmap count != n");
    for (std::size_t x = 0; x < d->cap / 64; ++x)
      if (d->dead_word(x) & ~d->bits[x]) return w.fail("dead hint on a free slot");
    if (d->n > d->cap) return w.fail("n > cap");
    if (!std::isfinite(d->model.slope) || d->model.slope < 0 || !std::isfinite(d->model.intercept))
      return w.fail("bad data node model");
    const Entry sentinel = detail::kEndSentinel<Key, Payload>;
    Entry next_val = sentinel;
    bool first_in_leaf = true;
    // Walk right to left checking the gap invariant, then left to right for order.
    for (std::size_t s = d->cap; s-- > 0;) {
      const Entry v = d->entry(s);
      if (d->occupied(s)) {
        if (next_val < v) return w.fail("slots out of order");
        next_val = v;
      } else if (!(v == next_val)) {
        return w.fail("gap does not hold the next entry");
      }
    }
    for (std::size_t s = d->first(); s != npos; s = d->next_occupied(s + 1)) {
      const Entry v = d->entry(s);
      const std::uint64_t u = Traits::to_u64(v.key);
      if (u < lo || u > hi) return w.fail("key outside its data node's slot range");
      if (w.have_last) {
        if (v < w.last) return w.fail("global order broken");
        // (compares images: for Key128, keys sharing their leading 64 bits share a node)
        if (first_in_leaf && !(Traits::to_u64(w.last.key) < u)) return w.fail("same key in two data nodes");
      }
      w.last = v;
      w.have_last = true;
      first_in_leaf = false;
      ++w.entries;
    }
    return true;
  }

  Params params_;
  detail::Sizing sz_;
  Store store_;
  Node* root_ = nullptr;
  std::size_t size_ = 0;
  Events events_;
};

}  // namespace alex
