// Whole-command tests of `epsim topo generate` and `epsim topo show`: every generator flag is read by
// the presets that take it and refused (exit 2, naming the flag, the preset and what it takes) by the
// others; `topo show` reports rails and NICs per GPU.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cli_runner.hpp"

namespace {

// Each generator flag with a value that differs from every preset's default, and what the preset's
// output is compared against (a flag that applies must change the written topology).
struct FlagCase {
  std::string flag;
  std::string value;
  std::string needs;  // what the flag needs to apply, given in both runs (the reference run's flags)
};
const std::vector<FlagCase> kFlags = {
    {"--nodes", "3", ""},
    {"--gpus-per-node", "4", ""},
    {"--racks", "3", ""},
    {"--spines", "4", ""},
    // radix 4: 2 leaves per spine group, fewer than any preset's leaves, so a core tier is built.
    {"--spine-radix", "4", ""},
    {"--cores", "4", "--spine-radix 4 "},
    {"--oversubscription", "2", ""},
    {"--nic-GBps", "25", ""},
    {"--nics-per-gpu", "2", ""},
    {"--network-kind", "ethernet", ""},  // p5: infiniband (its default is ethernet)
};

// The flags each preset reads, written out by hand from docs/topology.md (not from the CLI's table).
const std::map<std::string, std::set<std::string>> kTakes = {
    {"dgx-h100", {"--nodes", "--gpus-per-node", "--spines", "--spine-radix", "--cores", "--oversubscription",
                  "--nic-GBps", "--nics-per-gpu", "--network-kind"}},
    {"dgx-h200", {"--nodes", "--gpus-per-node", "--spines", "--spine-radix", "--cores", "--oversubscription",
                  "--nic-GBps", "--nics-per-gpu", "--network-kind"}},
    {"fat-tree", {"--nodes", "--gpus-per-node", "--spines", "--spine-radix", "--cores", "--oversubscription",
                  "--nic-GBps", "--nics-per-gpu", "--network-kind"}},
    {"p5", {"--nodes", "--spines", "--spine-radix", "--cores", "--oversubscription", "--nic-GBps", "--nics-per-gpu",
            "--network-kind"}},
    {"nvl72", {"--racks", "--spines", "--spine-radix", "--cores", "--oversubscription"}},
    {"dgx1-mesh", {}},
};

}  // namespace

TEST_CASE("topo generate: every preset x flag is read (changes the topology) or refused naming the flag, preset and what it takes") {
  const std::string dir = fresh_temp_dir("topo_generate_flags");
  for (const auto& [preset, takes] : kTakes) {
    // nvl72 with 2 racks, so that it has a fabric between hosts (--racks itself varies it).
    const std::string base = preset == "nvl72" ? "--racks 2 " : "";
    for (const FlagCase& f : kFlags) {
      const std::string value = preset == "p5" && f.flag == "--network-kind" ? "infiniband" : f.value;
      INFO(preset << " " << f.flag << " " << value);
      const std::string out = dir + "/" + preset + f.flag + ".json";
      if (takes.count(f.flag)) {
        const std::string own_base = f.flag == "--racks" ? "" : base;
        CliResult r = run_epsim("topo generate " + preset + " " + own_base + f.needs + f.flag + " " + value + " --out " + out);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const std::string ref = dir + "/" + preset + f.flag + ".ref.json";
        REQUIRE(run_epsim("topo generate " + preset + " " + base + f.needs + " --out " + ref).exit_code == 0);
        CHECK(slurp(out) != slurp(ref));
      } else {
        CliResult r = run_epsim("topo generate " + preset + " " + base + f.flag + " " + value + " --out " + out);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(f.flag + " does not apply to topo generate " + preset + ", which takes ") != std::string::npos);
        for (const std::string& t : takes) CHECK(r.err.find(t) != std::string::npos);
        CHECK(slurp(out).empty());  // nothing written
      }
    }
  }
}

TEST_CASE("topo generate: fabric flags for a tier the cluster does not have are usage errors") {
  const std::string dir = fresh_temp_dir("topo_generate_tiers");
  // One host: no leaf-to-spine links, so spines and oversubscription would change nothing.
  CliResult one = run_epsim("topo generate dgx-h100 --nodes 1 --oversubscription 2 --out " + dir + "/a.json");
  CHECK(one.exit_code == 2);
  CHECK(one.err.find("--oversubscription does not apply: this dgx-h100 cluster has one host") != std::string::npos);
  CHECK(run_epsim("topo generate nvl72 --spines 4 --out " + dir + "/b.json").exit_code == 2);  // 1 rack
  // Cores without a core tier: radix unlimited, or 64 (32 leaves per group) for 2 nodes' 8 leaves.
  for (const char* radix : {"", "--spine-radix 64 "}) {
    INFO(radix);
    CliResult r = run_epsim(std::string("topo generate dgx-h100 --nodes 2 ") + radix + "--cores 4 --out " + dir + "/c.json");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--cores does not apply") != std::string::npos);
  }
  CHECK(slurp(dir + "/a.json").empty());
  CHECK(slurp(dir + "/c.json").empty());
}

TEST_CASE("topo show: NICs per GPU and the NICs' rails (p5: 4 and 32, not the GPUs' 8)") {
  const std::string dir = fresh_temp_dir("topo_show_rails");
  struct Case {
    const char* args;
    const char* line;  // rails = GPUs per node x NICs per GPU (one rail per NIC position)
  };
  const Case cases[] = {
      {"p5 --nodes 2", "NICs per GPU 4, rails 32,"},
      {"dgx-h100 --nics-per-gpu 2", "NICs per GPU 2, rails 16,"},
      {"dgx-h100", "NICs per GPU 1, rails 8,"},
      {"dgx1-mesh", "NICs per GPU 0, rails 0,"},
  };
  for (const Case& c : cases) {
    INFO(c.args);
    const std::string t = dir + "/t.json";
    REQUIRE(run_epsim(std::string("topo generate ") + c.args + " --out " + t).exit_code == 0);
    CliResult r = run_epsim("topo show " + t);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find(c.line) != std::string::npos);
  }
}
