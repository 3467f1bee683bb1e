// Every rejected topology: the message names the file and the device, link or field at fault.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "topology/topology_json.hpp"
#include "topology/validate.hpp"

using namespace epsim;

namespace {

// Two hosts, one GPU + NIC each, NICs on one leaf.
Json two_host_doc() {
  return Json::parse(R"({
    "schema": "epsim.topology/1",
    "devices": [
      {"id": "a/gpu0", "kind": "gpu", "host": "a"}, {"id": "a/nic0", "kind": "nic", "host": "a"},
      {"id": "b/gpu0", "kind": "gpu", "host": "b"}, {"id": "b/nic0", "kind": "nic", "host": "b"},
      {"id": "leaf", "kind": "leaf"}
    ],
    "links": [
      {"src": "a/gpu0", "dst": "a/nic0", "kind": "pcie", "bandwidth_GBps": 64},
      {"src": "b/gpu0", "dst": "b/nic0", "kind": "pcie", "bandwidth_GBps": 64},
      {"src": "a/nic0", "dst": "leaf", "kind": "infiniband", "bandwidth_GBps": 50},
      {"src": "b/nic0", "dst": "leaf", "kind": "infiniband", "bandwidth_GBps": 50}
    ]})");
}

void load(const Json& doc) { validate_topology(topology_from_json(doc, "t.json"), "t.json"); }

}  // namespace

TEST_CASE("a valid two-host document passes", "[validate]") { CHECK_NOTHROW(load(two_host_doc())); }

TEST_CASE("zero and negative bandwidth name the JSON pointer", "[validate]") {
  Json doc = two_host_doc();
  doc["links"][2]["bandwidth_GBps"] = 0;
  CHECK_THROWS_WITH(load(doc), Catch::Contains("t.json") && Catch::Contains("/links/2/bandwidth_GBps"));
  doc["links"][2]["bandwidth_GBps"] = -5;
  CHECK_THROWS_WITH(load(doc), Catch::Contains("/links/2/bandwidth_GBps"));
  doc["links"][2]["bandwidth_GBps"] = 50;
  doc["links"][2]["latency_ns"] = -1;
  CHECK_THROWS_WITH(load(doc), Catch::Contains("/links/2/latency_ns"));
}

TEST_CASE("NaN or infinite bandwidth built in memory names the link", "[validate]") {
  Topology t = topology_from_json(two_host_doc(), "t.json");
  t.add_link(Link{0, 1, LinkKind::pcie, std::numeric_limits<double>::quiet_NaN(), 0});
  CHECK_THROWS_WITH(validate_topology(t, "t.json"), Catch::Contains("a/gpu0->a/nic0") && Catch::Contains("bandwidth_GBps"));
  Topology u = topology_from_json(two_host_doc(), "t.json");
  u.add_link(Link{0, 1, LinkKind::pcie, std::numeric_limits<double>::infinity(), 0});
  CHECK_THROWS_AS(validate_topology(u, "t.json"), InputError);
}

TEST_CASE("duplicate ids and dangling links", "[validate]") {
  Json dup = two_host_doc();
  dup["devices"][1]["id"] = "a/gpu0";
  CHECK_THROWS_WITH(load(dup), Catch::Contains("/devices/1/id") && Catch::Contains("duplicate device id \"a/gpu0\""));
  Json dangling = two_host_doc();
  dangling["links"][0]["dst"] = "a/nic9";
  CHECK_THROWS_WITH(load(dangling), Catch::Contains("/links/0/dst") && Catch::Contains("a/nic9"));
  Json self = two_host_doc();
  self["links"][0]["dst"] = "a/gpu0";
  CHECK_THROWS_WITH(load(self), Catch::Contains("/links/0"));
  Json empty_host = two_host_doc();
  empty_host["devices"][0]["host"] = "";
  CHECK_THROWS_WITH(load(empty_host), Catch::Contains("/devices/0/host") && Catch::Contains("non-empty host id"));
}

TEST_CASE("disconnected GPUs are named", "[validate]") {
  Json doc = two_host_doc();
  doc["links"].erase(3);  // b/nic0 no longer reaches the leaf
  CHECK_THROWS_WITH(load(doc), Catch::Contains("b/gpu0") && Catch::Contains("a/gpu0"));
}

TEST_CASE("a GPU without a NIC on its host in a multi-host cluster", "[validate]") {
  Json doc = two_host_doc();
  // b/gpu1 reaches the fabric only through b/gpu0 (GPUs do not forward scale-out traffic).
  doc["devices"].push_back({{"id", "b/gpu1"}, {"kind", "gpu"}, {"host", "b"}});
  doc["links"].push_back({{"src", "b/gpu1"}, {"dst", "b/gpu0"}, {"kind", "nvlink"}, {"bandwidth_GBps", 450}});
  CHECK_THROWS_WITH(load(doc), Catch::Contains("b/gpu1") && Catch::Contains("NIC"));
}

TEST_CASE("no GPU and unknown kinds", "[validate]") {
  Json doc = Json::parse(R"({"devices": [{"id": "x", "kind": "leaf"}], "links": []})");
  CHECK_THROWS_WITH(load(doc), Catch::Contains("gpu"));
  Json kind = two_host_doc();
  kind["devices"][4]["kind"] = "router";
  CHECK_THROWS_WITH(load(kind), Catch::Contains("/devices/4/kind") && Catch::Contains("router"));
}

TEST_CASE("bandwidth_basis: read, written back, and a bad value named", "[validate]") {
  Json doc = two_host_doc();
  doc["links"][0]["bandwidth_basis"] = "effective";
  Topology t = topology_from_json(doc, "t.json");
  // links[0] is bidirectional: directed links 0 and 1 are effective, the rest nominal (the default).
  CHECK(t.link(0).basis == BandwidthBasis::effective);
  CHECK(t.link(1).basis == BandwidthBasis::effective);
  CHECK(t.link(2).basis == BandwidthBasis::nominal);
  Json back = topology_to_json(t);
  CHECK(back["links"][0]["bandwidth_basis"] == "effective");
  CHECK_FALSE(back["links"][1].contains("bandwidth_basis"));  // nominal is not written
  CHECK(topology_from_json(back, "back.json").link(1).basis == BandwidthBasis::effective);
  doc["links"][0]["bandwidth_basis"] = "measured";
  CHECK_THROWS_WITH(load(doc), Catch::Contains("/links/0/bandwidth_basis") && Catch::Contains("effective"));
}
