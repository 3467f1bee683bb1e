// NCCL topology XML import: the four real dumps in scenarios/nccl_xml and every rejected input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "common/error.hpp"
#include "topology/nccl_xml.hpp"
#include "topology/xml_check.hpp"
#include "topology/validate.hpp"

using namespace epsim;

namespace {
std::string scenario(const char* name) { return std::string(EPSIM_SCENARIOS_DIR) + "/nccl_xml/" + name; }
std::string data(const char* name) { return std::string(EPSIM_TEST_DATA_DIR) + "/" + name; }
int count_kind(const Topology& t, DeviceKind k) {
  return static_cast<int>(std::count_if(t.devices().begin(), t.devices().end(), [&](const Device& d) { return d.kind == k; }));
}
double out_GBps(const Topology& t, const char* id, LinkKind kind) {
  double sum = 0;
  for (int l : t.out_links(*t.find_device(id)))
    if (t.link(l).kind == kind) sum += t.link(l).bandwidth_GBps;
  return sum;
}
bool any_warning(const NcclImport& r, const std::string& needle) {
  return std::any_of(r.warnings.begin(), r.warnings.end(), [&](const std::string& w) { return w.find(needle) != std::string::npos; });
}
}  // namespace

TEST_CASE("NCCL unit conversions", "[nccl_xml]") {
  CHECK(nccl_pcie_GBps("32.0 GT/s PCIe", 16) == Approx(48.0));  // 16 x 240 / 80
  CHECK(nccl_pcie_GBps("16 GT/s", 16) == Approx(24.0));         // 16 x 120 / 80
  CHECK(nccl_pcie_GBps("32.0 GT/s PCIe", 0) == Approx(48.0));   // width 0 -> 16
  CHECK(nccl_pcie_GBps("", 16) == Approx(12.0));                // fallback 60: Gen3 x16
  CHECK(nccl_nvlink_GBps(90) == Approx(20.6));
  CHECK(nccl_nvlink_GBps(80) == Approx(20.0));
}

TEST_CASE("import the complete IBM Cloud 8x H100 dump", "[nccl_xml]") {
  NcclImportOptions o;
  o.nodes = 2;
  NcclImport r = import_nccl_xml(scenario("ibmcloud_gx3d_8xh100.xml"), o);
  const Topology& t = r.topology;
  CHECK_FALSE(r.skeleton);
  CHECK(t.num_gpus() == 16);
  CHECK(count_kind(t, DeviceKind::nic) == 16);
  // 18 NVLinks (5 + 5 + 4 + 4) x 20.6 GB/s (sm 90) into the aggregated NVSwitch.
  CHECK(out_GBps(t, "node0/gpu0", LinkKind::nvlink) == Approx(18 * 20.6));
  // ConnectX-7 speed="200000" Mb/s / 8000 = 25 GB/s.
  CHECK(out_GBps(t, "node0/nic0", LinkKind::infiniband) == Approx(25.0));
  CHECK(t.device(*t.find_device("node0/gpu0")).model == "h100");
  // One NIC per GPU: 8 distinct rails.
  std::vector<int> rails;
  for (int g = 0; g < 8; ++g) rails.push_back(t.device(t.gpu_device(g)).rail);
  std::sort(rails.begin(), rails.end());
  CHECK(std::unique(rails.begin(), rails.end()) == rails.end());
  validate_topology(t, "ibm");
}

TEST_CASE("PCIe skeletons need --gpu and then fill NVLink per model", "[nccl_xml]") {
  NcclImportOptions o;
  o.nodes = 2;
  CHECK_THROWS_WITH(import_nccl_xml(scenario("azure_nd_h100_v5.xml"), o), Catch::Contains("skeleton") && Catch::Contains("setting gpu"));
  o.gpu_model = "h100";
  NcclImport h = import_nccl_xml(scenario("azure_nd_h100_v5.xml"), o);
  CHECK(h.skeleton);
  CHECK(h.topology.num_gpus() == 16);
  CHECK(count_kind(h.topology, DeviceKind::nic) == 16);
  CHECK(out_GBps(h.topology, "node0/gpu0", LinkKind::nvlink) == Approx(18 * 20.6));
  CHECK(out_GBps(h.topology, "node0/gpu0", LinkKind::pcie) == Approx(48.0));  // Gen5 x16
  // NCCL's NVLink and PCIe figures are already effective; the NIC's <net speed> is nominal.
  for (const Link& l : h.topology.links())
    CHECK(l.basis == (l.kind == LinkKind::infiniband ? BandwidthBasis::nominal : BandwidthBasis::effective));
  validate_topology(h.topology, "azure h100");

  NcclImport p5 = import_nccl_xml(scenario("aws_p5_48xlarge.xml"), o);
  CHECK(p5.topology.num_gpus() == 16);                          // one GPU per NIC switch, 8 per node
  CHECK(count_kind(p5.topology, DeviceKind::nic) == 2 * 32);    // 32 EFA NICs per node
  validate_topology(p5.topology, "aws p5");

  o.gpu_model = "a100";
  NcclImport a = import_nccl_xml(scenario("azure_nd_a100_v4.xml"), o);
  CHECK(a.topology.num_gpus() == 16);
  CHECK(out_GBps(a.topology, "node0/gpu0", LinkKind::nvlink) == Approx(12 * 20.0));  // 12 x sm80 20.0
  CHECK(out_GBps(a.topology, "node0/gpu0", LinkKind::pcie) == Approx(24.0));          // Gen4 x16
  CHECK_FALSE(any_warning(a, "shares NIC"));  // 2 GPU + 2 NIC per switch: one each
  validate_topology(a.topology, "azure a100");

  o.gpu_model = "tpu";
  CHECK_THROWS_WITH(import_nccl_xml(scenario("azure_nd_a100_v4.xml"), o), Catch::Contains("tpu"));
}

TEST_CASE("rejected and suspicious NCCL XML inputs", "[nccl_xml]") {
  NcclImportOptions o;
  CHECK_THROWS_AS(import_nccl_xml(data("nccl_malformed.xml"), o), InputError);
  CHECK_THROWS_WITH(import_nccl_xml(data("nccl_malformed.xml"), o), Catch::Contains("nccl_malformed.xml"));
  CHECK_THROWS_WITH(import_nccl_xml(data("nccl_bad_speed.xml"), o), Catch::Contains("speed") && Catch::Contains("nccl_bad_speed.xml"));
  CHECK_THROWS_AS(import_nccl_xml(data("does_not_exist.xml"), o), InputError);
  NcclImport u = import_nccl_xml(data("nccl_unknown_element.xml"), o);
  CHECK(u.topology.num_gpus() == 1);
  CHECK(any_warning(u, "<widget>"));
  CHECK(any_warning(u, "colour"));
  CHECK(any_warning(u, "vendor_extension"));
  NcclImport s = import_nccl_xml(data("nccl_shared_nic.xml"), o);
  CHECK(any_warning(s, "GPU 0000:12:00.0 shares NIC mlx5_0 with GPU 0000:11:00.0 while NIC mlx5_1 is unused"));
  o.nodes = 0;  // a setting out of range: a usage error naming the setting, not an input error
  CHECK_THROWS_AS(import_nccl_xml(data("nccl_unknown_element.xml"), o), SettingError);
}

TEST_CASE("an attribute given twice on one element is malformed XML, named with its line", "[nccl_xml]") {
  // XML 1.0 Unique Att Spec: the property-tree reader kept the first and dropped the second silently.
  CHECK_THROWS_WITH(check_xml_text("<system>\n<gpu dev=\"0\" sm=\"90\" sm=\"80\"/>\n</system>", "dup.xml"),
                    Catch::Contains("dup.xml") && Catch::Contains("attribute sm appears twice on <gpu>") &&
                        Catch::Contains("line 2"));
  // Spaces around '=' and single quotes are still one attribute each.
  CHECK_THROWS_WITH(check_xml_text("<net speed = '1' name='a' speed='2'/>", "dup.xml"),
                    Catch::Contains("attribute speed appears twice on <net>"));
  // An '=' inside a quoted value, no space between attributes, and the same name on other elements pass.
  CHECK_NOTHROW(check_xml_text("<a x=\"p=q\"y='1'><b x=\"2\"/><b x=\"3\"/></a>", "ok.xml"));
}
