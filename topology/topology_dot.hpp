#pragma once
// Graphviz DOT rendering of a topology (`epsim topo dot`), via boost::write_graphviz.
#include <ostream>

#include "topology/topology.hpp"

namespace epsim {

/// Write the topology as an undirected-looking DOT digraph: one edge per bidirectional cable (the
/// link with the lower source index of a matched pair; unmatched directed links keep their arrow),
/// labelled with kind and GB/s; devices labelled with id, shaped and coloured by kind.
void write_topology_dot(std::ostream& out, const Topology& topology);

}  // namespace epsim
