# cmake -DPROGRAM=<go_bench_macro> -DOUT=<json file> -P GoPeerSmokeTest.cmake
# The test go_bench_macro_smoke (bench/peers/go/CMakeLists.txt): runs the Go peer benchmarks
# at a tiny scale on 2 workers and checks that they pass their own result checks and write
# Google Benchmark JSON that tools/bench_compare.py can read: every benchmark of the peer
# set, under its run name, with a positive items_per_second; the worker count in the
# context; and that a malformed option is refused (exit status 2).
foreach(var PROGRAM OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "GoPeerSmokeTest.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE "${OUT}")
execute_process(
  COMMAND "${PROGRAM}" --workers=2 --scale=0.001 --timeout=300 --benchmark_format=json
          "--benchmark_out=${OUT}" --benchmark_out_format=json
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "go_bench_macro exited with ${rc}:\n${err}")
endif()
file(READ "${OUT}" doc)

string(JSON workers ERROR_VARIABLE json_err GET "${doc}" context go_workers)
if(json_err)
  message(FATAL_ERROR "go_bench_macro JSON: ${json_err}")
elseif(NOT workers STREQUAL "2")
  message(FATAL_ERROR "context.go_workers is '${workers}', expected 2")
endif()

set(expected BM_PingPong BM_FanIn BM_ThreadRing BM_ForkJoinThroughput BM_Skynet BM_Spawn
    BM_Chameneos BM_Big)
string(JSON count ERROR_VARIABLE json_err LENGTH "${doc}" benchmarks)
list(LENGTH expected want)
if(json_err)
  message(FATAL_ERROR "go_bench_macro JSON: ${json_err}")
elseif(NOT count EQUAL want)
  message(FATAL_ERROR "${count} benchmarks in the JSON, expected ${want}")
endif()
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  list(GET expected ${i} name)
  string(JSON run_name GET "${doc}" benchmarks ${i} run_name)
  if(NOT run_name STREQUAL "${name}/iterations:3/manual_time")
    message(FATAL_ERROR
            "benchmark ${i} is '${run_name}', expected ${name}/iterations:3/manual_time")
  endif()
  string(JSON rate ERROR_VARIABLE json_err GET "${doc}" benchmarks ${i} items_per_second)
  if(json_err)
    message(FATAL_ERROR "go_bench_macro JSON: ${json_err}")
  elseif(NOT rate GREATER 0)
    message(FATAL_ERROR "${name}: items_per_second is '${rate}'")
  endif()
endforeach()
string(JSON bytes ERROR_VARIABLE json_err GET "${doc}" benchmarks 5 bytes_per_actor)
if(json_err)
  message(FATAL_ERROR "go_bench_macro JSON: ${json_err}")
elseif(NOT bytes GREATER 0)
  message(FATAL_ERROR "BM_Spawn: bytes_per_actor is '${bytes}'")
endif()

execute_process(COMMAND "${PROGRAM}" --workers=x RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "go_bench_macro --workers=x exited with ${rc}, expected 2")
endif()
message(STATUS "go_bench_macro: ${count} benchmarks, JSON readable")
