// node_store.hpp: every byte the tree owns comes from here. Wraps the user's allocator
// (rebound per type through std::allocator_traits), counts the bytes it hands out, and
// creates / destroys nodes. A failed allocation throws before anything is modified.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "data_node.hpp"
#include "model_node.hpp"

namespace alex::detail {

// Sizes derived from the run-time parameters.
struct Sizing {
  std::size_t max_slots = 0;      // max data-node capacity (a multiple of 64)
  std::size_t max_leaf_keys = 0;  // most keys a split/bulk-load piece may hold
  std::size_t leaf_target = 0;    // keys per data node that bulk load aims for
  double min_density = 0, max_density = 0, init_density = 0;

  // Slots for m keys laid out at the initial density (multiple of 64, at least 64).
  std::size_t cap_for(std::size_t m) const noexcept { return cap_at(m, init_density); }
  // Slots for m keys laid out at `density` (multiple of 64, more than m).
  static std::size_t cap_at(std::size_t m, double density) noexcept {
    if (m == 0) return 0;
    double c = double(m) / density;
    std::size_t s = static_cast<std::size_t>(c);
    if (double(s) < c) ++s;
    if (s <= m) s = m + 1;
    return (s + 63) & ~std::size_t{63};
  }
  // Most keys a node of cap slots takes before it must grow.
  std::size_t max_fill(std::size_t cap) const noexcept {
    std::size_t f = static_cast<std::size_t>(max_density * double(cap));
    return f >= cap ? (cap ? cap - 1 : 0) : f;
  }
};

template <class K, class P, class Alloc>
class NodeStore {
 public:
  using Data = DataNode<K, P>;
  using E = Entry<K, P>;

  explicit NodeStore(const Alloc& a) : alloc_(a) {}

  const Alloc& allocator() const noexcept { return alloc_; }
  std::size_t bytes() const noexcept { return bytes_; }

  template <class T>
  T* allocate(std::size_t n) {
    using A = typename std::allocator_traits<Alloc>::template rebind_alloc<T>;
    A a(alloc_);
    T* p = std::allocator_traits<A>::allocate(a, n);
    bytes_ += n * sizeof(T);
    return p;
  }
  template <class T>
  void deallocate(T* p, std::size_t n) noexcept {
    if (p == nullptr) return;
    using A = typename std::allocator_traits<Alloc>::template rebind_alloc<T>;
    A a(alloc_);
    std::allocator_traits<A>::deallocate(a, p, n);
    bytes_ -= n * sizeof(T);
  }

  std::uint64_t* new_slab(std::size_t cap) {
    return cap ? allocate<std::uint64_t>(Data::slab_words(cap)) : nullptr;
  }
  void free_slab(std::uint64_t* s, std::size_t cap) noexcept {
    if (s) deallocate(s, Data::slab_words(cap));
  }

  // A data node holding e[0..m) in cap slots, the first `spread` of them used.
  Data* new_leaf(const E* e, std::size_t m, std::size_t cap, std::size_t spread) {
    Data* d = allocate<Data>(1);
    std::uint64_t* s = nullptr;
    try {
      s = new_slab(cap);
    } catch (...) {
      deallocate(d, 1);
      throw;
    }
    new (d) Data();
    d->attach(s, cap);
    d->lay_out(e, m, spread);
    return d;
  }

  // Re-lay out d with e[0..m) in a new slab of cap slots (e must not point into d).
  void relayout(Data* d, const E* e, std::size_t m, std::size_t cap, std::size_t spread) {
    std::uint64_t* s = new_slab(cap);  // the only step that can fail
    std::uint64_t* old = d->slab();
    const std::size_t old_cap = d->cap;
    d->attach(s, cap);
    d->lay_out(e, m, spread);
    free_slab(old, old_cap);
  }

  // Re-lay out d with its own entries plus the sorted run in[0..g) (d->n + g <= d->cap),
  // without a scratch copy: the old arrays are packed in place once the new slab exists.
  void relayout_merged(Data* d, const E* in, std::size_t g, std::size_t cap, std::size_t spread) {
    std::uint64_t* s = new_slab(cap);  // the only step that can fail
    const std::size_t m = d->n + g;
    d->pack_and_merge(in, g);
    const K* ok = d->keys;
    const P* op = d->pays;
    std::uint64_t* old = d->slab();
    const std::size_t old_cap = d->cap;
    d->attach(s, cap);
    d->lay_out(typename Data::ArraySource{ok, op}, m, spread);
    free_slab(old, old_cap);
  }

  void free_leaf(Data* d) noexcept {
    free_slab(d->slab(), d->cap);
    d->~Data();
    deallocate(d, 1);
  }

  ModelNode* new_model(unsigned fanout_log) {
    ModelNode* m = allocate<ModelNode>(1);
    NodeBase** ch = nullptr;
    try {
      ch = allocate<NodeBase*>(std::size_t{1} << fanout_log);
    } catch (...) {
      deallocate(m, 1);
      throw;
    }
    new (m) ModelNode();
    m->fanout_log = static_cast<std::uint8_t>(fanout_log);
    m->children = ch;
    for (std::size_t i = 0; i < m->fanout(); ++i) ch[i] = nullptr;
    return m;
  }

  // Frees the node itself (not its children).
  void free_model(ModelNode* m) noexcept {
    deallocate(m->children, m->fanout());
    m->~ModelNode();
    deallocate(m, 1);
  }

  // Frees a whole subtree. Tolerates null children (half-built nodes).
  void destroy(NodeBase* n) noexcept {
    if (n == nullptr) return;
    if (n->kind == NodeKind::data) {
      free_leaf(static_cast<Data*>(n));
      return;
    }
    auto* m = static_cast<ModelNode*>(n);
    NodeBase* prev = nullptr;
    for (std::size_t i = 0; i < m->fanout(); ++i) {
      NodeBase* c = m->children[i];
      if (c != prev) destroy(c);  // a child owns a contiguous run of slots
      prev = c;
    }
    free_model(m);
  }

 private:
  Alloc alloc_;
  std::size_t bytes_ = 0;
};

}  // namespace alex::detail
