// fit_calibration: synthetic measurements with known latency and bandwidth give them back.
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "cuda_validate/calibration.hpp"
#include "synthetic.hpp"

using namespace epsim;
using namespace epsim::validate;
using epsim::validate::testing::synthetic_measurements;

namespace {
const std::vector<testing::KnownLink> kLinks = {{"nvlink", 0, 1, 370.0, 2500.0},     // H200 NVLink p2p-like
                                                {"infiniband", 0, 8, 46.0, 6000.0}};  // CX7 400G-like
}

TEST_CASE("Calibration recovers known link latency and bandwidth within 1%", "[cuda_validate]") {
  auto noise = GENERATE(0.0, 0.003);  // exact, and +-0.3% alternating noise
  CalibrationFit c = fit_calibration(synthetic_measurements(kLinks, noise));
  REQUIRE(c.link_fits.size() == 2);
  REQUIRE(c.calibration.links.size() == 2);
  for (const auto& l : kLinks) {
    INFO(l.link_class << " noise " << noise);
    const LinkFit& f = c.link_fits.at(*parse_link_kind(l.link_class));
    CHECK(*c.calibration.links.at(*parse_link_kind(l.link_class)).bandwidth_GBps == f.bandwidth_GBps);
    CHECK(f.bandwidth_GBps == Approx(l.bandwidth_GBps).epsilon(0.01));
    CHECK(f.latency_ns == Approx(l.latency_ns).epsilon(0.01));
    CHECK(f.samples == 11);  // 1 KiB .. 1 GiB in steps of 4
    if (noise == 0.0) CHECK(f.max_rel_error < 1e-9);
  }
}

TEST_CASE("GEMM efficiency per tokens per expert and overlap slowdown", "[cuda_validate]") {
  Calibration c = fit_calibration(synthetic_measurements(kLinks)).calibration;
  REQUIRE(c.gemm_efficiency.size() == 2);
  // efficiency(M) = sum 2MNK / sum (time x peak); both GEMMs at M ran at the known efficiency.
  CHECK(c.gemm_efficiency[0].tokens_per_expert == 64);
  CHECK(c.gemm_efficiency[0].efficiency == Approx(0.25));
  CHECK(c.gemm_efficiency[1].tokens_per_expert == 1024);
  CHECK(c.gemm_efficiency[1].efficiency == Approx(0.75));
  // Median of 110/100 and 240/200.
  CHECK(*c.overlap_slowdown == Approx(1.15));
  // The device name as the harness writes it, and the GPU it is.
  CHECK(c.device == "NVIDIA H200");
  CHECK(c.gpu == "H200");
  // No fp8 samples: an fp8 calibration has no GEMM table.
  CHECK(fit_calibration(synthetic_measurements(kLinks), CalibrationOptions{"fp8"}).calibration.gemm_efficiency.empty());
}

TEST_CASE("calibration.json has the epsim.calibration/2 layout and reads back", "[cuda_validate]") {
  const Calibration fitted = fit_calibration(synthetic_measurements(kLinks)).calibration;
  Json j = calibration_to_json(fitted);
  CHECK(j.at("schema") == "epsim.calibration/2");
  CHECK(j.at("gpu") == "NVIDIA H200");
  CHECK(j.at("links").at("nvlink").at("bandwidth_GBps").get<double>() == Approx(370.0));
  CHECK(j.at("links").at("infiniband").at("latency_ns").get<double>() == Approx(6000.0));
  CHECK(j.at("links").at("nvlink").size() == 2);  // exactly bandwidth_GBps and latency_ns
  CHECK(j.at("gemm_efficiency").at(1).at("tokens_per_expert") == 1024);
  CHECK(j.at("overlap_slowdown").get<double>() == Approx(1.15));
  CHECK(j.at("exchange_kernels").empty());  // the harness's file fits no kernel
  CHECK(j.size() == 6);
  // The one reader reads what the one writer wrote ("NVIDIA H200" is accepted as the H200).
  const Calibration back = calibration_from_json(j, "written.json");
  CHECK(back.gpu == "H200");
  CHECK(back.device == "NVIDIA H200");
  CHECK(*back.links.at(LinkKind::infiniband).bandwidth_GBps == Approx(46.0));
  CHECK(back.gemm_efficiency.size() == fitted.gemm_efficiency.size());
  CHECK(*back.overlap_slowdown == Approx(1.15));
}

TEST_CASE("fit_link: the least-squares line of t = latency + bytes / bandwidth", "[cuda_validate]") {
  // t = 1 us + x / 10 GB/s at x = 0, 1e4, 1e5 bytes: 1 us, 2 us, 11 us.
  std::vector<double> x = {0, 1e4, 1e5}, t = {1e-6, 2e-6, 11e-6};
  LinkFit f = fit_link(x, t);
  CHECK(f.bandwidth_GBps == Approx(10.0));
  CHECK(f.latency_ns == Approx(1000.0));
  CHECK_THROWS_AS(fit_link(std::vector<double>{1e4, 1e4}, std::vector<double>{1e-6, 2e-6}), std::invalid_argument);
  CHECK_THROWS_AS(fit_link(std::vector<double>{1e4, 1e5}, std::vector<double>{2e-6, 1e-6}), std::invalid_argument);
}

TEST_CASE("A link class that cannot be fitted is an InputError naming the file", "[cuda_validate]") {
  Measurements m = synthetic_measurements({{"nvlink", 0, 1, 370.0, 2500.0}});
  m.p2p.resize(1);  // one size only
  CHECK_THROWS_WITH(fit_calibration(m), Catch::Contains("synthetic.json") && Catch::Contains("nvlink"));
  Measurements empty = synthetic_measurements({});
  empty.gemm.clear();
  empty.overlap.clear();
  CHECK_THROWS_AS(fit_calibration(empty), InputError);
}
