// sst_writer.cpp: a backend writes a build's sorted entries into an SST file that the
// sidecar worker then ingests. SstFileWriter only writes a file; it never opens the database,
// so the "one process opens RocksDB" rule holds.
#include <rocksdb/sst_file_writer.h>

#include <memory>
#include <string>

#include "guard.hpp"
#include "rocksdb_options.hpp"
#include "sidecar_keys.hpp"

using namespace axeng;

struct AxSstWriter {
  rocksdb::Options options = sidecar_options();
  std::unique_ptr<rocksdb::SstFileWriter> writer;
  std::string path;
  std::size_t count = 0;
};

static void check(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) throw Failure(AX_IOERROR, std::string(what) + ": " + s.ToString());
}

extern "C" AxSstWriter* ax_sst_open(const char* path, AxError* err) {
  AxSstWriter* w = nullptr;
  ax_guard(err, [&] {
    auto owned = std::make_unique<AxSstWriter>();
    // The bottommost compression applies to ingested files as they land on the last level.
    owned->options.compression = rocksdb::kZSTD;
    owned->writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), owned->options);
    owned->path = path;
    check(owned->writer->Open(path), "could not create SST file");
    w = owned.release();
  });
  return w;
}

extern "C" AxStatus ax_sst_add(AxSstWriter* w, uint64_t build, const AxEntry* entries, std::size_t n,
                               AxError* err) {
  return ax_guard(err, [&] {
    char key[kDataKeyLen];
    for (std::size_t i = 0; i < n; i++) {
      encode_data_key(key, build, entries[i]);
      check(w->writer->Put(rocksdb::Slice(key, kDataKeyLen), rocksdb::Slice()), "SST write failed");
    }
    w->count += n;
  });
}

extern "C" AxStatus ax_sst_finish(AxSstWriter* w, std::size_t* nentries, AxError* err) {
  std::unique_ptr<AxSstWriter> owned(w);
  return ax_guard(err, [&] {
    *nentries = owned->count;
    if (owned->count > 0) check(owned->writer->Finish(), "could not finish SST file");
  });
}

extern "C" void ax_sst_abandon(AxSstWriter* w) {
  std::unique_ptr<AxSstWriter> owned(w);
}
