#pragma once
// Helpers of the calibrate-from-tables tests (test_table_calibration.cpp, test_table_rejections.cpp,
// test_network_ramp.cpp).
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "comm/exchange_prediction.hpp"
#include "comm/link_load.hpp"
#include "comm/table_calibration.hpp"
#include "common/error.hpp"
#include "measurements/comm_tables.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

namespace epsim::test {

/// The copies of the measured tables (tests/data/comm/).
inline const std::string kData = EPSIM_TEST_DATA_DIR "/comm/";

/// Write `text` to a file named epsim_test_<name> in the temporary folder; its path.
inline std::string temp_file(const std::string& name, const std::string& text) {
  const std::filesystem::path p = std::filesystem::temp_directory_path() / ("epsim_test_" + name);
  std::ofstream(p) << text;
  return p.string();
}

/// What add_table says of the file (as detected), "no error" when it reads it.
inline std::string add_error(const std::string& path) {
  TableSamples s;
  try {
    add_table(s, path, detect_comm_table(path));
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

/// An AWS-style nccl-tests alltoall csv (Nodes, GPUs, size(MB), ..., out algbw) made by predict_alltoall
/// under `truth` on DGX H100 hosts (one 50 GB/s InfiniBand NIC per GPU) of each node count, `sizes_mib`
/// per rank: rows whose truth is known.
inline std::string made_alltoall_csv(const ExchangeKernelParams& truth, const std::vector<int>& node_counts,
                                     const std::vector<double>& sizes_mib) {
  std::string text = "Nodes,GPUs,size(MB),iterations,blocking,out algbw(GB/s),out busbw(GB/s),in algbw(GB/s),in busbw(GB/s)\n";
  for (int nodes : node_counts) {
    const Topology topo = generate_dgx_cluster(dgx_options_for_nodes(nodes));
    const RouteTable routes(topo);
    const int n = topo.num_gpus();
    const EpLinkModel links(topo, routes, n, truth, ExchangeRouting{1, 1, n});
    for (double mib : sizes_mib) {
      const AlltoallPrediction p = predict_alltoall(links, mib * 1048576);
      text += fmt::format("{},{},{:.0f},100,false,{:.9f},{:.9f},{:.9f},{:.9f}\n", nodes, n, mib, p.algbw_GBps,
                          p.busbw_GBps, p.algbw_GBps, p.busbw_GBps);
    }
  }
  return text;
}

}  // namespace epsim::test
