// alex.hpp: public API of the ALEX learned index (Ding et al., SIGMOD 2020).
//
// API skeleton: signatures are final, bodies are placeholders until the engine lands.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace alex {

struct Params {
  std::size_t max_data_node_slots = std::size_t{1} << 16;
  double min_density = 0.6, max_density = 0.85, init_density = 0.75;
};

struct Stats {
  std::size_t entries = 0, depth = 0, model_nodes = 0, data_nodes = 0, model_bytes = 0,
              data_bytes = 0;
  double avg_search_distance = 0;
};

template <class Key, class Payload, class Allocator = std::allocator<std::byte>>
class Alex {
 public:
  struct Entry {
    Key key;
    Payload payload;
  };

  class iterator {
   public:
    Entry operator*() const { return Entry{}; }
    iterator& operator++() { return *this; }
    iterator& operator--() { return *this; }
    bool operator==(const iterator&) const { return true; }
    Key key() const { return Key{}; }
    Payload payload() const { return Payload{}; }
  };

  explicit Alex(const Params& p = Params(), const Allocator& a = Allocator()) : params_(p), alloc_(a) {}
  Alex(const Alex&) = delete;
  Alex& operator=(const Alex&) = delete;
  ~Alex() {}

  void bulk_load(const Entry*, std::size_t) {}
  void insert(Key, Payload) {}
  void insert_batch(Entry*, std::size_t) {}
  bool erase(Key, Payload) { return false; }
  std::size_t erase_batch(Entry*, std::size_t) { return 0; }
  iterator begin() const { return {}; }
  iterator end() const { return {}; }
  iterator lower_bound(Key) const { return {}; }
  iterator upper_bound(Key) const { return {}; }
  iterator lower_bound(Key, Payload) const { return {}; }
  std::size_t copy_range(Key, Key, const Entry*, Entry*, std::size_t) const { return 0; }
  std::size_t copy_range_reverse(Key, Key, const Entry*, Entry*, std::size_t) const { return 0; }
  std::size_t size() const { return 0; }
  bool empty() const { return true; }
  void clear() {}
  Stats stats() const { return {}; }
  std::size_t memory_bytes() const { return 0; }
  bool validate(std::string* = nullptr) const { return true; }
  const Params& params() const { return params_; }

 private:
  Params params_;
  Allocator alloc_;
};

}  // namespace alex
