#include "cuda_validate/measurements.hpp"

#include <fmt/format.h>

#include "comm/calibration.hpp"
#include "common/error.hpp"
#include "common/limits.hpp"
#include "topology/topology.hpp"

namespace epsim::validate {

double algbw_GBps(double bytes_per_rank, double seconds) {
  if (!(seconds > 0)) throw std::invalid_argument("algbw: time must be > 0");
  return bytes_per_rank / seconds / 1e9;
}

double alltoall_busbw_GBps(double algbw, int num_ranks) {
  if (num_ranks < 1) throw std::invalid_argument("busbw: ranks must be >= 1");
  return algbw * (num_ranks - 1) / num_ranks;
}

std::vector<P2pPair> p2p_pairs(const std::vector<std::string>& hosts) {
  std::vector<P2pPair> pairs;
  if (hosts.size() > 1 && hosts[1] == hosts[0]) pairs.push_back({1, "nvlink"});
  for (std::size_t r = 1; r < hosts.size(); ++r)
    if (hosts[r] != hosts[0]) {
      pairs.push_back({static_cast<int>(r), "infiniband"});
      break;
    }
  return pairs;
}

namespace {

constexpr int kMaxGpus = 1 << 20;

// A measured quantity (a time in us, bytes, TFLOP/s): limits::is_measured_value, as every measured
// table's (a time of 1e300 us passed and showed only as a 100% error on the fitted link).
double measured(const JsonCursor& c, std::string_view key) {
  JsonCursor t = c.at(key);
  double v = t.as_number();
  if (!limits::is_measured_value(v)) t.fail(fmt::format("a measured value in {}, found {}", limits::kMeasuredValueRange, v));
  return v;
}

int repeats(const JsonCursor& c) { return static_cast<int>(c.at("repeats").as_int(1, 1 << 30)); }

AllToAllSample read_alltoall(const JsonCursor& c, int num_gpus) {
  AllToAllSample s;
  JsonCursor dir = c.at("direction");
  std::string d = dir.as_string();
  if (d == "dispatch") s.direction = Exchange::dispatch;
  else if (d == "combine") s.direction = Exchange::combine;
  else dir.fail(fmt::format("\"dispatch\" or \"combine\", found \"{}\"", d));
  s.layer = static_cast<int>(c.at("layer").as_int(0, 1 << 20));
  s.bytes_per_token = c.at("bytes_per_token").as_int(1, std::int64_t{1} << 40);
  JsonCursor tokens = c.at("gpu_tokens");
  if (tokens.array_size() != static_cast<std::size_t>(num_gpus))
    tokens.fail(fmt::format("{} entries (num_gpus), found {}", num_gpus, tokens.array_size()));
  for (std::size_t i = 0; i < tokens.array_size(); ++i) {
    const double t = tokens.at(i).as_non_negative();
    // calibrate and validate read one reader: 1e300 tokens printed 300-digit times in validate.
    if (t > limits::kMaxTokenCount) tokens.at(i).fail(fmt::format("a token count in [0, {:g}], found {:g}", limits::kMaxTokenCount, t));
    s.gpu_tokens.push_back(t);
  }
  s.bytes_per_rank = c.at("bytes_per_rank").as_non_negative();
  s.time_us = measured(c, "time_us");
  s.max_rank_time_us = measured(c, "max_rank_time_us");
  s.algbw_GBps = c.at("algbw_GBps").as_non_negative();
  s.busbw_GBps = c.at("busbw_GBps").as_non_negative();
  s.repeats = repeats(c);
  return s;
}

P2pSample read_p2p(const JsonCursor& c, int num_gpus) {
  P2pSample s;
  s.link_class = c.at("link_class").as_string();
  if (!parse_link_kind(s.link_class))
    c.at("link_class").fail(fmt::format("a link kind: nvlink, pcie, infiniband or ethernet; found \"{}\"", s.link_class));
  s.src = static_cast<int>(c.at("src").as_int(0, num_gpus - 1));
  s.dst = static_cast<int>(c.at("dst").as_int(0, num_gpus - 1));
  if (s.src == s.dst) c.at("dst").fail("a rank different from src");
  s.bytes = measured(c, "bytes");
  s.time_us = measured(c, "time_us");
  s.repeats = repeats(c);
  return s;
}

GemmSample read_gemm(const JsonCursor& c) {
  GemmSample s;
  JsonCursor dt = c.at("dtype");
  s.dtype = dt.as_string();
  if (s.dtype != "bf16" && s.dtype != "fp8") dt.fail(fmt::format("\"bf16\" or \"fp8\", found \"{}\"", s.dtype));
  s.name = c.at("name").as_string();
  s.tokens_per_expert = static_cast<int>(c.at("tokens_per_expert").as_int(1, 1 << 30));
  s.n = static_cast<int>(c.at("n").as_int(1, 1 << 30));
  s.k = static_cast<int>(c.at("k").as_int(1, 1 << 30));
  s.time_us = measured(c, "time_us");
  s.tflops = measured(c, "tflops");
  s.peak_tflops = measured(c, "peak_tflops");
  s.repeats = repeats(c);
  return s;
}

OverlapSample read_overlap(const JsonCursor& c) {
  OverlapSample s;
  s.comm = c.at("comm").as_string();
  s.tokens_per_expert = static_cast<int>(c.at("tokens_per_expert").as_int(1, 1 << 30));
  s.compute_alone_us = measured(c, "compute_alone_us");
  s.compute_overlapped_us = measured(c, "compute_overlapped_us");
  s.comm_alone_us = measured(c, "comm_alone_us");
  s.comm_overlapped_us = measured(c, "comm_overlapped_us");
  return s;
}

}  // namespace

Measurements measurements_from_json(const Json& doc, const std::string& file) {
  JsonCursor root(doc, file);
  root.require_object();
  JsonCursor schema = root.at("schema");
  if (schema.as_string() != kMeasurementsSchema)
    schema.fail(fmt::format("\"{}\", found \"{}\"", kMeasurementsSchema, schema.as_string()));
  Measurements m;
  m.file = file;
  m.gpu = root.at("gpu").as_string();
  canonical_gpu_name(m.gpu, file, "/gpu");  // a GPU epsim has figures for, as calibrate requires (validate took any)
  m.driver = root.at("driver").as_string();
  m.cuda = root.at("cuda").as_string();
  m.nccl = root.at("nccl").as_string();
  m.topology_id = root.at("topology_id").as_string();
  m.plan_id = root.at("plan_id").as_string();
  m.num_gpus = static_cast<int>(root.at("num_gpus").as_int(1, kMaxGpus));
  m.mode = root.string_or("mode", "");
  m.warmup = static_cast<int>(root.int_or("warmup", 0, 0, 1 << 30));
  JsonCursor samples = root.at("samples");
  for (std::size_t i = 0; i < samples.array_size(); ++i) {
    JsonCursor c = samples.at(i);
    JsonCursor kind = c.at("kind");
    std::string k = kind.as_string();
    if (k == "alltoallv") m.alltoall.push_back(read_alltoall(c, m.num_gpus));
    else if (k == "p2p") m.p2p.push_back(read_p2p(c, m.num_gpus));
    else if (k == "gemm") m.gemm.push_back(read_gemm(c));
    else if (k == "overlap") m.overlap.push_back(read_overlap(c));
    else kind.fail(fmt::format("one of \"alltoallv\", \"p2p\", \"gemm\", \"overlap\", found \"{}\"", k));
  }
  return m;
}

Measurements load_measurements(const std::filesystem::path& path, std::optional<int> expected_gpus,
                               const std::string& expected_from) {
  Json doc = read_json_file(path);
  Measurements m = measurements_from_json(doc, path.string());
  if (expected_gpus && m.num_gpus != *expected_gpus)
    throw InputError(path.string(), "/num_gpus",
                     fmt::format("{} GPUs as in {}, found {}", *expected_gpus, expected_from, m.num_gpus));
  return m;
}

Json measurements_to_json(const Measurements& m) {
  Json out = Json::object();
  out["schema"] = kMeasurementsSchema;
  out["gpu"] = m.gpu;
  out["driver"] = m.driver;
  out["cuda"] = m.cuda;
  out["nccl"] = m.nccl;
  out["topology_id"] = m.topology_id;
  out["plan_id"] = m.plan_id;
  out["num_gpus"] = m.num_gpus;
  out["mode"] = m.mode;
  out["warmup"] = m.warmup;
  Json samples = Json::array();
  for (const AllToAllSample& s : m.alltoall)
    samples.push_back({{"kind", "alltoallv"},
                       {"direction", s.direction == Exchange::dispatch ? "dispatch" : "combine"},
                       {"layer", s.layer},
                       {"bytes_per_token", s.bytes_per_token},
                       {"gpu_tokens", s.gpu_tokens},
                       {"bytes_per_rank", s.bytes_per_rank},
                       {"time_us", s.time_us},
                       {"max_rank_time_us", s.max_rank_time_us},
                       {"algbw_GBps", s.algbw_GBps},
                       {"busbw_GBps", s.busbw_GBps},
                       {"repeats", s.repeats}});
  for (const P2pSample& s : m.p2p)
    samples.push_back({{"kind", "p2p"},
                       {"link_class", s.link_class},
                       {"src", s.src},
                       {"dst", s.dst},
                       {"bytes", s.bytes},
                       {"time_us", s.time_us},
                       {"repeats", s.repeats}});
  for (const GemmSample& s : m.gemm)
    samples.push_back({{"kind", "gemm"},
                       {"dtype", s.dtype},
                       {"name", s.name},
                       {"tokens_per_expert", s.tokens_per_expert},
                       {"n", s.n},
                       {"k", s.k},
                       {"time_us", s.time_us},
                       {"tflops", s.tflops},
                       {"peak_tflops", s.peak_tflops},
                       {"repeats", s.repeats}});
  for (const OverlapSample& s : m.overlap)
    samples.push_back({{"kind", "overlap"},
                       {"comm", s.comm},
                       {"tokens_per_expert", s.tokens_per_expert},
                       {"compute_alone_us", s.compute_alone_us},
                       {"compute_overlapped_us", s.compute_overlapped_us},
                       {"comm_alone_us", s.comm_alone_us},
                       {"comm_overlapped_us", s.comm_overlapped_us}});
  out["samples"] = std::move(samples);
  return out;
}

}  // namespace epsim::validate
