// sidecar_inspect.cpp: a read-only look at the alexidx sidecar (RocksDB under
// $PGDATA/pg_alexidx/pgsql_tmp_live), for the reliability TAP tests. It opens the database read-only (no
// lock taken; best run with the server stopped) and prints one line per build:
//
//   record <build_id> state=<1 building|2 ready> db=<oid> relfilenode=<n> entries=<n>
//   orphan <build_id> entries=<n>          (data without a record: must never happen)
//
// and a last line "builds=<records> orphans=<ranges without record> entries=<all entries>".
// The key layout is the one documented in am/engine/sidecar_keys.hpp:
//   data key (22 bytes): build id (8, BE) | key ^ sign bit (8, BE) | block (4) | offset (2)
//   bookkeeping (column family "meta"): build id 0, then 'R' + build id (8, BE) -> AxBuildRecord.
//
// Build: g++ -std=c++17 -O1 -o sidecar_inspect sidecar_inspect.cpp -lrocksdb
#include <rocksdb/db.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct Record {  // must match AxBuildRecord in am/engine.h
  uint64_t build_id;
  uint32_t dboid, spcoid, relfilenode;
  int32_t backend;
  uint32_t state, incarnation;
  char persistence;
  char pad[3];
  uint32_t max_node_slots, alt_spcoid, alt_relfilenode;
  uint64_t origin_build_id;
  uint32_t creating_xid, pad2;
};
static_assert(sizeof(Record) == 64);
constexpr std::size_t kRecordV1Size = 40;  // records written before alt_spcoid existed

static uint64_t be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PGDATA/pg_alexidx/pgsql_tmp_live\n", argv[0]);
    return 2;
  }
  // every column family: the entries live in "default", the bookkeeping in "meta" (in
  // "default" too for a sidecar written before the split)
  rocksdb::Options o;
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(o, argv[1], &names);
  if (!s.ok()) {
    std::fprintf(stderr, "open failed: %s\n", s.ToString().c_str());
    return 1;
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions(o));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(o, argv[1], families, &handles, &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "open failed: %s\n", s.ToString().c_str());
    return 1;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::map<uint64_t, Record> records;
  std::map<uint64_t, uint64_t> counts;
  uint64_t total = 0;
  for (auto* cf : handles) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rocksdb::Slice k = it->key();
      if (k.size() < 8) continue;
      // a build owns three adjacent spaces: build id * 4 + kind (singles, runs, tombstones)
      uint64_t build = be64(k.data()) >> 2;
      if (build == 0) {
        std::size_t vs = it->value().size();
        if (k.size() == 17 && k[8] == 'R' && (vs == sizeof(Record) || vs == kRecordV1Size)) {
          Record r{};
          std::memcpy(&r, it->value().data(), vs);
          records[be64(k.data() + 9)] = r;
        }
        continue;
      }
      if (k.size() == 22) {
        counts[build]++;
        total++;
      }
    }
    if (!it->status().ok()) {
      std::fprintf(stderr, "read failed: %s\n", it->status().ToString().c_str());
      return 1;
    }
  }
  for (auto* cf : handles) db->DestroyColumnFamilyHandle(cf);
  uint64_t orphans = 0;
  for (auto& [id, r] : records)
    std::printf("record %llu state=%u db=%u relfilenode=%u entries=%llu\n", (unsigned long long)id,
                r.state, r.dboid, r.relfilenode, (unsigned long long)counts[id]);
  for (auto& [id, n] : counts)
    if (!records.count(id)) {
      orphans++;
      std::printf("orphan %llu entries=%llu\n", (unsigned long long)id, (unsigned long long)n);
    }
  std::printf("builds=%zu orphans=%llu entries=%llu\n", records.size(), (unsigned long long)orphans,
              (unsigned long long)total);
  return 0;
}
