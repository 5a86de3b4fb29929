// Fuzzes the relationship field parser. The first byte picks the field (which decides whether
// alternatives and non-'=' operators are allowed); the rest is the field's text. Properties: no
// crash; a parsed list prints to text that parses back to the same list; satisfies() and
// applies_to() take any parsed relation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "debian/relations.h"

using namespace bonsai::debian;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kFields[] = {"Depends",   "Pre-Depends", "Provides",
                                                 "Conflicts", "Breaks",      "Build-Depends"};
  std::string_view field = kFields[data[0] % std::size(kFields)];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  auto list = parse_relations(field, text);
  if (!list) return 0;
  std::string printed = to_string(*list);
  auto again = parse_relations(field, printed);
  if (!again || *again != *list) std::abort();
  const std::string profiles[] = {"nocheck"};
  for (const RelationGroup& group : *list) {
    for (const Relation& r : group) {
      (void)satisfies(r, "1:2.0-1");
      (void)satisfies(r, r.version);
      (void)r.applies_to("amd64");
      (void)r.applies_to("kfreebsd-i386", profiles);
    }
  }
  return 0;
}
