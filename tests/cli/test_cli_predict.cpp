// epsim predict gemm | mla | moe: values from the shipped kernel tables, and rejected options.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

TEST_CASE("epsim predict gemm|mla|moe", "[cli][predict]") {
  SECTION("a GEMM on a table row gives the row: fp8_block 4096 x 2048 x 7168 on H100 = 0.17220889 ms") {
    CliResult r = run_epsim("predict gemm --gpu h100 --dtype fp8_block --m 4096 --n 2048 --k 7168 --json");
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["time_us"].get<double>() == Approx(172.20889197455513).epsilon(1e-9));
    // TFLOP/s = 2 m n k / t = 2 x 4096 x 2048 x 7168 / 172.2089e-6 s / 1e12 = 698.4.
    CHECK(j["TFLOPs"].get<double>() == Approx(2.0 * 4096 * 2048 * 7168 / 172.20889197455513e-6 / 1e12));
    CHECK(j["notices"].empty());
  }
  SECTION("the LM head (n = 129280 beyond the table's 65536) is split and noted") {
    CliResult r = run_epsim("predict gemm --gpu h200 --dtype bf16 --m 128 --n 129280 --k 7168 --json");
    REQUIRE(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out)["notices"].size() == 1);
  }
  SECTION("MLA and MoE answer") {
    CHECK(run_epsim("predict mla --gpu h100 --phase decode --batch 128 --context 2048").exit_code == 0);
    CHECK(run_epsim("predict moe --gpu h200 --tokens-per-gpu 4096 --ep 32 --model " + std::string(EPSIM_SCENARIOS_DIR) +
                    "/models/deepseek-v3.config.json")
              .exit_code == 0);
  }
  SECTION("bad options are usage errors") {
    for (const char* bad : {"predict gemm --m 0 --n 1 --k 1", "predict gemm --dtype int4 --m 1 --n 1 --k 1",
                            "predict gemm --gpu b200 --m 1 --n 1 --k 1", "predict mla --phase train --batch 1 --context 1",
                            "predict mla --backend triton --batch 1 --context 1"}) {
      INFO(bad);
      CHECK(run_epsim(bad).exit_code == 2);
    }
  }
}
