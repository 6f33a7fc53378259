// runtime/results/tagged_errors.cpp — the out-of-line error paths of troupe::tagged_actor
// (include/troupe/tagged_actor.hpp).
#include <algorithm>
#include <any>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "troupe/error.hpp"
#include "troupe/tagged_actor.hpp"

namespace troupe::detail {

void throw_unknown_tag(const std::type_info& actor, const std::string& tag,
                       std::vector<std::string> known) {
  std::sort(known.begin(), known.end());
  std::string list;
  for (const std::string& k : known) {
    if (!list.empty()) list += ", ";
    list += '"' + k + '"';
  }
  throw error("tagged_actor " + demangled_name(actor) + ": no handler for tag \"" + tag +
              "\" (registered tags: " + (list.empty() ? std::string("none") : list) + ")");
}

void throw_tag_payload_mismatch(const std::type_info& actor, const std::string& tag,
                                const std::type_info& expected, const std::any& payload) {
  const std::string actual =
      payload.has_value() ? demangled_name(payload.type()) : std::string("nothing (empty)");
  throw error("tagged_actor " + demangled_name(actor) + ": tag \"" + tag + "\" expects payload " +
              demangled_name(expected) + " but the payload holds " + actual +
              " (types must match exactly: no conversions at run time)");
}

void throw_duplicate_tag(const std::type_info& actor, const std::string& tag) {
  throw error("tagged_actor " + demangled_name(actor) + ": tag \"" + tag +
              "\" already has a handler");
}

}  // namespace troupe::detail
