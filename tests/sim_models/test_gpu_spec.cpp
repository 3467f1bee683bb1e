#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "model/gpu_spec.hpp"

using namespace epsim;

TEST_CASE("gpu_spec returns datasheet figures", "[gpu_spec]") {
  GpuSpec h100 = gpu_spec("H100");
  CHECK(h100.bf16_dense_TFLOPs == 989.0);
  CHECK(h100.fp8_dense_TFLOPs == 1979.0);
  CHECK(h100.hbm_TBps == 3.35);
  CHECK(h100.num_sms == 132);
  CHECK(h100.nvlink_GBps == 450.0);
  GpuSpec h200 = gpu_spec("h200-sxm");  // case and form-factor suffix are accepted
  CHECK(h200.name == "H200");
  CHECK(h200.hbm_TBps == 4.8);
  CHECK(h200.hbm_GB == 141.0);
  CHECK(h200.fp8_dense_TFLOPs == h100.fp8_dense_TFLOPs);
  CHECK(gpu_spec("H800").nvlink_GBps == 200.0);
  GpuSpec b200 = gpu_spec("b200");
  CHECK(b200.bf16_dense_TFLOPs == 2250.0);
  CHECK(b200.fp8_dense_TFLOPs == 4500.0);
  CHECK(b200.num_sms == 148);
  CHECK(b200.nvlink_GBps == 900.0);
}

TEST_CASE("gpu_spec rejects an unknown name and lists the known ones", "[gpu_spec]") {
  try {
    gpu_spec("A100");
    FAIL("expected InputError");
  } catch (const InputError& e) {
    std::string what = e.what();
    CHECK(what.find("A100") != std::string::npos);
    CHECK(what.find("H100, H200, H800, B200") != std::string::npos);
  }
}
