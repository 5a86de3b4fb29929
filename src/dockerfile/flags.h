// Internal: builder flags (--name=value) of one instruction, checked against the flags that
// instruction accepts, with the reference's rules: bool flags take no value or true/false,
// string flags need "=value", repeatable flags collect every value, anything else is unknown.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bonsai::dockerfile::detail {

class BuilderFlags {
 public:
  void add_bool(const std::string& name) { defs_[name] = {Kind::kBool, {}, {}, false}; }
  void add_string(const std::string& name, std::string def = {}) {
    defs_[name] = {Kind::kString, std::move(def), {}, false};
  }
  void add_strings(const std::string& name) { defs_[name] = {Kind::kStrings, {}, {}, false}; }

  // Returns an error message, and the offending flag in `bad`, on failure.
  std::optional<std::string> parse(const std::vector<std::string>& args, std::string& bad);

  bool get_bool(const std::string& name) const { return defs_.at(name).value == "true"; }
  bool used(const std::string& name) const { return defs_.at(name).used; }
  const std::string& get_string(const std::string& name) const { return defs_.at(name).value; }
  const std::vector<std::string>& get_strings(const std::string& name) const {
    return defs_.at(name).values;
  }

 private:
  enum class Kind { kBool, kString, kStrings };
  struct Def {
    Kind kind;
    std::string value;
    std::vector<std::string> values;
    bool used;
  };
  std::map<std::string, Def> defs_;
};

}  // namespace bonsai::dockerfile::detail
