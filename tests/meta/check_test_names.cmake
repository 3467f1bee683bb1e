# Every Catch2 test name must survive catch_discover_tests: a ';' splits it into two ctest entries
# whose filters match nothing, and Catch exits 0 on "No tests ran", so the test silently never runs.
# Usage: cmake -DROOT=<source dir> -P check_test_names.cmake
file(GLOB_RECURSE sources "${ROOT}/tests/*.cpp")
set(bad "")
foreach(f IN LISTS sources)
  file(READ "${f}" text)
  string(REGEX MATCHALL "TEST_CASE\\(\"[^\"\n]*;[^\"\n]*\"" hits "${text}")
  if(hits)
    string(APPEND bad "${f}: a TEST_CASE name with ';'\n")
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "test names with ';' (catch_discover_tests splits them; use ','):\n${bad}")
endif()
