# FindConcurrentQueue.cmake — finds moodycamel's ConcurrentQueue (header-only).
#
# Debian's libconcurrentqueue-dev ships only the headers
# (/usr/include/concurrentqueue/concurrentqueue.h) and no CMake package, so this module
# looks for the header itself.
#
# Result:
#   ConcurrentQueue_FOUND          true if the header was found
#   ConcurrentQueue_INCLUDE_DIR    the directory to add so that
#                                  #include <concurrentqueue/concurrentqueue.h> works
#   ConcurrentQueue::ConcurrentQueue   imported INTERFACE target carrying that directory
#
# Hint: set ConcurrentQueue_ROOT (or CMAKE_PREFIX_PATH) to a prefix holding
# include/concurrentqueue/concurrentqueue.h.

find_path(ConcurrentQueue_INCLUDE_DIR
  NAMES concurrentqueue/concurrentqueue.h
  DOC "Directory containing concurrentqueue/concurrentqueue.h (moodycamel ConcurrentQueue)")
mark_as_advanced(ConcurrentQueue_INCLUDE_DIR)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(ConcurrentQueue
  REQUIRED_VARS ConcurrentQueue_INCLUDE_DIR
  REASON_FAILURE_MESSAGE
    "moodycamel ConcurrentQueue header concurrentqueue/concurrentqueue.h not found. On Debian/Ubuntu install it with: apt-get install libconcurrentqueue-dev (or run tools/setup.sh)")

if(ConcurrentQueue_FOUND AND NOT TARGET ConcurrentQueue::ConcurrentQueue)
  add_library(ConcurrentQueue::ConcurrentQueue INTERFACE IMPORTED)
  set_target_properties(ConcurrentQueue::ConcurrentQueue PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${ConcurrentQueue_INCLUDE_DIR}")
endif()
