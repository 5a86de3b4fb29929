// Debian package versions, "[epoch:]upstream[-revision]", parsed and ordered exactly as dpkg
// does (lib/dpkg/parsehelp.c parseversion, lib/dpkg/version.c dpkg_version_compare; Debian
// policy 5.6.12).
//
// Parsing. Blanks around the text are ignored; blanks inside are an error. Everything before the
// first ':' is the epoch, a decimal number up to INT_MAX (leading zeros allowed: "01:1" is epoch
// 1). Everything after the last '-' is the revision, which must then be non-empty. The upstream
// part must be non-empty and is made of ASCII letters, digits and ". + ~ - :" ('-' only appears
// when there is a revision, ':' only when there is an epoch, because of how the text is split);
// the revision of letters, digits and ". + ~". dpkg only warns about an upstream part that does
// not start with a digit ("a1", "~1") and compares it anyway; so do we (it is accepted). dpkg also
// only warns about other characters, but refuses them in packages it builds or installs; we
// refuse them always. dpkg lets strtol read the epoch, so it takes "+1:2" as epoch 1; we do not.
//
// Order. Epochs compare numerically; then the upstream parts, then the revisions, each with
// dpkg's verrevcmp: the strings are taken as alternating runs of non-digits and digits. Non-digit
// runs compare character by character where '~' sorts before everything, even the end of the
// run, then the end, then letters (by ASCII), then the other characters (by ASCII). Digit runs
// compare as numbers (so "1.0" = "1.00" and "01" = "1"). An absent revision equals "0", so
// "1.0" = "1.0-0", and a missing epoch is 0, so "0:1" = "1". Equal is therefore not the same as
// "written the same".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/error.h"

namespace bonsai::debian {

struct Version {
  uint32_t epoch = 0;
  std::string upstream;
  std::string revision;  // empty when the version has none

  // "epoch:upstream-revision", leaving out an empty revision and a zero epoch (unless the
  // upstream part has a colon, which needs the epoch to be read back). Parsing it gives
  // a version equal to this one (not necessarily written the same: "0:1" comes back as "1").
  std::string to_string() const;
};

// Parses `text` (see the rules above). On failure returns kInvalidArgument with a message that
// quotes the text and says what is wrong and where: `version "1:": nothing after the epoch`.
// Callers reading an index add their own context (file, package) and may turn it into kCorrupt.
util::Result<Version> parse_version(std::string_view text);

// dpkg's order: negative when a < b, zero when equal, positive when a > b (always -1, 0 or 1).
int compare_versions(const Version& a, const Version& b);

// The same on text. Well-formed versions compare exactly as parse_version + compare_versions.
// Malformed ones never fail here: they are split as leniently as dpkg splits them (epoch when
// the text before the first ':' is all digits, revision after the last '-') and compared by the
// same rules, so the order stays total and deterministic. Validate with parse_version where a
// malformed version should be an error.
int compare_versions(std::string_view a, std::string_view b);

}  // namespace bonsai::debian
