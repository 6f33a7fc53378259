// troupe/detail/type_name.hpp — readable C++ type names for error messages and reports.
#pragma once

#include <string>
#include <typeinfo>

namespace troupe::detail {

/// The demangled name of a type (runtime/actor/type_name.cpp).
std::string demangled_name(const std::type_info& t);

}  // namespace troupe::detail
