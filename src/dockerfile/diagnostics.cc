#include "dockerfile/diagnostics.h"

#include "dockerfile/text.h"

namespace bonsai::dockerfile {

std::string Diagnostic::format() const {
  std::string out =
      file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
  if (!text.empty()) out += " (in " + go_quote(text) + ")";
  return out;
}

void Diagnostics::error(int line, int column, std::string message, std::string_view text) {
  errors_.push_back({file_, line, column, std::move(message), std::string(text)});
}

void Diagnostics::warning(int line, int column, std::string message, std::string_view text) {
  warnings_.push_back({file_, line, column, std::move(message), std::string(text)});
}

void Diagnostics::merge(Diagnostics&& other) {
  for (auto& d : other.errors_) errors_.push_back(std::move(d));
  for (auto& d : other.warnings_) warnings_.push_back(std::move(d));
  other.errors_.clear();
  other.warnings_.clear();
}

util::Error Diagnostics::to_error() const {
  std::string msg;
  if (errors_.size() > 1) {
    msg = std::to_string(errors_.size()) + " errors in " + file_ + ":\n";
  }
  for (size_t i = 0; i < errors_.size(); ++i) {
    if (i > 0) msg += "\n";
    msg += errors_[i].format();
  }
  return util::Error(util::ErrorKind::kInvalidArgument, std::move(msg));
}

}  // namespace bonsai::dockerfile
