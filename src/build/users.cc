// USER and --chown resolution against the image's /etc/passwd and /etc/group, as runc's
// libcontainer/user.GetExecUser does for USER and as the Dockerfile reference states for
// --chown. The files are read through the image's TreeFs (a symlinked /etc/passwd is followed
// inside the root), at most kMaxFileBytes each.
#include "build/users.h"

#include <charconv>
#include <optional>

#include "build/copy_internal.h"

namespace bonsai::build {

using util::ErrorKind;
using util::Result;

namespace {

constexpr size_t kMaxFileBytes = 4 << 20;
constexpr uint32_t kMaxId = 0x7fffffff;  // runc's maxID

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// A decimal id (no sign, no spaces), or nullopt.
std::optional<uint32_t> parse_id(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 10) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > kMaxId) return std::nullopt;
  return static_cast<uint32_t>(v);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

// The lines of a passwd-style file that are neither blank nor comments, split at ':'.
std::vector<std::vector<std::string_view>> records(std::string_view text) {
  std::vector<std::vector<std::string_view>> out;
  for (std::string_view line : split(text, '\n')) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    out.push_back(split(line, ':'));
  }
  return out;
}

// The file's contents, "" when it is missing or unreadable. A file over kMaxFileBytes is a
// kLimit error: an image should not make the build read without bound.
Result<std::string> read_etc_file(util::TreeFs& root, std::string_view path) {
  auto resolved = copy_detail::resolve_in_root(root, path, true);
  if (!resolved) return std::string();
  auto in = root.open_read(*resolved);
  if (!in) return std::string();
  auto text = util::read_all(**in, kMaxFileBytes);
  if (!text && text.error().kind() == ErrorKind::kLimit)
    return std::unexpected(std::move(text).error().context("read /" + *resolved));
  return text ? std::move(*text) : std::string();
}

Result<std::vector<PasswdEntry>> read_passwd(util::TreeFs& root) {
  std::string text = TRY(read_etc_file(root, "etc/passwd"));
  std::vector<PasswdEntry> out;
  for (const auto& f : records(text)) {
    // name:password:uid:gid:gecos:home:shell; lines without valid ids are skipped.
    if (f.size() < 4) continue;
    std::optional<uint32_t> uid = parse_id(f[2]), gid = parse_id(f[3]);
    if (uid && gid)
      out.push_back({std::string(f[0]), *uid, *gid, f.size() > 5 ? std::string(f[5]) : ""});
  }
  return out;
}

Result<std::vector<GroupEntry>> read_group(util::TreeFs& root) {
  std::string text = TRY(read_etc_file(root, "etc/group"));
  std::vector<GroupEntry> out;
  for (const auto& f : records(text)) {
    // name:password:gid:member,member
    if (f.size() < 3) continue;
    std::optional<uint32_t> gid = parse_id(f[2]);
    if (!gid) continue;
    GroupEntry g{std::string(f[0]), *gid, {}};
    if (f.size() > 3) {
      for (std::string_view m : split(f[3], ',')) {
        if (!m.empty()) g.members.emplace_back(m);
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

struct Spec {
  std::string_view user, group;  // group empty when not given
};

Result<Spec> parse_spec(std::string_view spec, std::string_view what) {
  std::vector<std::string_view> parts = split(spec, ':');
  if (parts.size() > 2 || parts[0].empty()) {
    return util::fail(ErrorKind::kInvalidArgument,
                      "invalid " + std::string(what) + " \"" + std::string(spec) + "\"");
  }
  return Spec{parts[0], parts.size() == 2 ? parts[1] : std::string_view()};
}

util::Error no_user(std::string_view name) {
  return util::Error(ErrorKind::kNotFound, "unable to find user " + std::string(name) +
                                               ": no matching entries in passwd file");
}

util::Error no_group(std::string_view name) {
  return util::Error(ErrorKind::kNotFound, "unable to find group " + std::string(name) +
                                               ": no matching entries in group file");
}

// A user by name or number: the passwd entry, a bare number (nullopt entry), or kNotFound.
Result<std::optional<PasswdEntry>> find_user(const std::vector<PasswdEntry>& passwd,
                                             std::string_view user) {
  std::optional<uint32_t> uid = parse_id(user);
  for (const PasswdEntry& e : passwd) {
    // A numeric user is always a uid, never a name (runc's rule).
    if (uid ? e.uid == *uid : e.name == user) return e;
  }
  if (!uid) return std::unexpected(no_user(user));
  return std::nullopt;
}

Result<uint32_t> find_group(const std::vector<GroupEntry>& groups, std::string_view group) {
  std::optional<uint32_t> gid = parse_id(group);
  for (const GroupEntry& g : groups) {
    if (gid ? g.gid == *gid : g.name == group) return g.gid;
  }
  if (!gid) return std::unexpected(no_group(group));
  return *gid;
}

}  // namespace

Result<UserIds> resolve_user(util::TreeFs& root, std::string_view spec) {
  Spec s = TRY(parse_spec(spec, "user"));
  std::vector<PasswdEntry> passwd = TRY(read_passwd(root));
  std::optional<PasswdEntry> entry = TRY(find_user(passwd, s.user));
  UserIds ids;
  if (entry) {
    ids.uid = entry->uid;
    ids.gid = entry->gid;
    if (!entry->home.empty()) ids.home = entry->home;
  } else {
    ids.uid = *parse_id(s.user);  // a number with no passwd entry: gid stays 0
  }
  if (!s.group.empty()) {
    std::vector<GroupEntry> groups = TRY(read_group(root));
    ids.gid = TRY(find_group(groups, s.group));
    return ids;
  }
  if (!entry) return ids;
  // Implicit group: the supplementary groups are those listing the user by name.
  for (const GroupEntry& g : TRY(read_group(root))) {
    for (const std::string& member : g.members) {
      if (member == entry->name) {
        ids.groups.push_back(g.gid);
        break;
      }
    }
  }
  return ids;
}

Result<std::pair<uint32_t, uint32_t>> resolve_chown(util::TreeFs& root, std::string_view spec) {
  Spec s = TRY(parse_spec(spec, "--chown"));
  std::vector<PasswdEntry> passwd = TRY(read_passwd(root));
  std::optional<PasswdEntry> entry = TRY(find_user(passwd, s.user));
  uint32_t uid = entry ? entry->uid : *parse_id(s.user);
  if (s.group.empty()) return std::make_pair(uid, uid);
  std::vector<GroupEntry> groups = TRY(read_group(root));
  return std::make_pair(uid, TRY(find_group(groups, s.group)));
}

}  // namespace bonsai::build
