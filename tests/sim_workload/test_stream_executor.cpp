// The stream executor: overlap of a compute and a communication stream, exposed communication,
// exact integer time, slowdown of overlapped compute.
#include <catch2/catch.hpp>

#include "sim/simulate.hpp"
#include "sim/workload/stream_executor.hpp"

using namespace epsim;

namespace {

TaskSpec compute_op(int gpu, Time d, std::vector<TaskDep> deps = {}) {
  TaskSpec t;
  t.kind = TaskKind::compute;
  t.gpus = {gpu};
  t.duration = d;
  t.deps = std::move(deps);
  return t;
}

TaskSpec comm_op(std::vector<int> gpus, Time d, std::vector<TaskDep> deps = {}) {
  TaskSpec t;
  t.kind = TaskKind::collective;
  t.op = OpKind::tp_all_reduce;
  t.gpus = std::move(gpus);
  t.duration = d;
  t.deps = std::move(deps);
  return t;
}

}  // namespace

TEST_CASE("communication hidden behind longer compute is not exposed", "[executor]") {
  StreamExecutor ex(1, 1.0, Time());
  ex.add(compute_op(0, Time::ms(10)));
  ex.add(comm_op({0}, Time::ms(4)));
  Simulator sim;
  ex.run(sim, nullptr);
  // Both streams start at 0: total = max(10, 4) = 10 ms; the 4 ms lie inside the compute: exposed 0.
  CHECK(ex.makespan() == Time::ms(10));
  StreamMetrics m = stream_metrics(ex, 0);
  CHECK(m.exposed_comm == Time());
  CHECK(m.compute_busy == Time::ms(10));
  CHECK(m.comm_busy == Time::ms(4));
}

TEST_CASE("communication longer than compute is exposed by the difference", "[executor]") {
  StreamExecutor ex(1, 1.0, Time());
  ex.add(compute_op(0, Time::ms(10)));
  ex.add(comm_op({0}, Time::ms(14)));
  Simulator sim;
  ex.run(sim, nullptr);
  // total = max(10, 14) = 14 ms; exposed = 14 - 10 = 4 ms.
  CHECK(ex.makespan() == Time::ms(14));
  CHECK(stream_metrics(ex, 0).exposed_comm == Time::ms(4));
}

TEST_CASE("3e9 ns of compute then 1 ms of communication is exactly 3.001 s", "[executor]") {
  StreamExecutor ex(1, 1.0, Time());
  int a = ex.add(compute_op(0, Time::ns(3'000'000'000)));
  ex.add(comm_op({0}, Time::ms(1), {TaskDep{a, 0}}));
  Simulator sim;
  ex.run(sim, nullptr);
  // 3e9 ns = 3e12 ps, + 1 ms = 1e9 ps: 3'001'000'000'000 ps, no rounding anywhere.
  CHECK(ex.makespan().count_ps() == 3'001'000'000'000);
  CHECK(stream_metrics(ex, 0).exposed_comm == Time::ms(1));
}

TEST_CASE("compute overlapped by communication runs slower by the slowdown factor", "[executor]") {
  StreamExecutor ex(1, 1.25, Time());
  ex.add(compute_op(0, Time::ms(10)));
  ex.add(comm_op({0}, Time::ms(4)));
  Simulator sim;
  ex.run(sim, nullptr);
  // During the 4 ms of communication compute advances 4 / 1.25 = 3.2 ms of work; the remaining
  // 6.8 ms run at full speed: 4 + 6.8 = 10.8 ms.
  CHECK(ex.makespan() == Time::us(10'800));
}

TEST_CASE("streams run in issue order and the critical path follows the binding dependencies", "[executor]") {
  StreamExecutor ex(2, 1.0, Time());
  int a0 = ex.add(compute_op(0, Time::ms(1)));
  int a1 = ex.add(compute_op(1, Time::ms(3)));
  // A collective of both GPUs waits for both computes: starts at 3 ms.
  int c = ex.add(comm_op({0, 1}, Time::ms(2), {TaskDep{a0, 0}, TaskDep{a1, 1}}));
  int b0 = ex.add(compute_op(0, Time::ms(1), {TaskDep{c, 0}}));
  Simulator sim;
  ex.run(sim, nullptr);
  CHECK(ex.start(c) == Time::ms(3));
  CHECK(ex.end(b0) == Time::ms(6));  // 3 + 2 + 1
  CHECK(ex.critical_path() == std::vector<int>{a1, c, b0});
}

TEST_CASE("the executor rejects malformed graphs", "[executor]") {
  StreamExecutor ex(1, 1.0, Time());
  CHECK_THROWS_AS(ex.add(compute_op(1, Time::ms(1))), std::invalid_argument);       // GPU out of range
  CHECK_THROWS_AS(ex.add(compute_op(0, Time::ms(1), {TaskDep{5, 0}})), std::invalid_argument);  // later task
  CHECK_THROWS_AS(StreamExecutor(1, 0.5, Time()), std::invalid_argument);          // slowdown < 1
}

TEST_CASE("a collective off the streams runs beside the communication stream", "[executor]") {
  // Gradient reductions run on their own stream (occupies_streams = false): a 10 ms one issued
  // first does not hold back a 4 ms collective on the communication stream, and it leaves no stream
  // interval. On the stream, the 4 ms one would wait: 10 + 4 = 14 ms.
  for (bool on_stream : {false, true}) {
    StreamExecutor ex(2, 1.0, Time());
    TaskSpec grad = comm_op({0, 1}, Time::ms(10));
    grad.op = OpKind::grad_sync;
    grad.occupies_streams = on_stream;
    int g = ex.add(std::move(grad));
    int c = ex.add(comm_op({0, 1}, Time::ms(4)));
    Simulator sim;
    ex.run(sim, nullptr);
    CAPTURE(on_stream);
    CHECK(ex.end(g) == Time::ms(10));
    CHECK(ex.end(c) == (on_stream ? Time::ms(14) : Time::ms(4)));
    CHECK(ex.intervals(0).size() == (on_stream ? 2u : 1u));
  }
}
