// troupe/error.hpp — the one exception type troupe throws for misuse.
//
// Thrown for: sending/closing/joining through an empty handle, spawning on a runtime that
// has shut down, joining or shutting down from inside a worker thread (it would block the
// worker that has to make progress). The message says what happened and what to do.
#pragma once

#include <stdexcept>
#include <string>

namespace troupe {

class error : public std::logic_error {
 public:
  explicit error(const std::string& what) : std::logic_error("troupe: " + what) {}
};

}  // namespace troupe
