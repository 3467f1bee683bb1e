#include <catch2/catch.hpp>

#include <limits>
#include <stdexcept>

#include "sim/engine/time.hpp"

using epsim::Time;

TEST_CASE("Time named constructors scale to picoseconds", "[sim][time]") {
  CHECK(Time::ps(7).count_ps() == 7);
  CHECK(Time::ns(5).count_ps() == 5'000);                 // 1 ns = 1e3 ps
  CHECK(Time::us(3).count_ps() == 3'000'000);             // 1 us = 1e6 ps
  CHECK(Time::ms(2).count_ps() == 2'000'000'000);         // 1 ms = 1e9 ps
  CHECK(Time::s(4).count_ps() == 4'000'000'000'000);      // 1 s = 1e12 ps
  CHECK(Time{}.count_ps() == 0);
}

TEST_CASE("Time arithmetic and comparison", "[sim][time]") {
  CHECK(Time::ns(5) + Time::ps(7) == Time::ps(5'007));    // 5000 + 7
  CHECK(Time::us(1) - Time::ns(1) == Time::ns(999));      // 1000 ns - 1 ns
  CHECK(Time::ns(3) * 4 == Time::ns(12));
  CHECK(4 * Time::ns(3) == Time::ns(12));
  CHECK(Time::ns(10) / 4 == Time::ps(2'500));             // 10000 ps / 4
  CHECK(Time::us(1) / Time::ns(1) == 1'000);              // ratio of durations
  CHECK(-Time::ns(2) == Time::ps(-2'000));
  Time t = Time::ns(1);
  t += Time::ns(2);
  t -= Time::ps(500);
  CHECK(t == Time::ps(2'500));                             // 1000 + 2000 - 500
  CHECK(Time::ns(1) < Time::ns(2));
  CHECK(Time::us(1) == Time::ns(1'000));
  CHECK(Time::ms(1) > Time::us(999));
  CHECK_THROWS_AS(Time::ns(1) / 0, std::domain_error);
}

TEST_CASE("Time conversions to and from doubles", "[sim][time]") {
  CHECK(Time::from_seconds(1e-6) == Time::us(1));          // 1e-6 s * 1e12 = 1e6 ps
  CHECK(Time::from_seconds(1.5e-12) == Time::ps(2));       // 1.5 ps rounds half away from zero
  CHECK(Time::from_seconds(2.4e-12) == Time::ps(2));       // nearest
  CHECK(Time::from_seconds(-2.6e-12) == Time::ps(-3));
  CHECK(Time::from_ps_ceil(10.2) == Time::ps(11));         // rounds up: never early
  CHECK(Time::from_ps_ceil(2.0000000000000004e7) == Time::ps(20'000'000));  // floating-point noise
  CHECK(Time::ms(1500).to_seconds() == Approx(1.5));
  CHECK(Time::us(2500).to_ms() == Approx(2.5));
  CHECK(Time::ns(1500).to_us() == Approx(1.5));
  CHECK(Time::ps(1500).to_ns() == Approx(1.5));
}

TEST_CASE("Time rejects out-of-range values", "[sim][time]") {
  // int64 ps covers about 9.2e6 s.
  CHECK_THROWS_AS(Time::from_seconds(1e8), std::overflow_error);  // 1e20 ps > 2^63
  CHECK_THROWS_AS(Time::from_seconds(-1e8), std::overflow_error);
  CHECK_THROWS_AS(Time::from_seconds(std::numeric_limits<double>::infinity()), std::overflow_error);
  CHECK_THROWS_AS(Time::from_seconds(std::numeric_limits<double>::quiet_NaN()), std::overflow_error);
  CHECK_THROWS_AS(Time::s(10'000'000), std::overflow_error);  // 1e19 ps
  CHECK_THROWS_AS(Time::max() + Time::ps(1), std::overflow_error);
  CHECK_THROWS_AS(Time::ps(std::numeric_limits<std::int64_t>::min()) - Time::ps(1), std::overflow_error);
  CHECK_NOTHROW(Time::from_seconds(9e6));                      // 9e18 ps fits
}
