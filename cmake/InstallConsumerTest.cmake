# InstallConsumerTest.cmake — install this build tree into a scratch prefix, then configure,
# build and run tests/install_consumer against it with find_package(troupe CONFIG REQUIRED).
#
# Run by ctest (test `install_consumer`, label integration) as
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DCONSUMER_SOURCE_DIR=... -DCONFIG=...
#         -DGENERATOR=... -DMAKE_PROGRAM=... -DCXX_COMPILER=... -DCXX_FLAGS=...
#         -DCXX_FLAGS_CONFIG=... -DEXE_LINKER_FLAGS=... -DRUNTIME_DIR=... -P InstallConsumerTest.cmake
# The consumer is built with the same compiler and flags (sanitizers included) as this tree.
foreach(var BUILD_DIR WORK_DIR CONSUMER_SOURCE_DIR GENERATOR CXX_COMPILER RUNTIME_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "InstallConsumerTest.cmake: -D${var}=... is required")
  endif()
endforeach()

set(prefix "${WORK_DIR}/prefix")
set(consumer_build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run step)
  message(STATUS "[install_consumer] ${step}: ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "[install_consumer] ${step} failed: ${rc}")
  endif()
endfunction()

# 1. Install.
set(config_args)
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()
run(install "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}" ${config_args})

# 2. Check what was installed: the public headers, the library and the package files;
#    no private runtime/ header, and no build-only requirement leaking into the package.
foreach(f include/troupe/troupe.hpp include/troupe/detail/actor_base.hpp)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "[install_consumer] ${f} was not installed")
  endif()
endforeach()
file(GLOB_RECURSE config_files "${prefix}/*/troupeConfig.cmake")
file(GLOB_RECURSE targets_files "${prefix}/*/troupeTargets.cmake")
file(GLOB_RECURSE archives "${prefix}/*/libtroupe.a")
if(NOT config_files OR NOT targets_files OR NOT archives)
  message(FATAL_ERROR "[install_consumer] missing troupeConfig.cmake, troupeTargets.cmake or "
                      "libtroupe.a under ${prefix}")
endif()
file(GLOB_RECURSE installed_headers RELATIVE "${prefix}" "${prefix}/*.h" "${prefix}/*.hpp")
foreach(h IN LISTS installed_headers)
  if(NOT h MATCHES "^include/troupe/")
    message(FATAL_ERROR "[install_consumer] unexpected header installed: ${h}")
  endif()
endforeach()
file(GLOB_RECURSE private_headers RELATIVE "${RUNTIME_DIR}" "${RUNTIME_DIR}/*.hpp")
foreach(h IN LISTS private_headers)
  get_filename_component(name "${h}" NAME)
  foreach(i IN LISTS installed_headers)
    get_filename_component(iname "${i}" NAME)
    if(name STREQUAL iname)
      message(FATAL_ERROR "[install_consumer] private header runtime/${h} installed as ${i}")
    endif()
  endforeach()
endforeach()
file(GLOB targets_all "${prefix}/*/cmake/troupe/troupeTargets*.cmake")
foreach(t IN LISTS targets_all)
  file(READ "${t}" content)
  foreach(leak troupe_warnings troupe_internal ConcurrentQueue -Werror "${RUNTIME_DIR}")
    string(FIND "${content}" "${leak}" pos)
    if(NOT pos EQUAL -1)
      message(FATAL_ERROR "[install_consumer] ${t} mentions '${leak}': a build-only "
                          "requirement leaked into the installed package")
    endif()
  endforeach()
endforeach()

# 3. Configure, build and run the consumer with this tree's compiler and flags.
set(configure_args
  -S "${CONSUMER_SOURCE_DIR}" -B "${consumer_build}"
  -G "${GENERATOR}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  "-DCMAKE_FIND_PACKAGE_PREFER_CONFIG=ON"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}")
if(MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CONFIG)
  string(TOUPPER "${CONFIG}" config_upper)
  list(APPEND configure_args "-DCMAKE_BUILD_TYPE=${CONFIG}"
                             "-DCMAKE_CXX_FLAGS_${config_upper}=${CXX_FLAGS_CONFIG}")
endif()
run(configure "${CMAKE_COMMAND}" ${configure_args})
run(build "${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args})

find_program(app NAMES troupe_consumer PATHS "${consumer_build}" "${consumer_build}/${CONFIG}"
             NO_DEFAULT_PATH NO_CACHE)
if(NOT app)
  message(FATAL_ERROR "[install_consumer] built consumer program not found in ${consumer_build}")
endif()
run(run "${app}")
message(STATUS "[install_consumer] OK")
