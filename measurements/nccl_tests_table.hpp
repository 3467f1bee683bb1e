#pragma once
// Reading published nccl-tests results: the text table nccl-tests prints and the AWS p5 benchmark CSV
// (scenarios/measurements/nccl_tests/), for validating the collective model.
#include <filesystem>
#include <string>
#include <vector>

namespace epsim {

/// One measured size. bytes = nccl-tests "size" column; bandwidths in GB/s (1e9 bytes/s); time in us.
struct NcclTestsRow {
  double bytes = 0;
  double time_us = 0;
  double algbw_GBps = 0;
  double busbw_GBps = 0;
  int nodes = 0;  ///< hosts (0 when the file does not say)
  int gpus = 0;   ///< ranks (0 when the file does not say)
  int line = 0;   ///< the row's line in the file (0 when not from a text file)
};

/// Which half of the nccl-tests table to read.
enum class NcclTestsColumns { out_of_place, in_place };

/// The whitespace-separated words of an nccl-tests output line, without a launcher's tag in front
/// ("0:" of srun -l, "[1,0]<stdout>:" of Open MPI's --tag-output).
std::vector<std::string> nccl_tests_words(const std::string& line);

/// Parse an nccl-tests text output: data lines are those whose first field is an integer size, with
/// fields size count type redop root, then time algbw busbw #wrong for out-of-place and again for
/// in-place (nccl-tests 2.11 on, 13 fields), or without root and with a max error for #wrong (12
/// fields, earlier versions). Lines starting with '#' and other text are skipped, as are rows of size 0
/// (no byte moved) and a launcher's per-line tag. Throws InputError naming the file and line when a
/// data line has another field count, a non-numeric size/time/algbw/busbw, a #wrong above 0 (the check
/// failed), or the run's "Out of bounds values : N FAILED" line.
std::vector<NcclTestsRow> read_nccl_tests_output(const std::filesystem::path& path,
                                                 NcclTestsColumns columns = NcclTestsColumns::out_of_place);

/// What an nccl-tests output says about its run, from its header.
struct NcclTestsRun {
  std::string op;      ///< "all_reduce", "all_gather", "reduce_scatter", "alltoall", "sendrecv", ... ("" unknown)
  int ranks = 0;       ///< "#  Rank  N Group G Pid P on HOST device D ..." lines (0: none listed)
  int nodes = 0;       ///< distinct HOSTs of those lines
  std::string device;  ///< the device name of rank 0's line ("NVIDIA H100 80GB HBM3"), "" when none
  int most_ranks_per_host = 0;    ///< of the rank lines' hosts (0: none listed)
  int fewest_ranks_per_host = 0;
};

/// The run of an nccl-tests output: op from the first "<op>_perf" word of the text, else of the file
/// name; ranks, hosts and device from the rank lines. Throws InputError when the file cannot be read,
/// a rank is listed twice or more than limits::kMaxRoutedGpus ranks are listed (naming the line).
NcclTestsRun read_nccl_tests_run(const std::filesystem::path& path);

/// Parse the AWS p5 CSV (columns Nodes, GPUs, size(MB), ..., out algbw(GB/s), out busbw(GB/s), in
/// algbw(GB/s), in busbw(GB/s)); size(MB) is in MiB (bytes / 2^20) and time_us = bytes / algbw.
/// Throws InputError naming the file (and line, column) on a missing column, a non-numeric field, Nodes
/// < 1, GPUs not a multiple of Nodes or above limits::kMaxRoutedGpus, a size outside (0, 1e12] B, algbw
/// outside (0, 1e6] GB/s, a time outside (0, 1e12] us or busbw outside [0, 1e6] GB/s.
std::vector<NcclTestsRow> read_aws_p5_csv(const std::filesystem::path& path,
                                          NcclTestsColumns columns = NcclTestsColumns::out_of_place);

}  // namespace epsim
