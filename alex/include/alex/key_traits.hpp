// key_traits.hpp: maps keys to an order-preserving uint64 space and the aligned-block
// arithmetic that model nodes use for routing.
//
// Every model node covers an aligned power-of-two block of that space and routes with a
// linear model whose slope is a power of two. Routing is then an exact integer shift:
// it is monotone, has no floating-point boundary errors, and a node can be split,
// doubled or extended without moving keys between children.
//
// The map is monotone (a < b implies to_u64(a) <= to_u64(b)) but need not be injective:
// for Key128 it is the leading 64 bits. Routing and the data nodes' models see only the
// image, so all keys with one image share a data node, exactly like duplicates of one
// integral key; exact comparisons always use the key itself. Code that asks "can these
// keys be told apart by routing?" must compare images (same_u64), not keys.
#pragma once

#include <bit>
#include <cstdint>
#include <type_traits>

#include "key128.hpp"

namespace alex::detail {

template <class K>
struct KeyTraits {
  static_assert(std::is_integral_v<K> && !std::is_same_v<K, bool>,
                "alex::Alex supports integral key types and alex::Key128");
  static_assert(sizeof(K) <= 8, "integral keys wider than 64 bits are not supported (use alex::Key128)");

  // Equal images mean equal keys.
  static constexpr bool injective = true;

  // Order-preserving: a < b  <=>  to_u64(a) < to_u64(b).
  static constexpr std::uint64_t to_u64(K k) noexcept {
    if constexpr (std::is_signed_v<K>)
      return static_cast<std::uint64_t>(static_cast<std::int64_t>(k)) ^ (std::uint64_t{1} << 63);
    else
      return static_cast<std::uint64_t>(k);
  }
  // The inverse of to_u64 (for u in its image).
  static constexpr K from_u64(std::uint64_t u) noexcept {
    if constexpr (std::is_signed_v<K>)
      return static_cast<K>(static_cast<std::int64_t>(u ^ (std::uint64_t{1} << 63)));
    else
      return static_cast<K>(u);
  }
  // to_u64(a) == to_u64(b), i.e. a == b for these keys.
  static constexpr bool same_u64(K a, K b) noexcept { return a == b; }
};

// 128-bit keys route on their leading 64 bits: monotone, not injective.
template <>
struct KeyTraits<Key128> {
  static constexpr bool injective = false;
  static constexpr std::uint64_t to_u64(Key128 k) noexcept { return k.hi; }
  // The smallest key with image u.
  static constexpr Key128 from_u64(std::uint64_t u) noexcept { return Key128{u, 0}; }
  static constexpr bool same_u64(Key128 a, Key128 b) noexcept { return a.hi == b.hi; }
};

// A block is [start, start + 2^bits) with start a multiple of 2^bits; bits is 0..64.
inline constexpr bool block_contains(std::uint64_t start, unsigned bits, std::uint64_t u) noexcept {
  return bits >= 64 || (u >> bits) == (start >> bits);
}

// Bits of the smallest aligned block containing both a and b.
inline constexpr unsigned common_block_bits(std::uint64_t a, std::uint64_t b) noexcept {
  return a == b ? 0u : 64u - static_cast<unsigned>(std::countl_zero(a ^ b));
}

inline constexpr std::uint64_t block_start_of(std::uint64_t u, unsigned bits) noexcept {
  return bits >= 64 ? 0 : (u >> bits) << bits;
}

// Last value of the block (inclusive end, so a 64-bit block does not overflow).
inline constexpr std::uint64_t block_last(std::uint64_t start, unsigned bits) noexcept {
  return bits >= 64 ? ~std::uint64_t{0} : start + ((std::uint64_t{1} << bits) - 1);
}

}  // namespace alex::detail
