// The content digest of a COPY's sources, for the build cache.
//
// One record per entry the COPY would write, sorted by the entry's path relative to the
// destination (stable, so overlapping sources keep their order), each a list of NUL-terminated
// fields:
//
//   path, type, mode (octal 07777), owners ("uid:gid" when preserve_owners, else ""), size
//   (regular files and symlinks, else 0), link (symlink target, first path of a hard link,
//   "major,minor" of a device), content (sha256 hex of a regular file's bytes)
//
// The digest is sha256 over "bonsai-copy-v1\0" and the records. mtimes, inode numbers and
// directory sizes are left out, so a fresh checkout of the same files hashes the same.
#include <algorithm>
#include <cstdio>
#include <map>

#include "build/copy_internal.h"
#include "util/sha256.h"

namespace bonsai::build {

using util::FileInfo;
using util::FileType;
using util::Result;

namespace {

struct Record {
  std::string path;
  std::string fields;
};

std::string octal(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

Result<std::string> file_digest(util::TreeFs& src, const std::string& path, const FileInfo& info,
                                ContentHashCache* cache) {
  if (cache) {
    if (std::optional<std::string> hex = cache->get(path, info)) return *hex;
  }
  std::unique_ptr<util::Reader> in = TRY_CTX(src.open_read(path), "hash /" + path);
  util::HashingWriter hash(nullptr);
  TRY_CTX(util::copy(*in, hash), "hash /" + path);
  std::string hex = hash.finish_hex();
  if (cache) cache->put(path, info, hex);
  return hex;
}

class Hasher {
 public:
  Hasher(util::TreeFs& src, const CopyRequest& request, ContentHashCache* cache)
      : src_(src), request_(request), cache_(cache) {}

  util::Status add(const copy_detail::SourceEntry& e, const std::string& rel) {
    const FileInfo& info = e.info;
    std::string link, content;
    uint64_t size = 0;
    bool hard_link = false;
    if (info.type == FileType::kRegular) {
      size = info.size;
      auto key = std::make_pair(info.dev, info.ino);
      if (auto it = inodes_.find(key); info.nlink > 1 && it != inodes_.end()) {
        hard_link = true;
        link = it->second.first;
        content = it->second.second;
      } else {
        content = TRY(file_digest(src_, e.path, info, cache_));
        if (info.nlink > 1) inodes_[key] = {rel, content};
      }
    } else if (info.type == FileType::kSymlink) {
      link = TRY_CTX(src_.read_link(e.path), "hash /" + e.path);
      size = link.size();
    } else if (info.type == FileType::kCharDevice || info.type == FileType::kBlockDevice) {
      link = std::to_string(info.rdev_major) + "," + std::to_string(info.rdev_minor);
    }
    std::string owners;
    if (request_.preserve_owners)
      owners = std::to_string(info.uid) + ":" + std::to_string(info.gid);
    std::string type = hard_link ? "hardlink" : std::string(util::file_type_name(info.type));
    std::string fields;
    for (const std::string& f :
         {rel, type, octal(info.mode), owners, std::to_string(size), link, content}) {
      fields += f;
      fields.push_back('\0');
    }
    records_.push_back({rel, std::move(fields)});
    return {};
  }

  std::string finish() {
    std::stable_sort(records_.begin(), records_.end(),
                     [](const Record& a, const Record& b) { return a.path < b.path; });
    util::Sha256 hash;
    hash.update(std::string_view("bonsai-copy-v1\0", 15));
    for (const Record& r : records_) hash.update(r.fields);
    return hash.finish_hex();
  }

 private:
  util::TreeFs& src_;
  const CopyRequest& request_;
  ContentHashCache* cache_;
  std::vector<Record> records_;
  // Files with more than one link already recorded: their first path and digest.
  std::map<std::pair<uint64_t, uint64_t>, std::pair<std::string, std::string>> inodes_;
};

}  // namespace

Result<std::string> hash_copy_sources(util::TreeFs& src, const CopyRequest& request,
                                      ContentHashCache* cache) {
  std::optional<dockerfile::IgnoreMatcher> excludes = TRY(copy_detail::compile_excludes(request));
  copy_detail::SourceFilter filter(excludes ? &*excludes : nullptr, request.ignore);
  copy_detail::SourcePlan plan = TRY(copy_detail::plan_sources(src, request, filter));
  Hasher hasher(src, request, cache);
  for (const copy_detail::MatchedSource& source : plan.sources) {
    // The path below the destination directory, as copy_files places it.
    std::string base = request.parents                            ? source.kept
                       : source.info.type == FileType::kDirectory ? ""
                                                                  : source.name;
    for (const copy_detail::SourceEntry& e : TRY(copy_detail::walk_source(src, source, filter)))
      TRY(hasher.add(e, copy_detail::join_path(base, e.rel)));
  }
  return hasher.finish();
}

}  // namespace bonsai::build
