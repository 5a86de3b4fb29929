#include "dockerfile/env.h"

#include <algorithm>

namespace bonsai::dockerfile {

void Env::set(std::string_view key, std::string_view value) {
  for (auto& [k, v] : entries_) {
    if (k == key) {
      v = value;
      return;
    }
  }
  entries_.emplace_back(std::string(key), std::string(value));
}

const std::string* Env::get(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Env::erase(std::string_view key) {
  std::erase_if(entries_, [&](const auto& e) { return e.first == key; });
}

std::vector<std::string> Env::to_list() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [k, v] : entries_) out.push_back(k + "=" + v);
  return out;
}

}  // namespace bonsai::dockerfile
