// worker_sidecar_db.cpp: the sidecar's RocksDB database. Only the sidecar worker process calls
// anything in this file: RocksDB allows one process to open a database for writing. Every
// entry point holds a SignalBlock (guard.hpp) for the whole call: RocksDB starts threads
// inside them, and the callers need not mask signals themselves.
#include <sys/statvfs.h>

#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "guard.hpp"
#include "rocksdb_options.hpp"
#include "run_codec.hpp"
#include "sidecar_keys.hpp"

using namespace axeng;

// Compactions of one build's range can take seconds; the worker's main thread must keep
// serving commits meanwhile, so they run on a maintenance thread of their own. The thread is
// created inside an ax_db_* call, which has every signal blocked (SignalBlock), so
// PostgreSQL's signals never land on it.
//
// Bookkeeping (build records, counters, the shutdown marker) lives in a column family of its
// own, "meta": listing the builds then never has to open a build's data files, so one damaged
// data file cannot stop the orphan sweep, new builds or the start-up preload. (Sidecars
// written before the split keep their bookkeeping in the default column family; ax_db_open
// moves it.)
struct AxDb {
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::ColumnFamilyHandle* data = nullptr;  // default column family: the builds' entries
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<uint64_t> to_compact;
  bool stopping = false;
  std::thread maintenance;
  // A write failed for lack of space or another I/O error: RocksDB refuses writes until
  // Resume(), which the next write tries first (so writes work again once space is freed).
  bool needs_resume = false;
  std::string dir;  // for the free-space check
  // Tombstones written per build since the worker started or the build was last handed out
  // for compaction (ax_db_compactions_due). Worker main thread only.
  std::unordered_map<uint64_t, uint64_t> tombstones;

  void compact_loop();
  void enqueue(uint64_t build);
  void stop();
};

static std::vector<AxEntry> live_run_entries(rocksdb::DB* db, uint64_t build, const rocksdb::Snapshot* snap,
                                             std::size_t reserve);

static void compact_range(rocksdb::DB* db, uint64_t build) {
  for (uint64_t space : {singles_space(build), run_space(build), tomb_space(build)}) {
    std::string lo = build_prefix(space), hi = build_prefix(space + 1);
    rocksdb::Slice b(lo), e(hi);
    rocksdb::CompactRangeOptions o;
    o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    db->CompactRange(o, &b, &e);  // best effort: space comes back later if this fails
  }
}

void AxDb::compact_loop() {
  std::unique_lock<std::mutex> lock(mutex);
  for (;;) {
    wake.wait(lock, [&] { return stopping || !to_compact.empty(); });
    if (stopping) return;
    uint64_t build = to_compact.front();
    to_compact.pop_front();
    lock.unlock();
    compact_range(db.get(), build);
    lock.lock();
  }
}

void AxDb::enqueue(uint64_t build) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!maintenance.joinable()) maintenance = std::thread([this] { compact_loop(); });
  if (std::find(to_compact.begin(), to_compact.end(), build) == to_compact.end()) to_compact.push_back(build);
  wake.notify_one();
}

void AxDb::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
    wake.notify_one();
  }
  if (maintenance.joinable()) maintenance.join();
}

static uint64_t build_bytes(AxDb* h, uint64_t build);
static std::vector<AxEntry> build_entries(AxDb* h, uint64_t build);

// Build records are stored as the raw struct: its size and layout are an on-disk format.
static_assert(sizeof(AxBuildRecord) == 64, "AxBuildRecord is stored on disk");
static_assert(offsetof(AxBuildRecord, max_node_slots) == 36, "AxBuildRecord is stored on disk");
static_assert(offsetof(AxBuildRecord, alt_spcoid) == AX_BUILD_RECORD_V1_SIZE, "AxBuildRecord is stored on disk");

// A stored record of either format, or false when the value is not one.
static bool decode_record(const rocksdb::Slice& v, AxBuildRecord* rec) {
  if (v.size() != sizeof(AxBuildRecord) && v.size() != AX_BUILD_RECORD_V1_SIZE) return false;
  std::memset(rec, 0, sizeof(*rec));
  std::memcpy(rec, v.data(), v.size());
  return true;
}

// Corruption and missing files mean the sidecar lost data (REINDEX rebuilds it); a full disk
// and other I/O errors do not.
static AxStatus status_of(const rocksdb::Status& s) {
  if (s.IsCorruption() || s.IsPathNotFound()) return AX_CORRUPT;
  if (s.IsNoSpace()) return AX_NOSPACE;
  return AX_IOERROR;
}

static void check(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return;
  throw Failure(status_of(s), std::string(what) + ": " + s.ToString());
}

// Free space that writes leave on the sidecar's file system. RocksDB must never meet a full
// disk itself: a failed write of its WAL leaves the log writer in an error state, and the
// next use of that writer aborts the process (an assertion in librocksdb 7.8). Writes that add
// entries keep room for a full memtable's WAL and its flush (2 x write_buffer_size); writes
// that only remove (VACUUM, drops), which are how space comes back, keep a smaller floor.
constexpr uint64_t kReserveForAdds = 128ull << 20;
constexpr uint64_t kReserveForRemovals = 16ull << 20;

static void check_space(const AxDb* h, uint64_t reserve) {
  struct statvfs fs;
  if (statvfs(h->dir.c_str(), &fs) != 0) return;  // cannot tell: let RocksDB try
  uint64_t avail = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (avail < reserve)
    throw Failure(AX_NOSPACE, "only " + std::to_string(avail >> 20) + " MB are free on the file system of " +
                                  h->dir + "; alexidx keeps " + std::to_string(reserve >> 20) +
                                  " MB free there for RocksDB");
}

// The body of a function that writes: checks the free space, resumes a stopped database
// first, and notes a failure that stops it.
template <class Body>
static AxStatus guarded_write(AxDb* h, AxError* err, uint64_t reserve, Body&& body) {
  AxStatus st = ax_guard(err, [&] {
    check_space(h, reserve);
    if (h->needs_resume) {
      rocksdb::Status s = h->db->Resume();
      if (!s.ok()) throw Failure(status_of(s), "the sidecar cannot write yet: " + s.ToString());
      h->needs_resume = false;
    }
    body();
  });
  if (st == AX_NOSPACE || st == AX_IOERROR) h->needs_resume = true;
  return st;
}

static rocksdb::WriteOptions synced() {
  rocksdb::WriteOptions w;
  w.sync = true;
  return w;
}

static uint64_t get_counter(AxDb* h, char kind) {
  std::string v;
  rocksdb::Status s = h->db->Get(rocksdb::ReadOptions(), h->meta, meta_key(kind), &v);
  if (s.IsNotFound()) return 0;
  check(s, "could not read sidecar counter");
  if (v.size() != 8) throw Failure(AX_CORRUPT, "sidecar counter has a bad size");
  return get_be64(v.data());
}

static uint64_t bump_counter(AxDb* h, char kind) {
  uint64_t next = get_counter(h, kind) + 1;
  char buf[8];
  put_be64(buf, next);
  check(h->db->Put(synced(), h->meta, meta_key(kind), rocksdb::Slice(buf, 8)), "could not write sidecar counter");
  return next;
}

static const char kMetaFamily[] = "meta";

// Set by the worker, the one process that opens the sidecar, before it opens one.
static int max_open_files = -1;

extern "C" void ax_db_set_max_open_files(int n) { max_open_files = n; }

// Sets *had_meta to whether the database already had the "meta" column family.
static rocksdb::Status open_families(const char* dir, AxDb* h, bool* had_meta) {
  rocksdb::Options o = sidecar_options();
  std::vector<std::string> names;
  *had_meta = rocksdb::DB::ListColumnFamilies(o, dir, &names).ok() &&
              std::find(names.begin(), names.end(), kMetaFamily) != names.end();
  rocksdb::DBOptions dbo(o);
  dbo.create_missing_column_families = true;
  dbo.max_open_files = max_open_files;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(o)},
      {kMetaFamily, rocksdb::ColumnFamilyOptions(o)}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(dbo, dir, families, &handles, &raw);
  if (!s.ok()) return s;
  h->db.reset(raw);
  h->data = handles[0];
  h->meta = handles[1];
  return s;
}

// Bookkeeping keys (build id 0) left in the default column family by an older sidecar move to
// "meta", in one synced batch. Only for a database opened without "meta": the scan may have to
// open data files, which is what the split avoids.
static void move_bookkeeping(AxDb* h) {
  std::string lo = build_prefix(0), hi = build_prefix(1);
  rocksdb::Slice upper(hi);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(h->db->NewIterator(ro, h->data));
  rocksdb::WriteBatch batch;
  for (it->Seek(lo); it->Valid(); it->Next()) check(batch.Put(h->meta, it->key(), it->value()), "could not batch");
  check(it->status(), "could not read the old bookkeeping");
  if (batch.Count() == 0) return;
  check(batch.DeleteRange(h->data, lo, hi), "could not batch");
  check(h->db->Write(synced(), &batch), "could not move the bookkeeping");
}

static void release_families(AxDb* h) {
  if (!h->db) return;
  if (h->data) h->db->DestroyColumnFamilyHandle(h->data);
  if (h->meta) h->db->DestroyColumnFamilyHandle(h->meta);
  h->data = h->meta = nullptr;
}

extern "C" AxDb* ax_db_open(const char* dir, char* set_aside, std::size_t set_aside_len, AxError* err) {
  SignalBlock signals;
  AxDb* out = nullptr;
  if (set_aside_len) set_aside[0] = '\0';
  ax_guard(err, [&] {
    auto h = std::make_unique<AxDb>();
    h->dir = dir;
    bool had_meta = false;
    rocksdb::Status s = open_families(dir, h.get(), &had_meta);
    // Corrupt, or a file the database needs is gone (a removed MANIFEST or SST reports
    // PathNotFound): keep the evidence, start empty. Every index then reports missing data
    // and names REINDEX, which rebuilds it from the heap. Other errors (permissions, a full
    // disk) are left alone: they are not damage, and fixing them brings everything back.
    if (s.IsCorruption() || s.IsPathNotFound()) {
      std::string aside;
      for (int n = 1; n < 1000; n++) {
        aside = std::string(dir) + ".corrupt-" + std::to_string(n);
        if (access(aside.c_str(), F_OK) != 0) break;
      }
      if (rename(dir, aside.c_str()) != 0)
        throw Failure(AX_CORRUPT, "the sidecar is damaged (" + s.ToString() + ") and could not be moved aside");
      if (set_aside_len) std::snprintf(set_aside, set_aside_len, "%s (%s)", aside.c_str(), s.ToString().c_str());
      s = open_families(dir, h.get(), &had_meta);
    }
    check(s, "could not open the sidecar");
    try {
      if (!had_meta) move_bookkeeping(h.get());
    } catch (...) {
      release_families(h.get());
      throw;
    }
    out = h.release();
  });
  return out;
}

extern "C" AxStatus ax_db_close(AxDb* h, bool write_clean_marker, uint64_t* final_sequence, AxError* err) {
  SignalBlock signals;
  if (final_sequence) *final_sequence = 0;
  if (h == nullptr) return AX_OK;
  uint64_t sequence = 0;
  AxStatus st = ax_guard(err, [&] {
    h->stop();
    // The memory tables go to table files first: otherwise the next open replays RocksDB's
    // own log of them (seconds after a busy hour) before the worker serves anything, while a
    // flush now costs the stop a fraction of that.
    rocksdb::Status flushed = h->db->Flush(rocksdb::FlushOptions(), std::vector<rocksdb::ColumnFamilyHandle*>{h->data, h->meta});
    rocksdb::Status marker;
    if (write_clean_marker) marker = h->db->Put(synced(), h->meta, meta_key('S'), rocksdb::Slice());
    rocksdb::CancelAllBackgroundWork(h->db.get(), true);
    sequence = h->db->GetLatestSequenceNumber();
    release_families(h);
    rocksdb::Status closed = h->db->Close();
    check(marker, "could not write the clean shutdown marker");
    check(closed, "could not close the sidecar database");
    check(flushed, "could not flush the sidecar's memory tables (the next start replays its log)");
  });
  delete h;
  if (st == AX_OK && final_sequence) *final_sequence = sequence;
  return st;
}

extern "C" uint64_t ax_db_sequence(AxDb* h) noexcept { return h->db->GetLatestSequenceNumber(); }

extern "C" AxStatus ax_db_take_clean_marker(AxDb* h, bool* clean, AxError* err) {
  SignalBlock signals;
  *clean = false;
  return ax_guard(err, [&] {
    std::string v;
    rocksdb::Status s = h->db->Get(rocksdb::ReadOptions(), h->meta, meta_key('S'), &v);
    if (s.IsNotFound()) return;
    check(s, "could not read the clean shutdown marker");
    check(h->db->Delete(synced(), h->meta, meta_key('S')), "could not clear the clean shutdown marker");
    *clean = true;
  });
}

extern "C" uint32_t ax_db_next_incarnation(AxDb* h, AxError* err) {
  SignalBlock signals;
  uint64_t v = 0;
  ax_guard(err, [&] { v = bump_counter(h, 'I'); });
  return static_cast<uint32_t>(v);
}

extern "C" uint64_t ax_db_new_build_id(AxDb* h, AxError* err) {
  SignalBlock signals;
  uint64_t v = 0;
  ax_guard(err, [&] { v = bump_counter(h, 'C'); });
  return v;
}

// A record may come with an id this sidecar did not hand out (a build a standby makes from the
// WAL, or one a restored sidecar replays): the id counter moves past it in the same write, so
// that a later build (after a promotion) never takes an id that a build already has.
extern "C" AxStatus ax_db_put_record(AxDb* h, const AxBuildRecord* rec, AxError* err) {
  SignalBlock signals;
  return guarded_write(h, err, kReserveForRemovals, [&] {
    rocksdb::WriteBatch batch;
    check(batch.Put(h->meta, record_key(rec->build_id),
                    rocksdb::Slice(reinterpret_cast<const char*>(rec), sizeof(*rec))),
          "could not batch the build record");
    if (get_counter(h, 'C') < rec->build_id) {
      char buf[8];
      put_be64(buf, rec->build_id);
      check(batch.Put(h->meta, meta_key('C'), rocksdb::Slice(buf, 8)), "could not batch the build id counter");
    }
    check(h->db->Write(synced(), &batch), "could not write the build record");
  });
}

extern "C" AxStatus ax_db_get_record(AxDb* h, uint64_t build, AxBuildRecord* rec, AxError* err) {
  SignalBlock signals;
  return ax_guard(err, [&] {
    std::string v;
    rocksdb::Status s = h->db->Get(rocksdb::ReadOptions(), h->meta, record_key(build), &v);
    if (s.IsNotFound()) throw Failure(AX_NOTFOUND, "the sidecar has no record of build " + std::to_string(build));
    check(s, "could not read the build record");
    if (!decode_record(v, rec)) throw Failure(AX_CORRUPT, "build record has a bad size");
  });
}

extern "C" std::size_t ax_db_list_records(AxDb* h, AxBuildRecord* out, std::size_t max, AxError* err) {
  SignalBlock signals;
  std::size_t n = 0;
  ax_guard(err, [&] {
    std::string lo = meta_key('R'), hi = meta_key('R' + 1);
    rocksdb::Slice upper(hi);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(h->db->NewIterator(ro, h->meta));
    for (it->Seek(lo); it->Valid() && n < max; it->Next()) {
      if (decode_record(it->value(), &out[n])) n++;
    }
    check(it->status(), "could not list build records");
  });
  return n;
}

// Puts the parts' entries (or, for deletes, removes singles and hides run entries) into batch.
static void batch_parts(rocksdb::WriteBatch& batch, const AxWritePart* parts, std::size_t nparts) {
  char key[kMaxDataKeyLen];
  for (std::size_t p = 0; p < nparts; p++) {
    for (std::size_t i = 0; i < parts[p].n; i++) {
      const std::size_t len = encode_data_key(key, singles_space(parts[p].build_id), parts[p].entries[i], parts[p].wide);
      rocksdb::Slice k(key, len);
      if (parts[p].is_delete) {
        // the entry is a single or sits in a run: remove the one, hide the other
        check(batch.Delete(k), "could not batch a delete");
        char tomb[kMaxDataKeyLen];
        encode_data_key(tomb, tomb_space(parts[p].build_id), parts[p].entries[i], parts[p].wide);
        check(batch.Put(rocksdb::Slice(tomb, len), rocksdb::Slice()), "could not batch a tombstone");
      } else {
        check(batch.Put(k, rocksdb::Slice()), "could not batch a put");
      }
    }
  }
}

// Counts the tombstones of a write (batch_parts writes one per deleted entry). Called before
// the write, so that a failure to count (no memory) fails the write instead of following it;
// a write that then fails leaves its count, which only brings a compaction forward.
static void count_tombstones(AxDb* h, const AxWritePart* parts, std::size_t nparts) {
  for (std::size_t p = 0; p < nparts; p++)
    if (parts[p].is_delete && parts[p].n > 0) h->tombstones[parts[p].build_id] += parts[p].n;
}

static bool parts_add(const AxWritePart* parts, std::size_t nparts) {
  for (std::size_t p = 0; p < nparts; p++)
    if (!parts[p].is_delete) return true;
  return false;
}

// Unsynced: the parts are the entries of unlogged and temporary indexes, which a crash empties
// anyway; RocksDB's log reaches the OS at once, so a clean stop or a worker exit keeps them.
extern "C" AxStatus ax_db_write(AxDb* h, const AxWritePart* parts, std::size_t nparts, const AxWriteMark* marks,
                                std::size_t nmarks, AxError* err) {
  SignalBlock signals;
  return guarded_write(h, err, parts_add(parts, nparts) ? kReserveForAdds : kReserveForRemovals, [&] {
    rocksdb::WriteBatch batch;
    batch_parts(batch, parts, nparts);
    for (std::size_t i = 0; i < nmarks; i++) {
      char buf[8];
      put_be64(buf, marks[i].request);
      check(batch.Put(h->meta, mark_key(marks[i].slot), rocksdb::Slice(buf, 8)), "could not batch a request mark");
    }
    count_tombstones(h, parts, nparts);
    check(h->db->Write(rocksdb::WriteOptions(), &batch), "sidecar write failed");
  });
}

extern "C" AxStatus ax_db_written_request(AxDb* h, uint32_t slot, uint64_t* request, AxError* err) {
  SignalBlock signals;
  *request = 0;
  return ax_guard(err, [&] {
    std::string v;
    rocksdb::Status s = h->db->Get(rocksdb::ReadOptions(), h->meta, mark_key(slot), &v);
    if (s.IsNotFound()) return;
    check(s, "could not read a request mark");
    if (v.size() != 8) throw Failure(AX_CORRUPT, "a request mark has a bad size");
    *request = get_be64(v.data());
  });
}

// The applied position ('L') and the timeline it was applied on ('T'), always written together.
static void put_lsn(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* meta, uint64_t lsn, uint32_t tli) {
  char buf[8];
  put_be64(buf, lsn);
  check(batch.Put(meta, meta_key('L'), rocksdb::Slice(buf, 8)), "could not batch the applied LSN");
  put_be64(buf, tli);
  check(batch.Put(meta, meta_key('T'), rocksdb::Slice(buf, 8)), "could not batch the applied timeline");
}

extern "C" AxStatus ax_db_apply(AxDb* h, const AxWritePart* parts, std::size_t nparts, uint64_t lsn,
                                uint32_t tli, AxError* err) {
  SignalBlock signals;
  return guarded_write(h, err, parts_add(parts, nparts) ? kReserveForAdds : kReserveForRemovals, [&] {
    rocksdb::WriteBatch batch;
    std::vector<AxWritePart> live;
    live.reserve(nparts);
    // a build that is gone (dropped, or its creation rolled back) takes nothing more
    for (std::size_t p = 0; p < nparts; p++) {
      std::string v;
      rocksdb::Status s = h->db->Get(rocksdb::ReadOptions(), h->meta, record_key(parts[p].build_id), &v);
      if (s.IsNotFound()) continue;
      check(s, "could not read a build record");
      // the key layout is the build's: a part of the other width would write keys no read finds
      AxBuildRecord rec;
      if (decode_record(v, &rec) && ((rec.flags & AX_BUILD_WIDE_KEYS) != 0) != parts[p].wide)
        throw Failure(AX_CORRUPT, "WAL entries for build " + std::to_string(parts[p].build_id) +
                                      " do not have the key width of its record");
      live.push_back(parts[p]);
    }
    batch_parts(batch, live.data(), live.size());
    put_lsn(batch, h->meta, lsn, tli);
    count_tombstones(h, live.data(), live.size());
    check(h->db->Write(rocksdb::WriteOptions(), &batch), "could not apply WAL to the sidecar");
  });
}

extern "C" std::size_t ax_db_compactions_due(AxDb* h, uint64_t threshold, uint64_t* builds, std::size_t max) noexcept {
  std::size_t n = 0;
  for (auto it = h->tombstones.begin(); it != h->tombstones.end() && n < max;) {
    if (it->second >= threshold) {
      builds[n++] = it->first;
      it = h->tombstones.erase(it);
    } else {
      ++it;
    }
  }
  return n;
}

extern "C" AxStatus ax_db_applied_lsn(AxDb* h, uint64_t* lsn, uint32_t* tli, AxError* err) {
  SignalBlock signals;
  *lsn = 0;
  *tli = 0;
  return ax_guard(err, [&] {
    *lsn = get_counter(h, 'L');
    *tli = static_cast<uint32_t>(get_counter(h, 'T'));
  });
}

extern "C" AxStatus ax_db_snapshot(AxDb* h, const char* dir, AxError* err) {
  SignalBlock signals;
  return guarded_write(h, err, kReserveForAdds, [&] {
    rocksdb::Checkpoint* raw = nullptr;
    check(rocksdb::Checkpoint::Create(h->db.get(), &raw), "could not start a sidecar snapshot");
    std::unique_ptr<rocksdb::Checkpoint> cp(raw);
    // 0: always flush the memtables, so the snapshot is SST files (hard links) and no log
    check(cp->CreateCheckpoint(dir, 0), "could not write a sidecar snapshot");
  });
}

extern "C" AxStatus ax_db_verify(AxDb* h, AxError* err) {
  SignalBlock signals;
  return ax_guard(err, [&] { check(h->db->VerifyChecksum(), "the sidecar's checksums do not match"); });
}

extern "C" AxStatus ax_db_raise_build_ids(AxDb* h, uint64_t floor, AxError* err) {
  SignalBlock signals;
  return guarded_write(h, err, kReserveForRemovals, [&] {
    if (get_counter(h, 'C') >= floor) return;
    char buf[8];
    put_be64(buf, floor);
    check(h->db->Put(synced(), h->meta, meta_key('C'), rocksdb::Slice(buf, 8)), "could not write the build id counter");
  });
}

extern "C" AxStatus ax_db_sync(AxDb* h, AxError* err) {
  SignalBlock signals;
  return ax_guard(err, [&] { check(h->db->SyncWAL(), "could not sync the sidecar's log"); });
}

extern "C" AxStatus ax_db_copy_build(AxDb* h, uint64_t from, const AxBuildRecord* to, AxError* err) {
  SignalBlock signals;
  return guarded_write(h, err, kReserveForAdds, [&] {
    std::vector<AxEntry> all = build_entries(h, from);
    const bool wide = (to->flags & AX_BUILD_WIDE_KEYS) != 0;
    constexpr std::size_t kChunk = 100000;
    char key[kMaxDataKeyLen];
    for (std::size_t i = 0; i < all.size(); i += kChunk) {
      rocksdb::WriteBatch batch;
      for (std::size_t j = i; j < std::min(all.size(), i + kChunk); j++) {
        const std::size_t len = encode_data_key(key, singles_space(to->build_id), all[j], wide);
        check(batch.Put(rocksdb::Slice(key, len), rocksdb::Slice()), "could not batch a put");
      }
      check(h->db->Write(synced(), &batch), "could not copy the build's entries");
    }
    check(h->db->Put(synced(), h->meta, record_key(to->build_id),
                     rocksdb::Slice(reinterpret_cast<const char*>(to), sizeof(*to))),
          "could not write the build record");
  });
}

extern "C" AxStatus ax_db_ingest(AxDb* h, const char* const* files, std::size_t nfiles, AxError* err) {
  SignalBlock signals;
  return guarded_write(h, err, kReserveForAdds, [&] {
    std::vector<std::string> paths(files, files + nfiles);
    rocksdb::IngestExternalFileOptions o;
    o.move_files = true;
    check(h->db->IngestExternalFile(paths, o), "could not ingest the build's SST files");
  });
}

// Removes from the sorted runs one entry per matching tombstone (both sorted): one pass.
static void drop_tombstoned(std::vector<AxEntry>& runs, const std::vector<AxEntry>& tombs) {
  std::size_t w = 0, t = 0;
  for (std::size_t i = 0; i < runs.size(); i++) {
    while (t < tombs.size() && entry_less(tombs[t], runs[i])) t++;
    if (t < tombs.size() && entry_eq(tombs[t], runs[i])) {
      t++;
      continue;
    }
    runs[w++] = runs[i];
  }
  runs.resize(w);
}

// Rewrites the build's runs without the entries its tombstones hide, and drops the tombstones,
// in one synced write. Runs in the worker's main thread, so no delete can slip in between the
// read and the write; singles are left alone.
extern "C" AxStatus ax_db_compact_step(AxDb* h, uint64_t build, bool wide, AxEntry* cursor, bool* started,
                                      std::size_t budget, bool* done, AxError* err) {
  SignalBlock signals;
  *done = false;
  return guarded_write(h, err, kReserveForRemovals, [&] {
    // the runs of this step: from the cursor's run on, until budget entries
    std::vector<AxEntry> runs;
    char key[kMaxDataKeyLen];
    std::string hi_space = build_prefix(run_space(build) + 1);
    rocksdb::Slice upper(hi_space);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(h->db->NewIterator(ro));
    if (*started) {
      it->Seek(rocksdb::Slice(key, encode_data_key(key, run_space(build), *cursor, wide)));
    } else {
      it->Seek(build_prefix(run_space(build)));
    }
    AxEntry first{}, next{};
    bool have_first = false, have_next = false;
    for (; it->Valid(); it->Next()) {
      if (it->key().size() != data_key_len(wide)) throw Failure(AX_CORRUPT, "sidecar key has a bad length");
      AxEntry run_first = decode_data_key(it->key().data(), it->key().size());
      if (have_first && runs.size() >= budget) {
        next = run_first;
        have_next = true;
        break;
      }
      if (!have_first) first = run_first, have_first = true;
      try {
        decode_run(run_first, it->value().data(), it->value().size(), runs, wide);
      } catch (const std::runtime_error& e) {
        throw Failure(AX_CORRUPT, std::string("sidecar run is damaged: ") + e.what());
      }
    }
    check(it->status(), "could not read the build's runs");
    auto range_key = [&](uint64_t space, const AxEntry& e) {
      return std::string(key, encode_data_key(key, space, e, wide));
    };
    // The first step also takes the tombstones below the first run, and a step that finds
    // no run takes those from where it starts to the end: they hide no run's entry (their
    // entries were singles, deleted outright), and would otherwise stay for good (an index
    // made on an empty table has no runs at all).
    std::string tomb_from = *started ? range_key(tomb_space(build), *cursor) : build_prefix(tomb_space(build));
    if (!have_first) {
      rocksdb::WriteBatch batch;
      check(batch.DeleteRange(tomb_from, build_prefix(tomb_space(build) + 1)), "could not batch a range delete");
      check(h->db->Write(synced(), &batch), "could not drop the build's tombstones");
      *done = true;
      h->enqueue(build);  // give the space back on disk
      return;
    }
    // the tombstones of the same key range, then the runs rewritten without them
    std::string tomb_lo = tomb_from;
    std::string tomb_hi = have_next ? range_key(tomb_space(build), next) : build_prefix(tomb_space(build) + 1);
    std::vector<AxEntry> tombs;
    {
      rocksdb::Slice tupper(tomb_hi);
      rocksdb::ReadOptions tro;
      tro.iterate_upper_bound = &tupper;
      std::unique_ptr<rocksdb::Iterator> t(h->db->NewIterator(tro));
      for (t->Seek(tomb_lo); t->Valid(); t->Next()) {
        if (t->key().size() != data_key_len(wide)) throw Failure(AX_CORRUPT, "sidecar key has a bad length");
        tombs.push_back(decode_data_key(t->key().data(), t->key().size()));
      }
      check(t->status(), "could not read the build's tombstones");
    }
    drop_tombstoned(runs, tombs);
    rocksdb::WriteBatch batch;
    std::string run_lo = range_key(run_space(build), first);
    std::string run_hi = have_next ? range_key(run_space(build), next) : build_prefix(run_space(build) + 1);
    check(batch.DeleteRange(run_lo, run_hi), "could not batch a range delete");
    check(batch.DeleteRange(tomb_lo, tomb_hi), "could not batch a range delete");
    for (std::size_t r = 0; r < runs.size(); r += kRunEntries) {
      std::size_t n = std::min(kRunEntries, runs.size() - r);
      const std::size_t len = encode_data_key(key, run_space(build), runs[r], wide);
      check(batch.Put(rocksdb::Slice(key, len), encode_run(&runs[r], n, wide)), "could not batch a run");
    }
    check(h->db->Write(synced(), &batch), "could not rewrite the build's runs");
    if (have_next) {
      *cursor = next;
      *started = true;
    } else {
      *done = true;
      h->enqueue(build);
    }
  });
}

extern "C" AxStatus ax_db_drop_build(AxDb* h, uint64_t build, bool keep_record, AxError* err) {
  SignalBlock signals;
  return guarded_write(h, err, kReserveForRemovals, [&] {
    rocksdb::WriteBatch batch;
    for (uint64_t space : {singles_space(build), run_space(build), tomb_space(build)})
      check(batch.DeleteRange(build_prefix(space), build_prefix(space + 1)), "could not batch a range delete");
    if (!keep_record) check(batch.Delete(h->meta, record_key(build)), "could not batch a record delete");
    check(h->db->Write(synced(), &batch), "could not drop the build");
    if (!keep_record) {
      // Files that hold nothing but this build's keys (its ingested SSTs, mostly) go now,
      // without being read: a damaged file of a dropped build then cannot fail the compaction
      // that would otherwise read it, which would put the whole sidecar into RocksDB's
      // read-only background-error state. Only for a build that is gone for good: deleting
      // files may bring back older versions of its keys, which nothing reads once the record
      // is deleted (build ids are never reused), but an emptied unlogged build stays in use.
      std::string lo = build_prefix(singles_space(build)), hi = build_prefix(tomb_space(build) + 1);
      rocksdb::Slice b(lo), e(hi);
      rocksdb::DeleteFilesInRange(h->db.get(), h->data, &b, &e, false);  // best effort
    }
    h->enqueue(build);
  });
}

// Calls fn(entry, value) for each key of one space, in order.
template <class Fn>
static void for_each_key(rocksdb::DB* db, uint64_t space, const rocksdb::Snapshot* snap, Fn fn) {
  std::string lo = build_prefix(space), hi = build_prefix(space + 1);
  rocksdb::Slice upper(hi);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;
  ro.readahead_size = 2 << 20;
  ro.snapshot = snap;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  for (it->Seek(lo); it->Valid(); it->Next()) {
    if (!is_data_key_len(it->key().size())) throw Failure(AX_CORRUPT, "sidecar key has a bad length");
    fn(decode_data_key(it->key().data(), it->key().size()), it->value(), it->key().size() == kWideDataKeyLen);
  }
  check(it->status(), "could not read the build's entries");
}


// The build's runs, with the tombstoned entries taken out. All from one snapshot.
static std::vector<AxEntry> live_run_entries(rocksdb::DB* db, uint64_t build, const rocksdb::Snapshot* snap,
                                             std::size_t reserve) {
  std::vector<AxEntry> runs, tombs;
  runs.reserve(reserve);
  for_each_key(db, run_space(build), snap, [&](const AxEntry& first, const rocksdb::Slice& v, bool wide) {
    try {
      decode_run(first, v.data(), v.size(), runs, wide);
    } catch (const std::runtime_error& e) {
      throw Failure(AX_CORRUPT, std::string("sidecar run is damaged: ") + e.what());
    }
  });
  for_each_key(db, tomb_space(build), snap, [&](const AxEntry& e, const rocksdb::Slice&, bool) { tombs.push_back(e); });
  drop_tombstoned(runs, tombs);
  return runs;
}

// Every entry of the build, sorted: live run entries merged with the singles.
static std::vector<AxEntry> build_entries(AxDb* h, uint64_t build) {
  const rocksdb::Snapshot* snap = h->db->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { db->ReleaseSnapshot(s); }
  } release{h->db.get(), snap};
  std::vector<AxEntry> runs = live_run_entries(h->db.get(), build, snap, build_bytes(h, build) / 8 + 1024);
  std::vector<AxEntry> singles;
  for_each_key(h->db.get(), singles_space(build), snap,
               [&](const AxEntry& e, const rocksdb::Slice&, bool) { singles.push_back(e); });
  if (singles.empty()) return runs;
  std::vector<AxEntry> all(runs.size() + singles.size());
  std::merge(runs.begin(), runs.end(), singles.begin(), singles.end(), all.begin(), entry_less);
  return all;
}

extern "C" AxStatus ax_db_load_tree(AxDb* h, uint64_t build, AxTreePair* pair, std::size_t* entries,
                                   AxError* err) {
  SignalBlock signals;
  return ax_guard(err, [&] {
    AxBuildRecord rec;
    AxError inner{};
    if (ax_db_get_record(h, build, &rec, &inner) != AX_OK) throw Failure(inner.status, inner.message);
    std::vector<AxEntry> values = build_entries(h, build);
    *entries = values.size();
    // NULL entries are rare: move them out, keeping both runs sorted
    std::vector<AxEntry> nulls;
    std::size_t w = 0;
    for (const AxEntry& e : values) {
      if (e.tid & AX_NULL_FLAG)
        nulls.push_back(e);
      else
        values[w++] = e;
    }
    values.resize(w);
    // the vectors are ours: the trees take them rewritten in place (no second copy)
    if (ax_pair_bulk_load_consuming(pair, values.data(), values.size(), nulls.data(), nulls.size(), &inner) !=
        AX_OK)
      throw Failure(inner.status, inner.message);
  });
}

namespace {
// Walks one tree in (key, tid) order, a chunk at a time.
struct TreeCursor {
  const AxTreePair* pair;
  bool nulls;  // which of its trees
  std::vector<AxEntry> chunk = std::vector<AxEntry>(1024);
  std::size_t have = 0, pos = 0;
  bool exhausted = false, has_last = false;
  AxEntry last{};

  bool next(AxEntry* out) {
    if (pos == have) {
      if (exhausted) return false;
      have = ax_pair_copy_range(pair, nulls, AxKey{INT64_MIN, 0}, AxKey{INT64_MAX, UINT64_MAX}, has_last ? &last : nullptr, false, false,
                                chunk.data(), chunk.size());
      pos = 0;
      exhausted = have < chunk.size();
      if (have == 0) return false;
      last = chunk[have - 1];
      has_last = true;
    }
    *out = chunk[pos++];
    return true;
  }
};

std::string describe(const AxEntry& e) {
  if (e.key_lo != 0)
    return "(" + std::to_string(e.key) + ":" + std::to_string(e.key_lo) + ", " + std::to_string(e.tid) + ")";
  return "(" + std::to_string(e.key) + ", " + std::to_string(e.tid) + ")";
}
}  // namespace

extern "C" AxStatus ax_db_compare_tree(AxDb* h, uint64_t build, const AxTreePair* pair, uint64_t* nsidecar,
                                       AxError* err) {
  SignalBlock signals;
  return ax_guard(err, [&] {
    // The sidecar holds values and NULLs interleaved in (key, tid) order; each tree holds one
    // kind in the same order, so two cursors suffice.
    TreeCursor values{pair, false}, nulls{pair, true};
    uint64_t count = 0;
    for (const AxEntry& e : build_entries(h, build)) {
      TreeCursor& c = (e.tid & AX_NULL_FLAG) ? nulls : values;
      AxEntry t;
      count++;
      if (!c.next(&t)) throw Failure(AX_CORRUPT, "the sidecar holds entry " + describe(e) + " that the tree lacks");
      if (!entry_eq(t, e))
        throw Failure(AX_CORRUPT, "tree and sidecar differ at sidecar entry " + describe(e) + " vs tree entry " +
                                      describe(t));
    }
    AxEntry extra;
    if (values.next(&extra) || nulls.next(&extra))
      throw Failure(AX_CORRUPT, "the tree holds entry " + describe(extra) + " that the sidecar lacks");
    *nsidecar = count;
  });
}

// Approximate bytes of one build's three key spaces, memtables included; throws on failure.
static uint64_t build_bytes(AxDb* h, uint64_t build) {
  uint64_t total = 0;
  for (uint64_t space : {singles_space(build), run_space(build), tomb_space(build)}) {
    std::string lo = build_prefix(space), hi = build_prefix(space + 1);
    rocksdb::Range r(lo, hi);
    rocksdb::SizeApproximationOptions o;
    o.include_memtables = true;
    o.include_files = true;
    uint64_t size = 0;
    check(h->db->GetApproximateSizes(o, h->db->DefaultColumnFamily(), &r, 1, &size), "size estimate failed");
    total += size;
  }
  return total;
}

extern "C" AxStatus ax_db_build_bytes(AxDb* h, uint64_t build, uint64_t* bytes, AxError* err) {
  SignalBlock signals;
  *bytes = 0;
  return ax_guard(err, [&] { *bytes = build_bytes(h, build); });
}
