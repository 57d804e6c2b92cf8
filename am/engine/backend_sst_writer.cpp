// backend_sst_writer.cpp: a backend writes a build's sorted entries into SST files that the sidecar
// worker then ingests. SstFileWriter only writes files; it never opens the database, so the
// "one process opens RocksDB" rule holds.
//
// The files are written on background threads while the backend bulk-loads the shared tree:
// on a two-core machine that hides most of the SST encoding time. The threads touch nothing
// but the read-only sorted arrays and their own files, and start with every signal blocked,
// so PostgreSQL's signal handlers only ever run on the backend's own thread.
#include <rocksdb/sst_file_writer.h>
#include <unistd.h>

#include <algorithm>
#include <ranges>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "guard.hpp"
#include "rocksdb_options.hpp"
#include "run_codec.hpp"
#include "sidecar_keys.hpp"

using namespace axeng;

namespace {

struct Part {
  std::string path;
  EntryView values;
  std::size_t nvalues = 0;
  EntryView nulls;
  std::size_t nnulls = 0;
  std::string error;
  bool written = false;
};

}  // namespace

struct AxSstJob {
  uint64_t build_id = 0;
  bool wide = false;
  std::vector<Part> parts;
  std::vector<std::thread> threads;
  std::atomic<int> running{0};
  std::atomic<bool> cancel{false};

  void write_part(Part& part);
  void join() {
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

void AxSstJob::write_part(Part& part) {
  try {
    rocksdb::Options options = sidecar_options();
    // ingested files land on the last level, which is compressed with ZSTD
    options.compression = rocksdb::kZSTD;
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options);
    rocksdb::Status s = writer.Open(part.path);
    char key[kMaxDataKeyLen];
    std::size_t i = 0, j = 0, runs = 0;
    AxEntry run[kRunEntries];
    std::size_t nrun = 0;
    auto put_run = [&] {
      const std::size_t len = encode_data_key(key, run_space(build_id), run[0], wide);
      s = writer.Put(rocksdb::Slice(key, len), encode_run(run, nrun, wide));
      nrun = 0;
    };
    // merge the values with the NULL entries that fall in this part, in (key, tid) order,
    // and pack them into runs
    while (s.ok() && (i < part.nvalues || j < part.nnulls)) {
      run[nrun++] = (j == part.nnulls || (i < part.nvalues && entry_less(part.values[i], part.nulls[j])))
                        ? part.values[i++]
                        : part.nulls[j++];
      if (nrun == kRunEntries) {
        put_run();
        if ((++runs & 0xff) == 0 && cancel.load()) {
          part.error = "cancelled";
          break;
        }
      }
    }
    if (s.ok() && nrun > 0 && part.error.empty()) put_run();
    if (s.ok() && part.error.empty()) s = writer.Finish();
    if (!s.ok()) part.error = s.ToString();
    part.written = part.error.empty();
  } catch (const std::exception& e) {
    part.error = e.what();
  }
  running.fetch_sub(1);
}

extern "C" AxSstJob* ax_sst_write_async(const char* path_prefix, uint64_t build_id, bool wide, const void* values_in,
                                        std::size_t nvalues, const void* nulls_in, std::size_t nnulls,
                                        int nparts, AxError* err) {
  AxSstJob* out = nullptr;
  ax_guard(err, [&] {
    auto job = std::make_unique<AxSstJob>();
    job->build_id = build_id;
    job->wide = wide;
    const EntryView values{values_in, wide}, nulls{nulls_in, wide};
    std::size_t total = nvalues + nnulls;
    if (total == 0) {
      out = job.release();
      return;
    }
    nparts = std::max(1, std::min<int>(nparts, static_cast<int>(total / 100000) + 1));
    // cut the values into nparts runs; each NULL entry goes to the run its order falls in
    std::size_t nulls_done = 0;
    for (int p = 0; p < nparts; p++) {
      Part part;
      part.path = std::string(path_prefix) + "." + std::to_string(p) + ".sst";
      std::size_t a = nvalues * p / nparts, b = nvalues * (p + 1) / nparts;
      part.values = values.from(a);
      part.nvalues = b - a;
      std::size_t nulls_end = nnulls;
      if (p + 1 < nparts && b < nvalues) {
        // the first NULL entry at or after values[b] (by position: the view has no iterators)
        const AxEntry cut = values[b];
        const auto positions = std::views::iota(nulls_done, nnulls);
        nulls_end = nulls_done + static_cast<std::size_t>(
            std::ranges::partition_point(positions, [&](std::size_t i) { return entry_less(nulls[i], cut); }) -
            positions.begin());
      }
      part.nulls = nulls.from(nulls_done);
      part.nnulls = nulls_end - nulls_done;
      nulls_done = nulls_end;
      if (part.nvalues + part.nnulls > 0) job->parts.push_back(std::move(part));
    }
    {
      SignalBlock signals;  // the threads start with every signal blocked
      try {
        job->running = static_cast<int>(job->parts.size());
        for (auto& part : job->parts) job->threads.emplace_back([&j = *job, &part] { j.write_part(part); });
      } catch (...) {
        // not swallowed: the threads started so far stop, and the failure goes on to the guard
        job->cancel = true;
        job->join();
        throw;
      }
    }
    out = job.release();
  });
  return out;
}

extern "C" bool ax_sst_job_done(AxSstJob* job) { return job->running.load() == 0; }

extern "C" AxStatus ax_sst_job_finish(AxSstJob* job, std::size_t* nfiles, AxError* err) {
  return ax_guard(err, [&] {
    job->join();
    for (const auto& part : job->parts)
      if (!part.error.empty()) throw Failure(AX_IOERROR, "could not write SST file " + part.path + ": " + part.error);
    *nfiles = job->parts.size();
  });
}

extern "C" void ax_sst_job_free(AxSstJob* job, bool remove_files) {
  if (job == nullptr) return;
  job->cancel = true;
  job->join();
  if (remove_files)
    for (const auto& part : job->parts) unlink(part.path.c_str());
  delete job;
}
