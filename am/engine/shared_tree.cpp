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
#include <vector>

#include "alex/alex.hpp"
#include "alex/key128.hpp"
#include "arena.hpp"
#include "entry_order.hpp"
#include "guard.hpp"

using namespace axeng;

namespace {
// Narrow indexes key the tree on the int64 image; wide ones (uuid) on two words, routed by
// the leading one (alex/key128.hpp).
using NarrowTree = alex::Alex<int64_t, uint64_t, ArenaAllocator<std::byte>>;
using WideTree = alex::Alex<alex::Key128, uint64_t, ArenaAllocator<std::byte>>;
using NarrowEntry = NarrowTree::Entry;
using WideEntry = WideTree::Entry;

static_assert(sizeof(WideEntry) == sizeof(AxEntry), "wide entries convert in place");
static_assert(sizeof(NarrowEntry) == sizeof(AxNarrowEntry) && offsetof(NarrowEntry, key) == offsetof(AxNarrowEntry, key) &&
                  offsetof(NarrowEntry, payload) == offsetof(AxNarrowEntry, tid),
              "a narrow build's arrays are the narrow tree's entries");
static_assert(sizeof(NarrowEntry) < sizeof(AxEntry), "narrow entries pack in place");

// A narrow tree's entries are AxEntry without key_lo: a batch is packed in place (front to
// back: each packed entry lands at or before where it was read) for the core and spread out
// again after (back to front).
NarrowEntry* pack_narrow(AxEntry* e, std::size_t n) noexcept {
  auto* out = reinterpret_cast<NarrowEntry*>(static_cast<void*>(e));
  for (std::size_t i = 0; i < n; i++) {
    const NarrowEntry x{e[i].key, e[i].tid};
    out[i] = x;
  }
  return out;
}
void unpack_narrow(AxEntry* e, std::size_t n) noexcept {
  const auto* in = reinterpret_cast<const NarrowEntry*>(static_cast<const void*>(e));
  for (std::size_t i = n; i-- > 0;) {
    const NarrowEntry x = in[i];
    e[i] = AxEntry{x.key, x.payload, 0};
  }
}
NarrowEntry narrow_of(const AxEntry& e) noexcept { return NarrowEntry{e.key, e.tid}; }

// Wide entries have AxEntry's size: converted in place, both ways. The leading word is the
// key's unsigned image (key_bits), as the sidecar's byte order has it.
alex::Key128 wide_key(int64_t key, uint64_t key_lo) noexcept { return alex::Key128{key_bits(key), key_lo}; }
WideEntry wide_of(const AxEntry& e) noexcept { return WideEntry{wide_key(e.key, e.key_lo), e.tid}; }
AxEntry ax_of(const WideEntry& w) noexcept {
  return AxEntry{key_of_bits(w.key.hi), w.payload, w.key.lo};
}
WideEntry* to_wide(AxEntry* e, std::size_t n) noexcept {
  auto* out = reinterpret_cast<WideEntry*>(static_cast<void*>(e));
  for (std::size_t i = 0; i < n; i++) {
    const WideEntry x = wide_of(e[i]);
    out[i] = x;
  }
  return out;
}
void from_wide(AxEntry* e, std::size_t n) noexcept {
  const auto* in = reinterpret_cast<const WideEntry*>(static_cast<const void*>(e));
  for (std::size_t i = 0; i < n; i++) {
    const AxEntry x = ax_of(in[i]);
    e[i] = x;
  }
}
}  // namespace

// Lives in the arena: which tree, and where.
struct AxTree {
  bool wide;
  NarrowTree* narrow;
  WideTree* w;
};

namespace {
template <class T>
T* make_tree(void* arena, const alex::Params& p) {
  ArenaAllocator<std::byte> alloc(arena_manager(arena));
  ArenaAllocator<T> tree_alloc(alloc);
  T* mem = tree_alloc.allocate(1);
  try {
    return new (mem) T(p, alloc);
  } catch (...) {
    tree_alloc.deallocate(mem, 1);
    throw;
  }
}
template <class T>
void free_tree(void* arena, T* t) {
  if (t == nullptr) return;
  t->~T();
  ArenaAllocator<T>(arena_manager(arena)).deallocate(t, 1);
}
// Calls fn with the tree, as whichever type it is.
template <class Fn>
decltype(auto) with_tree(const AxTree* t, Fn&& fn) {
  return t->wide ? fn(*t->w) : fn(*t->narrow);
}
// Calls fn(tree, batch) with the batch rewritten in place into the tree's entry layout, and
// gives the caller its own layout back afterwards, also when the core throws (the caller then
// erases what went in, or stops trusting the tree).
template <class Fn>
void tree_batch(AxTree* tree, AxEntry* e, std::size_t n, Fn&& fn) {
  struct Restore {
    const AxTree* t;
    AxEntry* e;
    std::size_t n;
    ~Restore() {
      if (t->wide)
        from_wide(e, n);
      else
        unpack_narrow(e, n);
    }
  };
  if (tree->wide) {
    WideEntry* w = to_wide(e, n);
    Restore back{tree, e, n};
    fn(*tree->w, w);
  } else {
    NarrowEntry* p = pack_narrow(e, n);
    Restore back{tree, e, n};
    fn(*tree->narrow, p);
  }
}
}  // namespace

extern "C" AxTree* ax_tree_create(void* arena, const AxTreeParams* params, AxError* err) {
  AxTree* result = nullptr;
  ax_guard(err, [&] {
    alex::Params p;
    if (params && params->max_data_node_slots) p.max_data_node_slots = params->max_data_node_slots;
    ArenaAllocator<AxTree> box_alloc(arena_manager(arena));
    AxTree* box = box_alloc.allocate(1);
    *box = AxTree{params && params->wide, nullptr, nullptr};
    try {
      if (box->wide)
        box->w = make_tree<WideTree>(arena, p);
      else
        box->narrow = make_tree<NarrowTree>(arena, p);
    } catch (...) {
      box_alloc.deallocate(box, 1);
      throw;
    }
    result = box;
  });
  return result;
}

extern "C" AxStatus ax_tree_destroy(void* arena, AxTree* tree, AxError* err) {
  if (tree == nullptr) return AX_OK;
  return ax_guard(err, [&] {
    GiveBackPages whole_tree;
    free_tree(arena, tree->narrow);
    free_tree(arena, tree->w);
    ArenaAllocator<AxTree>(arena_manager(arena)).deallocate(tree, 1);
  });
}

extern "C" AxStatus ax_tree_bulk_load(AxTree* tree, const AxEntry* sorted, std::size_t n, AxError* err) {
  return ax_guard(err, [&] {
    // The input is shared with the SST writer threads: the tree's entries are a copy.
    if (tree->wide) {
      std::vector<WideEntry> v(n);
      for (std::size_t i = 0; i < n; i++) v[i] = wide_of(sorted[i]);
      tree->w->bulk_load(v.data(), n);
    } else {
      std::vector<NarrowEntry> v(n);
      for (std::size_t i = 0; i < n; i++) v[i] = narrow_of(sorted[i]);
      tree->narrow->bulk_load(v.data(), n);
    }
  });
}

extern "C" AxStatus ax_tree_insert_batch(AxTree* tree, AxEntry* entries, std::size_t n, AxError* err) {
  return ax_guard(err, [&] {
    if (n == 1) {
      if (tree->wide)
        tree->w->insert(wide_key(entries[0].key, entries[0].key_lo), entries[0].tid);
      else
        tree->narrow->insert(entries[0].key, entries[0].tid);
      return;
    }
    tree_batch(tree, entries, n, [&](auto& t, auto* core) { t.insert_batch(core, n); });
  });
}

extern "C" AxStatus ax_tree_erase_batch(AxTree* tree, AxEntry* entries, std::size_t n,
                                        std::size_t* removed, AxError* err) {
  *removed = 0;
  return ax_guard(err, [&] {
    tree_batch(tree, entries, n, [&](auto& t, auto* core) { *removed = t.erase_batch(core, n); });
  });
}

extern "C" std::size_t ax_tree_size(const AxTree* tree) noexcept {
  return with_tree(tree, [](const auto& t) { return t.size(); });
}

extern "C" std::size_t ax_tree_copy_range(const AxTree* tree, AxKey lo, AxKey hi,
                                          const AxEntry* resume, bool backward, bool skip_dead,
                                          AxEntry* out, std::size_t max) noexcept {
  // No guard: copying allocates nothing and the core's copy_range is noexcept. The core
  // writes its own entries into out, which are converted in place.
  std::size_t n;
  if (tree->wide) {
    const WideTree* t = tree->w;
    const WideEntry r = resume ? wide_of(*resume) : WideEntry{};
    auto* o = reinterpret_cast<WideEntry*>(static_cast<void*>(out));
    const alex::Key128 l = wide_key(lo.key, lo.key_lo), h = wide_key(hi.key, hi.key_lo);
    n = backward ? t->copy_range_reverse(l, h, resume ? &r : nullptr, o, max, skip_dead)
                 : t->copy_range(l, h, resume ? &r : nullptr, o, max, skip_dead);
    from_wide(out, n);
  } else {
    const NarrowTree* t = tree->narrow;
    const NarrowEntry r = resume ? narrow_of(*resume) : NarrowEntry{};
    auto* o = reinterpret_cast<NarrowEntry*>(static_cast<void*>(out));
    n = backward ? t->copy_range_reverse(lo.key, hi.key, resume ? &r : nullptr, o, max, skip_dead)
                 : t->copy_range(lo.key, hi.key, resume ? &r : nullptr, o, max, skip_dead);
    unpack_narrow(out, n);
  }
  return n;
}

extern "C" std::size_t ax_tree_mark_dead(const AxTree* tree, const AxEntry* entries, std::size_t n) noexcept {
  // One entry at a time, converted on the stack: the caller's array stays as it is, and
  // marking allocates nothing (the core's mark_dead is noexcept).
  std::size_t marked = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (tree->wide) {
      const WideEntry w = wide_of(entries[i]);
      marked += tree->w->mark_dead(&w, 1);
    } else {
      const NarrowEntry x = narrow_of(entries[i]);
      marked += tree->narrow->mark_dead(&x, 1);
    }
  }
  return marked;
}

extern "C" std::size_t ax_tree_memory_bytes(const AxTree* tree) noexcept {
  return with_tree(tree, [](const auto& t) { return t.memory_bytes(); });
}

extern "C" AxStatus ax_tree_stats(const AxTree* tree, AxTreeStats* out, AxError* err) {
  std::memset(out, 0, sizeof(*out));
  return ax_guard(err, [&] {
    with_tree(tree, [&](const auto& t) {
      alex::Stats s = t.stats();
      out->entries = s.entries;
      out->depth = s.depth;
      out->model_nodes = s.model_nodes;
      out->data_nodes = s.data_nodes;
      out->memory_bytes = t.memory_bytes();
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
  });
}

extern "C" bool ax_tree_validate(const AxTree* tree, char* why, std::size_t whylen) {
  bool ok = false;
  AxError err{};
  AxStatus st = ax_guard(&err, [&] {
    std::string reason;
    ok = with_tree(tree, [&](const auto& t) { return t.validate(&reason); });
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

extern "C" AxStatus ax_pair_bulk_load_consuming(AxTreePair* pair, AxEntry* values, std::size_t nvalues,
                                                AxEntry* nulls, std::size_t nnulls, AxError* err) {
  return ax_guard(err, [&] {
    if (pair->values->wide) {
      pair->values->w->bulk_load(to_wide(values, nvalues), nvalues);
      pair->nulls->w->bulk_load(to_wide(nulls, nnulls), nnulls);
    } else {
      pair->values->narrow->bulk_load(pack_narrow(values, nvalues), nvalues);
      pair->nulls->narrow->bulk_load(pack_narrow(nulls, nnulls), nnulls);
    }
  });
}

extern "C" AxStatus ax_pair_bulk_load_build(AxTreePair* pair, const void* values, std::size_t nvalues,
                                            const void* nulls, std::size_t nnulls, AxError* err) {
  if (pair->values->wide)
    return ax_pair_bulk_load(pair, static_cast<const AxEntry*>(values), nvalues, static_cast<const AxEntry*>(nulls),
                             nnulls, err);
  return ax_guard(err, [&] {
    pair->values->narrow->bulk_load(static_cast<const NarrowEntry*>(values), nvalues);
    pair->nulls->narrow->bulk_load(static_cast<const NarrowEntry*>(nulls), nnulls);
  });
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

extern "C" bool ax_pair_is_wide(const AxTreePair* pair) noexcept { return pair->values->wide; }

extern "C" std::size_t ax_pair_copy_range(const AxTreePair* pair, bool nulls, AxKey lo, AxKey hi,
                                          const AxEntry* resume, bool backward, bool skip_dead,
                                          AxEntry* out, std::size_t max) noexcept {
  return ax_tree_copy_range(nulls ? pair->nulls : pair->values, lo, hi, resume, backward, skip_dead, out, max);
}

extern "C" std::size_t ax_pair_mark_dead(const AxTreePair* pair, const AxEntry* entries, std::size_t n) noexcept {
  std::size_t marked = 0;
  for (std::size_t i = 0; i < n; ++i)
    marked += ax_tree_mark_dead((entries[i].tid & AX_NULL_FLAG) ? pair->nulls : pair->values, &entries[i], 1);
  return marked;
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
