#include "debian/assemble.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "archive/layer_writer.h"
#include "archive/tar.h"
#include "debian/deb.h"
#include "oci/media_types.h"
#include "sys/fd.h"

namespace bonsai::debian {
namespace {

using archive::EntryType;
using archive::TarEntry;
using util::ErrorKind;
using util::fail;
using util::Result;
using util::Status;

constexpr std::string_view kMergedDirs[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};

// "bin/ls" -> "usr/bin/ls" on a merged-/usr system; the top-level directory itself -> "".
std::string relocate(const std::string& path, bool usr_merge) {
  if (!usr_merge) return path;
  for (std::string_view d : kMergedDirs) {
    if (path == d) return {};
    if (path.size() > d.size() && path.starts_with(d) && path[d.size()] == '/')
      return "usr/" + path;
  }
  return path;
}

std::string rfc3339(int64_t epoch) {
  std::tm tm{};
  time_t t = static_cast<time_t>(epoch);
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// One layer blob being written: tar -> gzip + digests -> store blob.
class LayerOut {
 public:
  static Result<std::unique_ptr<LayerOut>> open(store::Images& images) {
    auto out = std::unique_ptr<LayerOut>(new LayerOut());
    out->images_ = &images;
    out->blob_ = TRY(images.store().begin_blob());
    out->layer_ = TRY(archive::LayerWriter::create(*out->blob_));
    out->tar_ = std::make_unique<archive::TarWriter>(*out->layer_);
    return out;
  }
  archive::TarWriter& tar() { return *tar_; }
  void count(const TarEntry& e) {
    ++entries_;
    if (e.type == EntryType::kFile) sizes_[e.path] = e.size;
    if (e.type == EntryType::kSymlink) sizes_[e.path] = e.link_target.size();
  }
  Result<AssembledLayer> finish(std::string created_by) {
    TRY(tar_->finish());
    archive::LayerDigests d = TRY(layer_->finish());
    auto [digest, size] = TRY(blob_->commit(d.digest, static_cast<int64_t>(d.size)));
    AssembledLayer out;
    out.descriptor.media_type = std::string(oci::media::kOciLayerGzip);
    out.descriptor.digest = digest;
    out.descriptor.size = size;
    out.diff_id = d.diff_id;
    out.created_by = std::move(created_by);
    uint64_t content = 0;
    for (auto& [_, s] : sizes_) content += s;
    TRY(images_->metadata().put_layer_info(out.diff_id, {content, d.uncompressed_size, entries_}));
    TRY(images_->metadata().put_verified_diff_id(digest, out.diff_id));
    return out;
  }

 private:
  LayerOut() = default;
  store::Images* images_ = nullptr;
  std::unique_ptr<store::BlobWriter> blob_;
  std::unique_ptr<archive::LayerWriter> layer_;
  std::unique_ptr<archive::TarWriter> tar_;
  std::map<std::string, uint64_t> sizes_;
  uint64_t entries_ = 0;
};

// Writes entries into the current layer, creating missing parent directories and writing each
// directory once per image (a later package's copy of /usr changes nothing).
class Emitter {
 public:
  Emitter(const BaseSpec& spec) : spec_(spec) {}
  void set_layer(LayerOut* out) { out_ = out; }
  bool has(const std::string& path) const { return seen_.contains(path); }

  Status dir(const std::string& path, uint32_t mode = 0755, uint32_t uid = 0, uint32_t gid = 0) {
    TarEntry e;
    e.path = path;
    e.type = EntryType::kDirectory;
    e.mode = mode;
    e.uid = uid;
    e.gid = gid;
    e.mtime_sec = spec_.source_date_epoch;
    return add(e, nullptr);
  }
  Status file(const std::string& path, std::string_view body, uint32_t mode = 0644) {
    TarEntry e;
    e.path = path;
    e.type = EntryType::kFile;
    e.mode = mode;
    e.size = body.size();
    e.mtime_sec = spec_.source_date_epoch;
    util::StringReader r(body);
    return add(e, &r);
  }
  Status symlink(const std::string& path, const std::string& target) {
    TarEntry e;
    e.path = path;
    e.type = EntryType::kSymlink;
    e.mode = 0777;
    e.link_target = target;
    e.mtime_sec = spec_.source_date_epoch;
    return add(e, nullptr);
  }

  Status add(const TarEntry& e, util::Reader* body) {
    if (e.path.empty()) return {};
    TRY(parents(e.path));
    if (e.type == EntryType::kDirectory && seen_.contains(e.path)) return {};
    seen_.insert(e.path);
    out_->count(e);
    TRY(out_->tar().add(e));
    if (e.type != EntryType::kFile || e.size == 0) return {};
    char buf[128 * 1024];
    uint64_t left = e.size;
    while (left > 0) {
      size_t n = TRY(body->read(std::span<char>(buf, std::min<uint64_t>(left, sizeof buf))));
      if (n == 0) return fail(ErrorKind::kCorrupt, e.path + ": body ends early");
      TRY(out_->tar().write_body(std::string_view(buf, n)));
      left -= n;
    }
    return {};
  }

 private:
  Status parents(const std::string& path) {
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      std::string parent = path.substr(0, slash);
      if (seen_.contains(parent)) continue;
      TRY(dir(parent));
    }
    return {};
  }

  const BaseSpec& spec_;
  LayerOut* out_ = nullptr;
  std::set<std::string> seen_;
};

// What one package left behind for dpkg's records.
struct Installed {
  const Package* package;
  DebControl control;
  std::vector<std::string> paths;  // as dpkg lists them: "/.", "/bin", "/bin/ls", ...
};

// Streams one .deb's data into the current layer.
class PackageWriter final : public DebVisitor {
 public:
  PackageWriter(const BaseSpec& spec, Emitter& emit, Installed& inst,
                std::vector<std::pair<std::string, std::string>>& certs)
      : spec_(spec), emit_(emit), inst_(inst), certs_(certs) {}

  Status on_control(DebControl&& control) override {
    inst_.control = std::move(control);
    return {};
  }

  Status on_data_entry(const TarEntry& entry, util::Reader& body) override {
    inst_.paths.push_back(entry.path.empty() ? "/." : "/" + entry.path);
    TarEntry e = entry;
    e.path = relocate(entry.path, spec_.usr_merge);
    if (e.path.empty()) return {};
    // Certificates feed the CA bundle even when the spec leaves them out of the image.
    std::string cert;
    bool is_cert = e.type == EntryType::kFile && e.path.starts_with("usr/share/ca-certificates/") &&
                   e.path.ends_with(".crt");
    if (is_cert) {
      cert = TRY(util::read_all(body, 1 << 20));
      certs_.emplace_back(e.path, cert);
    }
    if (path_excluded(spec_.path_exclude, "/" + e.path)) return {};
    if (e.type == EntryType::kHardLink) {
      e.link_target = relocate(entry.link_target, spec_.usr_merge);
      if (!emit_.has(e.link_target)) return {};  // its target was excluded
    }
    e.uname.clear();
    e.gname.clear();
    if (is_cert) {
      util::StringReader r(cert);
      return emit_.add(e, &r);
    }
    return emit_.add(e, &body);
  }

 private:
  const BaseSpec& spec_;
  Emitter& emit_;
  Installed& inst_;
  std::vector<std::pair<std::string, std::string>>& certs_;
};

// Which layer group each package goes to: the first group naming it, else the "*" group, else
// the last group.
std::vector<std::vector<const DebFile*>> group_packages(const BaseSpec& spec,
                                                        const std::vector<DebFile>& debs,
                                                        std::vector<std::string>& names) {
  std::vector<LayerGroup> groups = spec.layers;
  if (groups.empty()) groups.push_back({"packages", {"*"}});
  std::vector<std::vector<const DebFile*>> out(groups.size());
  size_t star = groups.size() - 1;
  for (size_t i = 0; i < groups.size(); ++i) {
    if (std::find(groups[i].packages.begin(), groups[i].packages.end(), "*") !=
        groups[i].packages.end())
      star = i;
  }
  for (const DebFile& d : debs) {
    size_t g = star;
    for (size_t i = 0; i < groups.size(); ++i) {
      if (std::find(groups[i].packages.begin(), groups[i].packages.end(), d.package.name) !=
          groups[i].packages.end()) {
        g = i;
        break;
      }
    }
    out[g].push_back(&d);
  }
  for (auto& g : groups) names.push_back(g.name);
  return out;
}

std::string ensure_newline(std::string s) {
  if (!s.empty() && s.back() != '\n') s += '\n';
  return s;
}

std::string passwd_text(const BaseSpec& spec) {
  std::string out;
  for (const UserSpec& u : spec.users)
    out += fmt::format("{}:x:{}:{}:{}:{}:{}\n", u.name, u.uid, u.gid, u.name, u.home, u.shell);
  return out;
}

std::string group_text(const BaseSpec& spec) {
  std::string out;
  for (const GroupSpec& g : spec.groups)
    out += fmt::format("{}:x:{}:{}\n", g.name, g.gid, fmt::join(g.members, ","));
  return out;
}

// dpkg's status paragraph: Package, then Status, then the control fields in their order.
std::string status_paragraph(const Installed& inst, std::string_view status) {
  auto ps = parse_control(inst.control.control, inst.package->name + " control");
  std::string out = fmt::format("Package: {}\nStatus: {}\n", inst.package->name, status);
  if (!ps || ps->empty()) return out;
  Paragraph p = std::move((*ps)[0]);
  std::erase_if(p.fields, [](const Field& f) { return f.name == "Package" || f.name == "Status"; });
  return out + p.to_string();
}

// Distroless-style records: /var/lib/dpkg/status.d/<pkg> and <pkg>.md5sums.
Status write_status_d(Emitter& emit, const std::vector<Installed>& installed) {
  TRY(emit.dir("var/lib/dpkg/status.d"));
  for (const Installed& inst : installed) {
    std::string name = inst.package->name;
    TRY(emit.file("var/lib/dpkg/status.d/" + name, ensure_newline(inst.control.control)));
    if (!inst.control.md5sums.empty())
      TRY(emit.file("var/lib/dpkg/status.d/" + name + ".md5sums",
                    ensure_newline(inst.control.md5sums)));
  }
  return {};
}

// A full dpkg database of unpacked packages, for `dpkg --configure -a` to finish.
Status write_dpkg_db(Emitter& emit, const BaseSpec& spec, const std::vector<Installed>& installed) {
  std::string status;
  for (const Installed& inst : installed) {
    if (!status.empty()) status += '\n';
    status += status_paragraph(inst, "install ok unpacked");
  }
  for (std::string d : {"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers",
                        "var/lib/dpkg/alternatives", "var/lib/dpkg/parts"})
    TRY(emit.dir(d));
  TRY(emit.file("var/lib/dpkg/status", status));
  TRY(emit.file("var/lib/dpkg/available", ""));
  TRY(emit.file("var/lib/dpkg/diversions", ""));
  TRY(emit.file("var/lib/dpkg/statoverride", ""));
  TRY(emit.file("var/lib/dpkg/arch", spec.architecture + "\n"));
  for (const Installed& inst : installed) {
    std::string base = "var/lib/dpkg/info/" + dpkg_info_name(*inst.package);
    std::string list;
    for (const std::string& p : inst.paths) list += p + "\n";
    TRY(emit.file(base + ".list", list));
    if (!inst.control.md5sums.empty())
      TRY(emit.file(base + ".md5sums", ensure_newline(inst.control.md5sums)));
    for (const auto& [name, member] : inst.control.members) {
      if (name == "control" || name == "md5sums") continue;
      TRY(emit.file(base + "." + name, member.data, member.mode & 0777));
    }
  }
  return {};
}

std::string apt_sources(const BaseSpec& spec, const std::vector<DebFile>& debs) {
  std::map<std::string, std::vector<std::string>> by_mirror;  // mirror -> suites, in spec order
  for (const std::string& suite : spec.suites) {
    std::string mirror;
    for (const DebFile& d : debs)
      if (d.package.suite == suite) mirror = d.package.mirror;
    if (mirror.empty()) mirror = suite.ends_with("-security") ? spec.security_mirror : spec.mirror;
    if (mirror.empty()) continue;
    by_mirror[mirror].push_back(suite);
  }
  std::string out;
  for (const auto& [mirror, suites] : by_mirror) {
    if (!out.empty()) out += '\n';
    out += fmt::format("Types: deb\nURIs: {}\nSuites: {}\nComponents: {}\nSigned-By: {}\n", mirror,
                       fmt::join(suites, " "), fmt::join(spec.components, " "),
                       spec.keyrings.empty() ? "" : spec.keyrings.front());
  }
  return out;
}

// The files bonsai writes itself, in the image's last layer.
Status write_generated(Emitter& emit, const BaseSpec& spec, const std::vector<DebFile>& debs,
                       const std::vector<Installed>& installed,
                       const std::vector<std::pair<std::string, std::string>>& certs) {
  TRY(emit.dir("tmp", 01777));
  TRY(emit.dir("root", 0700));
  // The working directory exists, as Docker's WORKDIR would make it.
  std::string workdir = spec.workdir;
  while (!workdir.empty() && workdir.front() == '/') workdir.erase(0, 1);
  while (!workdir.empty() && workdir.back() == '/') workdir.pop_back();
  if (!workdir.empty()) TRY(emit.dir(workdir));
  if (spec.scripts) {
    TRY(write_dpkg_db(emit, spec, installed));
    std::string sh = spec.usr_merge ? "usr/bin/sh" : "bin/sh";
    bool has_dash = std::any_of(installed.begin(), installed.end(),
                                [](const Installed& i) { return i.package->name == "dash"; });
    if (!emit.has(sh) && has_dash) TRY(emit.symlink(sh, "dash"));
    std::string sources = apt_sources(spec, debs);
    if (!sources.empty()) TRY(emit.file("etc/apt/sources.list.d/debian.sources", sources));
    return {};
  }
  TRY(emit.file("etc/passwd", passwd_text(spec)));
  TRY(emit.file("etc/group", group_text(spec)));
  for (const UserSpec& u : spec.users) {
    if (u.home.starts_with("/home/")) TRY(emit.dir(u.home.substr(1), 0700, u.uid, u.gid));
  }
  TRY(write_status_d(emit, installed));
  if (!certs.empty()) TRY(emit.file("etc/ssl/certs/ca-certificates.crt", ca_bundle(certs)));
  return {};
}

oci::ImageConfig make_config(const BaseSpec& spec) {
  oci::ImageConfig c;
  c.created = rfc3339(spec.source_date_epoch);
  c.architecture = spec.architecture;
  c.os = "linux";
  oci::Json env = oci::Json::array();
  bool has_path = false;
  for (const auto& [k, v] : spec.env) {
    env.push_back(k + "=" + v);
    has_path = has_path || k == "PATH";
  }
  if (!has_path)
    env.insert(env.begin(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  c.config["Env"] = env;
  if (!spec.workdir.empty()) c.config["WorkingDir"] = spec.workdir;
  if (!spec.user.empty()) c.config["User"] = spec.user;
  if (spec.entrypoint) c.config["Entrypoint"] = *spec.entrypoint;
  if (spec.cmd) c.config["Cmd"] = *spec.cmd;
  return c;
}

}  // namespace

std::string dpkg_info_name(const Package& p) {
  return p.multi_arch == "same" ? p.name + ":" + p.architecture : p.name;
}

std::string ca_bundle(const std::vector<std::pair<std::string, std::string>>& certs) {
  std::vector<std::pair<std::string, std::string>> sorted = certs;
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [_, pem] : sorted) out += ensure_newline(pem);
  return out;
}

bool path_excluded(const std::vector<std::string>& patterns, std::string_view path) {
  std::string p(path);
  while (!p.empty() && p != "/") {
    for (const std::string& pat : patterns) {
      if (fnmatch(pat.c_str(), p.c_str(), FNM_PATHNAME) == 0) return true;
    }
    size_t slash = p.rfind('/');
    if (slash == std::string::npos || slash == 0) break;
    p.resize(slash);
  }
  return false;
}

Result<Assembled> assemble(store::Images& images, const BaseSpec& spec,
                           const std::vector<DebFile>& debs) {
  Assembled out;
  out.config = make_config(spec);
  Emitter emit(spec);
  std::vector<Installed> installed;
  installed.reserve(debs.size());
  std::vector<std::pair<std::string, std::string>> certs;

  // 1. One layer per package group; the first starts with the merged-/usr links.
  std::vector<std::string> group_names;
  auto groups = group_packages(spec, debs, group_names);
  bool first = true;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].empty()) continue;
    auto layer = TRY(LayerOut::open(images));
    emit.set_layer(layer.get());
    if (first && spec.usr_merge) {
      for (std::string_view d : {"bin", "sbin", "lib", "lib64"}) {
        if (d == "lib64" && spec.architecture != "amd64") continue;
        TRY(emit.dir("usr/" + std::string(d)));
        TRY(emit.symlink(std::string(d), "usr/" + std::string(d)));
      }
    }
    first = false;
    std::vector<std::string> names;
    for (const DebFile* d : groups[g]) {
      installed.push_back(Installed{&d->package, {}, {}});
      PackageWriter writer(spec, emit, installed.back(), certs);
      sys::UniqueFd fd = TRY(sys::open_file(d->path, O_RDONLY | O_CLOEXEC));
      sys::FdReader in(fd.get(), d->path);
      TRY_CTX(read_deb(in, d->path, writer),
              fmt::format("{} {}", d->package.name, d->package.version));
      names.push_back(d->package.name);
    }
    out.layers.push_back(TRY(
        layer->finish(fmt::format("bonsai base: {}: {}", group_names[g], fmt::join(names, " ")))));
  }

  // 2. The generated files, and the maintainer scripts to run before configuring.
  auto layer = TRY(LayerOut::open(images));
  emit.set_layer(layer.get());
  TRY(write_generated(emit, spec, debs, installed, certs));
  out.layers.push_back(
      TRY(layer->finish(spec.scripts ? "bonsai base: dpkg database, apt sources"
                                     : "bonsai base: passwd, group, dpkg status.d, CA bundle")));
  for (const Installed& inst : installed)
    if (inst.control.members.contains("preinst"))
      out.preinst.push_back(dpkg_info_name(*inst.package));

  // 3. The config's rootfs and history.
  std::string created = out.config.created;
  for (const AssembledLayer& l : out.layers) {
    out.config.diff_ids.push_back(l.diff_id);
    oci::HistoryEntry h;
    h.created = created;
    h.created_by = l.created_by;
    h.comment = "bonsai";
    out.config.history.push_back(h);
  }
  return out;
}

}  // namespace bonsai::debian
