// Collected errors for one Dockerfile, in the manner of a compiler: every pass records what is
// wrong and keeps going, and the caller checks once at the end. Each diagnostic names the file,
// the 1-based line and column, and the offending text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace bonsai::dockerfile {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based, in bytes
  std::string message;
  std::string text;  // the offending source text, possibly empty

  // "Dockerfile:3:1: ENV must have two arguments (in \"ENV PATH\")"
  std::string format() const;
};

class Diagnostics {
 public:
  explicit Diagnostics(std::string file = "Dockerfile") : file_(std::move(file)) {}

  void error(int line, int column, std::string message, std::string_view text = {});
  void warning(int line, int column, std::string message, std::string_view text = {});

  bool has_errors() const { return !errors_.empty(); }
  const std::vector<Diagnostic>& errors() const { return errors_; }
  const std::vector<Diagnostic>& warnings() const { return warnings_; }
  const std::string& file() const { return file_; }

  // Moves the entries of another collection (same file) into this one.
  void merge(Diagnostics&& other);

  // One error carrying every diagnostic, one per line, kind kInvalidArgument.
  // REQUIRES: has_errors().
  util::Error to_error() const;

 private:
  std::string file_;
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> warnings_;
};

}  // namespace bonsai::dockerfile
