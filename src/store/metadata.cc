#include "store/metadata.h"

#include <sqlite3.h>

#include <mutex>

namespace bonsai::store {

using util::ErrorKind;
using util::fail;

// A prepared statement finalised on scope exit.
struct MetadataDb::Stmt {
  sqlite3_stmt* s = nullptr;
  bool kept = false;  // one of prepared_: reset for the next use instead of finalised
  ~Stmt() {
    if (!kept) {
      sqlite3_finalize(s);
    } else if (s) {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    }
  }
};

namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS layers ("
    "  diff_id TEXT PRIMARY KEY,"
    "  content_size INTEGER NOT NULL,"
    "  tar_size INTEGER NOT NULL,"
    "  entries INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS layer_blobs ("
    "  blob TEXT PRIMARY KEY,"
    "  diff_id TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS build_steps ("
    "  key TEXT PRIMARY KEY,"
    "  record TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS file_digests ("
    "  path TEXT PRIMARY KEY,"
    "  fingerprint TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL)";

}  // namespace

util::Result<std::unique_ptr<MetadataDb>> MetadataDb::open(const std::string& path) {
  // Before SQLite initialises: no bulk page cache. By default each connection allocates and
  // touches 20 pages up front, though a cached build reads a handful; at 30-40 us a page fault
  // on these VMs that was 1 ms of every build. (Fails harmlessly if SQLite is already set up.)
  static std::once_flag configured;
  std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0); });
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return fail(ErrorKind::kIo, "open " + path + ": " + msg);
  }
  std::unique_ptr<MetadataDb> m(new MetadataDb(db, path));
  sqlite3_busy_timeout(db, 30000);
  // The last connection to close does not checkpoint. A checkpoint on close cost two fdatasyncs
  // per command, and deleting the WAL two more (the next command made a new one and synced it
  // and the directory). The WAL now stays, and a commit checkpoints once it passes
  // wal_autocheckpoint pages; the next command's first open replays what is left.
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  TRY(m->exec("PRAGMA journal_mode=WAL"));
  TRY(m->exec("PRAGMA synchronous=NORMAL"));
  TRY(m->exec("PRAGMA wal_autocheckpoint=64"));
  TRY(m->exec(kSchema));
  return m;
}

MetadataDb::~MetadataDb() {
  for (auto& [_, st] : prepared_) sqlite3_finalize(st);
  sqlite3_close(db_);
}

util::Status MetadataDb::in_transaction(const std::function<util::Status()>& fn) {
  TRY(exec("BEGIN IMMEDIATE"));
  util::Status st = fn();
  if (!st) {
    (void)exec("ROLLBACK");
    return st;
  }
  return exec("COMMIT");
}

util::Status MetadataDb::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return fail(ErrorKind::kIo, path_ + ": " + msg);
  }
  return {};
}

util::Result<std::optional<LayerInfo>> MetadataDb::layer_info(const oci::Digest& diff_id) {
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT content_size, tar_size, entries FROM layers WHERE diff_id=?",
                         -1, &st.s, nullptr) != SQLITE_OK)
    return fail(ErrorKind::kIo, path_ + ": " + sqlite3_errmsg(db_));
  sqlite3_bind_text(st.s, 1, diff_id.str().c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return std::optional<LayerInfo>();
  if (rc != SQLITE_ROW) return fail(ErrorKind::kIo, path_ + ": " + sqlite3_errmsg(db_));
  LayerInfo info;
  info.content_size = static_cast<uint64_t>(sqlite3_column_int64(st.s, 0));
  info.tar_size = static_cast<uint64_t>(sqlite3_column_int64(st.s, 1));
  info.entries = static_cast<uint64_t>(sqlite3_column_int64(st.s, 2));
  return std::optional<LayerInfo>(info);
}

util::Status MetadataDb::put_layer_info(const oci::Digest& diff_id, const LayerInfo& info) {
  Stmt st;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO layers VALUES (?,?,?,?)", -1, &st.s,
                         nullptr) != SQLITE_OK)
    return fail(ErrorKind::kIo, path_ + ": " + sqlite3_errmsg(db_));
  sqlite3_bind_text(st.s, 1, diff_id.str().c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st.s, 2, static_cast<sqlite3_int64>(info.content_size));
  sqlite3_bind_int64(st.s, 3, static_cast<sqlite3_int64>(info.tar_size));
  sqlite3_bind_int64(st.s, 4, static_cast<sqlite3_int64>(info.entries));
  if (sqlite3_step(st.s) != SQLITE_DONE)
    return fail(ErrorKind::kIo, path_ + ": " + sqlite3_errmsg(db_));
  return {};
}

util::Result<std::optional<oci::Digest>> MetadataDb::verified_diff_id(
    const oci::Digest& layer_blob) {
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT diff_id FROM layer_blobs WHERE blob=?", -1, &st.s, nullptr) !=
      SQLITE_OK)
    return fail(ErrorKind::kIo, path_ + ": " + sqlite3_errmsg(db_));
  sqlite3_bind_text(st.s, 1, layer_blob.str().c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return std::optional<oci::Digest>();
  if (rc != SQLITE_ROW) return fail(ErrorKind::kIo, path_ + ": " + sqlite3_errmsg(db_));
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
  auto d = oci::Digest::parse(text ? text : "");
  if (!d) return std::optional<oci::Digest>();  // a damaged row: verify again
  return std::optional<oci::Digest>(*d);
}

util::Status MetadataDb::put_verified_diff_id(const oci::Digest& layer_blob,
                                              const oci::Digest& diff_id) {
  Stmt st;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO layer_blobs VALUES (?,?)", -1, &st.s,
                         nullptr) != SQLITE_OK)
    return fail(ErrorKind::kIo, path_ + ": " + sqlite3_errmsg(db_));
  sqlite3_bind_text(st.s, 1, layer_blob.str().c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 2, diff_id.str().c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) != SQLITE_DONE)
    return fail(ErrorKind::kIo, path_ + ": " + sqlite3_errmsg(db_));
  return {};
}

util::Status MetadataDb::prepare_text(Stmt& st, const char* sql,
                                      std::initializer_list<std::string_view> args) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
      return fail(ErrorKind::kIo, path_ + ": " + sqlite3_errmsg(db_));
    it = prepared_.emplace(sql, s).first;
  }
  st.s = it->second;
  st.kept = true;
  int i = 1;
  for (std::string_view a : args)
    sqlite3_bind_text(st.s, i++, a.data(), static_cast<int>(a.size()), SQLITE_TRANSIENT);
  return {};
}

util::Result<std::optional<std::string>> MetadataDb::query_text(
    const char* sql, std::initializer_list<std::string_view> args) {
  Stmt st;
  TRY(prepare_text(st, sql, args));
  int rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return fail(ErrorKind::kIo, path_ + ": " + sqlite3_errmsg(db_));
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
  return std::optional<std::string>(text ? text : "");
}

util::Status MetadataDb::run_text(const char* sql, std::initializer_list<std::string_view> args) {
  Stmt st;
  TRY(prepare_text(st, sql, args));
  if (sqlite3_step(st.s) != SQLITE_DONE)
    return fail(ErrorKind::kIo, path_ + ": " + sqlite3_errmsg(db_));
  return {};
}

util::Result<std::optional<std::string>> MetadataDb::build_step(std::string_view key) {
  return query_text("SELECT record FROM build_steps WHERE key=?", {key});
}

util::Status MetadataDb::put_build_step(std::string_view key, std::string_view record) {
  return run_text("INSERT OR REPLACE INTO build_steps VALUES (?,?)", {key, record});
}

util::Result<std::optional<std::string>> MetadataDb::file_digest(std::string_view path,
                                                                 std::string_view fingerprint) {
  return query_text("SELECT sha256 FROM file_digests WHERE path=? AND fingerprint=?",
                    {path, fingerprint});
}

util::Status MetadataDb::put_file_digest(std::string_view path, std::string_view fingerprint,
                                         std::string_view sha256_hex) {
  return run_text("INSERT OR REPLACE INTO file_digests VALUES (?,?,?)",
                  {path, fingerprint, sha256_hex});
}

}  // namespace bonsai::store
