// guard.hpp: the one place where C++ exceptions are turned into AxStatus values.
//
// Every extern "C" function in am/engine/ runs its body through ax_guard(), so no
// exception ever unwinds into PostgreSQL's C frames. The C caller turns the status
// into an ereport() once it is back in its own zone.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "../engine.h"

namespace axeng {

// A failure that already knows its AxStatus (e.g. "sidecar has no such build").
struct Failure : std::runtime_error {
  AxStatus status;
  Failure(AxStatus s, const std::string& what) : std::runtime_error(what), status(s) {}
};

inline void set_error(AxError* err, AxStatus status, const char* msg) {
  if (err == nullptr) return;
  err->status = status;
  std::snprintf(err->message, sizeof(err->message), "%s", msg);
}

template <class Body>
AxStatus ax_guard(AxError* err, Body&& body) noexcept {
  try {
    body();
    if (err) err->status = AX_OK;
    return AX_OK;
  } catch (const Failure& f) {
    set_error(err, f.status, f.what());
    return f.status;
  } catch (const std::bad_alloc&) {
    set_error(err, AX_NOMEM, "out of memory");
    return AX_NOMEM;
  } catch (const std::exception& e) {
    set_error(err, AX_ERROR, e.what());
    return AX_ERROR;
  } catch (...) {
    set_error(err, AX_ERROR, "unknown C++ exception");
    return AX_ERROR;
  }
}

// Blocks every signal in the calling thread while it lives and restores the previous mask
// when it goes. Threads inherit the mask of the thread that creates them: every entry point
// that calls RocksDB (which starts threads of its own) or starts threads holds one, so that
// PostgreSQL's signals, whose handlers assume the process's main thread, never reach them.
// A signal that arrives meanwhile waits until the mask is restored.
class SignalBlock {
 public:
  SignalBlock() noexcept {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_);
  }
  ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t old_;
};

}  // namespace axeng
