// runtime/actor/reports.cpp — readable reports of dead letters, failures and exit reasons
// (include/troupe/stats.hpp, exit_reason.hpp): demangled type names and the one-line
// descriptions.
#include <cxxabi.h>

#include <exception>
#include <string>
#include <typeinfo>

#include "troupe/detail/type_name.hpp"
#include "troupe/exit_reason.hpp"
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

// The readable dynamic type of an exception; empty for a null one.
std::string type_of(const std::exception_ptr& e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (...) {
    // The dynamic type of the exception being handled (the Itanium C++ ABI, as the
    // demangler): a std::type_info even for exceptions that are not std::exception.
    const std::type_info* t = abi::__cxa_current_exception_type();
    return t != nullptr ? detail::demangled_name(*t) : std::string("(unknown type)");
  }
}

}  // namespace

std::string dead_letter::message_type_name() const { return detail::demangled_name(message_type); }

std::string failure::error_type() const { return type_of(error); }

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
  if (d.sender != 0) s += " from actor " + std::to_string(d.sender);
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

std::string exit_reason::error_type() const { return type_of(error); }

std::string exit_reason::error_text() const { return error ? what_of(error) : std::string(); }

std::string exit_reason::message_type_name() const {
  return message_type != nullptr ? detail::demangled_name(*message_type) : std::string();
}

const char* to_string(exit_reason::kind k) noexcept {
  switch (k) {
    case exit_reason::kind::normal:
      return "normal";
    case exit_reason::kind::shutdown:
      return "shutdown";
    case exit_reason::kind::killed:
      return "killed";
    case exit_reason::kind::shutdown_deadline:
      return "shutdown_deadline";
    case exit_reason::kind::failed:
      return "failed";
  }
  return "unknown";
}

std::string to_string(const exit_reason& r) {
  std::string s = to_string(r.what);
  if (r.what == exit_reason::kind::failed) {
    s += ": " + (r.error ? r.error_type() + ": " + r.error_text() : std::string("unknown error"));
    if (r.message_type != nullptr) s += " (handling " + r.message_type_name() + ")";
  }
  if (r.linked_from != 0) s += " (linked to actor " + std::to_string(r.linked_from) + ")";
  return s;
}

}  // namespace troupe
