#include "oci/json.h"

#include <set>
#include <string>
#include <vector>

namespace bonsai::oci {

using util::ErrorKind;
using util::fail;

namespace {
constexpr int kMaxDepth = 64;
}

util::Result<Json> parse_strict_json(std::string_view text, std::string_view what) {
  // The callback sees every key; a stack of key sets (one per open object) finds duplicates.
  std::vector<std::set<std::string>> keys;
  std::string problem;
  auto cb = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    switch (event) {
      case Json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second &&
            problem.empty())
          problem = "duplicate key \"" + parsed.get<std::string>() + "\"";
        break;
      default:
        break;
    }
    if (depth > kMaxDepth && problem.empty()) problem = "nesting deeper than 64 levels";
    return true;
  };
  Json doc = Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // Parse again with exceptions only to obtain the position of the syntax error.
    try {
      Json ignored = Json::parse(text.begin(), text.end());
      (void)ignored;
    } catch (const Json::parse_error& e) {
      return fail(ErrorKind::kCorrupt, std::string(what) + ": invalid JSON at byte " +
                                           std::to_string(e.byte) + ": " + e.what());
    }
    return fail(ErrorKind::kCorrupt, std::string(what) + ": invalid JSON");
  }
  if (!problem.empty()) return fail(ErrorKind::kCorrupt, std::string(what) + ": " + problem);
  return doc;
}

util::Result<std::string> get_string(const Json& obj, const char* key, std::string_view what,
                                     bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return fail(ErrorKind::kCorrupt, std::string(what) + ": missing \"" + key + "\"");
    return std::string();
  }
  if (!it->is_string())
    return fail(ErrorKind::kCorrupt, std::string(what) + ": \"" + key + "\" is not a string");
  return it->get<std::string>();
}

util::Result<int64_t> get_int(const Json& obj, const char* key, std::string_view what,
                              bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return fail(ErrorKind::kCorrupt, std::string(what) + ": missing \"" + key + "\"");
    return 0;
  }
  if (!it->is_number_integer())
    return fail(ErrorKind::kCorrupt, std::string(what) + ": \"" + key + "\" is not an integer");
  return it->get<int64_t>();
}

}  // namespace bonsai::oci
