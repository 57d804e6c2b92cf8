// shared_tree.cpp: ALEX trees that live in the shared arena (used by backends and the worker),
// behind the C API in engine.h.
//
// Writers hold the index's LWLock exclusively, readers share it; the tree itself is not
// thread-safe. An arena that runs full throws std::bad_alloc from the allocator; the core
// library keeps the tree valid in that case and the guard reports AX_NOMEM.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <string>

#include "alex/alex.hpp"
#include "arena.hpp"
#include "guard.hpp"

using namespace axeng;

namespace {
using Tree = alex::Alex<int64_t, uint64_t, ArenaAllocator<std::byte>>;
using TreeEntry = Tree::Entry;

static_assert(sizeof(TreeEntry) == sizeof(AxEntry), "AxEntry must mirror the tree's Entry");
static_assert(offsetof(TreeEntry, key) == offsetof(AxEntry, key));
static_assert(offsetof(TreeEntry, payload) == offsetof(AxEntry, tid));

Tree* as_tree(AxTree* t) { return reinterpret_cast<Tree*>(t); }
const Tree* as_tree(const AxTree* t) { return reinterpret_cast<const Tree*>(t); }
TreeEntry* as_entries(AxEntry* e) { return reinterpret_cast<TreeEntry*>(e); }
const TreeEntry* as_entries(const AxEntry* e) { return reinterpret_cast<const TreeEntry*>(e); }
}  // namespace

struct AxTree;  // only ever a Tree in disguise

extern "C" AxTree* ax_tree_create(void* arena, const AxTreeParams* params, AxError* err) {
  Tree* result = nullptr;
  ax_guard(err, [&] {
    ArenaAllocator<std::byte> alloc(arena_manager(arena));
    alex::Params p;
    if (params && params->max_data_node_slots) p.max_data_node_slots = params->max_data_node_slots;
    ArenaAllocator<Tree> tree_alloc(alloc);
    Tree* mem = tree_alloc.allocate(1);
    try {
      result = new (mem) Tree(p, alloc);
    } catch (...) {
      tree_alloc.deallocate(mem, 1);
      throw;
    }
  });
  return reinterpret_cast<AxTree*>(result);
}

extern "C" AxStatus ax_tree_destroy(void* arena, AxTree* tree, AxError* err) {
  if (tree == nullptr) return AX_OK;
  return ax_guard(err, [&] {
    GiveBackPages whole_tree;
    Tree* t = as_tree(tree);
    t->~Tree();
    ArenaAllocator<Tree>(arena_manager(arena)).deallocate(t, 1);
  });
}

extern "C" AxStatus ax_tree_bulk_load(AxTree* tree, const AxEntry* sorted, std::size_t n, AxError* err) {
  return ax_guard(err, [&] { as_tree(tree)->bulk_load(as_entries(sorted), n); });
}

extern "C" AxStatus ax_tree_insert_batch(AxTree* tree, AxEntry* entries, std::size_t n, AxError* err) {
  return ax_guard(err, [&] {
    if (n == 1)
      as_tree(tree)->insert(entries[0].key, entries[0].tid);
    else
      as_tree(tree)->insert_batch(as_entries(entries), n);
  });
}

extern "C" AxStatus ax_tree_erase_batch(AxTree* tree, AxEntry* entries, std::size_t n,
                                        std::size_t* removed, AxError* err) {
  *removed = 0;
  return ax_guard(err, [&] { *removed = as_tree(tree)->erase_batch(as_entries(entries), n); });
}

extern "C" std::size_t ax_tree_size(const AxTree* tree) noexcept { return as_tree(tree)->size(); }

extern "C" std::size_t ax_tree_copy_range(const AxTree* tree, int64_t lo, int64_t hi,
                                          const AxEntry* resume, bool backward, AxEntry* out,
                                          std::size_t max) noexcept {
  // No guard: copying allocates nothing and the core's copy_range is noexcept.
  const Tree* t = as_tree(tree);
  return backward ? t->copy_range_reverse(lo, hi, as_entries(resume), as_entries(out), max)
                  : t->copy_range(lo, hi, as_entries(resume), as_entries(out), max);
}

extern "C" std::size_t ax_tree_memory_bytes(const AxTree* tree) noexcept { return as_tree(tree)->memory_bytes(); }

extern "C" AxStatus ax_tree_stats(const AxTree* tree, AxTreeStats* out, AxError* err) {
  std::memset(out, 0, sizeof(*out));
  return ax_guard(err, [&] {
    const Tree* t = as_tree(tree);
    alex::Stats s = t->stats();
    out->entries = s.entries;
    out->depth = s.depth;
    out->model_nodes = s.model_nodes;
    out->data_nodes = s.data_nodes;
    out->memory_bytes = t->memory_bytes();
    out->avg_search_distance = s.avg_search_distance;
    out->expansions = s.events.expansions;
    out->retrains = s.events.retrains;
    out->shrinks = s.events.shrinks;
    out->sideways_splits = s.events.sideways_splits;
    out->downward_splits = s.events.downward_splits;
    out->model_doublings = s.events.model_doublings;
    out->model_widenings = s.events.model_widenings;
    out->parents_added = s.events.parents_added;
    out->failed_shrinks = s.events.failed_shrinks;
  });
}

extern "C" bool ax_tree_validate(const AxTree* tree, char* why, std::size_t whylen) {
  bool ok = false;
  AxError err{};
  AxStatus st = ax_guard(&err, [&] {
    std::string reason;
    ok = as_tree(tree)->validate(&reason);
    if (!ok && why && whylen) std::snprintf(why, whylen, "%s", reason.c_str());
  });
  if (st != AX_OK && why && whylen) std::snprintf(why, whylen, "%s", err.message);
  return ok && st == AX_OK;
}

// ---------- the pair ----------

struct AxTreePair {
  AxTree* values;  // entries with a key
  AxTree* nulls;   // entries whose key is NULL
};

extern "C" AxTreePair* ax_pair_create(void* arena, const AxTreeParams* params, AxError* err) {
  AxTreePair* result = nullptr;
  ax_guard(err, [&] {
    ArenaAllocator<AxTreePair> alloc(arena_manager(arena));
    AxTreePair* pair = alloc.allocate(1);
    AxError inner{};
    pair->values = ax_tree_create(arena, params, &inner);
    pair->nulls = pair->values ? ax_tree_create(arena, params, &inner) : nullptr;
    if (pair->nulls == nullptr) {
      std::string why = inner.message;
      AxStatus status = inner.status;
      if (ax_tree_destroy(arena, pair->values, &inner) != AX_OK)
        why += std::string("; freeing the other tree failed too: ") + inner.message;
      alloc.deallocate(pair, 1);
      throw Failure(status, why);
    }
    result = pair;
  });
  return result;
}

extern "C" AxStatus ax_pair_destroy(void* arena, AxTreePair* pair, AxError* err) {
  if (pair == nullptr) return AX_OK;
  return ax_guard(err, [&] {
    // both trees are freed even if one fails; the first failure is the one reported
    AxError first{}, second{};
    AxStatus a = ax_tree_destroy(arena, pair->values, &first);
    AxStatus b = ax_tree_destroy(arena, pair->nulls, &second);
    ArenaAllocator<AxTreePair>(arena_manager(arena)).deallocate(pair, 1);
    if (a != AX_OK) throw Failure(a, first.message);
    if (b != AX_OK) throw Failure(b, second.message);
  });
}

extern "C" AxStatus ax_pair_bulk_load(AxTreePair* pair, const AxEntry* values, std::size_t nvalues,
                                      const AxEntry* nulls, std::size_t nnulls, AxError* err) {
  AxStatus st = ax_tree_bulk_load(pair->values, values, nvalues, err);
  return st != AX_OK ? st : ax_tree_bulk_load(pair->nulls, nulls, nnulls, err);
}

extern "C" AxStatus ax_pair_insert_batch(AxTreePair* pair, AxEntry* entries, std::size_t nvalues,
                                         std::size_t n, AxError* err) {
  AxStatus st = ax_tree_insert_batch(pair->values, entries, nvalues, err);
  if (st == AX_OK && nvalues < n) st = ax_tree_insert_batch(pair->nulls, entries + nvalues, n - nvalues, err);
  return st;
}

extern "C" AxStatus ax_pair_erase_batch(AxTreePair* pair, AxEntry* entries, std::size_t nvalues,
                                        std::size_t n, std::size_t* removed, AxError* err) {
  std::size_t r1 = 0, r2 = 0;
  AxStatus st = ax_tree_erase_batch(pair->values, entries, nvalues, &r1, err);
  if (st == AX_OK) st = ax_tree_erase_batch(pair->nulls, entries + nvalues, n - nvalues, &r2, err);
  if (removed) *removed = r1 + r2;
  return st;
}

extern "C" std::size_t ax_pair_size(const AxTreePair* pair) noexcept {
  return ax_tree_size(pair->values) + ax_tree_size(pair->nulls);
}

extern "C" std::size_t ax_pair_memory_bytes(const AxTreePair* pair) noexcept {
  return ax_tree_memory_bytes(pair->values) + ax_tree_memory_bytes(pair->nulls) + sizeof(AxTreePair);
}

extern "C" std::size_t ax_pair_copy_range(const AxTreePair* pair, bool nulls, int64_t lo, int64_t hi,
                                          const AxEntry* resume, bool backward, AxEntry* out,
                                          std::size_t max) noexcept {
  return ax_tree_copy_range(nulls ? pair->nulls : pair->values, lo, hi, resume, backward, out, max);
}

extern "C" AxStatus ax_pair_stats(const AxTreePair* pair, AxTreeStats* out, AxError* err) {
  AxTreeStats n;
  AxStatus st = ax_tree_stats(pair->values, out, err);
  if (st == AX_OK) st = ax_tree_stats(pair->nulls, &n, err);
  if (st != AX_OK) return st;
  out->entries += n.entries;
  out->memory_bytes += n.memory_bytes;
  out->expansions += n.expansions;
  out->retrains += n.retrains;
  out->shrinks += n.shrinks;
  out->sideways_splits += n.sideways_splits;
  out->downward_splits += n.downward_splits;
  out->model_doublings += n.model_doublings;
  out->model_widenings += n.model_widenings;
  out->parents_added += n.parents_added;
  out->failed_shrinks += n.failed_shrinks;
  return AX_OK;
}

extern "C" bool ax_pair_validate(const AxTreePair* pair, char* why, std::size_t whylen) {
  return ax_tree_validate(pair->values, why, whylen) && ax_tree_validate(pair->nulls, why, whylen);
}
