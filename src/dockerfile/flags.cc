#include "dockerfile/flags.h"

#include "dockerfile/text.h"

namespace bonsai::dockerfile::detail {

std::optional<std::string> BuilderFlags::parse(const std::vector<std::string>& args,
                                               std::string& bad) {
  for (const auto& raw : args) {
    bad = raw;
    if (!raw.starts_with("--")) return "arg should start with -- : " + raw;
    if (raw == "--") return std::nullopt;
    std::string arg = raw.substr(2);
    std::string value;
    auto eq = arg.find('=');
    bool has_value = eq != std::string::npos;
    if (has_value) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    auto it = defs_.find(arg);
    if (it == defs_.end()) return "unknown flag: " + arg;
    Def& def = it->second;
    if (def.used && def.kind != Kind::kStrings) return "duplicate flag specified: " + arg;
    def.used = true;
    switch (def.kind) {
      case Kind::kBool: {
        if (has_value && value.empty()) return "missing a value on flag: " + arg;
        std::string lower = ascii_lower(value);
        if (lower.empty()) {
          def.value = "true";
        } else if (lower == "true" || lower == "false") {
          def.value = lower;
        } else {
          return "expecting boolean value for flag " + arg + ", not: " + value;
        }
        break;
      }
      case Kind::kString:
        if (!has_value) return "missing a value on flag: " + arg;
        def.value = value;
        break;
      case Kind::kStrings:
        if (!has_value) return "missing a value on flag: " + arg;
        def.values.push_back(value);
        break;
    }
  }
  bad.clear();
  return std::nullopt;
}

}  // namespace bonsai::dockerfile::detail
