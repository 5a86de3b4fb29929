// Users and groups by name, read from the image's own /etc/passwd and /etc/group (through a
// util::TreeFs, so a hostile image cannot point the build at host files), as Docker resolves
// USER and COPY --chown.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"
#include "util/fs.h"

namespace bonsai::build {

struct UserIds {
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> groups;  // supplementary groups: those in /etc/group listing the user
  std::string home = "/";        // the passwd entry's home directory (runc's HOME default)
};

// USER "name", "uid", "name:group", "uid:gid" (either part a name or a number), as runc resolves
// it: a user name must be in /etc/passwd; a numeric uid not found there gets gid 0; the primary
// group comes from the passwd entry unless a group is given; a group name must be in /etc/group.
// Missing or unreadable files count as empty. Unknown names are kNotFound: `unable to find user
// x: no matching entries in passwd file`, as Docker says.
util::Result<UserIds> resolve_user(util::TreeFs& root, std::string_view spec);

// COPY/ADD --chown "user", "user:group", "uid", "uid:gid": names looked up as above, and a user
// given without a group gets the same number as its gid (the Dockerfile reference's rule).
util::Result<std::pair<uint32_t, uint32_t>> resolve_chown(util::TreeFs& root,
                                                          std::string_view spec);

}  // namespace bonsai::build
