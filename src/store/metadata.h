// Derived metadata beside the store, in SQLite ($ROOT/bonsai.db). Everything here can be
// recomputed from the blobs, so losing the database loses time, never data. WAL mode and a busy
// timeout let several bonsai processes share it.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "oci/digest.h"
#include "util/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace bonsai::store {

// What reading a layer's tar tells us, keyed by its diff-id.
struct LayerInfo {
  uint64_t content_size = 0;  // bytes of file content as Docker counts image SIZE
  uint64_t tar_size = 0;      // uncompressed tar stream length
  uint64_t entries = 0;
};

class MetadataDb {
 public:
  static util::Result<std::unique_ptr<MetadataDb>> open(const std::string& path);
  ~MetadataDb();

  util::Result<std::optional<LayerInfo>> layer_info(const oci::Digest& diff_id);
  util::Status put_layer_info(const oci::Digest& diff_id, const LayerInfo& info);

  // The diff-id a layer blob was verified to have (by reading it whole), if it was. A diff-id
  // alone proves nothing about another blob that claims it, so callers trusting layer_info()
  // for a blob check this first.
  util::Result<std::optional<oci::Digest>> verified_diff_id(const oci::Digest& layer_blob);
  util::Status put_verified_diff_id(const oci::Digest& layer_blob, const oci::Digest& diff_id);

  // The build cache: what the build step with this cache key produced (a JSON record owned by
  // build/cache.h). Keys are sha256 hex strings.
  util::Result<std::optional<std::string>> build_step(std::string_view key);
  util::Status put_build_step(std::string_view key, std::string_view record);

  // Content digests of build-context files: the sha256 hex of the file at path when its stat
  // fingerprint (size, mtime, inode, ...) was exactly this.
  util::Result<std::optional<std::string>> file_digest(std::string_view path,
                                                       std::string_view fingerprint);
  util::Status put_file_digest(std::string_view path, std::string_view fingerprint,
                               std::string_view sha256_hex);

  // Runs fn inside one transaction (committed when fn succeeds, rolled back otherwise), so that
  // many small writes cost one commit.
  util::Status in_transaction(const std::function<util::Status()>& fn);

 private:
  MetadataDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  util::Status exec(const char* sql);
  struct Stmt;
  // Prepares sql and binds text parameters to it.
  util::Status prepare_text(Stmt& st, const char* sql,
                            std::initializer_list<std::string_view> args);
  // Runs a SELECT with text parameters; the first column of the first row, if any.
  util::Result<std::optional<std::string>> query_text(const char* sql,
                                                      std::initializer_list<std::string_view> args);
  // Runs a statement with text parameters that returns no rows.
  util::Status run_text(const char* sql, std::initializer_list<std::string_view> args);
  sqlite3* db_;
  // Statements prepared by prepare_text, kept for reuse (keyed by the SQL literal's address).
  std::map<const char*, sqlite3_stmt*> prepared_;
  std::string path_;
};

}  // namespace bonsai::store
