// Strict JSON for OCI documents. Documents are parsed from exactly the bytes that were hashed
// (never re-serialised before verification), and the parser rejects what a lenient one would
// silently resolve: duplicate object keys (the OCI spec leaves them undefined, and two parsers
// could then disagree on what a digest covers), trailing garbage, and depth bombs.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "util/error.h"

namespace bonsai::oci {

using Json = nlohmann::json;
// A JSON object that keeps keys in insertion order, for output in a conventional field order.
using OrderedJson = nlohmann::ordered_json;

// Parses `text`; errors name `what` ("manifest sha256:ab..") and say why.
util::Result<Json> parse_strict_json(std::string_view text, std::string_view what);

// Typed field readers; each error names the document and the field.
util::Result<std::string> get_string(const Json& obj, const char* key, std::string_view what,
                                     bool required);
util::Result<int64_t> get_int(const Json& obj, const char* key, std::string_view what,
                              bool required);

}  // namespace bonsai::oci
