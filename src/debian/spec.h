// A base image spec: the YAML file `bonsai base build` assembles an image from. The format is
// documented in docs/debian.md; bases/*.yaml are the ones shipped with bonsai.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/error.h"

namespace bonsai::debian {

struct UserSpec {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
  std::string shell = "/sbin/nologin";
};

struct GroupSpec {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// Packages that share a layer. A group whose packages list is ["*"] takes every package no other
// group names; without groups there is one layer for all packages.
struct LayerGroup {
  std::string name;
  std::vector<std::string> packages;
};

struct BaseSpec {
  std::string path;  // where the spec was read from (for errors)
  std::vector<std::string> suites = {"bookworm", "bookworm-updates", "bookworm-security"};
  std::vector<std::string> components = {"main"};
  std::string architecture = "amd64";
  std::string mirror;           // empty: the host's apt sources, else http://deb.debian.org/debian
  std::string security_mirror;  // for *-security suites; empty: host's, else debian-security
  std::vector<std::string> keyrings = {"/usr/share/keyrings/debian-archive-keyring.gpg"};
  std::vector<std::string> packages;
  std::vector<std::string> exclude;  // packages never installed (dependencies on them count as met)
  bool essential = false;            // add every Essential: yes package
  std::vector<std::string> priorities;  // add every package of these priorities ("required")
  bool scripts = false;  // run maintainer scripts (preinst install, dpkg --configure -a)
  // Paths dropped from package contents: fnmatch(3) patterns on absolute paths (`*` stays within
  // a component); a path goes when it or any directory above it matches, so /usr/share/doc drops
  // the whole tree. dpkg's records (md5sums, .list) still name every file, as distroless's do.
  std::vector<std::string> path_exclude;
  bool usr_merge = true;          // /bin, /sbin, /lib* are symlinks into /usr, as in Debian 12
  std::vector<UserSpec> users;    // empty: root, nobody and nonroot as distroless has them
  std::vector<GroupSpec> groups;  // empty: the users' primary groups
  std::vector<std::pair<std::string, std::string>> env;
  std::string workdir;
  std::string user;
  std::optional<std::vector<std::string>> entrypoint, cmd;
  std::vector<LayerGroup> layers;
  int64_t source_date_epoch = 0;  // mtime of generated files and the image's created time
};

// Reads a spec. A spec may say `extends: other.yaml` (relative to itself): the other spec is read
// first, then this one's packages and exclude are appended and every other key it sets replaces
// the parent's. Errors name the file, line and column (YAML syntax, unknown keys, wrong types).
util::Result<BaseSpec> load_spec(const std::string& path);
// The same from text (for tests); `path` only names it in errors and resolves `extends`.
util::Result<BaseSpec> parse_spec(std::string_view text, const std::string& path);

// The default users and groups (root 0, nobody 65534, nonroot 65532), as distroless writes them.
std::vector<UserSpec> default_users();
std::vector<GroupSpec> groups_for(const std::vector<UserSpec>& users);

}  // namespace bonsai::debian
