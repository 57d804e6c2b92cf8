// model_node.hpp: inner nodes. A model node covers an aligned block of the ordered key
// space and routes through a linear model with a power-of-two slope: slot = (u - start) >> shift.
// Children are stored as pointers; one child may own an aligned power-of-two run of
// consecutive slots (ALEX's pointer duplication), which lets a child split sideways by
// re-pointing half of its slots without retraining anything.
#pragma once

#include <cstddef>
#include <cstdint>

#include "key_traits.hpp"

namespace alex::detail {

enum class NodeKind : std::uint8_t { model = 1, data = 2 };

// Common first part of both node types; nodes are told apart without virtual functions.
struct NodeBase {
  NodeKind kind;
  explicit NodeBase(NodeKind k) noexcept : kind(k) {}
};

struct ModelNode : NodeBase {
  std::uint8_t fanout_log = 1;  // 2^fanout_log slots
  std::uint8_t shift = 0;       // block_bits = shift + fanout_log
  std::uint8_t block_bits = 0;
  std::uint64_t start = 0;      // block start, a multiple of 2^block_bits
  NodeBase** children = nullptr;

  ModelNode() noexcept : NodeBase(NodeKind::model) {}

  std::size_t fanout() const noexcept { return std::size_t{1} << fanout_log; }

  // Keys outside the block are clamped to the edge slots; no entry of the subtree lies
  // there (the insert path grows the block first), so lower-bound searches stay correct.
  std::size_t route(std::uint64_t u) const noexcept {
    if (u < start) return 0;
    const std::uint64_t d = (u - start) >> shift;
    const std::size_t f = fanout();
    return d >= f ? f - 1 : static_cast<std::size_t>(d);
  }

  bool covers(std::uint64_t u) const noexcept { return block_contains(start, block_bits, u); }

  // First key (ordered space) of slot s.
  std::uint64_t slot_start(std::size_t s) const noexcept {
    return start + (static_cast<std::uint64_t>(s) << shift);
  }

  // The aligned run of slots owned by the child at slot idx: [*first, *first + *count).
  void group_of(std::size_t idx, std::size_t* first, std::size_t* count) const noexcept {
    const NodeBase* c = children[idx];
    std::size_t r = 1;
    const std::size_t f = fanout();
    while (r < f) {
      const std::size_t s = idx & ~(2 * r - 1);
      if (children[s] != c || children[s + 2 * r - 1] != c) break;
      r *= 2;
    }
    *first = idx & ~(r - 1);
    *count = r;
  }
};

}  // namespace alex::detail
