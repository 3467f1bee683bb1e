// Kernel tables: reader, interpolation, out-of-range notices (docs/compute_model.md "Kernel tables").
#include <catch2/catch.hpp>

#include "measurements/kernel_table.hpp"
#include "sim/compute/kernel_tables.hpp"

using namespace epsim;
