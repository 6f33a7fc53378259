# CompileFail.cmake — check that a source file does NOT compile, for the reason it states.
#
#   cmake -DCXX=<compiler> -DSOURCE=<file.cpp> -DINCLUDE_DIR=<dir> -P CompileFail.cmake
#
# The source names the expected diagnostic on a line `// expect-error: <regex>`. The test
# fails if the file compiles, or if it fails for another reason (the regex must match the
# compiler's output), so a typo in the test cannot pass for the guarded rule.
foreach(var CXX SOURCE INCLUDE_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "CompileFail.cmake: -D${var}=... is required")
  endif()
endforeach()

file(STRINGS "${SOURCE}" expect_lines REGEX "^// expect-error: ")
if(NOT expect_lines)
  message(FATAL_ERROR "${SOURCE}: no `// expect-error: <regex>` line")
endif()
list(GET expect_lines 0 expect_line)
string(REGEX REPLACE "^// expect-error: " "" expected "${expect_line}")

execute_process(
  COMMAND "${CXX}" -std=c++20 -fsyntax-only "-I${INCLUDE_DIR}" "${SOURCE}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not: ${expected}")
endif()
if(NOT out MATCHES "${expected}")
  message("---- compiler output ----\n${out}")
  message(FATAL_ERROR "${SOURCE} failed to compile, but not with /${expected}/")
endif()
message(STATUS "${SOURCE}: rejected as expected (${expected})")
