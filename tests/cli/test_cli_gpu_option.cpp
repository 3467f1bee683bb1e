// epsim predict gemm | mla | moe: --gpu is checked while the command line is parsed; a GPU epsim does not
// know is a usage error (exit 2) that lists the GPUs it knows (model/gpu_spec.hpp).
#include <catch2/catch.hpp>

#include <string>

#include "cli_runner.hpp"

TEST_CASE("predict gemm, mla and moe: an unknown --gpu is a usage error listing the known GPUs", "[cli][predict]") {
  // A trial gave --gpu a100: "unknown GPU 'a100'" exited 1, the code of a bad input file. The GPUs listed
  // are gpu_spec's (H100, H200, H800, B200). moe's --model does not exist: the GPU is refused before any
  // file is read.
  for (const std::string& cmd : {std::string("predict gemm --gpu a100 --m 1 --n 1 --k 1"),
                                 std::string("predict mla --gpu a100 --batch 1 --context 1"),
                                 std::string("predict moe --gpu a100 --tokens-per-gpu 1 --ep 8 --model /nonexistent.json")}) {
    const CliResult r = run_epsim(cmd);
    INFO(cmd << " -> " << r.exit_code << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("epsim: usage error: ", 0) == 0);
    CHECK(r.err.find("--gpu") != std::string::npos);
    CHECK(r.err.find("unknown GPU 'a100'") != std::string::npos);
    CHECK(r.err.find("H100, H200, H800, B200") != std::string::npos);
  }
  // The spellings gpu_spec accepts stay accepted (case, form-factor suffix).
  CHECK(run_epsim("predict gemm --gpu H100-SXM --m 128 --n 128 --k 128").exit_code == 0);
}
