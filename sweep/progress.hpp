#pragma once
// Progress display of a sweep on a terminal (a bar with ETA, redrawn in place) or in a log (plain
// lines at every 5 % and at the end).
#include <cstdio>
#include <string>

#include "sweep/runner.hpp"

namespace epsim {

/// Text of the progress bar: "[#####.....]  30/60  50% 2 skipped  12.0 s  ETA 12 s". ETA assumes
/// the remaining points cost the mean of those evaluated in this run; "ETA ?" before the first.
std::string progress_bar_text(const SweepProgress& p, int width = 30);

/// Writes progress to `stream` (not owned). tty = true: one line redrawn with '\r'; false: a line
/// per 5 % step. Not thread-safe by itself (the runner serializes on_progress calls).
class ProgressPrinter {
 public:
  ProgressPrinter(std::FILE* stream, bool tty) : stream_(stream), tty_(tty) {}
  void update(const SweepProgress& p);
  /// End the bar line (tty) so that later output starts on a new line.
  void finish();

 private:
  std::FILE* stream_;
  bool tty_;
  int last_step_ = -1;
  bool drawn_ = false;
};

}  // namespace epsim
