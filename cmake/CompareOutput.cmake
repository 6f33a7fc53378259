# CompareOutput.cmake — run a program and compare its standard output with a file.
#
#   cmake -DPROGRAM=<exe> -DEXPECTED=<file> -P CompareOutput.cmake
#
# Fails (non-zero exit) if the program exits non-zero or its stdout differs from the file's
# contents byte for byte (line endings normalised to \n). The program's stderr is passed on.
foreach(var PROGRAM EXPECTED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "CompareOutput.cmake: -D${var}=... is required")
  endif()
endforeach()

execute_process(
  COMMAND "${PROGRAM}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE actual
  ERROR_VARIABLE errors)
if(NOT errors STREQUAL "")
  message("---- stderr of ${PROGRAM} ----\n${errors}")
endif()
if(NOT rc STREQUAL "0")
  message("---- stdout of ${PROGRAM} ----\n${actual}")
  message(FATAL_ERROR "${PROGRAM} failed: ${rc}")
endif()

file(READ "${EXPECTED}" expected)
string(REPLACE "\r\n" "\n" expected "${expected}")
string(REPLACE "\r\n" "\n" actual "${actual}")
if(NOT actual STREQUAL expected)
  message("---- expected (${EXPECTED}) ----\n${expected}")
  message("---- actual ----\n${actual}")
  message(FATAL_ERROR "output of ${PROGRAM} differs from ${EXPECTED}")
endif()
message(STATUS "output matches ${EXPECTED}")
