// `bonsai base build` and `bonsai base lock`: a base image from Debian packages, end to end.
//
//   spec --> packages (from SPEC.lock, or signed indexes + resolver) --> verified .debs (cache)
//        --> layers (debian/assemble) --> [scripts: RUN preinst + dpkg --configure -a] --> image
//
// The configure step is an ordinary build step (build/builder.h) over the assembled image, so it
// runs in the same sandbox as RUN and is cached the same way. See docs/debian.md.
#pragma once

#include <string>
#include <vector>

#include "build/progress.h"
#include "debian/package.h"
#include "oci/image.h"
#include "store/reference.h"
#include "util/http.h"
#include "util/sandbox.h"

namespace bonsai::build {

struct BaseRequest {
  std::string spec_path;
  std::vector<store::Reference> tags;
  // The lockfile to build from; empty: SPEC.lock next to the spec when it exists.
  std::string lock_path;
  bool ignore_lock = false;  // resolve from the indexes even when a lockfile exists
  bool lock_only = false;    // `bonsai base lock`: resolve and write the lockfile, build nothing
};

struct BaseResult {
  oci::Descriptor manifest;
  oci::Digest id;
  std::vector<debian::Package> packages;  // install order
  std::string lock_path;                  // the lockfile read or written
};

util::Result<BaseResult> build_base(const std::string& root, const BaseRequest& request,
                                    util::HttpClient& http, util::Sandbox& sandbox,
                                    Progress& progress);

}  // namespace bonsai::build
