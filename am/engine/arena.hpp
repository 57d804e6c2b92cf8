// arena.hpp: a Boost.Interprocess heap laid out inside PostgreSQL's shared memory,
// and a std-style allocator over it for the ALEX trees.
//
// PostgreSQL maps its main shared memory segment before forking, so every backend and the
// sidecar worker see the arena at the same address: raw pointers inside it stay valid in all
// of them. The heap's own lock is a process-shared mutex (mutex_family) because allocations
// for different indexes happen concurrently under different per-index LWLocks.
#pragma once

#include <boost/interprocess/indexes/null_index.hpp>
#include <boost/interprocess/managed_external_buffer.hpp>
#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>

namespace axeng {

namespace bip = boost::interprocess;

using ArenaHeap =
    bip::basic_managed_external_buffer<char, bip::rbtree_best_fit<bip::mutex_family>, bip::null_index>;
using SegmentManager = ArenaHeap::segment_manager;

// Sits at the start of the arena's shared memory; the heap follows it.
struct ArenaHeader {
  SegmentManager* manager;
  std::size_t size;
};

inline SegmentManager* arena_manager(void* base) {
  return static_cast<ArenaHeader*>(base)->manager;
}

// While a whole tree is freed (GiveBackPages in scope), each large block about to be freed
// gives its whole pages back to the kernel first (the heap keeps its bookkeeping at the
// block's edges, outside them): dropped trees hold no memory, and the arena image written at
// a clean shutdown (which copies the pages that hold data) stays as small as the live trees.
// Done before the free, while no one else can have the block. Not for the blocks a growing
// tree frees as it re-lays out nodes: they are reused at once, and would only fault back in.
inline bool& giving_back_pages() noexcept {
  static thread_local bool on = false;
  return on;
}

struct GiveBackPages {
  GiveBackPages() noexcept { giving_back_pages() = true; }
  ~GiveBackPages() { giving_back_pages() = false; }
  GiveBackPages(const GiveBackPages&) = delete;
  GiveBackPages& operator=(const GiveBackPages&) = delete;
};

inline void give_back_pages(void* p, std::size_t bytes) noexcept {
  constexpr std::size_t kPage = 4096;
  constexpr std::size_t kWorthIt = 64 * 1024;
  if (!giving_back_pages() || bytes < kWorthIt) return;
  auto begin = (reinterpret_cast<std::uintptr_t>(p) + kPage - 1) & ~(kPage - 1);
  auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kPage - 1);
  // best effort: on failure the pages just stay (nothing depends on them being zero)
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_REMOVE);
}

template <class T>
struct ArenaAllocator {
  using value_type = T;
  SegmentManager* manager;

  explicit ArenaAllocator(SegmentManager* m) noexcept : manager(m) {}
  template <class U>
  ArenaAllocator(const ArenaAllocator<U>& other) noexcept : manager(other.manager) {}

  T* allocate(std::size_t n) {
    void* p = manager->allocate(n * sizeof(T), std::nothrow);
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    give_back_pages(p, n * sizeof(T));
    manager->deallocate(p);
  }

  template <class U>
  bool operator==(const ArenaAllocator<U>& o) const noexcept { return manager == o.manager; }
  template <class U>
  bool operator!=(const ArenaAllocator<U>& o) const noexcept { return manager != o.manager; }
};

}  // namespace axeng
