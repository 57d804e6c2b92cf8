// linear_model.hpp: the floating-point linear model inside a data node, mapping a key to
// a predicted slot. Predictions only steer the exponential search, so they need to be
// deterministic and monotone but not exact; they are always clamped into the node.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace alex::detail {

struct LinearModel {
  std::uint64_t base = 0;  // keys are measured from here so nearby keys keep full precision
  double slope = 0;        // slots per key unit; always finite and >= 0
  double intercept = 0;

  double offset(std::uint64_t u) const noexcept {
    return u >= base ? static_cast<double>(u - base) : -static_cast<double>(base - u);
  }
  double raw(std::uint64_t u) const noexcept { return slope * offset(u) + intercept; }

  // Slot in [0, cap); cap > 0. NaN-proof (a NaN compares false and lands on slot 0).
  std::size_t predict(std::uint64_t u, std::size_t cap) const noexcept {
    return clamp_slot(raw(u), cap);
  }
  static std::size_t clamp_slot(double p, std::size_t cap) noexcept {
    if (!(p > 0)) return 0;
    if (p >= static_cast<double>(cap - 1)) return cap - 1;
    return static_cast<std::size_t>(p);
  }
};

// The least-squares line from the centred sums of a fit (sxy = sum (x - mx)(y - my),
// sxx = sum (x - mx)^2; x measured from base): slope sxy / sxx, kept finite and >= 0, through
// the means; a flat line through y0 (the first point's y) when the slope is 0 or the
// intercept is not finite.
inline LinearModel fitted_line(std::uint64_t base, double sxy, double sxx, double mx, double my, double y0) {
  LinearModel m;
  m.base = base;
  double slope = (sxx > 0) ? sxy / sxx : 0.0;
  if (!std::isfinite(slope) || slope < 0) slope = 0;
  m.slope = slope;
  m.intercept = slope == 0 ? y0 : my - slope * mx;
  if (!std::isfinite(m.intercept)) {
    m.slope = 0;
    m.intercept = y0;
  }
  return m;
}

// Least-squares fit of y on x (two passes over the data: means, then covariance), so
// large offsets do not cancel catastrophically. Each pass calls x_of/y_of with
// i = 0, 1, ..., n-1 in order (callers may rely on that to keep running state). Degenerate input (all x equal) gives a
// flat model through the first y, which is what a run of equal keys wants.
template <class XOf, class YOf>
LinearModel fit_linear(std::uint64_t base, std::size_t n, XOf x_of, YOf y_of) {
  LinearModel m;
  m.base = base;
  if (n == 0) return m;
  double sx = 0, sy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sx += m.offset(x_of(i));
    sy += y_of(i);
  }
  const double mx = sx / static_cast<double>(n), my = sy / static_cast<double>(n);
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double dx = m.offset(x_of(i)) - mx;
    sxy += dx * (y_of(i) - my);
    sxx += dx * dx;
  }
  return fitted_line(base, sxy, sxx, mx, my, y_of(0));
}

}  // namespace alex::detail
