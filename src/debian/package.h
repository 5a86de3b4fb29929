// One binary package as a Packages index (or a .deb's control file) describes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "debian/control.h"

namespace bonsai::debian {

struct Package {
  std::string name;
  std::string version;       // as written: "1:2.36-9+deb12u4"
  std::string architecture;  // "amd64", "all"
  std::string multi_arch;    // "same", "foreign", "allowed" or empty
  bool essential = false;
  std::string priority;
  std::string section;
  std::string source;  // Source field, or the package name
  // Relationship fields exactly as written (parse with debian/relations.h).
  std::string depends, pre_depends, provides, conflicts, breaks, replaces;
  std::string filename;  // pool path relative to the mirror root
  uint64_t size = 0;
  std::string sha256;  // hex
  std::string suite;   // where it was found ("bookworm-security"), set by the index loader
  std::string mirror;  // mirror URL it was found on, set by the index loader
  // The other fields are not kept: the dpkg records bonsai writes come from the .deb's own
  // control file, and 63,000 index entries are loaded per suite.
};

// Builds a Package from a Packages paragraph. Missing Package/Version/Architecture is a kCorrupt
// error naming `source` and the paragraph's line; so is a Filename with "..", an absolute
// Filename, or a SHA256 that is not 64 hex digits (only when require_download is true).
Result<Package> package_from_paragraph(const Paragraph& p, std::string_view source,
                                       bool require_download);

}  // namespace bonsai::debian
