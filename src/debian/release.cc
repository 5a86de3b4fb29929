#include "debian/release.h"

#include <fmt/format.h>
#include <stdlib.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <ctime>

#include "sys/fd.h"
#include "sys/process.h"

namespace bonsai::debian {
namespace {

using util::ErrorKind;
using util::fail;

constexpr std::string_view kBeginSigned = "-----BEGIN PGP SIGNED MESSAGE-----";
constexpr std::string_view kBeginSignature = "-----BEGIN PGP SIGNATURE-----";
constexpr std::string_view kEndSignature = "-----END PGP SIGNATURE-----";

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// Splits text into lines without their '\n' (nor a '\r' before it).
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return lines;
}

std::string normalize_fingerprint(std::string_view f) {
  std::string out;
  for (char c : f) {
    if (c != ' ') out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// What gpg said about one signature (the status lines from one NEWSIG to the next).
struct SignatureStatus {
  std::string good_keyid;  // GOODSIG
  std::string valid_fpr;   // VALIDSIG: the signing key
  std::string primary_fpr;
  int hash_algo = 0;
  std::string keyid;                // any key id mentioned, for messages
  std::vector<std::string> faults;  // EXPSIG, EXPKEYSIG, REVKEYSIG, ERRSIG, NO_PUBKEY, BADSIG
};

// Only ERRSIG and NO_PUBKEY: the key is not in the keyrings.
bool missing_key(const SignatureStatus& s) {
  bool no_pubkey = false;
  for (const auto& f : s.faults) {
    if (f == "NO_PUBKEY")
      no_pubkey = true;
    else if (f != "ERRSIG")
      return false;
  }
  return no_pubkey;
}

std::string describe(const SignatureStatus& s) {
  std::string who = s.keyid.empty() ? "signature" : "key " + s.keyid;
  if (missing_key(s)) return who + ": no public key in the keyrings";
  std::string why;
  for (const auto& f : s.faults) {
    if (!why.empty()) why += ", ";
    if (f == "NO_PUBKEY")
      why += "no public key in the keyrings";
    else if (f == "EXPKEYSIG")
      why += "key expired";
    else if (f == "EXPSIG")
      why += "signature expired";
    else if (f == "REVKEYSIG")
      why += "key revoked";
    else if (f == "BADSIG")
      why += "BAD signature (the text was altered)";
    else if (f == "ERRSIG")
      why += "signature could not be checked";
    else
      why += f;
  }
  return who + ": " + why;
}

// Runs gpgv on the document with only the given keyrings, in an empty home directory of its
// own, its status lines on descriptor 3 and the signed text on stdout.
Result<sys::ProcessResult> run_gpgv(std::string_view document, std::string_view source,
                                    const VerifyOptions& options) {
  if (options.keyrings.empty())
    return fail(ErrorKind::kInvalidArgument, fmt::format("{}: no keyring to verify with", source));
  std::vector<std::string> argv = {options.gpgv, "--homedir", "", "--status-fd",
                                   "3",          "--output",  "-"};
  for (const auto& k : options.keyrings) {
    if (!sys::exists(k)) return fail(ErrorKind::kNotFound, fmt::format("keyring {}: not found", k));
    argv.push_back("--keyring");
    argv.push_back(k.find('/') == std::string::npos ? "./" + k : k);  // else gpgv looks in ~
  }
  argv.push_back("-");
  const char* tmp = getenv("TMPDIR");
  std::string home = std::string(tmp && *tmp ? tmp : "/tmp") + "/bonsai-gpgv-XXXXXX";
  if (!mkdtemp(home.data())) return util::sys_fail("mkdtemp " + home);
  argv[2] = home;
  auto run = sys::run_process({.argv = argv,
                               .env = std::vector<std::string>{"LC_ALL=C"},
                               .stdin_data = std::string(document),
                               .extra_output_fd = 3,
                               .timeout_seconds = options.timeout_seconds});
  (void)sys::remove_all(home);
  if (!run)
    return std::unexpected(std::move(run.error()).context(fmt::format("verify {}", source)));
  return run;
}

}  // namespace

SignatureVerdict judge_gpg_status(std::string_view status,
                                  const std::vector<std::string>& fingerprints) {
  std::vector<SignatureStatus> sigs;
  for (std::string_view line : split_lines(status)) {
    if (!line.starts_with("[GNUPG:] ")) continue;
    auto w = split_words(line.substr(9));
    if (w.empty()) continue;
    std::string_view kw = w[0];
    bool about_a_signature = kw == "GOODSIG" || kw == "VALIDSIG" || kw == "EXPSIG" ||
                             kw == "EXPKEYSIG" || kw == "REVKEYSIG" || kw == "BADSIG" ||
                             kw == "ERRSIG" || kw == "NO_PUBKEY";
    if (kw == "NEWSIG" || (about_a_signature && sigs.empty())) sigs.emplace_back();
    if (!about_a_signature) continue;
    SignatureStatus& s = sigs.back();
    if (kw == "GOODSIG" && w.size() >= 2) {
      s.good_keyid = s.keyid = std::string(w[1]);
    } else if (kw == "VALIDSIG" && w.size() >= 10) {
      s.valid_fpr = std::string(w[1]);
      s.primary_fpr = w.size() >= 11 ? std::string(w[10]) : s.valid_fpr;
      std::from_chars(w[8].data(), w[8].data() + w[8].size(), s.hash_algo);
    } else if (kw == "EXPSIG" || kw == "EXPKEYSIG" || kw == "REVKEYSIG" || kw == "BADSIG" ||
               kw == "ERRSIG" || kw == "NO_PUBKEY") {
      s.faults.emplace_back(kw);
      if (w.size() >= 2 && s.keyid.empty()) s.keyid = std::string(w[1]);
    }
  }

  std::vector<std::string> allowed;
  for (const auto& f : fingerprints) allowed.push_back(normalize_fingerprint(f));
  SignatureVerdict verdict;
  for (SignatureStatus& s : sigs) {
    if (std::find(s.faults.begin(), s.faults.end(), "BADSIG") != s.faults.end()) verdict.bad = true;
    if (s.faults.empty()) {
      // GOODSIG and VALIDSIG must both be there and name the same key (a v4 key id is the last
      // 16 hex digits of its fingerprint).
      if (s.good_keyid.empty() || s.valid_fpr.empty() || !is_hex(s.valid_fpr) ||
          !s.valid_fpr.ends_with(s.good_keyid))
        s.faults.emplace_back("no GOODSIG with a matching VALIDSIG");
      else if (s.hash_algo == 1 || s.hash_algo == 2 || s.hash_algo == 3)
        s.faults.emplace_back(
            fmt::format("weak digest algorithm {} (MD5, SHA-1 or RIPEMD-160)", s.hash_algo));
      else if (!allowed.empty() &&
               std::find(allowed.begin(), allowed.end(), s.valid_fpr) == allowed.end() &&
               std::find(allowed.begin(), allowed.end(), s.primary_fpr) == allowed.end())
        s.faults.emplace_back("key " + s.primary_fpr + " is not among the allowed fingerprints");
    }
    if (s.faults.empty()) {
      verdict.good.push_back(s.primary_fpr);
      continue;
    }
    verdict.problems.push_back(describe(s));
    if (missing_key(s)) ++verdict.missing_keys;
  }
  return verdict;
}

Result<std::string> clearsigned_text(std::string_view document, std::string_view source) {
  auto corrupt = [&](size_t line, std::string_view what) {
    return fail(ErrorKind::kCorrupt,
                fmt::format("{}: line {}: not a clearsigned message: {}", source, line + 1, what));
  };
  auto lines = split_lines(document);
  size_t i = 0;
  while (i < lines.size() && trim(lines[i]).empty()) ++i;
  if (i == lines.size() || lines[i] != kBeginSigned)
    return corrupt(i, fmt::format("expected \"{}\"", kBeginSigned));
  // Armor headers: only "Hash:" is allowed in a clearsigned message (RFC 4880 7), up to a blank.
  for (++i; i < lines.size() && !trim(lines[i]).empty(); ++i) {
    if (!lines[i].starts_with("Hash: ")) return corrupt(i, "unexpected armor header");
  }
  if (i == lines.size()) return corrupt(i, "no blank line after the armor headers");
  std::string text;
  for (++i; i < lines.size() && lines[i] != kBeginSignature; ++i) {
    std::string_view line = lines[i];
    if (line.starts_with("- "))
      line.remove_prefix(2);
    else if (line.starts_with("-"))
      return corrupt(i, "a line starting with '-' that is not dash-escaped");
    // Trailing whitespace is not signed (RFC 4880 7.1); gpg drops it from its output too.
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    text.append(line);
    text += '\n';
  }
  if (i == lines.size()) return corrupt(i, fmt::format("no \"{}\"", kBeginSignature));
  while (i < lines.size() && lines[i] != kEndSignature) ++i;
  if (i == lines.size()) return corrupt(i, fmt::format("no \"{}\"", kEndSignature));
  for (++i; i < lines.size(); ++i) {
    if (!trim(lines[i]).empty()) return corrupt(i, "text after the signature");
  }
  return text;
}

Result<SignedText> verify_clearsigned(std::string_view document, std::string_view source,
                                      const VerifyOptions& options) {
  // 1. Structure first: a document that is not one clearsigned message never reaches gpgv.
  std::string text = TRY(clearsigned_text(document, source));

  // 2. gpgv with only our keyrings.
  sys::ProcessResult run = TRY(run_gpgv(document, source, options));

  // 3. The verdict comes from the status lines; the exit code may only confirm it.
  SignatureVerdict verdict = judge_gpg_status(run.extra_output, options.fingerprints);
  std::string why = fmt::format("{}", fmt::join(verdict.problems, "; "));
  if (verdict.bad)
    return fail(ErrorKind::kCorrupt, fmt::format("{}: bad signature: {}", source, why));
  if (verdict.good.empty()) {
    if (why.empty()) why = "gpgv: " + std::string(trim(run.stderr_data));
    return fail(ErrorKind::kCorrupt, fmt::format("{}: no good signature from a key in {}: {}",
                                                 source, fmt::join(options.keyrings, ", "), why));
  }
  // gpgv exits 2 when some signature's key is unknown even if another one is good.
  bool only_missing_keys = verdict.problems.size() == verdict.missing_keys;
  if (!run.succeeded() && !(run.exit_code == 2 && only_missing_keys))
    return fail(ErrorKind::kCorrupt,
                fmt::format("{}: gpgv exited with status {} despite a good signature: {}", source,
                            run.exit_code, trim(run.stderr_data)));

  // 4. The text we parse is the text gpgv verified.
  if (run.stdout_data != text)
    return fail(ErrorKind::kCorrupt,
                fmt::format("{}: the signed text gpgv verified differs from the text between the "
                            "armor lines ({} and {} bytes)",
                            source, run.stdout_data.size(), text.size()));
  return SignedText{std::move(run.stdout_data), std::move(verdict.good)};
}

// Release files ------------------------------------------------------------------------------

Result<int64_t> parse_release_date(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorKind::kCorrupt, fmt::format("bad date \"{}\": {}", text, why));
  };
  auto number = [](std::string_view s, size_t min_digits, size_t max_digits) -> std::optional<int> {
    int v = 0;
    if (s.size() < min_digits || s.size() > max_digits) return std::nullopt;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
  };
  // [Day,] DD Mon YYYY HH:MM:SS ZONE
  auto w = split_words(text);
  size_t i = !w.empty() && w[0].ends_with(',') ? 1 : 0;
  if (w.size() != i + 5) return bad("expected \"Sat, 11 Jul 2026 10:16:37 UTC\"");
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto month = std::find(std::begin(kMonths), std::end(kMonths), w[i + 1]);
  auto day = number(w[i], 1, 2);
  auto year = number(w[i + 2], 4, 4);
  if (month == std::end(kMonths) || !day || !year) return bad("bad day, month or year");
  std::chrono::year_month_day ymd{std::chrono::year(*year),
                                  std::chrono::month(static_cast<unsigned>(month - kMonths) + 1),
                                  std::chrono::day(static_cast<unsigned>(*day))};
  if (!ymd.ok()) return bad("no such day");
  std::string_view hms = w[i + 3];
  if (hms.size() != 8 || hms[2] != ':' || hms[5] != ':') return bad("bad time");
  auto hh = number(hms.substr(0, 2), 2, 2), mm = number(hms.substr(3, 2), 2, 2),
       ss = number(hms.substr(6, 2), 2, 2);
  if (!hh || !mm || !ss || *hh > 23 || *mm > 59 || *ss > 60) return bad("bad time");
  std::string_view zone = w[i + 4];
  int64_t offset = 0;
  if (zone == "UTC" || zone == "GMT" || zone == "Z" || zone == "UT") {
    offset = 0;
  } else if (zone.size() == 5 && (zone[0] == '+' || zone[0] == '-')) {
    auto zh = number(zone.substr(1, 2), 2, 2), zm = number(zone.substr(3, 2), 2, 2);
    if (!zh || !zm || *zm > 59) return bad("bad time zone");
    offset = (zone[0] == '-' ? -1 : 1) * (*zh * 3600 + *zm * 60);
  } else {
    return bad("bad time zone");
  }
  int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return days * 86400 + *hh * 3600 + *mm * 60 + *ss - offset;
}

namespace {

const Field* find_field(const Paragraph& p, std::string_view name) {
  for (const Field& f : p.fields) {
    if (f.name.size() == name.size() && strncasecmp(f.name.data(), name.data(), name.size()) == 0)
      return &f;
  }
  return nullptr;
}

Result<std::optional<int64_t>> date_field(const Paragraph& p, std::string_view name,
                                          std::string_view source) {
  const Field* f = find_field(p, name);
  if (!f) return std::optional<int64_t>();
  return TRY_CTX(parse_release_date(f->value),
                 fmt::format("{}: line {}: {}", source, f->line, name));
}

// " <sha256> <size> <path>" lines, one per file.
Status parse_sha256_list(const Field& field, std::string_view source, Release& out) {
  int line = field.line;
  for (std::string_view l : split_lines(field.value)) {
    int at = line++;
    if (trim(l).empty()) continue;
    auto w = split_words(l);
    uint64_t size = 0;
    bool size_ok =
        w.size() == 3 && std::from_chars(w[1].data(), w[1].data() + w[1].size(), size).ptr ==
                             w[1].data() + w[1].size();
    if (w.size() != 3 || w[0].size() != 64 || !is_hex(w[0]) || !size_ok)
      return fail(ErrorKind::kCorrupt,
                  fmt::format("{}: line {}: expected \"<sha256> <size> <path>\" in SHA256, got {}",
                              source, at, trim(l).substr(0, 120)));
    ReleaseFile f{std::string(w[2]), size, std::string(w[0])};
    std::transform(f.sha256.begin(), f.sha256.end(), f.sha256.begin(),
                   [](char c) { return static_cast<char>(std::tolower(c)); });
    if (!out.files.emplace(f.path, f).second)
      return fail(ErrorKind::kCorrupt,
                  fmt::format("{}: line {}: {} listed twice in SHA256", source, at, f.path));
  }
  return {};
}

}  // namespace

const ReleaseFile* Release::find(std::string_view path) const {
  auto it = files.find(path);
  return it == files.end() ? nullptr : &it->second;
}

bool Release::is_suite(std::string_view name) const {
  return !name.empty() && (name == suite || name == codename);
}

Result<Release> parse_release(std::string_view text, std::string_view source,
                              const ReleaseOptions& options) {
  auto paragraphs = TRY(parse_control(text, source));
  if (paragraphs.size() != 1)
    return fail(ErrorKind::kCorrupt, fmt::format("{}: expected one Release paragraph, found {}",
                                                 source, paragraphs.size()));
  const Paragraph& p = paragraphs[0];
  Release r;
  r.origin = p.get_or("Origin");
  r.label = p.get_or("Label");
  r.suite = p.get_or("Suite");
  r.codename = p.get_or("Codename");
  r.version = p.get_or("Version");
  r.date = TRY(date_field(p, "Date", source));
  r.valid_until = TRY(date_field(p, "Valid-Until", source));
  // The field values are named: split_words returns views into them.
  std::string architectures = p.get_or("Architectures"), components = p.get_or("Components");
  for (auto w : split_words(architectures)) r.architectures.emplace_back(w);
  for (auto w : split_words(components)) r.components.emplace_back(w);
  r.acquire_by_hash = strcasecmp(p.get_or("Acquire-By-Hash").c_str(), "yes") == 0;
  const Field* sha = find_field(p, "SHA256");
  if (!sha)
    return fail(ErrorKind::kCorrupt,
                fmt::format("{}: no SHA256 file list (MD5Sum and SHA1 are not trusted)", source));
  TRY(parse_sha256_list(*sha, source, r));

  // Expired metadata could be an old, validly signed Release replayed by a mirror or attacker.
  if (options.check_valid_until && r.valid_until) {
    int64_t now = options.now != 0 ? options.now : static_cast<int64_t>(std::time(nullptr));
    if (now > *r.valid_until)
      return fail(ErrorKind::kCorrupt,
                  fmt::format("{}: expired on {} (Valid-Until); a snapshot mirror needs the "
                              "Valid-Until check turned off",
                              source, p.get_or("Valid-Until")));
  }
  return r;
}

Result<Release> read_inrelease(std::string_view document, std::string_view source,
                               const VerifyOptions& verify, const ReleaseOptions& options) {
  SignedText signed_text = TRY(verify_clearsigned(document, source, verify));
  return parse_release(signed_text.text, source, options);
}

}  // namespace bonsai::debian
