// runtime/actor/type_name.cpp — see include/troupe/detail/type_name.hpp.
#include "troupe/detail/type_name.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace troupe::detail {

std::string demangled_name(const std::type_info& t) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> p(
      abi::__cxa_demangle(t.name(), nullptr, nullptr, &status), &std::free);
  return status == 0 && p ? std::string(p.get()) : std::string(t.name());
}

}  // namespace troupe::detail
