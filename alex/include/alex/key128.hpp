// key128.hpp: a 128-bit key (PostgreSQL's uuid: 16 bytes compared bytewise), as two
// unsigned 64-bit halves ordered lexicographically: hi first, then lo. Loading the uuid's
// bytes 0..7 big-endian into hi and 8..15 into lo gives the bytewise order.
//
// alex::Alex<Key128, P> routes and predicts on hi alone (KeyTraits<Key128>::to_u64 is
// k.hi, see key_traits.hpp): keys that share their leading 64 bits always share a data node.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace alex {

struct Key128 {
  std::uint64_t hi;
  std::uint64_t lo;

  friend constexpr bool operator==(const Key128&, const Key128&) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(const Key128& a, const Key128& b) noexcept {
    if (a.hi != b.hi) return a.hi <=> b.hi;
    return a.lo <=> b.lo;
  }
  // Written out (rather than synthesized from <=>): the data nodes' searches call these in
  // their inner loops.
  friend constexpr bool operator<(const Key128& a, const Key128& b) noexcept {
    return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
  }
  friend constexpr bool operator>(const Key128& a, const Key128& b) noexcept { return b < a; }
  friend constexpr bool operator<=(const Key128& a, const Key128& b) noexcept { return !(b < a); }
  friend constexpr bool operator>=(const Key128& a, const Key128& b) noexcept { return !(a < b); }
};

static_assert(sizeof(Key128) == 16 && alignof(Key128) == 8);
static_assert(std::is_trivially_copyable_v<Key128> && std::is_standard_layout_v<Key128>);

}  // namespace alex

namespace std {
template <>
struct numeric_limits<alex::Key128> {
  static constexpr bool is_specialized = true;
  static constexpr bool is_signed = false;
  static constexpr bool is_integer = false;  // not an arithmetic type
  static constexpr bool is_exact = true;
  static constexpr bool is_bounded = true;
  static constexpr bool is_modulo = false;
  static constexpr bool has_infinity = false;
  static constexpr bool has_quiet_NaN = false;
  static constexpr bool has_signaling_NaN = false;
  static constexpr int digits = 128;
  static constexpr int radix = 2;
  static constexpr alex::Key128 min() noexcept { return {0, 0}; }
  static constexpr alex::Key128 lowest() noexcept { return {0, 0}; }
  static constexpr alex::Key128 max() noexcept { return {~std::uint64_t{0}, ~std::uint64_t{0}}; }
};
}  // namespace std
