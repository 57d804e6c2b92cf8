// shared_arena.cpp: creating the shared arena (postmaster, once per shared memory initialisation).
#include "arena.hpp"

#include "guard.hpp"

using namespace axeng;

extern "C" AxStatus ax_arena_create(void* base, std::size_t size, AxError* err) {
  return ax_guard(err, [&] {
    auto* header = static_cast<ArenaHeader*>(base);
    std::size_t offset = (sizeof(ArenaHeader) + 63) & ~std::size_t(63);
    if (size <= offset + 4096) throw Failure(AX_NOMEM, "arena too small");
    // The handle object is process-local and only detaches when destroyed; the segment
    // manager it builds lives inside the buffer, where every process finds it.
    ArenaHeap heap(bip::create_only, static_cast<char*>(base) + offset, size - offset);
    header->manager = heap.get_segment_manager();
    header->size = size;
  });
}

extern "C" std::size_t ax_arena_free_bytes(void* base) {
  return arena_manager(base)->get_free_memory();
}
