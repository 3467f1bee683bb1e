#include "model/trace_generator.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <random>
#include <limits>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/json_budget.hpp"
#include "common/limits.hpp"
#include "common/splitmix.hpp"

namespace epsim {

namespace {

struct Sampler {
  int E, k, G, TG, gs, N;
  std::vector<int> mark;  // per expert: stamp of the token that picked it
  std::vector<char> group_picked;
  std::vector<int> picked_groups;
  std::vector<double> pm;

  // Sample all tokens with weights w; writes experts (N x k) and counts.
  void run(const std::vector<double>& w, std::uint64_t seed, std::vector<int>& experts, std::vector<double>& counts) {
    std::mt19937_64 rng(seed);
    auto u = [&] { return uniform_from_bits(rng()); };
    std::vector<double> gw(static_cast<std::size_t>(G), 0.0);
    for (int e = 0; e < E; ++e) gw[static_cast<std::size_t>(e / gs)] += w[static_cast<std::size_t>(e)];
    mark.assign(static_cast<std::size_t>(E), -1);
    group_picked.assign(static_cast<std::size_t>(G), 0);
    picked_groups.resize(static_cast<std::size_t>(TG));
    pm.resize(static_cast<std::size_t>(TG));
    experts.resize(static_cast<std::size_t>(N) * static_cast<std::size_t>(k));
    counts.assign(static_cast<std::size_t>(E), 0.0);
    for (int t = 0; t < N; ++t) {
      // Groups.
      std::fill(group_picked.begin(), group_picked.end(), 0);
      for (int j = 0; j < TG; ++j) {
        double R = 0;
        for (int g = 0; g < G; ++g)
          if (!group_picked[static_cast<std::size_t>(g)]) R += gw[static_cast<std::size_t>(g)];
        int chosen = -1;
        if (R > 0) {
          double x = u() * R, acc = 0;
          for (int g = 0; g < G; ++g) {
            if (group_picked[static_cast<std::size_t>(g)] || gw[static_cast<std::size_t>(g)] <= 0) continue;
            acc += gw[static_cast<std::size_t>(g)];
            chosen = g;
            if (x < acc) break;
          }
        }
        if (chosen < 0) {  // no positive group left: uniform among the unpicked
          int left = 0;
          for (int g = 0; g < G; ++g) left += !group_picked[static_cast<std::size_t>(g)];
          int idx = std::min(left - 1, static_cast<int>(u() * left));
          for (int g = 0; g < G; ++g)
            if (!group_picked[static_cast<std::size_t>(g)] && idx-- == 0) { chosen = g; break; }
        }
        group_picked[static_cast<std::size_t>(chosen)] = 1;
        picked_groups[static_cast<std::size_t>(j)] = chosen;
        pm[static_cast<std::size_t>(j)] = gw[static_cast<std::size_t>(chosen)];
      }
      // Experts within the picked groups.
      int* out = experts.data() + static_cast<std::size_t>(t) * static_cast<std::size_t>(k);
      for (int p = 0; p < k; ++p) {
        int chosen = -1;
        for (int attempt = 0; attempt < TG + 1 && chosen < 0; ++attempt) {
          double R = 0;
          for (int j = 0; j < TG; ++j) R += std::max(0.0, pm[static_cast<std::size_t>(j)]);
          if (R <= 0) break;
          double x = u() * R, acc = 0;
          int jg = -1;
          for (int j = 0; j < TG; ++j) {
            double m = std::max(0.0, pm[static_cast<std::size_t>(j)]);
            if (m <= 0) continue;
            jg = j;
            if (x < acc + m) break;
            acc += m;
          }
          x -= acc;
          int g = picked_groups[static_cast<std::size_t>(jg)];
          int last = -1;
          double acc2 = 0;
          for (int e = g * gs; e < (g + 1) * gs; ++e) {
            double we = w[static_cast<std::size_t>(e)];
            if (mark[static_cast<std::size_t>(e)] == t || we <= 0) continue;
            last = e;
            acc2 += we;
            if (x < acc2) break;
          }
          if (last < 0) {
            pm[static_cast<std::size_t>(jg)] = 0;  // rounding left mass in an exhausted group
            continue;
          }
          chosen = last;
          pm[static_cast<std::size_t>(jg)] -= w[static_cast<std::size_t>(last)];
        }
        if (chosen < 0) {  // no positive weight left: uniform among unpicked experts of the picked groups
          int left = 0;
          for (int j = 0; j < TG; ++j)
            for (int e = picked_groups[static_cast<std::size_t>(j)] * gs; e < (picked_groups[static_cast<std::size_t>(j)] + 1) * gs; ++e)
              left += mark[static_cast<std::size_t>(e)] != t;
          int idx = std::min(left - 1, static_cast<int>(u() * left));
          for (int j = 0; j < TG && chosen < 0; ++j)
            for (int e = picked_groups[static_cast<std::size_t>(j)] * gs; e < (picked_groups[static_cast<std::size_t>(j)] + 1) * gs; ++e)
              if (mark[static_cast<std::size_t>(e)] != t && idx-- == 0) { chosen = e; break; }
        }
        mark[static_cast<std::size_t>(chosen)] = t;
        out[p] = chosen;
        counts[static_cast<std::size_t>(chosen)] += 1;
      }
    }
  }
};

}  // namespace

TraceLayer generate_trace_layer(const std::vector<double>& target_in, const MoeModel& model, int layer,
                                const TraceGeneratorOptions& o, LayerFit* fit) {
  const int E = static_cast<int>(target_in.size());
  Sampler s;
  s.E = E;
  s.k = model.top_k;
  s.G = std::max(1, model.n_group);
  s.TG = std::clamp(model.topk_group, 1, s.G);
  if (E % s.G != 0)
    throw InputError(fmt::format("model {}: {} experts do not split into n_group = {} equal groups", model.name, E, s.G));
  s.gs = E / s.G;
  if (s.TG * s.gs < s.k)
    throw InputError(fmt::format("model {}: topk_group {} groups of {} experts cannot supply top_k = {}", model.name,
                                 s.TG, s.gs, s.k));
  if (o.ep < 1 || o.tokens_per_gpu < 1) throw InputError("trace generator: ep and tokens_per_gpu must be >= 1");
  if (static_cast<std::int64_t>(o.ep) * o.tokens_per_gpu > std::numeric_limits<int>::max())
    throw InputError(fmt::format("trace generator: at most {} tokens per layer (ep x tokens per GPU)",
                                 std::numeric_limits<int>::max()));
  s.N = o.ep * o.tokens_per_gpu;
  double total = std::accumulate(target_in.begin(), target_in.end(), 0.0);
  if (!(total > 0)) throw InputError(fmt::format("layer {}: loads are all zero", layer));
  std::vector<double> target(static_cast<std::size_t>(E));
  for (int e = 0; e < E; ++e)
    target[static_cast<std::size_t>(e)] =
        std::min(target_in[static_cast<std::size_t>(e)] * static_cast<double>(s.N) * s.k / total, static_cast<double>(s.N));
  std::uint64_t seed = splitmix64(o.seed ^ (static_cast<std::uint64_t>(layer) * 0x9E3779B97F4A7C15ull));
  std::vector<double> w = target, counts;
  TraceLayer out;
  out.layer = layer;
  LayerFit f;
  f.layer = layer;
  for (int it = 1;; ++it) {
    s.run(w, seed, out.experts, counts);
    f.iterations = it;
    f.max_rel_error = 0;
    double l1 = 0, sum = 0;
    for (int e = 0; e < E; ++e) {
      double tg = target[static_cast<std::size_t>(e)], c = counts[static_cast<std::size_t>(e)];
      l1 += std::fabs(c - tg);
      sum += tg;
      if (tg >= o.min_target_count) f.max_rel_error = std::max(f.max_rel_error, std::fabs(c - tg) / tg);
    }
    f.l1_rel_error = l1 / sum;
    if (f.max_rel_error <= o.tolerance || it >= o.max_iterations) break;
    for (int e = 0; e < E; ++e) {
      double tg = target[static_cast<std::size_t>(e)], c = counts[static_cast<std::size_t>(e)];
      double& we = w[static_cast<std::size_t>(e)];
      if (tg <= 0) we = 0;
      else if (c <= 0) we *= 2;
      else we *= std::pow(tg / c, 0.7);
    }
  }
  out.source.resize(static_cast<std::size_t>(s.N));
  for (int t = 0; t < s.N; ++t) out.source[static_cast<std::size_t>(t)] = t / o.tokens_per_gpu;
  if (fit) *fit = f;
  return out;
}

void check_trace_options(const TraceGeneratorOptions& o) {
  if (o.ep < 1 || o.tokens_per_gpu < 1)
    throw InputError(fmt::format("trace generator: ep and tokens_per_gpu must be >= 1, got {} and {}", o.ep, o.tokens_per_gpu));
  if (!(std::isfinite(o.tolerance) && o.tolerance >= 0))
    throw InputError(fmt::format("trace generator: tolerance must be finite and >= 0, got {}", o.tolerance));
  if (!(std::isfinite(o.min_target_count) && o.min_target_count >= 0))
    throw InputError(fmt::format("trace generator: min_target_count must be finite and >= 0, got {}", o.min_target_count));
  if (o.max_iterations < 1 || o.max_iterations > kMaxTraceIterations)
    throw InputError(fmt::format("trace generator: max_iterations must be in [1, {}], got {}", kMaxTraceIterations,
                                 o.max_iterations));
  if (o.threads < 0) throw InputError(fmt::format("trace generator: threads must be >= 0, got {}", o.threads));
}

TraceSize check_trace_size(const ExpertLoads& loads, const MoeModel& model, const TraceGeneratorOptions& o) {
  check_loads_match_model(loads, model);
  TraceSize s;
  for (int l = 0; l < loads.num_layers(); ++l) {
    const auto& row = loads.count[static_cast<std::size_t>(l)];
    if (model.is_moe_layer(l) && std::accumulate(row.begin(), row.end(), 0.0) > 0) ++s.layers;
  }
  s.tokens_per_layer = static_cast<std::int64_t>(o.ep) * o.tokens_per_gpu;
  const auto k = static_cast<std::int64_t>(model.top_k);
  // In double: the product of three int-sized factors may pass 2^63 before it is refused.
  const double ids = static_cast<double>(s.layers) * static_cast<double>(s.tokens_per_layer) * static_cast<double>(k + 1);
  auto digits = [](std::int64_t max_value) { return static_cast<std::uint64_t>(fmt::formatted_size("{}", max_value)); };
  const std::uint64_t per_token_text = static_cast<std::uint64_t>(k) * (digits(model.num_experts - 1) + 1) +
                                       digits(o.ep - 1) + 1;
  const double text = static_cast<double>(s.layers) * static_cast<double>(s.tokens_per_layer) *
                      static_cast<double>(per_token_text);
  const double memory = 4.0 * ids + text;
  auto refuse = [&](const std::string& what) {
    throw InputError(fmt::format(
        "trace of {} MoE layers x {} ranks x {} tokens x (top_k {} + 1) = {:.3g} ids (~{:.1f} GiB in memory while "
        "written, ~{:.1f} GiB of JSON): {} (docs/limits.md)",
        s.layers, o.ep, o.tokens_per_gpu, k, ids, memory / 1073741824.0, text / 1073741824.0, what));
  };
  if (s.tokens_per_layer > std::numeric_limits<int>::max())
    refuse(fmt::format("at most {} tokens per layer (ep x tokens per GPU)", std::numeric_limits<int>::max()));
  if (ids > static_cast<double>(limits::kMaxTraceIds))
    refuse(fmt::format("at most {} ids (2^27) in one trace", limits::kMaxTraceIds));
  s.ids = static_cast<std::int64_t>(ids);
  s.text_bytes = static_cast<std::uint64_t>(text);
  s.memory_bytes = static_cast<std::uint64_t>(memory);
  const auto n = static_cast<std::uint64_t>(s.tokens_per_layer);
  const std::uint64_t per_layer = 16 + 96 * 3 + json_array_parsed_bytes(n) + json_array_parsed_bytes(n * static_cast<std::uint64_t>(k));
  s.parsed_bytes = static_cast<std::uint64_t>(s.layers) * per_layer;
  if (s.parsed_bytes > limits::kMaxJsonParsedBytes)
    refuse(fmt::format("epsim could not read it back (it would parse to ~{} MiB, above the {} MiB of one JSON input)",
                       s.parsed_bytes >> 20, limits::kMaxJsonParsedBytes >> 20));
  return s;
}

Trace generate_trace(const ExpertLoads& loads, const MoeModel& model, const TraceGeneratorOptions& o,
                     std::vector<LayerFit>* fits) {
  check_trace_options(o);
  check_trace_size(loads, model, o);
  std::vector<int> layers;
  for (int l = 0; l < loads.num_layers(); ++l) {
    const auto& row = loads.count[static_cast<std::size_t>(l)];
    if (model.is_moe_layer(l) && std::accumulate(row.begin(), row.end(), 0.0) > 0) layers.push_back(l);
  }
  Trace t;
  t.num_experts = model.num_experts;
  t.top_k = model.top_k;
  t.num_ranks = o.ep;
  t.layers.resize(layers.size());
  std::vector<LayerFit> f(layers.size());
  std::vector<std::exception_ptr> errors(layers.size());
  std::atomic<std::size_t> next{0};
  std::mutex progress;
  int done = 0;
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < layers.size();) {
      try {
        t.layers[i] = generate_trace_layer(loads.count[static_cast<std::size_t>(layers[i])], model, layers[i], o, &f[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
      if (o.on_layer_done) {
        std::lock_guard<std::mutex> lock(progress);
        o.on_layer_done(++done, static_cast<int>(layers.size()));
      }
    }
  };
  int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min<int>(threads, static_cast<int>(std::max<std::size_t>(1, layers.size())));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  if (fits) *fits = std::move(f);
  return t;
}

}  // namespace epsim
