// An ordered set of variables (build args or environment). Order is kept so that image configs
// and history come out the same on every run; lookups are case-sensitive, as on Linux.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bonsai::dockerfile {

class Env {
 public:
  Env() = default;
  Env(std::initializer_list<std::pair<std::string, std::string>> init) {
    for (auto& [k, v] : init) set(k, v);
  }

  // Adds key or replaces its value in place.
  void set(std::string_view key, std::string_view value);
  // Null when key is not set; an empty string when it is set but empty.
  const std::string* get(std::string_view key) const;
  bool contains(std::string_view key) const { return get(key) != nullptr; }
  void erase(std::string_view key);

  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

  // "KEY=value" strings in order.
  std::vector<std::string> to_list() const;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

}  // namespace bonsai::dockerfile
