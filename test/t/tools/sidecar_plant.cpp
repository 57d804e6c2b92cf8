// sidecar_plant.cpp: writes one entry into a build of the alexidx sidecar (RocksDB under
// $PGDATA/pg_alexidx/pgsql_tmp_live), with the server stopped: a wrong entry that only a check from the
// index to the heap can find (TAP 023_check_index_to_heap). Key layout: sidecar_keys.hpp.
//
// Usage: sidecar_plant PGDATA/pg_alexidx/pgsql_tmp_live BUILD KEY BLOCK OFFSET
// Build: g++ -std=c++17 -O1 -o sidecar_plant sidecar_plant.cpp -lrocksdb
#include <rocksdb/db.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

static void put_be(char* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; i--) { out[i] = static_cast<char>(v & 0xff); v >>= 8; }
}

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s DB BUILD KEY BLOCK OFFSET\n", argv[0]);
    return 2;
  }
  uint64_t build = std::strtoull(argv[2], nullptr, 10);
  int64_t key = std::strtoll(argv[3], nullptr, 10);
  uint64_t block = std::strtoull(argv[4], nullptr, 10), offset = std::strtoull(argv[5], nullptr, 10);
  char k[22];
  put_be(k, build * 4, 8);  // the build's singles space
  put_be(k + 8, static_cast<uint64_t>(key) ^ (1ull << 63), 8);
  put_be(k + 16, block, 4);
  put_be(k + 20, offset, 2);

  rocksdb::Options o;
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(o, argv[1], &names);
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions(o));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (s.ok()) s = rocksdb::DB::Open(o, argv[1], families, &handles, &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "open failed: %s\n", s.ToString().c_str());
    return 1;
  }
  rocksdb::WriteOptions w;
  w.sync = true;
  s = raw->Put(w, raw->DefaultColumnFamily(), rocksdb::Slice(k, sizeof k), rocksdb::Slice());
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
  delete raw;
  if (!s.ok()) {
    std::fprintf(stderr, "write failed: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
