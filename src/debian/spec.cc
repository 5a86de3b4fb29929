#include "debian/spec.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>

#include "sys/fd.h"

namespace bonsai::debian {
namespace {

using util::ErrorKind;
using util::fail;
using util::Result;
using util::Status;

std::string at(const std::string& path, const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return path;
  return fmt::format("{}:{}:{}", path, m.line + 1, m.column + 1);
}

Result<std::string> scalar(const std::string& path, const YAML::Node& n, std::string_view key) {
  if (!n.IsScalar())
    return fail(ErrorKind::kInvalidArgument,
                fmt::format("{}: {} must be a string", at(path, n), key));
  return n.Scalar();
}

Result<bool> boolean(const std::string& path, const YAML::Node& n, std::string_view key) {
  std::string s = TRY(scalar(path, n, key));
  if (s == "true" || s == "yes") return true;
  if (s == "false" || s == "no") return false;
  return fail(ErrorKind::kInvalidArgument,
              fmt::format("{}: {} must be true or false, not {:?}", at(path, n), key, s));
}

Result<uint32_t> number(const std::string& path, const YAML::Node& n, std::string_view key) {
  std::string s = TRY(scalar(path, n, key));
  uint64_t v = 0;
  if (s.empty() || s.size() > 10)
    return fail(ErrorKind::kInvalidArgument,
                fmt::format("{}: {} must be a number", at(path, n), key));
  for (char c : s) {
    if (c < '0' || c > '9')
      return fail(ErrorKind::kInvalidArgument,
                  fmt::format("{}: {} must be a number, not {:?}", at(path, n), key, s));
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 0xffffffffu)
    return fail(ErrorKind::kInvalidArgument,
                fmt::format("{}: {} is out of range", at(path, n), key));
  return static_cast<uint32_t>(v);
}

Result<std::vector<std::string>> strings(const std::string& path, const YAML::Node& n,
                                         std::string_view key) {
  std::vector<std::string> out;
  if (n.IsNull()) return out;
  if (!n.IsSequence())
    return fail(ErrorKind::kInvalidArgument,
                fmt::format("{}: {} must be a list", at(path, n), key));
  for (const YAML::Node& item : n) out.push_back(TRY(scalar(path, item, key)));
  return out;
}

Status check_keys(const std::string& path, const YAML::Node& map, std::string_view what,
                  const std::set<std::string_view>& known) {
  for (const auto& kv : map) {
    std::string k = kv.first.Scalar();
    if (!known.contains(k)) {
      return fail(ErrorKind::kInvalidArgument,
                  fmt::format("{}: unknown key {:?} in {}", at(path, kv.first), k, what));
    }
  }
  return {};
}

Result<UserSpec> parse_user(const std::string& path, const YAML::Node& n) {
  if (!n.IsMap())
    return fail(ErrorKind::kInvalidArgument,
                fmt::format("{}: a user is a map with name, uid, gid, home, shell", at(path, n)));
  TRY(check_keys(path, n, "user", {"name", "uid", "gid", "home", "shell"}));
  UserSpec u;
  if (!n["name"] || !n["uid"])
    return fail(ErrorKind::kInvalidArgument,
                fmt::format("{}: a user needs name and uid", at(path, n)));
  u.name = TRY(scalar(path, n["name"], "name"));
  u.uid = TRY(number(path, n["uid"], "uid"));
  u.gid = n["gid"] ? TRY(number(path, n["gid"], "gid")) : u.uid;
  u.home =
      n["home"] ? TRY(scalar(path, n["home"], "home")) : (u.uid == 0 ? "/root" : "/home/" + u.name);
  if (n["shell"]) u.shell = TRY(scalar(path, n["shell"], "shell"));
  return u;
}

Result<GroupSpec> parse_group(const std::string& path, const YAML::Node& n) {
  if (!n.IsMap())
    return fail(ErrorKind::kInvalidArgument,
                fmt::format("{}: a group is a map with name, gid, members", at(path, n)));
  TRY(check_keys(path, n, "group", {"name", "gid", "members"}));
  if (!n["name"] || !n["gid"])
    return fail(ErrorKind::kInvalidArgument,
                fmt::format("{}: a group needs name and gid", at(path, n)));
  GroupSpec g;
  g.name = TRY(scalar(path, n["name"], "name"));
  g.gid = TRY(number(path, n["gid"], "gid"));
  if (n["members"]) g.members = TRY(strings(path, n["members"], "members"));
  return g;
}

Status apply(BaseSpec& spec, const std::string& path, const YAML::Node& root) {
  TRY(check_keys(path, root, "the spec",
                 {"extends",
                  "suites",
                  "components",
                  "architecture",
                  "mirror",
                  "security_mirror",
                  "keyrings",
                  "packages",
                  "exclude",
                  "essential",
                  "priorities",
                  "scripts",
                  "path_exclude",
                  "usr_merge",
                  "users",
                  "groups",
                  "env",
                  "workdir",
                  "user",
                  "entrypoint",
                  "cmd",
                  "layers",
                  "source_date_epoch"}));
  for (const auto& kv : root) {
    std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (key == "extends") continue;
    if (key == "suites")
      spec.suites = TRY(strings(path, v, key));
    else if (key == "components")
      spec.components = TRY(strings(path, v, key));
    else if (key == "architecture")
      spec.architecture = TRY(scalar(path, v, key));
    else if (key == "mirror")
      spec.mirror = TRY(scalar(path, v, key));
    else if (key == "security_mirror")
      spec.security_mirror = TRY(scalar(path, v, key));
    else if (key == "keyrings")
      spec.keyrings = TRY(strings(path, v, key));
    else if (key == "packages") {
      for (auto& s : TRY(strings(path, v, key))) spec.packages.push_back(s);
    } else if (key == "exclude") {
      for (auto& s : TRY(strings(path, v, key))) spec.exclude.push_back(s);
    } else if (key == "essential")
      spec.essential = TRY(boolean(path, v, key));
    else if (key == "priorities")
      spec.priorities = TRY(strings(path, v, key));
    else if (key == "scripts")
      spec.scripts = TRY(boolean(path, v, key));
    else if (key == "path_exclude")
      spec.path_exclude = TRY(strings(path, v, key));
    else if (key == "usr_merge")
      spec.usr_merge = TRY(boolean(path, v, key));
    else if (key == "users") {
      if (!v.IsSequence())
        return fail(ErrorKind::kInvalidArgument,
                    fmt::format("{}: users must be a list", at(path, v)));
      spec.users.clear();
      for (const YAML::Node& u : v) spec.users.push_back(TRY(parse_user(path, u)));
    } else if (key == "groups") {
      if (!v.IsSequence())
        return fail(ErrorKind::kInvalidArgument,
                    fmt::format("{}: groups must be a list", at(path, v)));
      spec.groups.clear();
      for (const YAML::Node& g : v) spec.groups.push_back(TRY(parse_group(path, g)));
    } else if (key == "env") {
      if (!v.IsMap())
        return fail(ErrorKind::kInvalidArgument,
                    fmt::format("{}: env must be a map of NAME: value", at(path, v)));
      for (const auto& e : v) {
        std::string name = e.first.Scalar();
        std::string value = TRY(scalar(path, e.second, name));
        std::erase_if(spec.env, [&](const auto& p) { return p.first == name; });
        spec.env.emplace_back(name, value);
      }
    } else if (key == "workdir")
      spec.workdir = TRY(scalar(path, v, key));
    else if (key == "user")
      spec.user = TRY(scalar(path, v, key));
    else if (key == "entrypoint")
      spec.entrypoint = TRY(strings(path, v, key));
    else if (key == "cmd")
      spec.cmd = TRY(strings(path, v, key));
    else if (key == "source_date_epoch")
      spec.source_date_epoch = TRY(number(path, v, key));
    else if (key == "layers") {
      if (!v.IsSequence())
        return fail(ErrorKind::kInvalidArgument,
                    fmt::format("{}: layers must be a list", at(path, v)));
      spec.layers.clear();
      for (const YAML::Node& g : v) {
        if (!g.IsMap() || !g["packages"])
          return fail(ErrorKind::kInvalidArgument,
                      fmt::format("{}: a layer is a map with name and packages", at(path, g)));
        TRY(check_keys(path, g, "layer", {"name", "packages"}));
        LayerGroup lg;
        lg.name = g["name"] ? TRY(scalar(path, g["name"], "name"))
                            : fmt::format("layer {}", spec.layers.size() + 1);
        lg.packages = TRY(strings(path, g["packages"], "packages"));
        spec.layers.push_back(std::move(lg));
      }
    }
  }
  return {};
}

Result<BaseSpec> parse_spec_depth(std::string_view text, const std::string& path, int depth) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return fail(ErrorKind::kInvalidArgument,
                fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (!root.IsMap())
    return fail(ErrorKind::kInvalidArgument,
                fmt::format("{}: a spec is a YAML map of keys (suites, packages, ...)", path));
  BaseSpec spec;
  if (root["extends"]) {
    if (depth > 8)
      return fail(ErrorKind::kInvalidArgument,
                  fmt::format("{}: extends nests too deeply", at(path, root["extends"])));
    std::string parent = TRY(scalar(path, root["extends"], "extends"));
    std::filesystem::path p = std::filesystem::path(path).parent_path() / parent;
    std::string ptext = TRY_CTX(sys::read_file(p.string()), at(path, root["extends"]));
    spec = TRY(parse_spec_depth(ptext, p.lexically_normal().string(), depth + 1));
  }
  spec.path = path;
  try {
    TRY(apply(spec, path, root));
  } catch (const YAML::Exception& e) {
    return fail(ErrorKind::kInvalidArgument,
                fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (spec.users.empty()) spec.users = default_users();
  if (spec.groups.empty()) spec.groups = groups_for(spec.users);
  if (spec.packages.empty() && !spec.essential && spec.priorities.empty())
    return fail(ErrorKind::kInvalidArgument, fmt::format("{}: no packages", path));
  return spec;
}

}  // namespace

std::vector<UserSpec> default_users() {
  return {{"root", 0, 0, "/root", "/sbin/nologin"},
          {"nobody", 65534, 65534, "/nonexistent", "/sbin/nologin"},
          {"nonroot", 65532, 65532, "/home/nonroot", "/sbin/nologin"}};
}

std::vector<GroupSpec> groups_for(const std::vector<UserSpec>& users) {
  std::vector<GroupSpec> out;
  for (const UserSpec& u : users) {
    bool have = false;
    for (const GroupSpec& g : out) have = have || g.gid == u.gid;
    if (!have) out.push_back({u.name, u.gid, {}});
  }
  return out;
}

Result<BaseSpec> parse_spec(std::string_view text, const std::string& path) {
  return parse_spec_depth(text, path, 0);
}

Result<BaseSpec> load_spec(const std::string& path) {
  std::string text = TRY(sys::read_file(path));
  return parse_spec(text, path);
}

}  // namespace bonsai::debian
