#include "sweep/progress.hpp"

#include <cmath>

#include <fmt/format.h>

namespace epsim {

std::string progress_bar_text(const SweepProgress& p, int width) {
  const std::size_t done = p.reused + p.evaluated;
  const double frac = p.total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(p.total);
  const int filled = static_cast<int>(std::floor(frac * width));
  std::string eta = "ETA ?";
  if (p.evaluated > 0) {
    double per_point = p.elapsed_s / static_cast<double>(p.evaluated);
    eta = fmt::format("ETA {:.0f} s", per_point * static_cast<double>(p.total - done));
  }
  return fmt::format("[{}{}] {}/{} {:3.0f}%  {} skipped  {:.1f} s  {}", std::string(static_cast<std::size_t>(filled), '#'),
                     std::string(static_cast<std::size_t>(width - filled), '.'), done, p.total, frac * 100, p.skipped,
                     p.elapsed_s, eta);
}

void ProgressPrinter::update(const SweepProgress& p) {
  if (tty_) {
    fmt::print(stream_, "\r{}\x1b[K", progress_bar_text(p));
    std::fflush(stream_);
    drawn_ = true;
    return;
  }
  const std::size_t done = p.reused + p.evaluated;
  int step = p.total == 0 ? 20 : static_cast<int>(done * 20 / p.total);
  if (step == last_step_ && done != p.total) return;
  last_step_ = step;
  fmt::print(stream_, "sweep: {}/{} points ({} skipped), {:.1f} s\n", done, p.total, p.skipped, p.elapsed_s);
  std::fflush(stream_);
}

void ProgressPrinter::finish() {
  if (tty_ && drawn_) fmt::print(stream_, "\n");
  drawn_ = false;
}

}  // namespace epsim
