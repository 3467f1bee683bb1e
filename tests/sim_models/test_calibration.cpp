#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "sim/scenario/calibration.hpp"

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

  CHECK(parse_error(R"({"schema":"epsim.calibration/2"})").find("/schema") != std::string::npos);
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
