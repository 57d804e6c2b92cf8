// rocksdb_options.hpp: the one set of RocksDB options shared by the sidecar database and the
// SST files a build writes, so that ingested files always match the database's settings.
#pragma once

#include <rocksdb/options.h>
#include <rocksdb/table.h>

namespace axeng {

inline rocksdb::Options sidecar_options() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.compression = rocksdb::kLZ4Compression;
  o.bottommost_compression = rocksdb::kZSTD;
  o.max_background_jobs = 2;
  o.write_buffer_size = 64 << 20;
  o.keep_log_file_num = 4;
  rocksdb::BlockBasedTableOptions t;
  t.block_size = 16 * 1024;
  // Keys share long prefixes (build id, high key bytes): delta-encode them densely.
  t.block_restart_interval = 32;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

}  // namespace axeng
