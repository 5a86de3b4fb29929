// MemTreeFs: an in-memory util::TreeFs for tests, with RootFs's semantics.
//
// Symlinks in the directories leading to a path are followed as RESOLVE_IN_ROOT does (absolute
// targets restart at the root, ".." stops at the root, 40 links at most, then ELOOP); the last
// component is never followed. Hard links share one node. Errors carry the errno the kernel
// would give (EEXIST, ENOENT, ENOTDIR, ENOTEMPTY, EISDIR, EPERM, ELOOP). It also imitates two
// kernel behaviours that make metadata order matter: chown clears setuid/setgid on regular
// files and drops security.capability, and every change to a directory's entries sets its
// mtime to a fresh clock value. `fault` injects an errno into any mutating call.
//
// Test-only: header-only so that it is compiled into archive_test and nothing else.
#pragma once

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "util/fs.h"

namespace bonsai::archive::testing {

using util::Result;
using util::Status;

class MemTreeFs final : public util::TreeFs {
 public:
  struct Node {
    util::FileInfo info;
    std::string data;  // file contents or symlink target
    std::map<std::string, std::shared_ptr<Node>> children;
    std::map<std::string, std::string> xattrs;
  };

  // Called before every mutating operation with its name ("mkdir", "create", "write",
  // "symlink", "link", "mknod", "remove", "chown", "chmod", "utimes", "setxattr") and path; a
  // non-zero errno makes the operation fail with it.
  std::function<int(std::string_view op, std::string_view path)> fault;

  MemTreeFs() : root_(new_node(util::FileType::kDirectory, 0755)) {}

  // The node at path (last component not followed), or null.
  std::shared_ptr<Node> find(std::string_view path) {
    auto p = parent(path, "find");
    if (!p) return nullptr;
    if (p->name == ".") return p->dir;
    auto it = p->dir->children.find(p->name);
    return it == p->dir->children.end() ? nullptr : it->second;
  }

  // One line per path below the root, sorted: "<path> <kind> <mode> <uid>:<gid>" then
  // " -> <target>" for symlinks, " '<contents>'" for files, " links=<n>" when shared, and
  // " <major>,<minor>" for devices. Mtimes and xattrs are not shown.
  std::string dump() const {
    std::string out;
    dump_dir(*root_, "", out);
    return out;
  }

  // --- util::TreeFs ---

  Result<std::optional<util::FileInfo>> lstat(std::string_view path) override {
    auto p = parent(path, "stat");
    if (!p && p.error().sys_errno() == ENOENT) return std::nullopt;
    if (!p) return std::unexpected(std::move(p).error());
    auto n = child(*p);
    if (!n) return std::nullopt;
    util::FileInfo info = n->info;
    if (info.type == util::FileType::kRegular || info.type == util::FileType::kSymlink)
      info.size = n->data.size();
    return info;
  }

  Result<std::vector<std::string>> list(std::string_view dir) override {
    auto p = TRY(parent(dir, "list"));
    auto n = child(p);
    if (!n) return util::sys_fail("list " + std::string(dir), ENOENT);
    if (n->info.type != util::FileType::kDirectory)
      return util::sys_fail("list " + std::string(dir), ENOTDIR);
    std::vector<std::string> names;
    for (const auto& [name, _] : n->children) names.push_back(name);
    return names;
  }

  Result<std::string> read_link(std::string_view path) override {
    auto n = TRY(existing(path, "readlink"));
    if (n->info.type != util::FileType::kSymlink)
      return util::sys_fail("readlink " + std::string(path), EINVAL);
    return n->data;
  }

  Result<std::unique_ptr<util::Reader>> open_read(std::string_view path) override {
    auto n = TRY(existing(path, "open"));
    if (n->info.type == util::FileType::kSymlink)
      return util::sys_fail("open " + std::string(path), ELOOP);
    if (n->info.type != util::FileType::kRegular)
      return util::fail(util::ErrorKind::kInvalidArgument,
                        "open " + std::string(path) + ": not a regular file");
    return std::unique_ptr<util::Reader>(new OwningReader(n->data));
  }

  Status mkdir(std::string_view path, uint32_t mode) override {
    auto p = TRY(creatable(path, "mkdir"));
    insert(p, new_node(util::FileType::kDirectory, mode & 0777));
    return {};
  }

  Result<std::unique_ptr<util::Writer>> create_file(std::string_view path, uint32_t mode) override {
    auto p = TRY(creatable(path, "create"));
    auto n = new_node(util::FileType::kRegular, mode & 0777);
    insert(p, n);
    return std::unique_ptr<util::Writer>(new NodeWriter(*this, n, std::string(path)));
  }

  Status symlink(std::string_view target, std::string_view path) override {
    auto p = TRY(creatable(path, "symlink"));
    auto n = new_node(util::FileType::kSymlink, 0777);
    n->data = std::string(target);
    insert(p, n);
    return {};
  }

  Status link(std::string_view existing_path, std::string_view path) override {
    auto target = TRY(existing(existing_path, "link"));
    if (target->info.type == util::FileType::kDirectory)
      return util::sys_fail("link " + std::string(path), EPERM);
    auto p = TRY(creatable(path, "link"));
    ++target->info.nlink;
    insert(p, target);
    return {};
  }

  Status mknod(std::string_view path, util::FileType type, uint32_t mode, uint32_t major,
               uint32_t minor) override {
    if (type != util::FileType::kCharDevice && type != util::FileType::kBlockDevice &&
        type != util::FileType::kFifo)
      return util::sys_fail("mknod " + std::string(path), EINVAL);
    auto p = TRY(creatable(path, "mknod"));
    auto n = new_node(type, mode & 07777);
    n->info.rdev_major = major;
    n->info.rdev_minor = minor;
    insert(p, n);
    return {};
  }

  Status remove(std::string_view path) override {
    if (path.empty()) return util::sys_fail("remove", EBUSY);
    auto p = TRY(parent(path, "remove"));
    auto n = child(p);
    if (!n) return util::sys_fail("remove " + std::string(path), ENOENT);
    if (!n->children.empty()) return util::sys_fail("remove " + std::string(path), ENOTEMPTY);
    TRY(check_fault("remove", path));
    erase(p);
    return {};
  }

  Status remove_all(std::string_view path) override {
    if (path.empty()) return util::sys_fail("remove", EBUSY);
    auto p = parent(path, "remove");
    if (!p && p.error().sys_errno() == ENOENT) return {};
    if (!p) return std::unexpected(std::move(p).error());
    if (!child(*p)) return {};
    TRY(check_fault("remove", path));
    erase(*p);
    return {};
  }

  Status set_owner(std::string_view path, uint32_t uid, uint32_t gid) override {
    auto n = TRY(existing(path, "chown"));
    TRY(check_fault("chown", path));
    n->info.uid = uid;
    n->info.gid = gid;
    if (n->info.type == util::FileType::kRegular) {
      n->info.mode &= ~04000u;
      if (n->info.mode & 010) n->info.mode &= ~02000u;
    }
    n->xattrs.erase("security.capability");
    return {};
  }

  Status set_mode(std::string_view path, uint32_t mode) override {
    auto n = TRY(existing(path, "chmod"));
    if (n->info.type == util::FileType::kSymlink)
      return util::fail(util::ErrorKind::kUnsupported,
                        "chmod " + std::string(path) + ": a symlink has no mode");
    TRY(check_fault("chmod", path));
    n->info.mode = mode & 07777;
    return {};
  }

  Status set_mtime(std::string_view path, int64_t sec, uint32_t nsec) override {
    auto n = TRY(existing(path, "utimes"));
    TRY(check_fault("utimes", path));
    n->info.mtime_sec = sec;
    n->info.mtime_nsec = nsec;
    return {};
  }

  Status set_xattr(std::string_view path, std::string_view name, std::string_view value) override {
    auto n = TRY(existing(path, "setxattr"));
    TRY(check_fault("setxattr", path));
    if (name.starts_with("user.") && n->info.type != util::FileType::kRegular &&
        n->info.type != util::FileType::kDirectory)
      return util::sys_fail("setxattr " + std::string(path), EPERM);
    n->xattrs[std::string(name)] = std::string(value);
    return {};
  }

 private:
  static constexpr int kMaxSymlinks = 40;

  struct Parent {
    std::shared_ptr<Node> dir;
    std::string name;  // "." for the root itself
  };

  class OwningReader final : public util::Reader {
   public:
    explicit OwningReader(std::string data) : data_(std::move(data)), reader_(data_) {}
    Result<size_t> read(std::span<char> buf) override { return reader_.read(buf); }

   private:
    std::string data_;
    util::StringReader reader_;
  };

  class NodeWriter final : public util::Writer {
   public:
    NodeWriter(MemTreeFs& fs, std::shared_ptr<Node> node, std::string path)
        : fs_(fs), node_(std::move(node)), path_(std::move(path)) {}
    Status write(std::string_view data) override {
      TRY(fs_.check_fault("write", path_));
      node_->data.append(data);
      return {};
    }

   private:
    MemTreeFs& fs_;
    std::shared_ptr<Node> node_;
    std::string path_;
  };

  std::shared_ptr<Node> new_node(util::FileType type, uint32_t mode) {
    auto n = std::make_shared<Node>();
    n->info.type = type;
    n->info.mode = mode;
    n->info.ino = ++next_ino_;
    n->info.mtime_sec = ++clock_;
    return n;
  }

  static std::vector<std::string> split(std::string_view path) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
      size_t slash = path.find('/', start);
      if (slash == std::string_view::npos) slash = path.size();
      if (slash > start) parts.emplace_back(path.substr(start, slash - start));
      start = slash + 1;
    }
    return parts;
  }

  // Walks to the directory at dir, following every symlink inside the root.
  Result<std::shared_ptr<Node>> walk(std::string_view dir, const std::string& what) {
    std::vector<std::shared_ptr<Node>> stack{root_};
    std::vector<std::string> todo = split(dir);
    std::reverse(todo.begin(), todo.end());  // a stack: next component at the back
    int followed = 0;
    while (!todo.empty()) {
      std::string part = std::move(todo.back());
      todo.pop_back();
      // Like the kernel, any component after a non-directory fails, "." and ".." included.
      auto& cur = stack.back();
      if (cur->info.type != util::FileType::kDirectory) return util::sys_fail(what, ENOTDIR);
      if (part == ".") continue;
      if (part == "..") {
        if (stack.size() > 1) stack.pop_back();
        continue;
      }
      auto it = cur->children.find(part);
      if (it == cur->children.end()) return util::sys_fail(what, ENOENT);
      if (it->second->info.type == util::FileType::kSymlink) {
        if (++followed > kMaxSymlinks) return util::sys_fail(what, ELOOP);
        const std::string& target = it->second->data;
        if (target.starts_with("/")) stack.resize(1);
        std::vector<std::string> more = split(target);
        todo.insert(todo.end(), more.rbegin(), more.rend());
        continue;
      }
      stack.push_back(it->second);
    }
    if (stack.back()->info.type != util::FileType::kDirectory) return util::sys_fail(what, ENOTDIR);
    return stack.back();
  }

  Result<Parent> parent(std::string_view path, std::string_view op) {
    std::string what = std::string(op) + " " + std::string(path);
    if (!util::is_clean_tree_path(path))
      return util::fail(util::ErrorKind::kInvalidArgument, what + ": not a clean relative path");
    if (path.empty()) return Parent{root_, "."};
    size_t slash = path.rfind('/');
    std::string_view dir = slash == std::string_view::npos ? "" : path.substr(0, slash);
    auto node = TRY(walk(dir, what));
    return Parent{node, std::string(path.substr(slash + 1))};
  }

  std::shared_ptr<Node> child(const Parent& p) {
    if (p.name == ".") return p.dir;
    auto it = p.dir->children.find(p.name);
    return it == p.dir->children.end() ? nullptr : it->second;
  }

  Result<std::shared_ptr<Node>> existing(std::string_view path, std::string_view op) {
    auto p = TRY(parent(path, op));
    auto n = child(p);
    if (!n) return util::sys_fail(std::string(op) + " " + std::string(path), ENOENT);
    return n;
  }

  Result<Parent> creatable(std::string_view path, std::string_view op) {
    auto p = TRY(parent(path, op));
    if (child(p)) return util::sys_fail(std::string(op) + " " + std::string(path), EEXIST);
    TRY(check_fault(op, path));
    return p;
  }

  Status check_fault(std::string_view op, std::string_view path) {
    if (!fault) return {};
    int err = fault(op, path);
    if (err != 0) return util::sys_fail(std::string(op) + " " + std::string(path), err);
    return {};
  }

  void insert(const Parent& p, std::shared_ptr<Node> n) {
    p.dir->children[p.name] = std::move(n);
    p.dir->info.mtime_sec = ++clock_;
  }

  void erase(const Parent& p) {
    auto it = p.dir->children.find(p.name);
    unlink_tree(*it->second);
    p.dir->children.erase(it);
    p.dir->info.mtime_sec = ++clock_;
  }

  static void unlink_tree(Node& n) {
    --n.info.nlink;
    for (auto& [_, c] : n.children) unlink_tree(*c);
  }

  static void dump_dir(const Node& dir, const std::string& prefix, std::string& out) {
    for (const auto& [name, n] : dir.children) {
      std::string path = prefix.empty() ? name : prefix + "/" + name;
      const util::FileInfo& i = n->info;
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", i.mode);
      out += path + " " + kind(i.type) + " " + mode + " " + std::to_string(i.uid) + ":" +
             std::to_string(i.gid);
      if (i.type == util::FileType::kSymlink) out += " -> " + n->data;
      if (i.type == util::FileType::kRegular) out += " '" + n->data + "'";
      if (i.type == util::FileType::kCharDevice || i.type == util::FileType::kBlockDevice)
        out += " " + std::to_string(i.rdev_major) + "," + std::to_string(i.rdev_minor);
      if (i.type != util::FileType::kDirectory && i.nlink > 1)
        out += " links=" + std::to_string(i.nlink);
      out += "\n";
      if (i.type == util::FileType::kDirectory) dump_dir(*n, path, out);
    }
  }

  static std::string kind(util::FileType type) {
    switch (type) {
      case util::FileType::kRegular:
        return "file";
      case util::FileType::kDirectory:
        return "dir";
      case util::FileType::kSymlink:
        return "symlink";
      case util::FileType::kCharDevice:
        return "chr";
      case util::FileType::kBlockDevice:
        return "blk";
      case util::FileType::kFifo:
        return "fifo";
      case util::FileType::kSocket:
        return "sock";
    }
    return "?";
  }

  std::shared_ptr<Node> root_;
  uint64_t next_ino_ = 0;
  int64_t clock_ = 1'000'000'000;
};

}  // namespace bonsai::archive::testing
