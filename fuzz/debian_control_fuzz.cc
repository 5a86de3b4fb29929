// Fuzzes the deb822 control file reader (Packages, Release, status). Properties: no crash or
// hang; for_each_paragraph and parse_control agree; every paragraph it yields can be looked up
// and written back with to_string(), and that text reads back as one paragraph with the same
// field names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "debian/control.h"

using namespace bonsai::debian;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t count = 0;
  auto st = for_each_paragraph(text, "fuzz", [&](Paragraph&& p) -> Status {
    ++count;
    (void)p.get("Package");
    (void)p.get_or("version", "none");
    std::string written = p.to_string();
    auto back = parse_control(written, "written");
    if (back && back->size() == 1 && (*back)[0].fields.size() == p.fields.size()) {
      for (size_t i = 0; i < p.fields.size(); ++i) {
        if ((*back)[0].fields[i].name != p.fields[i].name) std::abort();
      }
    }
    return {};
  });
  auto all = parse_control(text, "fuzz");
  if (st.has_value() != all.has_value()) std::abort();
  if (all && all->size() != count) std::abort();
  return 0;
}
