// Signed Release files: checking an InRelease (a clearsigned Release) the way apt does, and the
// fields of the Release bonsai uses to fetch indexes by hash.
//
// Trust comes from gpgv alone, run on the whole document with only the given keyrings; bonsai
// never parses a byte gpgv did not vouch for:
//   1. gpgv's --status-fd lines are judged per signature (NEWSIG starts one). A signature counts
//      only with GOODSIG and VALIDSIG for the same key, no EXPSIG/EXPKEYSIG/REVKEYSIG/ERRSIG,
//      a hash other than MD5/SHA-1/RIPEMD-160, and, when fingerprints are given, a signing or
//      primary key among them. A BADSIG anywhere rejects the document; other failed signatures
//      are ignored when one counts (as apt does: Debian signs with the keys of two releases and a
//      host may know only one). gpgv must also exit 0.
//   2. gpgv writes the text it verified (--output); bonsai also extracts it from the armor itself
//      (exactly one clearsigned message, nothing but whitespace around it, dash-escapes removed)
//      and requires both to be equal, so no text outside the signed part (the "garbage before
//      the armor" attacks on apt) can reach the Release parser.
//   3. The Release paragraph is then parsed; metadata past its Valid-Until is refused.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "debian/control.h"

namespace bonsai::debian {

inline constexpr std::string_view kDebianArchiveKeyring =
    "/usr/share/keyrings/debian-archive-keyring.gpg";

struct VerifyOptions {
  // Keyring files (binary OpenPGP keyrings, as /usr/share/keyrings/*.gpg) passed to gpgv.
  std::vector<std::string> keyrings = {std::string(kDebianArchiveKeyring)};
  // When non-empty, only signatures by these keys count: full fingerprints of the signing
  // (sub)key or its primary key, case and spaces ignored.
  std::vector<std::string> fingerprints;
  std::string gpgv = "gpgv";  // program to run (a path or a name in PATH)
  int timeout_seconds = 60;
};

struct SignedText {
  std::string text;                  // the signed text, as gpgv verified it
  std::vector<std::string> signers;  // primary-key fingerprints of the signatures that counted
};

// Verifies a clearsigned document with gpgv and returns its signed text. `source` names the
// document in errors (a URL or path). Fails with kCorrupt when the document is not one
// clearsigned message or no signature counts (the message says why for each signature: "key
// 6ED0E7B82643E131: no public key in the keyrings"), kNotFound when a keyring or gpgv is
// missing, kLimit when gpgv times out.
Result<SignedText> verify_clearsigned(std::string_view document, std::string_view source,
                                      const VerifyOptions& options = {});

// The signed text of a clearsigned document: armor stripped, dash-escapes removed, each line
// ending in '\n' (what gpgv --output writes). Checks only the structure, not the signature.
Result<std::string> clearsigned_text(std::string_view document, std::string_view source);

// The verdict on gpgv's --status-fd output, per the rules above. Exposed for tests.
struct SignatureVerdict {
  std::vector<std::string> good;      // primary-key fingerprints of the signatures that count
  std::vector<std::string> problems;  // one line per signature that did not count
  size_t missing_keys = 0;            // problems that are only "no public key in the keyrings"
  bool bad = false;                   // a BADSIG was seen
};
SignatureVerdict judge_gpg_status(std::string_view status,
                                  const std::vector<std::string>& fingerprints);

struct ReleaseFile {
  std::string path;  // relative to dists/<suite>/: "main/binary-amd64/Packages.xz"
  uint64_t size = 0;
  std::string sha256;  // lowercase hex
};

struct Release {
  std::string origin, label, suite, codename, version;
  std::optional<int64_t> date;         // Date, seconds since the epoch
  std::optional<int64_t> valid_until;  // Valid-Until, seconds since the epoch
  std::vector<std::string> architectures;
  std::vector<std::string> components;
  bool acquire_by_hash = false;
  std::map<std::string, ReleaseFile, std::less<>> files;  // the SHA256 list, by path

  const ReleaseFile* find(std::string_view path) const;
  // True when `name` is this Release's Suite or Codename ("bookworm", "oldstable").
  bool is_suite(std::string_view name) const;
};

struct ReleaseOptions {
  // Refuse metadata past its Valid-Until. Off for snapshot mirrors, whose security suites
  // expired long ago by design.
  bool check_valid_until = true;
  int64_t now = 0;  // seconds since the epoch; 0: the current time
};

// Parses a Release paragraph (the signed text of an InRelease). Fails with kCorrupt naming
// source and line for a malformed SHA256 line, a bad date, a missing SHA256 list, or expired
// metadata ("... expired on Sat, 11 Jul 2026 10:16:37 UTC").
Result<Release> parse_release(std::string_view text, std::string_view source,
                              const ReleaseOptions& options = {});

// verify_clearsigned, then parse_release of the signed text.
Result<Release> read_inrelease(std::string_view document, std::string_view source,
                               const VerifyOptions& verify = {},
                               const ReleaseOptions& options = {});

// An RFC 2822 date as Release files write it ("Sat, 11 Jul 2026 10:16:37 UTC"; zones UTC, GMT,
// Z or +hhmm/-hhmm), in seconds since the epoch.
Result<int64_t> parse_release_date(std::string_view text);

}  // namespace bonsai::debian
