// runtime/actor/reports.cpp — readable reports of dead letters and failures
// (include/troupe/stats.hpp): demangled type names and the one-line descriptions.
#include <cxxabi.h>

#include <exception>
#include <string>
#include <typeinfo>

#include "troupe/detail/type_name.hpp"
#include "troupe/stats.hpp"

namespace troupe {
namespace {

// The text of an exception: what() for a std::exception, a placeholder otherwise.
std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "(not a std::exception)";
  }
}

}  // namespace

std::string dead_letter::message_type_name() const { return detail::demangled_name(message_type); }

std::string failure::error_type() const {
  if (!error) return {};
  try {
    std::rethrow_exception(error);
  } catch (...) {
    // The dynamic type of the exception being handled (the Itanium C++ ABI, as the
    // demangler): a std::type_info even for exceptions that are not std::exception.
    const std::type_info* t = abi::__cxa_current_exception_type();
    return t != nullptr ? detail::demangled_name(*t) : std::string("(unknown type)");
  }
}

const char* to_string(dead_letter_reason reason) noexcept {
  switch (reason) {
    case dead_letter_reason::stopped:
      return "stopped";
    case dead_letter_reason::shutdown:
      return "shutdown";
    case dead_letter_reason::shutdown_deadline:
      return "shutdown_deadline";
    case dead_letter_reason::killed:
      return "killed";
    case dead_letter_reason::failed:
      return "failed";
    case dead_letter_reason::late_reply:
      return "late_reply";
  }
  return "unknown";
}

std::string to_string(const dead_letter& d) {
  std::string s = "dead letter: " + d.message_type_name();
  s += d.receiver == 0 ? std::string(" to no actor") : " to actor " + std::to_string(d.receiver);
  s += " (";
  s += to_string(d.reason);
  s += ')';
  return s;
}

std::string to_string(const failure& f) {
  std::string s = "actor " + f.actor_type + " (id " + std::to_string(f.actor) + ") stopped by ";
  if (!f.error) return s + "an unknown error";
  return s + f.error_type() + ": " + what_of(f.error);
}

}  // namespace troupe
