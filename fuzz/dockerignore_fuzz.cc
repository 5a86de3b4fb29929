// Fuzzes .dockerignore reading and matching: the input's first line is a path, the rest the
// ignore file. Matching must terminate and never crash on any pattern or path.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dockerfile/dockerignore.h"

using namespace bonsai::dockerfile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nl = text.find('\n');
  std::string_view path = text.substr(0, nl);
  std::string_view rules = nl == std::string_view::npos ? text : text.substr(nl + 1);

  auto matcher = IgnoreMatcher::parse(rules);
  (void)clean_path(path);
  if (matcher) {
    (void)matcher->excluded(path);
    (void)matcher->excluded("a/b/c");
    for (const auto& p : read_dockerignore(rules)) (void)matcher->excluded(p);
  }
  return 0;
}
