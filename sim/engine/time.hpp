#pragma once
// Simulated time: a strong type over int64 picoseconds (range about +-106 days). Integer arithmetic
// everywhere inside the engine; doubles only at the edges (input in seconds, output for reports).
#include <cmath>
#include <compare>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace epsim {

/// A point in, or span of, simulated time, stored as int64 picoseconds. All operations are O(1).
/// Named constructors and arithmetic throw std::overflow_error when the result leaves the int64 range.
class Time {
 public:
  using Rep = std::int64_t;

  /// Zero.
  constexpr Time() = default;

  /// v picoseconds.
  static constexpr Time ps(Rep v) { return Time(v); }
  /// v nanoseconds (1e3 ps). Throws std::overflow_error when out of range.
  static constexpr Time ns(Rep v) { return Time(checked_mul(v, 1'000)); }
  /// v microseconds (1e6 ps). Throws std::overflow_error when out of range.
  static constexpr Time us(Rep v) { return Time(checked_mul(v, 1'000'000)); }
  /// v milliseconds (1e9 ps). Throws std::overflow_error when out of range.
  static constexpr Time ms(Rep v) { return Time(checked_mul(v, 1'000'000'000)); }
  /// v seconds (1e12 ps). Throws std::overflow_error when out of range.
  static constexpr Time s(Rep v) { return Time(checked_mul(v, 1'000'000'000'000)); }

  /// Seconds as a double, rounded to the nearest picosecond (halves away from zero).
  /// Throws std::overflow_error when not finite or outside the int64 picosecond range.
  static Time from_seconds(double seconds) { return from_ps_rounded(seconds * 1e12); }
  /// Picoseconds as a double, rounded to the nearest picosecond. Throws std::overflow_error when
  /// not finite or out of range.
  static Time from_ps_rounded(double picoseconds) {
    check_range(picoseconds);
    return Time(static_cast<Rep>(std::llround(picoseconds)));
  }
  /// Picoseconds as a double, rounded up to the next whole picosecond, so that an event placed at the
  /// result is never early. Values within a relative 64 ulps above an integer (floating-point noise of
  /// a few operations) round down to it. Throws std::overflow_error when not finite or out of range.
  static Time from_ps_ceil(double picoseconds) {
    check_range(picoseconds);
    double tolerance = std::abs(picoseconds) * 64.0 * std::numeric_limits<double>::epsilon();
    return Time(static_cast<Rep>(std::ceil(picoseconds - tolerance)));
  }

  /// The largest representable time (used as "never").
  static constexpr Time max() { return Time(std::numeric_limits<Rep>::max()); }

  /// The raw count of picoseconds.
  constexpr Rep count_ps() const { return ps_; }
  /// Seconds, for output only (rounding: double).
  constexpr double to_seconds() const { return static_cast<double>(ps_) * 1e-12; }
  /// Milliseconds, for output only.
  constexpr double to_ms() const { return static_cast<double>(ps_) * 1e-9; }
  /// Microseconds, for output only.
  constexpr double to_us() const { return static_cast<double>(ps_) * 1e-6; }
  /// Nanoseconds, for output only.
  constexpr double to_ns() const { return static_cast<double>(ps_) * 1e-3; }

  constexpr auto operator<=>(const Time&) const = default;

  /// Sum; throws std::overflow_error on int64 overflow.
  friend constexpr Time operator+(Time a, Time b) { return Time(checked_add(a.ps_, b.ps_)); }
  /// Difference; throws std::overflow_error on int64 overflow.
  friend constexpr Time operator-(Time a, Time b) {
    Rep r = 0;
    if (__builtin_sub_overflow(a.ps_, b.ps_, &r)) throw std::overflow_error("epsim::Time: subtraction overflows");
    return Time(r);
  }
  /// Negation.
  constexpr Time operator-() const { return Time(0) - *this; }
  /// Scale by an integer; throws std::overflow_error on overflow.
  friend constexpr Time operator*(Time a, Rep k) { return Time(checked_mul(a.ps_, k)); }
  friend constexpr Time operator*(Rep k, Time a) { return a * k; }
  /// Integer division (truncates toward zero). Throws std::domain_error on division by zero.
  friend constexpr Time operator/(Time a, Rep k) {
    if (k == 0) throw std::domain_error("epsim::Time: division by zero");
    return Time(a.ps_ / k);
  }
  /// Ratio of two durations, truncated toward zero. Throws std::domain_error when b is zero.
  friend constexpr Rep operator/(Time a, Time b) {
    if (b.ps_ == 0) throw std::domain_error("epsim::Time: division by zero");
    return a.ps_ / b.ps_;
  }
  constexpr Time& operator+=(Time b) { return *this = *this + b; }
  constexpr Time& operator-=(Time b) { return *this = *this - b; }

 private:
  constexpr explicit Time(Rep v) : ps_(v) {}

  static constexpr Rep checked_mul(Rep a, Rep b) {
    Rep r = 0;
    if (__builtin_mul_overflow(a, b, &r)) throw std::overflow_error("epsim::Time: value out of range");
    return r;
  }
  static constexpr Rep checked_add(Rep a, Rep b) {
    Rep r = 0;
    if (__builtin_add_overflow(a, b, &r)) throw std::overflow_error("epsim::Time: addition overflows");
    return r;
  }
  static void check_range(double picoseconds) {
    // 2^63 is exactly representable; anything >= it (or < -2^63) does not fit.
    constexpr double limit = 9223372036854775808.0;
    if (!std::isfinite(picoseconds) || picoseconds >= limit || picoseconds < -limit)
      throw std::overflow_error("epsim::Time: value not finite or out of the int64 picosecond range");
  }

  Rep ps_ = 0;
};

}  // namespace epsim
