#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "comm/calibration.hpp"
#include "comm/collectives.hpp"
#include "topology/routing.hpp"
#include "topology/generators.hpp"

using namespace epsim;

namespace {
const std::string kData = EPSIM_SIM_MODELS_DATA_DIR;

// The InputError message of loading `file`, or "" when it loads.
std::string load_error(const std::string& file) {
  try {
    load_calibration(kData + "/" + file);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string parse_error(const char* text) {
  try {
    calibration_from_json(Json::parse(text), "inline.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("a complete calibration file loads", "[calibration]") {
  Calibration c = load_calibration(kData + "/full.json");
  CHECK(c.gpu == "H200");
  REQUIRE(c.links.count(LinkKind::nvlink) == 1);
  CHECK(*c.links[LinkKind::nvlink].bandwidth_GBps == 370.0);
  CHECK(*c.links[LinkKind::nvlink].latency_ns == 3000.0);
  CHECK_FALSE(c.links[LinkKind::pcie].latency_ns.has_value());
  REQUIRE(c.gemm_efficiency.size() == 2);
  CHECK(c.gemm_efficiency[1].tokens_per_expert == 4096);
  CHECK(*c.overlap_slowdown == 1.2);
}

TEST_CASE("a link's LL and LL128 step latencies are read, range-checked and written back", "[calibration]") {
  const Calibration c = calibration_from_json(
      Json::parse(R"({"schema":"epsim.calibration/2","links":{"ethernet":{"latency_ns":23000,"ll_latency_ns":20000,)"
                  R"("ll128_latency_ns":21000}}})"),
      "x.json");
  const LinkCalibration& l = c.links.at(LinkKind::ethernet);
  CHECK(*l.latency_ns == 23000.0);
  CHECK(*l.ll_latency_ns == 20000.0);
  CHECK(*l.ll128_latency_ns == 21000.0);
  CHECK_FALSE(l.bandwidth_GBps.has_value());
  const Json back = calibration_to_json(c);
  CHECK(back["links"]["ethernet"]["ll_latency_ns"] == 20000);
  CHECK(back["links"]["ethernet"]["ll128_latency_ns"] == 21000);
  CHECK(calibration_from_json(back, "back.json").links.at(LinkKind::ethernet).ll128_latency_ns == l.ll128_latency_ns);
  CHECK(parse_error(R"({"schema":"epsim.calibration/2","links":{"infiniband":{"ll_latency_ns":-1}}})")
            .find("/links/infiniband/ll_latency_ns") != std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/2","links":{"infiniband":{"ll128_latency_ns":2e9}}})")
            .find("/links/infiniband/ll128_latency_ns") != std::string::npos);
}

TEST_CASE("a network link's Tree bandwidth fraction is read, range-checked and written back", "[calibration]") {
  const Calibration c = calibration_from_json(
      Json::parse(R"({"schema":"epsim.calibration/2","links":{"ethernet":{"tree_bandwidth_fraction":0.5}}})"), "x.json");
  CHECK(*c.links.at(LinkKind::ethernet).tree_bandwidth_fraction == 0.5);
  const Json back = calibration_to_json(c);
  CHECK(back["links"]["ethernet"]["tree_bandwidth_fraction"] == 0.5);
  CHECK(calibration_from_json(back, "back.json").links.at(LinkKind::ethernet).tree_bandwidth_fraction == 0.5);
  // (0, 1]: a share of the ring's network bandwidth; only network kinds (NCCL's Tree crosses hosts).
  for (const char* bad : {"0", "-0.5", "1.5", "\"half\""})
    CHECK(parse_error((std::string(R"({"schema":"epsim.calibration/2","links":{"infiniband":{"tree_bandwidth_fraction":)") +
                       bad + "}}}")
                          .c_str())
              .find("/links/infiniband/tree_bandwidth_fraction") != std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/2","links":{"nvlink":{"tree_bandwidth_fraction":0.5}}})")
            .find("/links/nvlink/tree_bandwidth_fraction: no field of this link kind: it belongs to infiniband or ethernet links") != std::string::npos);
}

TEST_CASE("collective base latencies are read, range-checked, written back and used", "[calibration]") {
  const Calibration c = calibration_from_json(
      Json::parse(R"({"schema":"epsim.calibration/2","collectives":{"ll_base_latency_us":4.6,"ll128_base_latency_us":9}})"),
      "x.json");
  CHECK(*c.collectives.ll_base_latency_us == 4.6);
  CHECK(*c.collectives.ll128_base_latency_us == 9.0);
  CHECK_FALSE(c.collectives.base_latency_us.has_value());
  const Json back = calibration_to_json(c);
  CHECK(back["collectives"]["ll_base_latency_us"] == 4.6);
  CHECK_FALSE(back["collectives"].contains("base_latency_us"));
  CHECK(calibration_from_json(back, "back.json").collectives.ll128_base_latency_us == c.collectives.ll128_base_latency_us);
  CHECK_FALSE(calibration_to_json(Calibration{}).contains("collectives"));  // nothing to say: no member
  // Used: an LL collective costs the calibrated base instead of NCCL's 6.6 us. A 2-GPU all_gather of
  // 1 KiB on one DGX H100 is LL: base + 1 step x 0.6 us + 512 B / LL bus bandwidth, so it is 6.6 - 4.6 = 2
  // us cheaper with the calibration.
  const Topology topo = generate_dgx_cluster(dgx_options_for_nodes(1));
  const RouteTable routes(topo);
  const std::vector<int> gpus{0, 1};
  const CollectiveResult nccl = CollectiveModel(topo, routes).cost(CollectiveKind::all_gather, gpus, 1024);
  const CollectiveResult cal = CollectiveModel(topo, routes, with_calibration(CollectiveParams{}, c)).cost(CollectiveKind::all_gather, gpus, 1024);
  REQUIRE(nccl.protocol == CollectiveProtocol::ll);
  REQUIRE(cal.protocol == CollectiveProtocol::ll);
  CHECK(nccl.time_us - cal.time_us == Approx(2.0));
  // Rejected, naming the member: negative, above 1e6 us, an unknown field, a non-object, in a v1 file.
  CHECK_THAT(parse_error(R"({"schema":"epsim.calibration/2","collectives":{"ll_base_latency_us":-1}})"),
             Catch::Contains("/collectives/ll_base_latency_us"));
  CHECK_THAT(parse_error(R"({"schema":"epsim.calibration/2","collectives":{"base_latency_us":2e6}})"),
             Catch::Contains("/collectives/base_latency_us") && Catch::Contains("at most 1e6 us"));
  CHECK_THAT(parse_error(R"({"schema":"epsim.calibration/2","collectives":{"ll_base_us":1}})"),
             Catch::Contains("/collectives/ll_base_us") && Catch::Contains("ll_base_latency_us"));
  CHECK_THAT(parse_error(R"({"schema":"epsim.calibration/2","collectives":[1]})"), Catch::Contains("/collectives"));
  CHECK_THAT(parse_error(R"({"schema":"epsim.calibration/1","collectives":{}})"), Catch::Contains("/collectives"));
}

TEST_CASE("only the schema is required", "[calibration]") {
  Calibration c = calibration_from_json(Json::parse(R"({"schema":"epsim.calibration/1"})"), "x.json");
  CHECK(c.gpu.empty());
  CHECK(c.links.empty());
  CHECK(c.gemm_efficiency.empty());
  CHECK_FALSE(c.overlap_slowdown.has_value());
}

TEST_CASE("calibration files are rejected with file and JSON pointer", "[calibration]") {
  std::string e = load_error("no_schema.json");
  CHECK(e.find("no_schema.json") != std::string::npos);
  CHECK(e.find("/schema") != std::string::npos);

  e = load_error("negative_bandwidth.json");
  CHECK(e.find("/links/nvlink/bandwidth_GBps") != std::string::npos);

  e = load_error("nan.json");  // NaN is not JSON: the parser rejects the file
  CHECK(e.find("nan.json") != std::string::npos);
  CHECK(e.find("not valid JSON") != std::string::npos);

  e = load_error("wrong_type.json");
  CHECK(e.find("/gemm_efficiency/0/tokens_per_expert") != std::string::npos);
  CHECK(e.find("number") != std::string::npos);

  CHECK(parse_error(R"({"schema":"epsim.calibration/3"})").find("/schema") != std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/1","links":{"nvlnk":{}}})").find("/links/nvlnk") != std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/1","links":{"pcie":{"latency_ns":-1}}})")
            .find("/links/pcie/latency_ns") != std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/1","links":{"pcie":{"bw":1}}})").find("/links/pcie/bw") !=
        std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/1","gemm_efficiency":[{"tokens_per_expert":64,"efficiency":1.5}]})")
            .find("/gemm_efficiency/0/efficiency") != std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/1","gemm_efficiency":[{"tokens_per_expert":64,"efficiency":0.1},)"
                    R"({"tokens_per_expert":64,"efficiency":0.2}]})")
            .find("/gemm_efficiency/1/tokens_per_expert") != std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/1","gemm_efficiency":{}})").find("/gemm_efficiency") !=
        std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/1","overlap_slowdown":0.9})").find("/overlap_slowdown") !=
        std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/1","overlap_slowdown":"1.2"})").find("/overlap_slowdown") !=
        std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/1","gpu":"A100"})").find("/gpu") != std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/1","extra":1})").find("/extra") != std::string::npos);
  CHECK(parse_error(R"([1,2])").find("object") != std::string::npos);
}

TEST_CASE("device names as CUDA reports them and the synthetic file's are GPUs epsim knows", "[calibration]") {
  // canonical_gpu_name: a known name as a separate word of the device string.
  CHECK(canonical_gpu_name("NVIDIA H200", "f", "/gpu") == "H200");
  CHECK(canonical_gpu_name("NVIDIA H100 80GB HBM3", "f", "/gpu") == "H100");
  CHECK(canonical_gpu_name("synthetic H200 (not measured)", "f", "/gpu") == "H200");
  CHECK(canonical_gpu_name("h100-sxm", "f", "/gpu") == "H100");
  CHECK_THROWS_WITH(canonical_gpu_name("NVIDIA A100-SXM4-80GB", "f.json", "/gpu"),
                    Catch::Contains("f.json") && Catch::Contains("/gpu") && Catch::Contains("A100"));
  CHECK_THROWS_AS(canonical_gpu_name("NVIDIA XH2000", "f", "/gpu"), InputError);  // not a separate word
  Calibration c = calibration_from_json(Json::parse(R"({"schema":"epsim.calibration/1","gpu":"NVIDIA H100 80GB HBM3"})"),
                                        "x.json");
  CHECK(c.gpu == "H100");
  CHECK(c.device == "NVIDIA H100 80GB HBM3");
  CHECK(calibration_gpu_warning(c, "x.json", "h100").empty());
  CHECK(calibration_gpu_warning(c, "x.json", "H200") ==
        "calibration x.json was measured on NVIDIA H100 80GB HBM3 (H100), the GPUs here are H200");
}

TEST_CASE("exchange kernel parameters: read, defaults for the fields a file omits, written back", "[calibration]") {
  Calibration c = calibration_from_json(Json::parse(R"({"schema":"epsim.calibration/2","gpu":"H200",
      "exchange_kernels":{"deepep-ll":{"source":"test","dispatch":{"latency_us":9.5,"infiniband_efficiency":0.5}}}})"),
                                        "k.json");
  REQUIRE(c.exchange_kernels.count(ExchangeKernelKind::deepep_ll) == 1);
  const ExchangeKernelParams& k = c.exchange_kernels.at(ExchangeKernelKind::deepep_ll).params;
  const ExchangeKernelParams def = default_kernel_params(ExchangeKernelKind::deepep_ll);
  CHECK(k.dispatch.latency_us == 9.5);
  CHECK(k.dispatch.infiniband_efficiency == 0.5);
  CHECK(k.combine.latency_us == def.combine.latency_us);  // omitted: the kernel's default
  CHECK(k.sms == def.sms);
  // Round trip through the one writer.
  const Calibration back = calibration_from_json(calibration_to_json(c), "back.json");
  const ExchangeKernelParams& b = back.exchange_kernels.at(ExchangeKernelKind::deepep_ll).params;
  CHECK(b.dispatch.latency_us == 9.5);
  CHECK(b.dispatch.per_remote_expert_us == def.dispatch.per_remote_expert_us);
  CHECK(back.exchange_kernels.at(ExchangeKernelKind::deepep_ll).source == "test");

  // nccl's p2p channel fields: an older file without them keeps NCCL's defaults; set ones round-trip.
  const Calibration old = calibration_from_json(Json::parse(R"({"schema":"epsim.calibration/2",
      "exchange_kernels":{"nccl":{"dispatch":{"latency_us":9,"ramp_half_bytes":524288,"ramp_exponent":0.5}}}})"),
                                                "old.json");
  const ExchangeKernelParams& o = old.exchange_kernels.at(ExchangeKernelKind::nccl).params;
  const ExchangeKernelParams nccl = default_kernel_params(ExchangeKernelKind::nccl);
  CHECK(o.dispatch.ramp_half_bytes == 524288);
  CHECK(o.dispatch.p2p_channels == nccl.dispatch.p2p_channels);
  CHECK(o.dispatch.channel_GBps == nccl.dispatch.channel_GBps);
  Calibration p2p = old;
  ExchangeKernelParams& w = p2p.exchange_kernels.at(ExchangeKernelKind::nccl).params;
  w.combine.p2p_channels = 16;
  w.combine.channel_GBps = 12.5;
  w.combine.p2p_chunk_bytes = 262144;
  w.combine.net_chunk_bytes = 65536;
  w.combine.net_channels_per_peer = 4;
  w.combine.ll_threshold_bytes = 8192;
  w.combine.ll_per_log2_channel_us = 1.25;
  const ExchangeKernelParams r =
      calibration_from_json(calibration_to_json(p2p), "p2p.json").exchange_kernels.at(ExchangeKernelKind::nccl).params;
  CHECK(r.combine.p2p_channels == 16);
  CHECK(r.combine.channel_GBps == 12.5);
  CHECK(r.combine.p2p_chunk_bytes == 262144);
  CHECK(r.combine.net_chunk_bytes == 65536);
  CHECK(r.combine.net_channels_per_peer == 4);
  CHECK(r.combine.ll_threshold_bytes == 8192);
  CHECK(r.combine.ll_per_log2_channel_us == 1.25);
  CHECK(parse_error(R"({"schema":"epsim.calibration/2","exchange_kernels":{"nccl":{"dispatch":{"p2p_channels":2.5}}}})")
            .find("/exchange_kernels/nccl/dispatch/p2p_channels: a whole number") != std::string::npos);

  CHECK(parse_error(R"({"schema":"epsim.calibration/2","exchange_kernels":{"deepep":{}}})")
            .find("/exchange_kernels/deepep") != std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/2","exchange_kernels":{"nccl":{"dispatch":{"latency":1}}}})")
            .find("/exchange_kernels/nccl/dispatch/latency") != std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/2","exchange_kernels":{"nccl":{"dispatch":{"nvlink_efficiency":1.5}}}})")
            .find("/exchange_kernels/nccl/dispatch/nvlink_efficiency: an efficiency in [0.001, 1]") != std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/2","exchange_kernels":{"nccl":{"sms":0}}})")
            .find("/exchange_kernels/nccl/sms") != std::string::npos);
  // limits::kMaxGpuSms: 100000 SMs priced hybrid-ep's SM term at 0 in predict exchange and plan.
  CHECK(parse_error(R"({"schema":"epsim.calibration/2","exchange_kernels":{"hybrid-ep":{"sms":100000}}})")
            .find("/exchange_kernels/hybrid-ep/sms: SMs in [1, 1024], found 100000") != std::string::npos);
  // Physical ceilings (docs/limits.md): a 1e308 us latency made a plan's sum of link times inf (exit 3).
  CHECK(parse_error(R"({"schema":"epsim.calibration/2","exchange_kernels":{"deepep-ll":{"combine":{"latency_us":1e308}}}})")
            .find("/exchange_kernels/deepep-ll/combine/latency_us: a number in [0, 1e+06]") != std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/2","exchange_kernels":{"deepep-ll":{"header_bytes_per_token":1e300}}})")
            .find("/exchange_kernels/deepep-ll/header_bytes_per_token") != std::string::npos);
  // exchange_kernels is a /2 field.
  CHECK(parse_error(R"({"schema":"epsim.calibration/1","exchange_kernels":{}})").find("/exchange_kernels") !=
        std::string::npos);
  CHECK(parse_error(R"({"schema":"epsim.calibration/2","links":{"infiniband":{"bandwidth_GBps":1e-9}}})")
            .find("/links/infiniband/bandwidth_GBps") != std::string::npos);
}

TEST_CASE("kernel parameters under a calibration: fitted, or defaults with a notice, links cap efficiencies",
          "[calibration]") {
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(2));  // NIC links 50 GB/s, NVLink 450 GB/s
  // No calibration: the defaults, no notice.
  CalibratedKernel none = calibrated_kernel_params(ExchangeKernelKind::deepep_normal, nullptr, "", topo);
  CHECK(none.notice.empty());
  CHECK(none.params.dispatch.infiniband_efficiency == 0.95);
  // A calibration without the kernel: defaults and one line naming the file and kernel; a calibrated
  // InfiniBand of 5 GB/s caps the efficiency at 5 / 50 = 0.1 (min over the 50 GB/s NIC links and the
  // fabric's faster ones).
  Calibration c = calibration_from_json(
      Json::parse(R"({"schema":"epsim.calibration/2","links":{"infiniband":{"bandwidth_GBps":5}}})"), "c.json");
  CalibratedKernel k = calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &c, "c.json", topo);
  CHECK(k.notice == "calibration c.json has no parameters for exchange kernel deepep-normal: its defaults are used");
  CHECK(k.params.dispatch.infiniband_efficiency == Approx(0.1));
  CHECK(k.params.combine.infiniband_efficiency == Approx(0.1));
  CHECK(k.params.dispatch.nvlink_efficiency == Approx(20.6 / 25.0));  // not calibrated: unchanged
  // A calibrated bandwidth above the nominal leaves the kernel's own efficiency (capped at 1 x nominal).
  c.links[LinkKind::infiniband].bandwidth_GBps = 80.0;
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &c, "c.json", topo).params.dispatch
            .infiniband_efficiency == Approx(0.95));
  // A measured link slower than 0.1% of the topology's (NVLink 0.1 GB/s against 450: 0.022%) is refused
  // naming the calibration's field, not later by the derived kernel efficiency it does not hold.
  Calibration slow = c;
  slow.links[LinkKind::nvlink].bandwidth_GBps = 0.1;
  CHECK_THROWS_WITH(calibrated_kernel_params(ExchangeKernelKind::deepep_ll, &slow, "c.json", topo),
                    Catch::Contains("c.json") && Catch::Contains("/links/nvlink/bandwidth_GBps") &&
                        Catch::Contains("at least 0.1% of the topology's nvlink link (450 GB/s)"));
  // Fitted parameters are used, no notice.
  KernelCalibration fitted{default_kernel_params(ExchangeKernelKind::deepep_normal), "fit"};
  fitted.params.dispatch.latency_us = 33;
  c.exchange_kernels[ExchangeKernelKind::deepep_normal] = fitted;
  CalibratedKernel f = calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &c, "c.json", topo);
  CHECK(f.notice.empty());
  CHECK(f.params.dispatch.latency_us == 33);
}

TEST_CASE("calibration fields the run's kernel does not read are named in one notice", "[calibration]") {
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(2));  // InfiniBand network
  // Only a deepep-ll block that sets nvlink_for_same_node (deepep-ll's default: true), run under
  // deepep-normal: the "no parameters" notice names the field it drops, once.
  Calibration ll = calibration_from_json(
      Json::parse(R"({"schema":"epsim.calibration/2","exchange_kernels":{"deepep-ll":{"nvlink_for_same_node":false}}})"),
      "ll.json");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &ll, "ll.json", topo).notice ==
        "calibration ll.json has no parameters for exchange kernel deepep-normal: its defaults are used, and "
        "/exchange_kernels/deepep-ll/nvlink_for_same_node (set for another kernel) is not read");
  // The same file under deepep-ll: the field is read, no notice.
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_ll, &ll, "ll.json", topo).notice.empty());

  // An nccl block with p2p-channel fields (nccl's defaults: p2p_channels 32, so they are read by nccl)
  // under deepep-ll: four set fields, three named and "1 more".
  Calibration nccl = calibration_from_json(Json::parse(R"({"schema":"epsim.calibration/2","exchange_kernels":{"nccl":{
      "dispatch":{"channel_GBps":11,"p2p_chunk_bytes":1000,"net_chunk_bytes":2000},"combine":{"channel_GBps":12}}}})"),
                                           "nccl.json");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_ll, &nccl, "nccl.json", topo).notice ==
        "calibration nccl.json has no parameters for exchange kernel deepep-ll: its defaults are used, and "
        "/exchange_kernels/nccl/dispatch/channel_GBps, /exchange_kernels/nccl/dispatch/p2p_chunk_bytes, "
        "/exchange_kernels/nccl/dispatch/net_chunk_bytes and 1 more (set for another kernel) are not read");

  // A file with blocks for several kernels is normal: the run's kernel has its block, the others are
  // not named.
  Calibration both = ll;
  both.exchange_kernels[ExchangeKernelKind::deepep_normal] = {default_kernel_params(ExchangeKernelKind::deepep_normal), ""};
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &both, "both.json", topo).notice.empty());

  // The run's own block sets fields its kernel does not read: nvlink_for_same_node in deepep-normal's
  // block; a p2p-channel field of deepep-ll's dispatch with p2p_channels 0 (deepep-ll's default).
  Calibration own = calibration_from_json(Json::parse(R"({"schema":"epsim.calibration/2","exchange_kernels":{
      "deepep-normal":{"nvlink_for_same_node":false,"notify_latency_us":20},
      "deepep-ll":{"dispatch":{"channel_GBps":5,"latency_us":9}}}})"),
                                          "own.json");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &own, "own.json", topo).notice ==
        "calibration own.json: /exchange_kernels/deepep-normal/nvlink_for_same_node is not read by exchange kernel "
        "deepep-normal, the kernel this run uses");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_ll, &own, "own.json", topo).notice ==
        "calibration own.json: /exchange_kernels/deepep-ll/dispatch/channel_GBps is not read by exchange kernel "
        "deepep-ll, the kernel this run uses");
  // deepep-ll's issue-round fields (device_sms, per_token_round_us) in another kernel's own block: not
  // read; in a deepep-ll block under deepep-normal: named as set for another kernel.
  Calibration issue = calibration_from_json(Json::parse(R"({"schema":"epsim.calibration/2","exchange_kernels":{
      "nccl":{"device_sms":64,"dispatch":{"per_token_round_us":500}}}})"),
                                            "issue.json");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::nccl, &issue, "issue.json", topo).notice ==
        "calibration issue.json: /exchange_kernels/nccl/device_sms, /exchange_kernels/nccl/dispatch/per_token_round_us "
        "are not read by exchange kernel nccl, the kernel this run uses");
  Calibration ll_sms = calibration_from_json(
      Json::parse(R"({"schema":"epsim.calibration/2","exchange_kernels":{"deepep-ll":{"device_sms":64}}})"), "sms.json");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &ll_sms, "sms.json", topo).notice ==
        "calibration sms.json has no parameters for exchange kernel deepep-normal: its defaults are used, and "
        "/exchange_kernels/deepep-ll/device_sms (set for another kernel) is not read");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_ll, &ll_sms, "sms.json", topo).notice.empty());
  // A file as calibration_to_json writes it (every field, the unread ones at their defaults): no notice.
  Calibration written = calibration_from_json(calibration_to_json(both), "w.json");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &written, "w.json", topo).notice.empty());
}

TEST_CASE("network figures of a kind the topology lacks are named with both kinds", "[calibration]") {
  Topology ib = generate_dgx_cluster(dgx_options_for_nodes(2));  // InfiniBand network
  Topology efa = generate_dgx_cluster(aws_p5_options(2));         // Ethernet (EFA) network
  // The shipped p5 file's form: Ethernet links only, no kernel block.
  Calibration eth = calibration_from_json(
      Json::parse(R"({"schema":"epsim.calibration/2","links":{"ethernet":{"bandwidth_GBps":36,"latency_ns":23000}},
                      "exchange_kernels":{"nccl":{}}})"),
      "eth.json");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::nccl, &eth, "eth.json", ib).notice ==
        "calibration eth.json has network figures for ethernet only (/links/ethernet), the topology's network is "
        "infiniband: those are not used (infiniband keeps its defaults), the file's other figures are used");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::nccl, &eth, "eth.json", efa).notice.empty());
  // And vice versa: an InfiniBand efficiency fitted in the run's block, on an EFA cluster; joined with
  // the "no parameters" notice of another kernel by "; " (one line).
  Calibration ibk = calibration_from_json(Json::parse(R"({"schema":"epsim.calibration/2","exchange_kernels":{
      "deepep-normal":{"dispatch":{"infiniband_efficiency":0.8}}}})"),
                                          "ib.json");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &ibk, "ib.json", efa).notice ==
        "calibration ib.json has network figures for infiniband only "
        "(/exchange_kernels/deepep-normal/dispatch/infiniband_efficiency), the topology's network is ethernet: those "
        "are not used (ethernet keeps its defaults), the file's other figures are used");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &ibk, "ib.json", ib).notice.empty());
  Calibration ib_links = calibration_from_json(
      Json::parse(R"({"schema":"epsim.calibration/2","links":{"infiniband":{"bandwidth_GBps":40}}})"), "ibl.json");
  CHECK(calibrated_kernel_params(ExchangeKernelKind::nccl, &ib_links, "ibl.json", efa).notice ==
        "calibration ibl.json has no parameters for exchange kernel nccl: its defaults are used; calibration ibl.json "
        "has network figures for infiniband only (/links/infiniband), the topology's network is ethernet: those are "
        "not used (ethernet keeps its defaults), the file's other figures are used");
  // Figures for both kinds (a file fitted on two clusters): one applies, no notice.
  ib_links.links[LinkKind::ethernet].bandwidth_GBps = 30.0;
  CHECK(calibrated_kernel_params(ExchangeKernelKind::nccl, &ib_links, "ibl.json", efa).notice ==
        "calibration ibl.json has no parameters for exchange kernel nccl: its defaults are used");
}
