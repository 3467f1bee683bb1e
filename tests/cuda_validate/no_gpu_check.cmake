# Run `epsim_cuda_validate --gemm-only` (tiny sizes) and check the no-GPU contract:
# non-zero exit and exactly one line that says no GPU was found. When the run succeeds (a machine
# with a GPU) it prints "a GPU is present", which the test's SKIP_REGULAR_EXPRESSION turns into a skip.
execute_process(COMMAND "${BINARY}" --gemm-only --tokens-per-expert 16 --warmup 0 --repeats 1
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(rc EQUAL 0)
  message("a GPU is present (the run succeeded); the no-GPU check does not apply")
  return()
endif()
string(STRIP "${all}" stripped)
string(REGEX MATCHALL "\n" newlines "${stripped}")
list(LENGTH newlines extra_lines)
if(NOT extra_lines EQUAL 0)
  message(FATAL_ERROR "expected one line of output, got:\n${all}")
endif()
if(NOT stripped MATCHES "no CUDA GPU")
  message(FATAL_ERROR "expected the line to say 'no CUDA GPU', got: ${stripped} (exit ${rc})")
endif()
message("exit ${rc}: ${stripped}")
