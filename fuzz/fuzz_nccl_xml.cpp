// Fuzz target: NCCL topology XML (NCCL_TOPO_FILE) -> import_nccl_xml, as one node and as a 2-node
// cluster with a GPU model given (skeletons need it) and without, then validate_topology. The reader
// takes a path, so the input is written to a per-process temporary file first.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fuzz_support.hpp"
#include "topology/nccl_xml.hpp"
#include "topology/validate.hpp"

namespace {
const std::filesystem::path& temp_path() {
  static const std::filesystem::path p =
      std::filesystem::temp_directory_path() / ("epsim_fuzz_nccl_xml_" + std::to_string(::getpid()) + ".xml");
  return p;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(temp_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  for (int nodes : {1, 2}) {
    epsim::NcclImportOptions o;
    o.nodes = nodes;
    o.gpu_model = nodes == 1 ? "" : "h100";
    epsim::fuzz::guarded([&] {
      epsim::NcclImport imported = epsim::import_nccl_xml(temp_path(), o);
      epsim::validate_topology(imported.topology, temp_path().string());
    });
  }
  return 0;
}
