#include "build/base_image.h"

#include <fmt/format.h>
#include <unistd.h>

#include <future>

#include "build/builder.h"
#include "debian/assemble.h"
#include "debian/fetch.h"
#include "debian/lockfile.h"
#include "debian/resolver.h"
#include "debian/sources.h"
#include "debian/spec.h"
#include "store/images.h"
#include "sys/fd.h"
#include "util/sha256.h"
#include "util/thread_pool.h"

namespace bonsai::build {
namespace {

using util::ErrorKind;
using util::fail;
using util::Result;
using util::Status;

// A step of the progress view that ends when it goes out of scope unless it failed.
class Step {
 public:
  Step(Progress& p, std::string name) : p_(p), id_(p.add(std::move(name))) { p_.start(id_); }
  void status(std::string_view s) { p_.status(id_, s); }
  void cached() { p_.cached(id_); }
  template <typename T>
  Result<T> check(Result<T> r) {
    if (r) {
      p_.done(id_);
    } else {
      p_.error(id_, r.error().message());
    }
    return r;
  }

 private:
  Progress& p_;
  int id_;
};

// The mirror for a suite: the spec's, else the host's apt sources, else Debian's own.
std::string mirror_for(const debian::BaseSpec& spec, const std::vector<debian::SourceEntry>& host,
                       const std::string& suite) {
  bool security = suite.ends_with("-security");
  if (security && !spec.security_mirror.empty()) return spec.security_mirror;
  if (!security && !spec.mirror.empty()) return spec.mirror;
  auto found = security ? debian::security_mirror(host) : debian::debian_mirror(host);
  if (found) return found->uri;
  return security ? "http://deb.debian.org/debian-security" : "http://deb.debian.org/debian";
}

// What a resolution depends on: the spec's choices and the signed hashes of every index read.
Result<std::string> resolution_key(const debian::BaseSpec& spec, util::HttpClient& http,
                                   const debian::DownloadCache& cache,
                                   const std::vector<std::string>& mirrors) {
  oci::OrderedJson k = oci::OrderedJson::object();
  k["v"] = 1;
  k["arch"] = spec.architecture;
  k["packages"] = spec.packages;
  k["exclude"] = spec.exclude;
  k["essential"] = spec.essential;
  k["priorities"] = spec.priorities;
  k["keyrings"] = spec.keyrings;
  oci::OrderedJson indexes = oci::OrderedJson::array();
  debian::IndexOptions only_release;
  only_release.release_only = true;
  for (size_t i = 0; i < spec.suites.size(); ++i) {
    debian::PackageIndex index =
        TRY(debian::load_packages(http, cache, mirrors[i], spec.suites[i], spec.components,
                                  spec.architecture, spec.keyrings, only_release));
    for (const std::string& c : spec.components) {
      std::string base = c + "/binary-" + spec.architecture + "/Packages";
      const debian::ReleaseFile* f = index.release.find(base);
      if (!f) f = index.release.find(base + ".xz");
      if (!f) f = index.release.find(base + ".gz");
      indexes.push_back({mirrors[i], spec.suites[i], c, f ? f->sha256 : ""});
    }
  }
  k["indexes"] = indexes;
  return "base-resolution:" + util::Sha256::hex_of(k.dump());
}

// Signed indexes -> the resolved packages in install order. The InRelease files are always
// fetched and verified; when none of the indexes they sign changed since an earlier resolution
// of the same choices, that resolution is reused instead of reading 60,000 entries again.
Result<std::vector<debian::Package>> resolve(const debian::BaseSpec& spec, util::HttpClient& http,
                                             const debian::DownloadCache& cache,
                                             store::Images& images, Progress& progress) {
  Step step(progress, fmt::format("[base] resolve {} packages from {}", spec.packages.size(),
                                  fmt::join(spec.suites, ", ")));
  auto run = [&]() -> Result<std::vector<debian::Package>> {
    std::vector<debian::SourceEntry> host =
        debian::read_host_sources().value_or(std::vector<debian::SourceEntry>{});
    std::vector<std::string> mirrors;
    for (const std::string& suite : spec.suites) mirrors.push_back(mirror_for(spec, host, suite));
    std::string key = TRY(resolution_key(spec, http, cache, mirrors));
    if (auto hit = TRY(images.metadata().build_step(key))) {
      auto pkgs = debian::parse_lockfile(*hit, "cached resolution");
      if (pkgs) {
        step.status(fmt::format("indexes unchanged: {} packages as resolved before", pkgs->size()));
        return *pkgs;
      }
    }
    std::vector<debian::Package> all;
    for (size_t i = 0; i < spec.suites.size(); ++i) {
      debian::PackageIndex index =
          TRY(debian::load_packages(http, cache, mirrors[i], spec.suites[i], spec.components,
                                    spec.architecture, spec.keyrings));
      step.status(
          fmt::format("{} {}: {} packages", mirrors[i], spec.suites[i], index.packages.size()));
      for (auto& p : index.packages) all.push_back(std::move(p));
    }
    debian::ResolveOptions ro;
    ro.architecture = spec.architecture;
    ro.requested = spec.packages;
    ro.excluded = spec.exclude;
    ro.include_essential = spec.essential;
    ro.priorities = spec.priorities;
    debian::Resolution resolved = TRY_CTX(debian::resolve(all, ro), spec.path);
    std::vector<debian::Package> out;
    for (auto& c : resolved.packages) out.push_back(std::move(c.package));
    step.status(fmt::format("{} packages", out.size()));
    TRY(images.metadata().put_build_step(key,
                                         debian::lockfile_text(spec.path, spec.architecture, out)));
    return out;
  };
  return step.check(run());
}

// Every .deb, downloaded (or found in the cache) and checked against its SHA-256.
Result<std::vector<debian::DebFile>> fetch_all(const std::vector<debian::Package>& packages,
                                               util::HttpClient& http,
                                               const debian::DownloadCache& cache,
                                               Progress& progress) {
  uint64_t total = 0;
  for (const auto& p : packages) total += p.size;
  Step step(progress,
            fmt::format("[base] fetch {} packages ({:.1f} MB)", packages.size(), total / 1e6));
  auto run = [&]() -> Result<std::vector<debian::DebFile>> {
    util::ThreadPool pool(4);
    std::vector<std::future<Result<std::string>>> paths;
    for (const debian::Package& p : packages) {
      paths.push_back(pool.submit([&http, &cache, &p]() -> Result<std::string> {
        std::string url = p.mirror + "/" + p.filename;
        return TRY_CTX(debian::fetch_verified(http, cache, url, p.sha256, p.size), p.name);
      }));
    }
    std::vector<debian::DebFile> out;
    std::optional<util::Error> first_error;
    for (size_t i = 0; i < packages.size(); ++i) {
      auto r = paths[i].get();
      if (!r && !first_error) first_error = r.error();
      if (r) out.push_back({packages[i], *r});
    }
    if (first_error) return std::unexpected(*first_error);
    return out;
  };
  return step.check(run());
}

// The shell line that finishes a base with maintainer scripts: each package's preinst, in
// install order, then dpkg's own configure pass; logs that would make the layer differ every
// day are removed.
std::string configure_script(const std::vector<std::string>& preinst, int64_t epoch) {
  // SOURCE_DATE_EPOCH: tools that stamp dates into files (shadow's "last changed" day) use the
  // spec's time rather than today's, so the layer is the same on any day.
  std::string s = fmt::format(
      "set -e; export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true LC_ALL=C "
      "SOURCE_DATE_EPOCH={}; for p in",
      epoch);
  for (const std::string& p : preinst) s += " " + p;
  s += "; do DPKG_MAINTSCRIPT_PACKAGE=${p%%:*} DPKG_MAINTSCRIPT_NAME=preinst "
       "/var/lib/dpkg/info/$p.preinst install; done; "
       "dpkg --configure -a; "
       "rm -f /var/log/dpkg.log /var/log/alternatives.log /var/log/apt/*.log "
       "/var/cache/debconf/*-old /var/lib/dpkg/*-old /var/cache/ldconfig/aux-cache";
  return s;
}

// The key of an assembly: every spec field assemble() reads and every package's bytes.
std::string assembly_key(const debian::BaseSpec& spec, const std::vector<debian::Package>& pkgs) {
  oci::OrderedJson k = oci::OrderedJson::object();
  k["v"] = 1;
  k["arch"] = spec.architecture;
  k["scripts"] = spec.scripts;
  k["usr_merge"] = spec.usr_merge;
  k["path_exclude"] = spec.path_exclude;
  k["components"] = spec.components;
  k["keyrings"] = spec.keyrings;
  k["epoch"] = spec.source_date_epoch;
  k["workdir"] = spec.workdir;
  k["user"] = spec.user;
  oci::OrderedJson users = oci::OrderedJson::array(), groups = oci::OrderedJson::array();
  for (const auto& u : spec.users) users.push_back({u.name, u.uid, u.gid, u.home, u.shell});
  for (const auto& g : spec.groups) groups.push_back({g.name, g.gid, g.members});
  k["users"] = users;
  k["groups"] = groups;
  oci::OrderedJson env = oci::OrderedJson::array();
  for (const auto& [n, v] : spec.env) env.push_back({n, v});
  k["env"] = env;
  if (spec.entrypoint) k["entrypoint"] = *spec.entrypoint;
  if (spec.cmd) k["cmd"] = *spec.cmd;
  oci::OrderedJson layers = oci::OrderedJson::array();
  for (const auto& l : spec.layers) layers.push_back({l.name, l.packages});
  k["layers"] = layers;
  oci::OrderedJson p = oci::OrderedJson::array();
  for (const auto& pkg : pkgs)
    p.push_back({pkg.name, pkg.multi_arch, pkg.architecture, pkg.suite, pkg.mirror, pkg.sha256});
  k["packages"] = p;
  return "base-assembly:" + util::Sha256::hex_of(k.dump());
}

// A previous assembly with the same key whose blobs are all still in the store.
Result<std::optional<debian::Assembled>> cached_assembly(store::Images& images,
                                                         const std::string& key) {
  auto text = TRY(images.metadata().build_step(key));
  if (!text) return std::optional<debian::Assembled>();
  oci::Json j = oci::Json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::optional<debian::Assembled>();
  debian::Assembled a;
  auto config = oci::parse_config(j.value("config", std::string()), "cached base config");
  if (!config) return std::optional<debian::Assembled>();
  a.config = std::move(*config);
  for (const oci::Json& l : j.value("layers", oci::Json::array())) {
    auto d = oci::parse_descriptor(l, "cached base layer");
    if (!d || !images.store().has_blob(d->digest)) return std::optional<debian::Assembled>();
    debian::AssembledLayer layer;
    layer.descriptor = *d;
    a.layers.push_back(layer);
  }
  a.preinst = j.value("preinst", std::vector<std::string>());
  return std::optional<debian::Assembled>(std::move(a));
}

Status remember_assembly(store::Images& images, const std::string& key,
                         const debian::Assembled& a) {
  oci::OrderedJson j = oci::OrderedJson::object();
  j["config"] = oci::to_json(a.config);
  j["layers"] = oci::OrderedJson::array();
  for (const auto& l : a.layers) j["layers"].push_back(oci::descriptor_json(l.descriptor));
  j["preinst"] = a.preinst;
  return images.metadata().put_build_step(key, j.dump());
}

}  // namespace

Result<BaseResult> build_base(const std::string& root, const BaseRequest& req,
                              util::HttpClient& http, util::Sandbox& sandbox, Progress& progress) {
  // 1. Read the spec; find its lockfile.
  debian::BaseSpec spec = TRY(debian::load_spec(req.spec_path));
  BaseResult out;
  out.lock_path = req.lock_path.empty()
                      ? req.spec_path.substr(0, req.spec_path.rfind('.')) + ".lock"
                      : req.lock_path;
  bool use_lock = !req.ignore_lock && !req.lock_only && ::access(out.lock_path.c_str(), F_OK) == 0;
  auto images = TRY(store::Images::open(root));  // creates the store before its cache dir
  debian::DownloadCache cache{root + "/debian"};
  TRY(sys::mkdir_p(cache.dir));

  // 2. The packages: pinned by the lockfile, or resolved from the signed indexes.
  if (use_lock) {
    std::string text = TRY(sys::read_file(out.lock_path));
    out.packages = TRY(debian::parse_lockfile(text, out.lock_path));
  } else {
    out.packages = TRY(resolve(spec, http, cache, *images, progress));
  }
  if (req.lock_only) {
    std::string name = req.spec_path.substr(req.spec_path.rfind('/') + 1);
    TRY(sys::write_file_atomic(out.lock_path,
                               debian::lockfile_text(name, spec.architecture, out.packages)));
    return out;
  }

  // 3. The .debs, then the layers, holding the GC lock until the image is named.
  std::vector<debian::DebFile> debs = TRY(fetch_all(out.packages, http, cache, progress));
  store::FileLock gc = TRY(images->store().lock_gc_shared());
  Step step(progress, fmt::format("[base] assemble {} layers",
                                  spec.layers.empty() ? 2 : spec.layers.size() + 1));
  std::string key = assembly_key(spec, out.packages);
  std::optional<debian::Assembled> hit = TRY(cached_assembly(*images, key));
  debian::Assembled assembled;
  if (hit) {
    assembled = std::move(*hit);
    step.cached();
  } else {
    assembled = TRY(step.check(debian::assemble(*images, spec, debs)));
    TRY(remember_assembly(*images, key, assembled));
  }
  std::vector<oci::Descriptor> layers;
  for (const auto& l : assembled.layers) layers.push_back(l.descriptor);
  if (!spec.scripts) {
    std::tie(out.id, out.manifest) = TRY(images->put_image(assembled.config, layers, req.tags));
    return out;
  }

  // 4. Maintainer scripts: an ordinary RUN step over the unpacked image, then the untagged
  //    intermediate image is dropped (its layers stay, under the final image).
  auto [unconfigured_id, unconfigured] = TRY(images->put_image(assembled.config, layers, {}));
  BuildRequest b;
  b.dockerfile_name = req.spec_path;
  b.dockerfile_text = fmt::format("FROM {}\nRUN {}\n", unconfigured_id.str(),
                                  configure_script(assembled.preinst, spec.source_date_epoch));
  b.tags = req.tags;
  b.source_date_epoch = spec.source_date_epoch;
  BuildResult built = TRY(build_image(root, b, sandbox, progress));
  out.id = built.id;
  out.manifest = built.manifest;
  if (unconfigured.digest != built.manifest.digest) TRY(images->remove_image(unconfigured.digest));
  return out;
}

}  // namespace bonsai::build
