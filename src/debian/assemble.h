// Turning downloaded .deb files into image layers, as dpkg would lay them out: one layer per
// package group (BaseSpec::layers), then one layer of what bonsai writes itself (passwd, group,
// dpkg's records, the CA bundle, /tmp and home directories). See docs/debian.md.
#pragma once

#include <string>
#include <vector>

#include "debian/package.h"
#include "debian/spec.h"
#include "oci/image.h"
#include "store/images.h"

namespace bonsai::debian {

// A resolved package and the verified .deb that holds it.
struct DebFile {
  Package package;
  std::string path;
};

struct AssembledLayer {
  oci::Descriptor descriptor;
  oci::Digest diff_id;
  std::string created_by;  // the history line: "bonsai base: libc6 libgcc-s1 ..."
};

struct Assembled {
  std::vector<AssembledLayer> layers;
  oci::ImageConfig config;  // created, architecture, os, Env, WorkingDir, User, Entrypoint, Cmd
  // For scripts: true, the packages in install order whose preinst must run before
  // `dpkg --configure -a` (every package that has one).
  std::vector<std::string> preinst;
};

// Writes the layers for `debs` (in install order: dependencies first) into the store and returns
// them with the image config. Nothing is tagged. Layers are deterministic: the same packages and
// spec give the same blobs, whatever the day. The caller holds the store's GC lock until the
// image is registered.
util::Result<Assembled> assemble(store::Images& images, const BaseSpec& spec,
                                 const std::vector<DebFile>& debs);

// The package name dpkg uses for info files: "libc6:amd64" for Multi-Arch: same, else the name.
std::string dpkg_info_name(const Package& p);

// update-ca-certificates' bundle: every certificate file under /usr/share/ca-certificates in
// byte order of its path, each ending with a newline.
std::string ca_bundle(const std::vector<std::pair<std::string, std::string>>& certs);

// True when `path` (absolute, "/usr/share/doc/x") or a directory above it matches a pattern.
bool path_excluded(const std::vector<std::string>& patterns, std::string_view path);

}  // namespace bonsai::debian
