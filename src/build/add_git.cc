// ADD <git ref>: BuildKit's git source syntax, the ref resolved with `git ls-remote`, then a
// shallow fetch of that one commit and a checkout, all by the host's git run through
// sys::run_process (argv, no shell) in a clean environment.
//
// Resolving follows BuildKit (source/git): `ls-remote <remote> <ref> <ref>^{}` lists the
// candidates, and the exact full name wins, then the branch, then the tag, peeled when annotated;
// no ref means the remote's HEAD (`ls-remote --symref`). Fetching asks for the commit by name,
// which protocol v2 servers allow, so the checkout is exactly the commit in the cache key even if
// the branch moves meanwhile; a server that refuses unadvertised objects gets the ref instead,
// which must still name that commit. Transports without shallow fetches (dumb HTTP) are retried
// in full, for the repository and for submodules.
//
// Nothing from the command line reaches git as an option: hosts and users beginning with '-'
// are refused, the remote follows "--", and refs are checked against git's ref-name rules
// (no leading '-', no pattern or refspec characters) before they are used.
#include "build/add_git.h"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <map>
#include <vector>

#include "sys/fd.h"
#include "sys/process.h"
#include "sys/root_fs.h"

namespace bonsai::build {

using util::ErrorKind;
using util::fail;
using util::Result;
using util::Status;

namespace {

constexpr int kResolveTimeoutSeconds = 300;
constexpr int kFetchTimeoutSeconds = 3600;

// ---- Parsing -------------------------------------------------------------------------------

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c));
  });
}

bool is_commit_name(std::string_view s) { return (s.size() == 40 || s.size() == 64) && is_hex(s); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A source split as BuildKit splits it (gitutil.ParseURL), nothing decoded yet.
struct RawSource {
  std::string scheme;  // lowercase; "" for the scp-like form
  std::string user, host, path;
  std::string remote;   // the source before its query and fragment
  std::string display;  // the source with a URL password replaced by "xxxxx"
  std::optional<std::string> query, fragment;
};

bool user_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}
bool host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
}

// "scheme://authority/path" with a scheme BuildKit fetches from git; http(s) paths must end in
// ".git". Fills user, host and path.
bool split_url(std::string_view base, RawSource& s) {
  size_t n = 0;
  while (n < base.size() && std::isalnum(static_cast<unsigned char>(base[n]))) ++n;
  if (n == 0 || !base.substr(n).starts_with("://")) return false;
  std::string scheme = lower(base.substr(0, n));
  bool http = scheme == "http" || scheme == "https";
  if (!http && scheme != "git" && scheme != "ssh") return false;
  std::string_view rest = base.substr(n + 3);
  size_t slash = rest.find('/');
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (http && !path.ends_with(".git")) return false;
  std::string_view authority = rest.substr(0, slash);
  size_t at = authority.rfind('@');
  s.scheme = scheme;
  s.path = std::string(path);
  s.user = at == std::string_view::npos ? "" : std::string(authority.substr(0, at));
  s.host = std::string(authority.substr(at == std::string_view::npos ? 0 : at + 1));
  if (size_t colon = s.user.find(':'); colon != std::string::npos)
    s.display = std::string(base.substr(0, n + 3)) + s.user.substr(0, colon) + ":xxxxx" +
                std::string(rest.substr(at)) + s.display.substr(s.remote.size());
  return true;
}

// "user@host:path" (sshutil.ParseSCPStyleURL: the user is required).
bool split_scp(std::string_view base, RawSource& s) {
  size_t at = 0;
  while (at < base.size() && user_char(base[at])) ++at;
  if (at == 0 || at == base.size() || base[at] != '@') return false;
  size_t colon = at + 1;
  while (colon < base.size() && host_char(base[colon])) ++colon;
  if (colon == at + 1 || colon == base.size() || base[colon] != ':') return false;
  s.user = std::string(base.substr(0, at));
  s.host = std::string(base.substr(at + 1, colon - at - 1));
  s.path = std::string(base.substr(colon + 1));
  return true;
}

std::optional<RawSource> split_source(std::string_view source) {
  // As Go's net/url: the fragment is all after the first '#', the query lies between the first
  // '?' before it and the '#'.
  RawSource s;
  std::string_view base = source;
  if (size_t hash = base.find('#'); hash != std::string_view::npos) {
    s.fragment = std::string(base.substr(hash + 1));
    base = base.substr(0, hash);
  }
  if (size_t q = base.find('?'); q != std::string_view::npos) {
    s.query = std::string(base.substr(q + 1));
    base = base.substr(0, q);
  }
  s.remote = std::string(base);
  s.display = std::string(source);
  if (split_url(base, s) || split_scp(base, s)) return s;
  return std::nullopt;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else if (s[i] != '%') {
      out += s[i];
    } else if (i + 2 < s.size() && is_hex(s.substr(i + 1, 2))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<bool> parse_bool(std::string_view v) {  // Go's strconv.ParseBool
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"})
    if (v == t) return true;
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"})
    if (v == f) return false;
  return std::nullopt;
}

// Why git would not take ref as a ref name (git check-ref-format), or "".
std::string ref_problem(std::string_view ref) {
  if (ref.starts_with('-')) return "a ref must not begin with '-'";
  for (char c : ref)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || std::strchr(" ~^:?*[\\", c))
      return "a ref must not contain spaces, control characters or any of ~^:?*[\\";
  if (ref.find("..") != std::string_view::npos || ref.find("@{") != std::string_view::npos ||
      ref == "@" || ref.starts_with('/') || ref.ends_with('/') || ref.ends_with('.') ||
      ref.ends_with(".lock") || ref.find("//") != std::string_view::npos || ref.starts_with('.') ||
      ref.find("/.") != std::string_view::npos)
    return "not a valid git ref name";
  return "";
}

Result<std::string> clean_subdir(std::string_view subdir, const std::string& what) {
  std::string out;
  size_t start = 0;
  while (start <= subdir.size()) {
    size_t end = std::min(subdir.find('/', start), subdir.size());
    std::string_view part = subdir.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return fail(ErrorKind::kInvalidArgument,
                  what + ": subdir \"" + std::string(subdir) + "\" must not contain \"..\"");
    out += (out.empty() ? "" : "/") + std::string(part);
  }
  return out;
}

// The query's keys and values, decoded as Go's url.ParseQuery decodes them.
Result<std::map<std::string, std::vector<std::string>>> parse_query(std::string_view query,
                                                                    const std::string& what) {
  std::map<std::string, std::vector<std::string>> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = std::min(query.find('&', start), query.size());
    std::string_view pair = query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    if (pair.find(';') != std::string_view::npos)
      return fail(ErrorKind::kInvalidArgument, what + ": invalid ';' in the query");
    size_t eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value)
      return fail(ErrorKind::kInvalidArgument, what + ": invalid %-escape in the query");
    out[*key].push_back(*value);
  }
  return out;
}

// BuildKit's query keys (dfgitutil.GitRef.loadQuery), applied over what the fragment said.
Status apply_query(GitSource& g, std::string& subdir, std::string_view query,
                   const std::string& what) {
  auto bad = [&](const std::string& message) {
    return fail(ErrorKind::kInvalidArgument, what + ": " + message);
  };
  auto conflict = [&](std::string_view key, const std::string& a, const std::string& b) {
    return bad(std::string(key) + " conflicts: \"" + a + "\" vs \"" + b + "\"");
  };
  std::string tag, branch;
  for (const auto& [key, values] : TRY(parse_query(query, what))) {
    const std::string& v = values.front();
    bool is_flag = key == "keep-git-dir" || key == "submodules";
    if (values.size() > 1) return bad("query \"" + key + "\" has multiple values");
    if (v.empty() && !is_flag) return bad("query \"" + key + "\" has no value");
    if (key == "ref") {
      if (!g.ref.empty() && g.ref != v) return conflict("ref", g.ref, v);
      g.ref = v;
    } else if (key == "tag") {
      tag = v.starts_with("refs/tags/") ? v : "refs/tags/" + v;
    } else if (key == "branch") {
      branch = v.starts_with("refs/heads/") ? v : "refs/heads/" + v;
    } else if (key == "subdir") {
      if (!subdir.empty() && subdir != v) return conflict("subdir", subdir, v);
      subdir = v;
    } else if (key == "checksum" || key == "commit") {
      if (!g.checksum.empty() && g.checksum != v) return conflict("checksum", g.checksum, v);
      g.checksum = v;
    } else if (is_flag) {
      auto b = v.empty() ? std::optional<bool>(true) : parse_bool(v);
      if (!b) return bad("invalid " + key + " value \"" + v + "\"");
      if (key == "keep-git-dir") g.keep_git_dir = *b;
      if (key == "submodules") g.submodules = *b;
    } else {
      return bad("unexpected query \"" + key + "\"");
    }
  }
  if (!tag.empty() && !branch.empty()) return bad("branch conflicts with tag");
  for (const std::string& named : {tag, branch}) {
    if (named.empty()) continue;
    if (!g.ref.empty() && g.ref != named) return conflict("ref", g.ref, named);
    g.ref = named;
  }
  if (!g.checksum.empty() && g.ref.empty()) g.ref = g.checksum;
  return {};
}

// ---- Running git ---------------------------------------------------------------------------

// The environment git runs in: nothing of the user's configuration, no prompts, the transports
// BuildKit fetches from (which also bounds what a hostile .gitmodules can name), and the proxy
// and CA settings a network needs.
std::vector<std::string> git_environment(const std::string& home) {
  const char* path = std::getenv("PATH");
  std::vector<std::string> env = {
      "HOME=" + home,
      "PATH=" + std::string(path ? path : "/usr/local/bin:/usr/bin:/bin"),
      "GIT_CONFIG_NOSYSTEM=1",
      "GIT_CONFIG_GLOBAL=/dev/null",
      "GIT_ATTR_NOSYSTEM=1",
      "GIT_TERMINAL_PROMPT=0",
      "GIT_ALLOW_PROTOCOL=http:https:git:ssh",
      "GIT_SSH_COMMAND=ssh -o BatchMode=yes",
      "LC_ALL=C",
  };
  for (const char* name : {"http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY",
                           "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR",
                           "GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "CURL_CA_BUNDLE"})
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  return env;
}

// The last line git wrote to stderr that says what went wrong: empty lines and the advice git
// adds after any transport failure ("fatal: Could not read from remote repository." and "Please
// make sure you have the correct access rights / and the repository exists.") are skipped, so
// that ssh's own message ("Host key verification failed.") is what the user sees.
std::string last_line(const sys::ProcessResult& r) {
  std::string_view err = r.stderr_data;
  while (!err.empty()) {
    size_t nl = err.find_last_of('\n');
    std::string_view line = nl == std::string_view::npos ? err : err.substr(nl + 1);
    err = nl == std::string_view::npos ? "" : err.substr(0, nl);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
      line.remove_suffix(1);
    if (line.empty() || line == "fatal: Could not read from remote repository." ||
        line == "and the repository exists." ||
        line == "Please make sure you have the correct access rights")
      continue;
    return std::string(line);
  }
  return r.signal ? "killed by signal " + std::to_string(r.signal)
                  : "exit status " + std::to_string(r.exit_code);
}

bool shallow_unsupported(const sys::ProcessResult& r) {
  return !r.succeeded() && r.stderr_data.find("shallow") != std::string::npos;
}

class GitRunner {
 public:
  // repo: the work tree git runs in (-C), or "" for commands that need none.
  GitRunner(std::string what, const std::string& home, std::string repo)
      : what_(std::move(what)), env_(git_environment(home)), repo_(std::move(repo)) {}

  const std::string& what() const { return what_; }

  // Runs git; a git that ran and failed is a result, not an error.
  Result<sys::ProcessResult> attempt(const std::vector<std::string>& args,
                                     int timeout = kFetchTimeoutSeconds) const {
    sys::ProcessRequest req;
    req.argv = {"git", "-c", "protocol.version=2", "-c", "init.defaultBranch=main"};
    if (!repo_.empty()) req.argv.insert(req.argv.end(), {"-C", repo_});
    req.argv.insert(req.argv.end(), args.begin(), args.end());
    req.env = env_;
    req.timeout_seconds = timeout;
    auto r = sys::run_process(req);
    if (!r && r.error().kind() == ErrorKind::kNotFound)
      return fail(ErrorKind::kNotFound,
                  what_ + ": git is not installed on the host (ADD of a git repository runs it)");
    if (!r) return std::unexpected(std::move(r).error().context(what_));
    return r;
  }

  // Runs git and returns its stdout; a failure is an error with git's last message.
  Result<std::string> run(const std::vector<std::string>& args,
                          int timeout = kFetchTimeoutSeconds) const {
    sys::ProcessResult r = TRY(attempt(args, timeout));
    if (!r.succeeded()) return failure(args.front(), r);
    return std::move(r.stdout_data);
  }

  std::unexpected<util::Error> failure(std::string_view verb, const sys::ProcessResult& r) const {
    return fail(ErrorKind::kIo, what_ + ": git " + std::string(verb) + " failed: " + last_line(r));
  }

  // args with "--depth 1" after its first `depth_at` words; without it again when the transport
  // cannot fetch shallow.
  Result<sys::ProcessResult> shallow_or_full(std::vector<std::string> args, size_t depth_at) const {
    std::vector<std::string> shallow = args;
    shallow.insert(shallow.begin() + static_cast<ptrdiff_t>(depth_at), {"--depth", "1"});
    sys::ProcessResult r = TRY(attempt(shallow));
    if (shallow_unsupported(r)) r = TRY(attempt(args));
    return r;
  }

 private:
  std::string what_;
  std::vector<std::string> env_;
  std::string repo_;
};

// A directory made with mkdtemp under parent, removed with this object unless kept.
class ScratchDir {
 public:
  static Result<ScratchDir> make(const std::string& parent, const std::string& what) {
    std::string tmpl = parent + "/git-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return util::sys_fail(what + ": mkdtemp " + tmpl);
    return ScratchDir(std::move(tmpl));
  }
  ScratchDir(ScratchDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  void keep() { path_.clear(); }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// ---- Resolving -----------------------------------------------------------------------------

std::string trim_prefix(std::string_view s, std::string_view prefix) {
  return std::string(s.starts_with(prefix) ? s.substr(prefix.size()) : s);
}

// "<name>\t<sha>" lines of ls-remote, by name; "ref: <target>\t<name>" lines (--symref) under
// "ref: <name>".
std::map<std::string, std::string> parse_ls_remote(std::string_view out) {
  std::map<std::string, std::string> refs;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = std::min(out.find('\n', start), out.size());
    std::string_view line = out.substr(start, end - start);
    start = end + 1;
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos) continue;
    std::string value(line.substr(0, tab)), name(line.substr(tab + 1));
    if (value.starts_with("ref: "))
      refs["ref: " + name] = value.substr(5);
    else
      refs[name] = lower(value);
  }
  return refs;
}

// The revision ls-remote's listing gives the ref, as BuildKit picks it; tag_object is set for
// an annotated tag. nullopt when the remote has no such ref.
std::optional<GitRevision> pick_revision(const std::map<std::string, std::string>& refs,
                                         const std::string& ref, std::string& tag_object) {
  std::string partial = "refs/" + trim_prefix(ref, "refs/");
  std::string head = "refs/heads/" + trim_prefix(ref, "refs/heads/");
  std::string tag = "refs/tags/" + trim_prefix(ref, "refs/tags/");
  std::vector<std::string> candidates = {head, tag};
  if (partial != head && partial != tag) candidates.insert(candidates.begin(), partial);
  for (const std::string& name : candidates) {
    auto it = refs.find(name);
    if (it == refs.end()) continue;
    auto peeled = refs.find(name + "^{}");
    if (peeled == refs.end()) return GitRevision{it->second, name};
    tag_object = it->second;
    return GitRevision{peeled->second, name};
  }
  return std::nullopt;
}

Status check_checksum(const GitSource& s, const GitRevision& rev, const std::string& tag_object,
                      const std::string& what) {
  if (s.checksum.empty() || rev.commit.starts_with(s.checksum) ||
      (!tag_object.empty() && tag_object.starts_with(s.checksum)))
    return {};
  return fail(ErrorKind::kCorrupt, what + ": expected checksum to match " + s.checksum + ", got " +
                                       rev.commit +
                                       (tag_object.empty() ? "" : " or " + tag_object));
}

// ---- Fetching ------------------------------------------------------------------------------

// Fetches the commit by its name; from a server that serves only advertised refs, the ref, which
// must still name the commit.
Status fetch_commit(const GitRunner& git, const GitRevision& rev) {
  const std::vector<std::string> fetch = {"fetch", "-q", "--no-tags", "--", "origin"};
  auto with = [&](const std::string& what) {
    std::vector<std::string> args = fetch;
    args.push_back(what);
    return args;
  };
  sys::ProcessResult r = TRY(git.shallow_or_full(with(rev.commit), 3));
  if (r.succeeded()) return {};
  if (rev.ref.empty()) return git.failure("fetch", r);
  r = TRY(git.shallow_or_full(with(rev.ref), 3));
  if (!r.succeeded()) return git.failure("fetch", r);
  std::string got = TRY(git.run({"rev-parse", "--verify", "-q", "FETCH_HEAD^{commit}"}));
  while (!got.empty() && std::isspace(static_cast<unsigned char>(got.back()))) got.pop_back();
  if (got != rev.commit)
    return fail(ErrorKind::kConflict, git.what() + ": " + rev.ref + " moved from " + rev.commit +
                                          " to " + got + " while it was fetched; build again");
  return {};
}

// Makes the kept .git look like BuildKit's: the ref at the commit, no reflog, no FETCH_HEAD.
Status tidy_kept_git_dir(const GitRunner& git, const GitRevision& rev, const std::string& tree) {
  if (!rev.ref.empty()) TRY(git.run({"update-ref", rev.ref, rev.commit}));
  TRY(git.run({"reflog", "expire", "--all", "--expire=now"}));
  std::error_code ignored;
  std::filesystem::remove(tree + "/.git/FETCH_HEAD", ignored);
  return {};
}

// The subdir must be a directory of the commit reached through directories only: a symlink
// would make the caller's root somewhere else on the host.
Status check_subdir(util::TreeFs& tree, const std::string& subdir, const std::string& what) {
  std::string at;
  size_t start = 0;
  while (start < subdir.size()) {
    size_t end = std::min(subdir.find('/', start), subdir.size());
    at = subdir.substr(0, end);
    start = end + 1;
    auto info = TRY(tree.lstat(at));
    if (!info)
      return fail(ErrorKind::kNotFound,
                  what + ": subdir \"" + subdir + "\": no " + at + " in the repository");
    if (info->type != util::FileType::kDirectory)
      return fail(ErrorKind::kInvalidArgument,
                  what + ": subdir \"" + subdir + "\": " + at + " is a " +
                      std::string(util::file_type_name(info->type)) + ", not a directory");
  }
  return {};
}

// Modes as a checkout with umask 022 leaves them (BuildKit's): directories 0755, files 0755 when
// git has them executable, else 0644, whatever bonsai's umask is. Every .git (the repository's,
// and a submodule's pointer file) goes unless kept; git never checks out a file named .git.
Status settle_tree(util::TreeFs& tree, bool keep_git_dir) {
  TRY(tree.set_mode("", 0755));
  std::vector<std::string> dirs = {""};
  while (!dirs.empty()) {
    std::string dir = std::move(dirs.back());
    dirs.pop_back();
    for (const auto& e : TRY(tree.list_info(dir))) {
      std::string path = dir.empty() ? e.name : dir + "/" + e.name;
      if (e.name == ".git") {
        if (!keep_git_dir) TRY(tree.remove_all(path));
      } else if (e.info.type == util::FileType::kDirectory) {
        TRY(tree.set_mode(path, 0755));
        dirs.push_back(path);
      } else if (e.info.type == util::FileType::kRegular) {
        TRY(tree.set_mode(path, (e.info.mode & 0111) ? 0755 : 0644));
      }
    }
  }
  return {};
}

}  // namespace

// ---- The API -------------------------------------------------------------------------------

bool is_git_source(std::string_view source) { return split_source(source).has_value(); }

Result<GitSource> parse_git_source(std::string_view source) {
  auto raw = split_source(source);
  if (!raw)
    return fail(ErrorKind::kInvalidArgument,
                "ADD " + std::string(source) + ": not a git repository URL");
  GitSource g;
  g.display = raw->display;
  g.remote = raw->remote;
  const std::string what = "ADD " + g.display;
  auto bad = [&](const std::string& message) {
    return fail(ErrorKind::kInvalidArgument, what + ": " + message);
  };
  if (raw->host.empty()) return bad("no host");
  if (raw->host.starts_with('-') || raw->user.starts_with('-'))
    return bad("a host or user beginning with '-' is not allowed");

  // 1. The fragment, <ref>[:<subdir>]; URL fragments are %-decoded, scp-like ones are not.
  std::string subdir;
  if (raw->fragment) {
    auto fragment = raw->scheme.empty() ? raw->fragment : percent_decode(*raw->fragment, false);
    if (!fragment) return bad("invalid %-escape in the fragment");
    size_t colon = fragment->find(':');
    g.ref = fragment->substr(0, colon);
    if (colon != std::string::npos) subdir = fragment->substr(colon + 1);
  }

  // 2. The query, which may repeat the fragment but not contradict it.
  if (raw->query) TRY(apply_query(g, subdir, *raw->query, what));

  // 3. What git will be given.
  if (!g.ref.empty())
    if (std::string problem = ref_problem(g.ref); !problem.empty())
      return bad("invalid ref \"" + g.ref + "\": " + problem);
  if (is_commit_name(g.ref)) g.ref = lower(g.ref);
  if (!g.checksum.empty() && (!is_hex(g.checksum) || g.checksum.size() > 64))
    return bad("invalid checksum \"" + g.checksum + "\": expected a hex commit name");
  g.checksum = lower(g.checksum);
  g.subdir = TRY(clean_subdir(subdir, what));
  return g;
}

Status apply_add_flags(GitSource& source, std::string_view checksum, bool keep_git_dir) {
  const std::string what = "ADD " + source.display;
  if (!checksum.empty()) {
    std::string sum = lower(checksum);
    if (!is_hex(sum) || sum.size() > 64)
      return fail(ErrorKind::kInvalidArgument,
                  what + ": --checksum=" + std::string(checksum) +
                      ": a git source's checksum is a hex commit name (or a prefix of one)");
    if (!source.checksum.empty() && source.checksum != sum)
      return fail(ErrorKind::kInvalidArgument, what + ": --checksum=" + std::string(checksum) +
                                                   " conflicts with the URL's checksum " +
                                                   source.checksum);
    source.checksum = sum;
  }
  if (keep_git_dir) {
    if (source.keep_git_dir == false)
      return fail(ErrorKind::kInvalidArgument,
                  what + ": --keep-git-dir conflicts with the URL's keep-git-dir=false");
    source.keep_git_dir = true;
  }
  return {};
}

Result<GitRevision> resolve_git_revision(const GitSource& source) {
  const std::string what = "ADD " + source.display;

  // 1. A commit name is its own answer.
  if (is_commit_name(source.ref)) {
    GitRevision rev{lower(source.ref), ""};
    TRY(check_checksum(source, rev, "", what));
    return rev;
  }

  // 2. The remote's refs: HEAD and what it points to, or the candidates for the ref.
  ScratchDir home = TRY(ScratchDir::make(std::filesystem::temp_directory_path().string(), what));
  GitRunner git(what, home.path(), "");
  std::vector<std::string> args = {"ls-remote", "--symref", "--", source.remote, "HEAD"};
  if (!source.ref.empty())
    args = {"ls-remote", "--", source.remote, source.ref, source.ref + "^{}"};
  auto refs = parse_ls_remote(TRY(git.run(args, kResolveTimeoutSeconds)));

  // 3. The one BuildKit would pick.
  std::optional<GitRevision> rev;
  std::string tag_object;
  if (source.ref.empty()) {
    auto head = refs.find("HEAD");
    if (head == refs.end())
      return fail(ErrorKind::kNotFound, what + ": the repository has no default branch (HEAD)");
    std::string branch = refs.count("ref: HEAD") ? refs["ref: HEAD"] : "";
    if (!branch.starts_with("refs/") || !ref_problem(branch).empty()) branch.clear();
    rev = GitRevision{head->second, branch};
  } else {
    rev = pick_revision(refs, source.ref, tag_object);
    if (!rev)
      return fail(ErrorKind::kNotFound, what + ": no ref \"" + source.ref + "\" in the repository");
  }
  if (!is_commit_name(rev->commit))
    return fail(ErrorKind::kCorrupt,
                what + ": git ls-remote gave \"" + rev->commit + "\" for a commit name");
  TRY(check_checksum(source, *rev, tag_object, what));
  return *rev;
}

std::string git_cache_content(const GitSource& source, const GitRevision& revision) {
  bool keep = source.keep_git_dir.value_or(false) && source.subdir.empty();
  std::string content = "git " + revision.commit + "\nsubdir " + source.subdir;
  if (!source.submodules) content += "\nno-submodules";
  if (keep) content += "\nkeep-git-dir " + revision.ref + " " + source.remote;
  return content;
}

Result<GitCheckout> fetch_git(const GitSource& source, const GitRevision& revision,
                              const std::string& dir) {
  const std::string what = "ADD " + source.display;
  if (!is_commit_name(revision.commit))
    return fail(ErrorKind::kInvalidArgument,
                what + ": \"" + revision.commit + "\" is not a full commit name");
  if (!revision.ref.empty() &&
      (!revision.ref.starts_with("refs/") || !ref_problem(revision.ref).empty()))
    return fail(ErrorKind::kInvalidArgument, what + ": invalid ref \"" + revision.ref + "\"");

  // 1. A private directory: an empty HOME beside the work tree.
  ScratchDir work = TRY(ScratchDir::make(dir, what));
  const std::string home = work.path() + "/home", tree = work.path() + "/tree";
  TRY(sys::mkdir_p(home, 0700));
  TRY(sys::mkdir_p(tree, 0755));
  GitRunner git(what, home, tree);

  // 2. An empty repository whose origin is the remote: submodules' relative URLs resolve
  // against it, and a kept .git records it.
  std::vector<std::string> init = {"init", "-q"};
  if (revision.commit.size() == 64) init.push_back("--object-format=sha256");
  TRY(git.run(init));
  TRY(git.run({"remote", "add", "origin", "--", source.remote}));

  // 3. The commit, its files, then its submodules at their pinned commits.
  TRY(fetch_commit(git, revision));
  TRY(git.run({"checkout", "-q", "--detach", revision.commit}));
  if (source.submodules) {
    auto r =
        TRY(git.shallow_or_full({"submodule", "--quiet", "update", "--init", "--recursive"}, 5));
    if (!r.succeeded()) return git.failure("submodule update", r);
  }
  bool keep = source.keep_git_dir.value_or(false) && source.subdir.empty();
  if (keep) TRY(tidy_kept_git_dir(git, revision, tree));

  // 4. The tree to copy: the subdir, checked; modes settled; .git gone unless kept.
  auto tree_fs = TRY(sys::RootFs::open(tree));
  TRY(check_subdir(*tree_fs, source.subdir, what));
  GitCheckout checkout{source.subdir.empty() ? tree : tree + "/" + source.subdir};
  auto root_fs = TRY(sys::RootFs::open(checkout.root));
  TRY(settle_tree(*root_fs, keep));
  work.keep();
  return checkout;
}

}  // namespace bonsai::build
