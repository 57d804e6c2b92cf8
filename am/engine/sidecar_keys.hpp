// sidecar_keys.hpp: how entries and bookkeeping are laid out in the sidecar's key space.
//
// Data key (22 bytes, or 30 in a build of wide keys):
//   space id (8, big-endian) | key with the sign bit flipped (8, big-endian)
//   | [wide builds: key_lo (8, BE)] | block (4, BE) | offset (2, BE)
// so RocksDB's bytewise order is exactly (key, key_lo, tid) order within a space; a build's
// keys all have the one length, which tells the two layouts apart. Each build owns three
// adjacent spaces (space id = build id * 4 + kind), each one contiguous range
// [prefix(id), prefix(id + 1)), so a build's data never spans another build's files:
//   - singles (kind 0): entries added by inserts, one key each, empty value;
//   - runs (kind 1): what CREATE INDEX wrote, packed runs of entries (run_codec.hpp);
//   - tombstones (kind 2): entries VACUUM removed from the runs.
// The build's entries are runs minus tombstones, plus singles. A tombstone never hides a
// single, so a TID that VACUUM freed and a new row reused is always seen.
//
// Build id 0 is reserved for bookkeeping, kept in the "meta" column family (worker_sidecar_db.cpp):
// 'R' + build id -> AxBuildRecord, 'C' -> the last
// build id handed out, 'I' -> the worker incarnation, 'S' -> the clean-shutdown marker,
// 'Q' + request slot -> the last request written for that slot (mark_key), 'L' -> the WAL
// position up to which the sidecar holds PostgreSQL's WAL and 'T' -> the timeline it was
// applied on (both written in the same batch as the entries they cover).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "../engine.h"
#include "entry_order.hpp"

namespace axeng {

constexpr std::size_t kDataKeyLen = 22;
constexpr std::size_t kWideDataKeyLen = 30;
constexpr std::size_t kMaxDataKeyLen = kWideDataKeyLen;
inline std::size_t data_key_len(bool wide) { return wide ? kWideDataKeyLen : kDataKeyLen; }
inline bool is_data_key_len(std::size_t n) { return n == kDataKeyLen || n == kWideDataKeyLen; }

inline void put_be64(char* out, uint64_t v) {
  for (int i = 7; i >= 0; i--) { out[i] = static_cast<char>(v & 0xff); v >>= 8; }
}
inline uint64_t get_be64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// Returns the key's length (data_key_len(wide)); out has room for kMaxDataKeyLen.
inline std::size_t encode_data_key(char* out, uint64_t build, const AxEntry& e, bool wide) {
  put_be64(out, build);
  put_be64(out + 8, key_bits(e.key));
  if (wide) {
    put_be64(out + 16, e.key_lo);
    out += 8;
  }
  uint64_t block = e.tid >> 16, offset = e.tid & 0xffff;
  out[16] = static_cast<char>(block >> 24);
  out[17] = static_cast<char>(block >> 16);
  out[18] = static_cast<char>(block >> 8);
  out[19] = static_cast<char>(block);
  out[20] = static_cast<char>(offset >> 8);
  out[21] = static_cast<char>(offset);
  return data_key_len(wide);
}

// len: the key's length, which is_data_key_len() accepted.
inline AxEntry decode_data_key(const char* in, std::size_t len) {
  AxEntry e;
  e.key = key_of_bits(get_be64(in + 8));
  e.key_lo = 0;
  if (len == kWideDataKeyLen) {
    e.key_lo = get_be64(in + 16);
    in += 8;
  }
  uint64_t block = (uint64_t(static_cast<unsigned char>(in[16])) << 24) |
                   (uint64_t(static_cast<unsigned char>(in[17])) << 16) |
                   (uint64_t(static_cast<unsigned char>(in[18])) << 8) |
                   uint64_t(static_cast<unsigned char>(in[19]));
  uint64_t offset = (uint64_t(static_cast<unsigned char>(in[20])) << 8) |
                    uint64_t(static_cast<unsigned char>(in[21]));
  e.tid = (block << 16) | offset;
  return e;
}

inline uint64_t singles_space(uint64_t build) { return build << 2; }
inline uint64_t run_space(uint64_t build) { return (build << 2) | 1; }
inline uint64_t tomb_space(uint64_t build) { return (build << 2) | 2; }

inline std::string build_prefix(uint64_t build) {
  std::string s(8, '\0');
  put_be64(s.data(), build);
  return s;
}

inline std::string meta_key(char kind) {
  std::string s(8, '\0');
  s.push_back(kind);
  return s;
}

// 'Q' + request slot (4, BE) -> the id of the last request whose write the slot's answer covered
inline std::string mark_key(uint32_t slot) {
  std::string s = meta_key('Q');
  for (int i = 3; i >= 0; i--) s.push_back(static_cast<char>((slot >> (8 * i)) & 0xff));
  return s;
}

inline std::string record_key(uint64_t build) {
  std::string s = meta_key('R');
  s.resize(17);
  put_be64(s.data() + 9, build);
  return s;
}

}  // namespace axeng
