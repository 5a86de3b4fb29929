// The host's apt sources, read to choose the mirrors bonsai fetches Debian packages from: a host
// set up for a local or snapshot mirror keeps using it. Both forms apt reads are supported:
// one-line entries (/etc/apt/sources.list, sources.list.d/*.list; sources.list(5)) and deb822
// stanzas (sources.list.d/*.sources).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace bonsai::debian {

using util::Result;

struct SourceEntry {
  std::vector<std::string> types;  // "deb", "deb-src"
  std::vector<std::string> uris;   // as written, without a trailing '/'
  std::vector<std::string> suites;
  std::vector<std::string> components;
  std::vector<std::string> architectures;
  std::vector<std::string> signed_by;  // keyring paths or key fingerprints
  std::string signed_by_key;           // an armored public key given inline in Signed-By
  bool enabled = true;                 // Enabled: no turns a deb822 stanza off
  std::string origin;                  // "file:line", for messages
};

// One-line form: "deb [arch=amd64 signed-by=/k.gpg] http://deb.debian.org/debian bookworm main".
// '#' starts a comment. An unknown type, a missing URI or suite, an unclosed '[' or components
// after an exact suite path ("stable/") are kCorrupt errors naming source and line.
Result<std::vector<SourceEntry>> parse_one_line_sources(std::string_view text,
                                                        std::string_view source);

// deb822 form. Types, URIs and Suites are required, and Components unless the suite is an exact
// path; a missing one is a kCorrupt error naming source and the stanza's line.
Result<std::vector<SourceEntry>> parse_deb822_sources(std::string_view text,
                                                      std::string_view source);

// Reads <etc_apt>/sources.list, then <etc_apt>/sources.list.d/*.list and *.sources in name order
// (other names are ignored, as apt does). Missing files or directories are no error.
Result<std::vector<SourceEntry>> read_host_sources(const std::string& etc_apt = "/etc/apt");

struct Mirror {
  std::string uri;  // without a trailing '/'
  std::vector<std::string> suites;
  std::vector<std::string> components;
  std::vector<std::string> signed_by;
  std::string origin;
};

// The Debian archive mirror among enabled "deb" entries with a "main" component: preferably one
// listing `suite` whose URI path ends in /debian, else one listing `suite`, else one whose URI
// path ends in /debian; the first in file order among equals. Nullopt when there is none.
std::optional<Mirror> debian_mirror(const std::vector<SourceEntry>& entries,
                                    std::string_view suite = "bookworm");

// The security mirror: an enabled "deb" entry listing "<suite>-security", else any suite ending
// in "-security".
std::optional<Mirror> security_mirror(const std::vector<SourceEntry>& entries,
                                      std::string_view suite = "bookworm");

}  // namespace bonsai::debian
