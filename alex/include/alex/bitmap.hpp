// bitmap.hpp: one bit per data-node slot (set = occupied), searched a word at a time.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace alex::detail::bitmap {

inline constexpr std::size_t npos = ~std::size_t{0};

inline bool test(const std::uint64_t* w, std::size_t i) noexcept { return (w[i >> 6] >> (i & 63)) & 1u; }
inline void set(std::uint64_t* w, std::size_t i) noexcept { w[i >> 6] |= std::uint64_t{1} << (i & 63); }
inline void reset(std::uint64_t* w, std::size_t i) noexcept { w[i >> 6] &= ~(std::uint64_t{1} << (i & 63)); }
// Clears bits lo..hi (inclusive).
inline void reset_range(std::uint64_t* w, std::size_t lo, std::size_t hi) noexcept {
  for (std::size_t wi = lo >> 6; wi <= hi >> 6; ++wi) {
    const std::size_t a = wi == lo >> 6 ? lo & 63 : 0, b = wi == hi >> 6 ? hi & 63 : 63;
    const std::uint64_t mask = (b == 63 ? ~std::uint64_t{0} : (std::uint64_t{1} << (b + 1)) - 1) & (~std::uint64_t{0} << a);
    w[wi] &= ~mask;
  }
}

// First set bit at index >= i, or npos. nbits is a multiple of 64.
inline std::size_t next_set(const std::uint64_t* w, std::size_t nbits, std::size_t i) noexcept {
  if (i >= nbits) return npos;
  std::size_t wi = i >> 6;
  std::uint64_t word = w[wi] & (~std::uint64_t{0} << (i & 63));
  const std::size_t nw = nbits >> 6;
  while (word == 0) {
    // Long empty runs (the free tail of a node that takes appends) go 4 words at a time.
    ++wi;
    while (wi + 4 <= nw && (w[wi] | w[wi + 1] | w[wi + 2] | w[wi + 3]) == 0) wi += 4;
    if (wi >= nw) return npos;
    word = w[wi];
  }
  return (wi << 6) + static_cast<std::size_t>(std::countr_zero(word));
}

// Last set bit at index < i, or npos.
inline std::size_t prev_set(const std::uint64_t* w, std::size_t i) noexcept {
  if (i == 0) return npos;
  --i;
  std::size_t wi = i >> 6;
  const unsigned b = static_cast<unsigned>(i & 63);
  std::uint64_t word = w[wi] & (b == 63 ? ~std::uint64_t{0} : ((std::uint64_t{1} << (b + 1)) - 1));
  while (word == 0) {
    if (wi == 0) return npos;
    word = w[--wi];
  }
  return (wi << 6) + 63 - static_cast<std::size_t>(std::countl_zero(word));
}

// First clear bit at index >= i, or npos.
inline std::size_t next_clear(const std::uint64_t* w, std::size_t nbits, std::size_t i) noexcept {
  if (i >= nbits) return npos;
  std::size_t wi = i >> 6;
  std::uint64_t word = ~w[wi] & (~std::uint64_t{0} << (i & 63));
  const std::size_t nw = nbits >> 6;
  while (word == 0) {
    if (++wi >= nw) return npos;
    word = ~w[wi];
  }
  return (wi << 6) + static_cast<std::size_t>(std::countr_zero(word));
}

// Last clear bit at index < i, or npos.
inline std::size_t prev_clear(const std::uint64_t* w, std::size_t i) noexcept {
  if (i == 0) return npos;
  --i;
  std::size_t wi = i >> 6;
  const unsigned b = static_cast<unsigned>(i & 63);
  std::uint64_t word = ~w[wi] & (b == 63 ? ~std::uint64_t{0} : ((std::uint64_t{1} << (b + 1)) - 1));
  while (word == 0) {
    if (wi == 0) return npos;
    word = ~w[--wi];
  }
  return (wi << 6) + 63 - static_cast<std::size_t>(std::countl_zero(word));
}

inline std::size_t count(const std::uint64_t* w, std::size_t nbits) noexcept {
  std::size_t c = 0;
  for (std::size_t i = 0; i < (nbits >> 6); ++i) c += static_cast<std::size_t>(std::popcount(w[i]));
  return c;
}

}  // namespace alex::detail::bitmap
