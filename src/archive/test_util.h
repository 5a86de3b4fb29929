// Helpers shared by the archive module's tests (not part of the library).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "sys/fd.h"

namespace bonsai::archive::testing {

// Deterministic, compressible text (roughly 3:1 with gzip -6), like source files and binaries.
inline std::string compressible(size_t n, uint32_t seed = 1) {
  static const char* const kWords[] = {
      "static ", "int ", "return ", "const ", "void ",  "0x7f ", "struct ", "\n",      "{ ",
      "} ",      "if ",  "(x) ",    "for ",   "char* ", "; ",    "size_t ", "bonsai ", "layer "};
  std::string out;
  out.reserve(n + 16);
  uint32_t s = seed;
  while (out.size() < n) {
    s = s * 1664525u + 1013904223u;
    if ((s >> 28) == 0) {
      out.push_back(static_cast<char>(s >> 8));  // a sprinkle of noise
    } else {
      out += kWords[(s >> 16) % (sizeof kWords / sizeof kWords[0])];
    }
  }
  out.resize(n);
  return out;
}

// A scratch directory removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bonsai-archive-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs a shell command; returns its exit status and stdout.
inline std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline void write_file(const std::string& path, std::string_view data) {
  auto r = sys::write_file_atomic(path, data);
  if (!r) std::abort();
}

inline std::string read_file(const std::string& path) {
  auto r = sys::read_file(path, size_t{1} << 30);
  return r ? *r : std::string("<unreadable>");
}

}  // namespace bonsai::archive::testing
