// Rows of the AIConfigurator DeepEP tables (measurements/deepep_tables.cpp) and the NCCL EP table
// (measurements/comm_tables.cpp) that the routing of their samples cannot run are refused by the reader,
// naming the file, line, column and the value expected; the rows at the edge of each rule are read and
// fitted without an internal error.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "comm/calibration.hpp"
#include "comm/table_calibration.hpp"
#include "common/error.hpp"
#include "common/limits.hpp"
#include "measurements/comm_tables.hpp"
#include "measurements/deepep_tables.hpp"
#include "table_test_support.hpp"

using namespace epsim;
using test::add_error;
using test::temp_file;

namespace {
// The AIConfigurator sglang 0.5.12 headers (wideep_deepep_{ll,normal}_perf.csv).
const std::string kLlHeader =
    "framework,version,device,op_name,kernel_source,node_num,hidden_size,num_token,num_topk,num_experts,"
    "combine_avg_t_us,combine_bandwidth_gbps,dispatch_avg_t_us,dispatch_bandwidth_gbps\n";
const std::string kNormalHeader =
    "framework,version,device,op_name,kernel_source,node_num,hidden_size,num_token,num_topk,num_experts,dispatch_sms,"
    "dispatch_transmit_us,dispatch_notify_us,combine_sms,combine_transmit_us,combine_notify_us\n";

// One LL row of `nodes` nodes, top-`topk` of `experts` (times and bandwidths of a published 1-node row).
std::string ll_row(const std::string& nodes, const std::string& topk, const std::string& experts) {
  return "sglang,0.5.12,NVIDIA H100 80GB HBM3,ll,deepep," + nodes + ",2048,1," + topk + "," + experts +
         ",11.151,2.94,10.313,1.65\n";
}
// One normal row likewise (4 SMs, notify 0).
std::string normal_row(const std::string& nodes, const std::string& topk, const std::string& experts) {
  return "sglang,0.5.12,NVIDIA H100 80GB HBM3,normal,deepep," + nodes + ",2048,1," + topk + "," + experts +
         ",4,25.29,0,4,29.93,0\n";
}

struct Case {
  const char* name;
  std::string text;
  std::vector<std::string> message;
};

void check_refused(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    const std::string path = temp_file(c.name, c.text);
    const std::string e = add_error(path);
    INFO(c.name << ": " << e);
    CHECK_THAT(e, Catch::Contains(path));
    for (const std::string& m : c.message) CHECK_THAT(e, Catch::Contains(m));
  }
}

// add_table and fit_tables on `path` run without any exception (an internal error included).
void check_fitted(const std::string& path) {
  INFO(path);
  TableSamples s;
  REQUIRE_NOTHROW(add_table(s, path, detect_comm_table(path)));
  Calibration c;
  CHECK_NOTHROW(fit_tables(s, c));
}
}  // namespace

TEST_CASE("AIConfigurator DeepEP tables: node_num is at most 1024 GPUs of 8-GPU nodes, named at the field",
          "[comm][calibration][rejections]") {
  // limits::kMaxMeasuredTableGpus = 1024 GPUs / kAicDeepEpGpusPerNode = 8 per node = 128 nodes. Before: 200
  // nodes (1600 GPUs) was fitted, 1000 nodes died later naming no file ("EP 8000 GPUs"), 1e6 nodes ran
  // 40 s into bad_alloc.
  REQUIRE(limits::kMaxMeasuredTableGpus / kAicDeepEpGpusPerNode == 128);
  const std::string range = "a node count in [1, 128] (node_num x 8 GPUs per node, at most 1024 GPUs)";
  check_refused({
      {"aic_ll_node129.csv", kLlHeader + ll_row("129", "8", "1032"), {"line 2, column node_num", range, "found 129"}},
      {"aic_ll_node200.csv", kLlHeader + ll_row("1", "8", "128") + ll_row("200", "8", "1600"),
       {"line 3, column node_num", range, "found 200"}},
      {"aic_ll_node1e6.csv", kLlHeader + ll_row("1000000", "8", "128"), {"line 2, column node_num", "found 1000000"}},
      {"aic_ll_node0.csv", kLlHeader + ll_row("0", "8", "128"), {"line 2, column node_num", range, "found 0"}},
      {"aic_normal_node1e6.csv", kNormalHeader + normal_row("1000000", "8", "128"),
       {"line 2, column node_num", range, "found 1000000"}},
  });
}

TEST_CASE("AIConfigurator DeepEP tables: top-k above the experts and expert counts past limits are refused",
          "[comm][calibration][rejections]") {
  // TokenRouter draws top_k distinct experts, so num_topk <= num_experts (top-300 of 128 was fitted);
  // num_experts at most limits::kMaxExperts = 65536 (routed experts of one MoE layer).
  check_refused({
      {"aic_ll_topk300.csv", kLlHeader + ll_row("1", "300", "128"),
       {"line 2, column num_topk", "a top-k of at most num_experts = 128, found 300"}},
      {"aic_normal_topk300.csv", kNormalHeader + normal_row("1", "300", "128"),
       {"line 2, column num_topk", "a top-k of at most num_experts = 128, found 300"}},
      {"aic_ll_experts1e6.csv", kLlHeader + ll_row("1", "8", "1000000"),
       {"line 2, column num_experts", "an expert count in [1, 65536], found 1000000"}},
  });
}

TEST_CASE("AIConfigurator DeepEP normal table: experts a multiple of the GPUs, top-k within the allowed node groups",
          "[comm][calibration][rejections]") {
  // DeepEP's normal test places num_experts / num_ranks experts on each rank and routes grouped by node,
  // top min(node_num, 4) groups. 3 nodes = 24 GPUs do not divide 128 experts (TokenRouter threw "experts
  // not a multiple of n_group", exit 3); 128 nodes = 1024 GPUs do not divide 128 either ("the allowed
  // groups hold fewer than top_k experts"). At 8 nodes of 64 experts, 8 per node, the top 4 groups hold
  // 4 x 8 = 32 experts: top-33 is refused.
  check_refused({
      {"aic_normal_node3.csv", kNormalHeader + normal_row("3", "8", "128"),
       {"line 2, column num_experts", "a multiple of the 24 GPUs (node_num 3 x 8 GPUs per node", "found 128"}},
      {"aic_normal_node128.csv", kNormalHeader + normal_row("128", "8", "128"),
       {"line 2, column num_experts", "a multiple of the 1024 GPUs", "found 128"}},
      {"aic_normal_topk33.csv", kNormalHeader + normal_row("8", "33", "64"),
       {"line 2, column num_topk", "a top-k of at most 32", "top min(node_num, 4) = 4 of 8 nodes, 8 experts each",
        "found 33"}},
  });
}

TEST_CASE("AIConfigurator DeepEP tables: rows at the edge of each rule are read and fitted", "[comm][calibration]") {
  // Normal: 8 nodes of 64 experts at top-32 fill the 4 allowed groups exactly (4 x 64 / 8 = 32); 2 nodes of
  // 16 experts at top-16 pick every expert (both groups allowed, min(2, 4) = 2). LL routes plain top-k and
  // counts experts per rank as a fraction, so fewer experts than GPUs (8 on 16, 1 on 64) are read: the
  // published LL table itself runs 288 experts on 8 nodes (64 GPUs, 4.5 per rank).
  const auto normal_k32 = read_deepep_normal_table(temp_file("aic_normal_k32.csv", kNormalHeader + normal_row("8", "32", "64")));
  REQUIRE(normal_k32.size() == 1);
  CHECK(normal_k32[0].topk == 32);
  check_fitted(temp_file("aic_normal_k32.csv", kNormalHeader + normal_row("8", "32", "64")));
  check_fitted(temp_file("aic_normal_k16.csv", kNormalHeader + normal_row("2", "16", "16")));
  check_fitted(temp_file("aic_ll_e8.csv", kLlHeader + ll_row("2", "8", "8")));
  check_fitted(temp_file("aic_ll_e1.csv", kLlHeader + ll_row("8", "1", "1")));
  // The published tables (their largest rows: 8 nodes) are read whole.
  CHECK(read_deepep_ll_table(test::kData + "aic_h100_deepep_ll.csv").size() == 95);
  CHECK(read_deepep_normal_table(test::kData + "aic_h100_deepep_normal.csv").size() == 437);
}

TEST_CASE("NCCL EP table: num_gpus that is not 8 x node_count is refused naming the file, line and column",
          "[comm][calibration][rejections]") {
  // NCCL EP ran on 8-GPU nodes (kernel_samples.hpp nccl_ep_samples); the error named "NCCL EP table", not
  // the file. 12 GPUs are no whole 8-GPU nodes; 8 GPUs on 3 nodes contradict 8 x 3 = 24.
  const std::string header = "num_gpus,node_count,dispatch_bw_GBps,combine_bw_GBps\n";
  check_refused({
      {"nccl_ep_12.csv", header + "8,1,224.3,185.2\n12,1,224.3,185.2\n",
       {"line 3, column num_gpus", "a multiple of 8 GPUs, found 12"}},
      {"nccl_ep_mismatch.csv", header + "8,3,224.3,185.2\n",
       {"line 2, column num_gpus", "num_gpus = 8 x node_count = 24 (8 GPUs per node), found num_gpus 8 and node_count 3"}},
      {"nccl_ep_nodes.csv", header + "1024,1000,224.3,185.2\n", {"line 2, column node_count", "a whole number in [1, 128]"}},
  });
  const std::vector<NcclEpRow> ok = read_nccl_ep_table(temp_file("nccl_ep_ok.csv", header + "16,2,224.3,185.2\n"));
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].gpus == 16);
  CHECK(ok[0].nodes == 2);
}

TEST_CASE("DeepEP PR 521 LL table: an ep_size of no whole 8-GPU nodes is refused naming the file",
          "[comm][calibration][rejections]") {
  // Its samples put EP / 8 nodes of 8 GPUs; the check there named "DeepEP PR 521 LL table", not the file.
  const std::string header = "backend,ep_size,dispatch_latency_us,dispatch_rdma_bw_GBps,combine_latency_us,combine_rdma_bw_GBps\n";
  check_refused({{"pr521_ll_12.csv", header + "NVSHMEM,12,160.7,46,300,45\n",
                  {"line 2, column ep_size", "a multiple of 8 GPUs, found 12"}}});
}
