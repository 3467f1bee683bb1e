#include "cuda_validate/plan_traffic.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"
#include "placement/plan_reader.hpp"

namespace epsim::validate {

std::int64_t PairMatrix::send_total(int s) const {
  std::int64_t t = 0;
  for (int d = 0; d < n_; ++d) t += at(s, d);
  return t;
}

std::int64_t PairMatrix::recv_total(int d) const {
  std::int64_t t = 0;
  for (int s = 0; s < n_; ++s) t += at(s, d);
  return t;
}

std::int64_t PairMatrix::off_diagonal_total() const {
  std::int64_t t = 0;
  for (int s = 0; s < n_; ++s)
    for (int d = 0; d < n_; ++d)
      if (s != d) t += at(s, d);
  return t;
}

std::int64_t PairMatrix::max_send_total() const {
  std::int64_t m = 0;
  for (int s = 0; s < n_; ++s) m = std::max(m, send_total(s));
  return m;
}

PairMatrix PairMatrix::transposed() const {
  PairMatrix t(n_);
  for (int s = 0; s < n_; ++s)
    for (int d = 0; d < n_; ++d) t.at(d, s) = at(s, d);
  return t;
}

PairMatrix dispatch_token_counts(const std::vector<double>& gpu_tokens) {
  const int n = static_cast<int>(gpu_tokens.size());
  PairMatrix m(n);
  for (int d = 0; d < n; ++d) {
    double t = gpu_tokens[static_cast<std::size_t>(d)];
    if (!std::isfinite(t) || t < 0)
      throw InputError(fmt::format("tokens of rank {} must be a finite number >= 0, got {}", d, t));
    const std::int64_t total = std::llround(t);
    for (int s = 0; s < n; ++s) m.at(s, d) = total * (s + 1) / n - total * s / n;
  }
  return m;
}

PairMatrix exchange_pair_bytes(const std::vector<double>& gpu_tokens, std::int64_t bytes_per_token, Exchange direction) {
  if (bytes_per_token <= 0) throw InputError(fmt::format("bytes per token must be > 0, got {}", bytes_per_token));
  PairMatrix m = dispatch_token_counts(gpu_tokens);
  for (int s = 0; s < m.size(); ++s)
    for (int d = 0; d < m.size(); ++d) m.at(s, d) *= bytes_per_token;
  return direction == Exchange::dispatch ? m : m.transposed();
}

const PlanLayer& PlanTraffic::find_layer(int layer) const {
  for (const PlanLayer& l : layers)
    if (l.layer == layer) return l;
  throw InputError(file, "/layers", fmt::format("a layer with \"layer\": {} (the plan has {} layers)", layer, layers.size()));
}

const PlanLayer& PlanTraffic::default_layer() const {
  if (layers.empty()) throw InputError(file, "/layers", "at least one layer");
  if (worst_layer >= 0)
    for (const PlanLayer& l : layers)
      if (l.layer == worst_layer) return l;
  return layers.front();
}

std::vector<int> tokens_per_expert_sweep(const PlanTraffic& plan, const PlanLayer& layer, std::size_t max_points) {
  if (max_points < 2) throw std::invalid_argument("tokens_per_expert_sweep: max_points must be >= 2");
  std::set<int> distinct;
  for (double t : layer.gpu_tokens) {
    auto v = static_cast<int>(std::llround(t / plan.slots_per_gpu));
    if (v > 0) distinct.insert(v);
  }
  std::vector<int> all(distinct.begin(), distinct.end());
  if (all.size() <= max_points) return all;
  std::vector<int> pick;
  for (std::size_t q = 0; q < max_points; ++q) pick.push_back(all[(all.size() - 1) * q / (max_points - 1)]);
  pick.erase(std::unique(pick.begin(), pick.end()), pick.end());
  return pick;
}

namespace {

// The harness sizes real buffers: bytes per token must be present and whole.
std::int64_t integral_bytes(const JsonCursor& settings, const char* key, double value) {
  if (!settings.has(key)) settings.at(key);  // throws: the field is missing
  if (value != std::floor(value) || value > 1e12)
    settings.at(key).fail(fmt::format("a whole number of bytes per token > 0, found {}", value));
  return static_cast<std::int64_t>(value);
}

}  // namespace

PlanTraffic plan_traffic_from_json(const Json& doc, const std::string& file) {
  JsonCursor root(doc, file);
  PlanTraffic p;
  p.file = file;
  const PlanFileSettings s = read_plan_settings(root);  // the one reader of a plan's settings
  JsonCursor settings = root.at("settings");
  p.ep = s.ep;
  p.slots_per_gpu = s.slots_per_gpu;
  p.dispatch_bytes_per_token = integral_bytes(settings, "dispatch_bytes_per_token", s.dispatch_bytes_per_token);
  p.combine_bytes_per_token = integral_bytes(settings, "combine_bytes_per_token", s.combine_bytes_per_token);
  if (root.has("gpus")) {
    JsonCursor gpus = root.at("gpus");
    for (std::size_t i = 0; i < gpus.array_size(); ++i) p.gpus.push_back(gpus.at(i).as_string());
    if (static_cast<int>(p.gpus.size()) != p.ep)
      gpus.fail(fmt::format("{} GPU ids (settings.ep), found {}", p.ep, p.gpus.size()));
  }
  if (root.has("summary") && root.at("summary").has("worst_layer"))
    p.worst_layer = static_cast<int>(root.at("summary").at("worst_layer").as_int(-1, 1 << 20));
  JsonCursor layers = root.at("layers");
  for (std::size_t i = 0; i < layers.array_size(); ++i) {
    JsonCursor l = layers.at(i);
    PlanLayer pl;
    pl.layer = static_cast<int>(l.at("layer").as_int(0, 1 << 20));
    JsonCursor tokens = l.at("gpu_tokens");
    if (tokens.array_size() != static_cast<std::size_t>(p.ep))
      tokens.fail(fmt::format("{} entries (settings.ep), found {}", p.ep, tokens.array_size()));
    for (std::size_t g = 0; g < tokens.array_size(); ++g) pl.gpu_tokens.push_back(tokens.at(g).as_non_negative());
    p.layers.push_back(std::move(pl));
  }
  if (p.layers.empty()) layers.fail("at least one layer");
  return p;
}

PlanTraffic load_plan_traffic(const std::filesystem::path& path) {
  return plan_traffic_from_json(read_json_file(path), path.string());
}

}  // namespace epsim::validate
