// cost_model.hpp: the decisions ALEX makes with its cost model, in one place.
//
// A data node's cost is a weighted sum of exponential-search iterations (a lookup's work)
// and element shifts (an insert's work). When a node runs full we compare the cost it
// has actually shown since it was built with the cost predicted when it was built: a node
// whose model has gone stale (the "catastrophic" case in the paper) is split even if it
// could still grow, otherwise it is expanded and retrained until it reaches the maximum
// size. Model-node fanout is chosen by weighing keys left in over-full slots (each costs
// another level of traversal) against pointer space.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace alex::detail::cost {

inline constexpr unsigned kMaxFanoutLog = 16;  // model nodes hold at most 2^16 child pointers
inline constexpr std::size_t kMaxFanout = std::size_t{1} << kMaxFanoutLog;

inline constexpr double kSearchIterWeight = 20.0;  // ~ns per exponential-search iteration
inline constexpr double kShiftWeight = 0.5;        // ~ns per element moved
inline constexpr double kCatastropheFactor = 1.5;  // empirical cost > 1.5x expected => stale
inline constexpr std::uint64_t kMinInsertsForCostCheck = 1024;

inline double data_node_cost(double avg_search_iters, double avg_shifts) noexcept {
  return kSearchIterWeight * avg_search_iters + kShiftWeight * avg_shifts;
}

// Expected cost of a freshly laid-out node. Search: log2 of the distance between the
// predicted and actual slot. Shifts: an insert landing in a run of L occupied slots moves
// about L/4 elements to the nearest gap, and lands there with probability ~ L / n.
struct LayoutCostAccumulator {
  // Integer sums and no branch: lay_out calls key_placed for every entry, and a
  // floating-point sum (a 4-cycle add chain) or a mispredicted run-end branch there costs
  // as much as the placement itself. A run of L adjacent slots adds 1 + 3 + ... + (2L - 1)
  // = L^2 to run_sq_sum, one odd number per entry.
  std::uint64_t log_err_sum = 0, run_sq_sum = 0;
  std::size_t n = 0, run = 0;
  void key_placed(std::size_t predicted, std::size_t actual, bool adjacent_to_previous) noexcept {
    const std::size_t d = predicted > actual ? predicted - actual : actual - predicted;
    // ~log2(d + 1), the galloping steps: bit_width(d), from a table for the usual small d
    // (without lzcnt, bit_width is a slow bsr plus a branch on d = 0, which is common but
    // not predictable).
    static constexpr unsigned char kWidth[16] = {0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4};
    log_err_sum += d < 16 ? kWidth[d] : static_cast<std::uint64_t>(std::bit_width(d));
    ++n;
    // run + 1, or 1 at a run's start, as a mask rather than a conditional (which g++ turns
    // into a branch that mispredicts at every run's end).
    run = (run & (std::size_t{0} - std::size_t{adjacent_to_previous})) + 1;
    run_sq_sum += 2 * std::uint64_t{run} - 1;
  }
  double finish() const noexcept {
    if (n == 0) return 0;
    return data_node_cost(double(log_err_sum) / double(n), double(run_sq_sum) / (4.0 * double(n)));
  }
};

// Should a full node be split although it could still be expanded?
inline bool is_catastrophic(std::uint64_t inserts, std::uint64_t search_iters, std::uint64_t shifts,
                            double expected_cost) noexcept {
  if (inserts < kMinInsertsForCostCheck) return false;
  const double empirical = data_node_cost(double(search_iters) / double(inserts),
                                          double(shifts) / double(inserts));
  // The +1 keeps a near-perfect model (expected ~0) from flagging ordinary noise.
  return empirical > kCatastropheFactor * expected_cost + kSearchIterWeight;
}

// Most inserts went past the node's last key: lay the node out with room on the right.
inline bool is_append_heavy(std::uint64_t inserts, std::uint64_t appends) noexcept {
  return inserts >= 32 && appends * 4 >= inserts * 3;
}

// A quarter of the inserts (16 at least) went past the node's end: appends with jitter
// (time-ordered keys arriving a little out of order), not random inserts.
inline bool takes_appends(std::uint64_t inserts, std::uint64_t appends) noexcept {
  return appends >= 16 && appends * 4 >= inserts;
}

// Cost of a model node with 2^log slots over m keys, of which `overflow` sit in slots
// that need another level below them.
inline double fanout_cost(unsigned log, std::size_t m, std::size_t overflow) noexcept {
  const double level_cost = double(overflow) / double(m);                // extra traversal
  const double space_cost = double(std::size_t{1} << log) * 8.0 / (double(m) * 16.0);  // pointers
  return level_cost + 0.5 * space_cost;
}

// Splitting a full data node whose keys need more than one parent slot is free of new
// levels (split sideways). If its keys sit in one slot, doubling the parent separates them
// only when they straddle that slot's midpoint; beyond that we split downwards instead of
// inflating a parent that mostly points elsewhere.
enum class SplitKind { sideways, double_parent_then_sideways, downward };

inline SplitKind choose_split(std::size_t group_slots, unsigned keys_block_bits, unsigned parent_shift,
                              unsigned parent_fanout_log) noexcept {
  if (group_slots >= 2 && keys_block_bits > parent_shift) return SplitKind::sideways;
  if (group_slots == 1 && parent_shift >= 1 && keys_block_bits == parent_shift &&
      parent_fanout_log + 1 <= kMaxFanoutLog)
    return SplitKind::double_parent_then_sideways;
  return SplitKind::downward;
}

}  // namespace alex::detail::cost
