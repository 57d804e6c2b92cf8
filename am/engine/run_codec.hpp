// run_codec.hpp: packing a sorted run of entries into one RocksDB value.
//
// A build's entries are stored as runs of up to kRunEntries entries: the run's first entry is
// the RocksDB key (in the build's run space), the value holds the rest, bit-packed with widths
// chosen per run (frame of reference):
//   u32 count of packed entries | u8 key-delta bits | u8 block bits | u8 offset bits |
//   [wide builds: u8 key_lo bits] |
//   then per entry: key delta from the previous entry, heap block, heap offset (with the NULL
//   flag), [wide builds: key_lo as it is (random in a uuid, so no delta)]
// One key per run instead of one per entry is what makes the sidecar small and quick to reload:
// RocksDB's per-key cost (about 130 ns to iterate and 10 bytes on disk) is paid once per run.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../engine.h"
#include "entry_order.hpp"

namespace axeng {

constexpr std::size_t kRunEntries = 256;

inline unsigned bits_for(uint64_t v) { return v == 0 ? 0 : 64 - __builtin_clzll(v); }

class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}
  void put(uint64_t v, unsigned bits) {
    while (bits > 0) {
      unsigned take = bits > 32 ? 32 : bits;
      uint64_t chunk = v & ((uint64_t(1) << take) - 1);
      acc_ |= chunk << fill_;
      fill_ += take;
      v = take == 64 ? 0 : v >> take;
      bits -= take;
      while (fill_ >= 8) {
        out_->push_back(static_cast<char>(acc_ & 0xff));
        acc_ >>= 8;
        fill_ -= 8;
      }
    }
  }
  void flush() {
    if (fill_ > 0) out_->push_back(static_cast<char>(acc_ & 0xff));
    acc_ = 0;
    fill_ = 0;
  }

 private:
  std::string* out_;
  uint64_t acc_ = 0;
  unsigned fill_ = 0;
};

class BitReader {
 public:
  BitReader(const char* p, std::size_t n) : p_(reinterpret_cast<const unsigned char*>(p)), end_(p_ + n) {}
  uint64_t get(unsigned bits) {
    uint64_t v = 0;
    unsigned done = 0;
    while (done < bits) {
      if (fill_ == 0) {
        if (p_ == end_) throw std::runtime_error("truncated run");
        acc_ = *p_++;
        fill_ = 8;
      }
      unsigned take = bits - done < fill_ ? bits - done : fill_;
      v |= (acc_ & ((uint64_t(1) << take) - 1)) << done;
      acc_ >>= take;
      fill_ -= take;
      done += take;
    }
    return v;
  }

 private:
  const unsigned char* p_;
  const unsigned char* end_;
  uint64_t acc_ = 0;
  unsigned fill_ = 0;
};

// Packs entries[1..n) (entries[0] is the run's key). Entries are sorted by (key, tid).
inline std::string encode_run(const AxEntry* e, std::size_t n, bool wide) {
  uint64_t max_delta = 0, max_block = 0, max_off = 0, max_lo = 0;
  for (std::size_t i = 1; i < n; i++) {
    if (e[i].key_lo > max_lo) max_lo = e[i].key_lo;
    uint64_t d = key_bits(e[i].key) - key_bits(e[i - 1].key);
    if (d > max_delta) max_delta = d;
    if ((e[i].tid >> 16) > max_block) max_block = e[i].tid >> 16;
    if ((e[i].tid & 0xffff) > max_off) max_off = e[i].tid & 0xffff;
  }
  unsigned kb = bits_for(max_delta), bb = bits_for(max_block), ob = bits_for(max_off);
  std::string out;
  uint32_t count = static_cast<uint32_t>(n - 1);
  out.append(reinterpret_cast<const char*>(&count), 4);
  out.push_back(static_cast<char>(kb));
  out.push_back(static_cast<char>(bb));
  out.push_back(static_cast<char>(ob));
  const unsigned lb = bits_for(max_lo);
  if (wide) out.push_back(static_cast<char>(lb));
  BitWriter w(&out);
  for (std::size_t i = 1; i < n; i++) {
    w.put(key_bits(e[i].key) - key_bits(e[i - 1].key), kb);
    w.put(e[i].tid >> 16, bb);
    w.put(e[i].tid & 0xffff, ob);
    if (wide) w.put(e[i].key_lo, lb);
  }
  w.flush();
  return out;
}

// Appends the run whose first entry is `first` and whose packed rest is `value` to out.
// wide: the run's key had the wide length.
inline void decode_run(const AxEntry& first, const char* value, std::size_t len, std::vector<AxEntry>& out,
                       bool wide) {
  const std::size_t header = wide ? 8 : 7;
  if (len < header) throw std::runtime_error("run header too short");
  uint32_t count;
  std::memcpy(&count, value, 4);
  unsigned kb = static_cast<unsigned char>(value[4]), bb = static_cast<unsigned char>(value[5]),
           ob = static_cast<unsigned char>(value[6]);
  const unsigned lb = wide ? static_cast<unsigned char>(value[7]) : 0;
  if (kb > 64 || bb > 48 || ob > 16 || lb > 64) throw std::runtime_error("run header has bad widths");
  BitReader r(value + header, len - header);
  out.push_back(first);
  uint64_t prev = key_bits(first.key);
  for (uint32_t i = 0; i < count; i++) {
    prev += r.get(kb);
    uint64_t block = r.get(bb), off = r.get(ob);
    uint64_t lo = wide ? r.get(lb) : 0;
    out.push_back(AxEntry{key_of_bits(prev), (block << 16) | off, lo});
  }
}

}  // namespace axeng
