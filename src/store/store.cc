#include "store/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/sha256.h"

namespace bonsai::store {

using util::ErrorKind;
using util::fail;
using util::sys_fail;

namespace {

constexpr char kLayoutFile[] = R"({"imageLayoutVersion":"1.0.0"})";
constexpr size_t kWriteBuffer = 1 << 20;
constexpr uint64_t kWritebackChunk = 8 << 20;

// What a store directory may hold before its oci-layout file (written last) exists: the parts
// an interrupted or concurrent creation of the layout leaves.
bool is_layout_part(std::string_view name) {
  for (std::string_view n : {"blobs", "ingest", "locks", "index.json", "bonsai.db", "bonsai.db-wal",
                             "bonsai.db-shm", "bonsai.db-journal"})
    if (name == n) return true;
  return name.starts_with("index.json.tmp.") || name.starts_with("oci-layout.tmp.");
}

// A store may be created in root only if it is absent, empty or a layout being created, so that a
// mistyped --root never scatters blobs/ and index.json among someone's files.
Status check_creatable(const std::string& root) {
  DIR* d = ::opendir(root.c_str());
  if (!d) {
    if (errno == ENOENT) return {};
    return sys_fail("open store " + root);
  }
  std::string stray;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name != "." && name != ".." && !is_layout_part(name)) {
      stray = name;
      break;
    }
  }
  ::closedir(d);
  if (stray.empty()) return {};
  return fail(ErrorKind::kInvalidArgument,
              root + ": not an OCI image layout (no oci-layout file, and it holds \"" + stray +
                  "\"); use an empty or new directory as the store");
}

// 64 bits from the kernel for each call: safe from any thread (a shared engine was not, and two
// stage threads committing layers at once drew the same ingest name).
std::string random_name() {
  uint64_t v = 0;
  while (::getrandom(&v, sizeof v, 0) != static_cast<ssize_t>(sizeof v)) {
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

// --- BlobWriter ---

BlobWriter::BlobWriter(std::string root, std::string path, sys::UniqueFd fd)
    : root_(std::move(root)), path_(std::move(path)), fd_(std::move(fd)) {
  buf_.reserve(kWriteBuffer);
}

BlobWriter::~BlobWriter() {
  if (!done_) ::unlink(path_.c_str());
}

Status BlobWriter::write(std::string_view data) {
  TRY(hasher_.write(data));
  if (buf_.size() + data.size() < kWriteBuffer) {
    buf_.append(data);
    return {};
  }
  sys::FdWriter w(fd_.get(), path_);
  TRY(w.write(buf_.view()));
  TRY(w.write(data));
  written_ += buf_.size() + data.size();
  buf_.clear();
  // Start writeback of what is written so far, so commit()'s fsync finds little left to do
  // and the disk works while we read and hash.
  if (written_ - flushed_ >= kWritebackChunk) {
    sys::start_writeback(fd_.get(), flushed_, written_ - flushed_);
    flushed_ = written_;
  }
  return {};
}

Result<std::pair<oci::Digest, int64_t>> BlobWriter::commit(
    const std::optional<oci::Digest>& expected, std::optional<int64_t> expected_size) {
  sys::FdWriter w(fd_.get(), path_);
  TRY(w.write(buf_.view()));
  buf_.clear();
  auto size = static_cast<int64_t>(hasher_.count());
  oci::Digest got = oci::Digest::sha256_hex(hasher_.finish_hex());
  if (expected && *expected != got)
    return fail(ErrorKind::kCorrupt,
                "digest mismatch: content is " + got.str() + ", expected " + expected->str());
  if (expected_size && *expected_size != size)
    return fail(ErrorKind::kCorrupt, "size mismatch: content is " + std::to_string(size) +
                                         " bytes, expected " + std::to_string(*expected_size));
  std::string dest = root_ + "/blobs/sha256/" + std::string(got.hex());
  if (sys::exists(dest)) {
    ::unlink(path_.c_str());
  } else {
    // The directory is fsynced once, by the index update that makes the blob reachable.
    TRY(sys::fsync_fd(fd_.get(), path_));
    TRY(sys::rename_file(path_, dest));
  }
  done_ = true;
  fd_.reset();
  return std::make_pair(got, size);
}

// --- Store ---

Result<std::unique_ptr<Store>> Store::open(const std::string& root) {
  if (root.empty()) return fail(ErrorKind::kInvalidArgument, "store root is empty");
  std::string layout = root + "/oci-layout";
  if (sys::exists(layout)) {
    std::string text = TRY(sys::read_file(layout, 4096));
    auto j = TRY(oci::parse_strict_json(text, layout));
    if (!j.is_object() || j.value("imageLayoutVersion", "") != "1.0.0")
      return fail(ErrorKind::kCorrupt, layout + ": not an OCI image layout 1.0.0");
  } else {
    TRY(check_creatable(root));
    TRY(sys::mkdir_p(root, 0700));
  }
  for (const char* d : {"/blobs/sha256", "/ingest", "/locks"}) TRY(sys::mkdir_p(root + d));
  std::unique_ptr<Store> store(new Store(root));
  if (!sys::exists(layout)) {
    // Under index.lock, so that a process creating the same store cannot replace an index.json
    // another has already added images to. oci-layout goes last: it marks a complete layout.
    FileLock held = TRY(store->lock("index.lock", LOCK_EX));
    if (!sys::exists(root + "/index.json"))
      TRY(sys::write_file_atomic(root + "/index.json", R"({"schemaVersion":2,"manifests":[]})"));
    TRY(sys::write_file_atomic(layout, kLayoutFile));
  }
  return store;
}

std::string Store::blob_path(const oci::Digest& d) const {
  return root_ + "/blobs/" + std::string(d.algorithm()) + "/" + std::string(d.hex());
}

bool Store::has_blob(const oci::Digest& d) const { return sys::exists(blob_path(d)); }

Result<std::string> Store::read_blob(const oci::Digest& d, size_t max_bytes) const {
  std::string data = TRY_CTX(sys::read_file(blob_path(d), max_bytes), "blob " + d.str());
  if (oci::Digest::of(data) != d)
    return fail(ErrorKind::kCorrupt, "blob " + d.str() + ": content does not match its digest");
  return data;
}

Result<sys::UniqueFd> Store::open_blob(const oci::Digest& d) const {
  auto fd = sys::open_file(blob_path(d), O_RDONLY);
  if (!fd && fd.error().kind() == ErrorKind::kNotFound)
    return fail(ErrorKind::kNotFound, "blob " + d.str() + " is not in the store");
  return fd;
}

Result<std::unique_ptr<BlobWriter>> Store::begin_blob() {
  // The flock marks the ingest file as live; clean_stale_ingests() removes unlocked files. A
  // cleaner can take the lock between our create and our flock and unlink the file: the link
  // count then says so, and we start again with a new name.
  for (;;) {
    std::string path = root_ + "/ingest/" + random_name();
    sys::UniqueFd fd = TRY(sys::open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0644));
    int rc;
    do {
      rc = ::flock(fd.get(), LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return sys_fail("lock " + path);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return sys_fail("stat " + path);
    if (st.st_nlink > 0)
      return std::unique_ptr<BlobWriter>(new BlobWriter(root_, path, std::move(fd)));
  }
}

Result<oci::Digest> Store::put_blob(std::string_view bytes) {
  oci::Digest d = oci::Digest::of(bytes);
  if (has_blob(d)) return d;
  auto w = TRY(begin_blob());
  TRY(w->write(bytes));
  TRY(w->commit(d, static_cast<int64_t>(bytes.size())));
  return d;
}

Result<oci::Index> Store::read_index() const {
  std::string path = root_ + "/index.json";
  auto fd = sys::open_file(path, O_RDONLY);
  if (!fd) {
    index_cache_.reset();
    if (fd.error().kind() == ErrorKind::kNotFound) return oci::Index{};
    return std::unexpected(fd.error());
  }
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return sys_fail("stat " + path);
  // 1. The file parsed last, unchanged: its document.
  auto same = [&](const struct stat& a) {
    return a.st_dev == st.st_dev && a.st_ino == st.st_ino && a.st_size == st.st_size &&
           a.st_mtim.tv_sec == st.st_mtim.tv_sec && a.st_mtim.tv_nsec == st.st_mtim.tv_nsec &&
           a.st_ctim.tv_sec == st.st_ctim.tv_sec && a.st_ctim.tv_nsec == st.st_ctim.tv_nsec;
  };
  if (index_cache_ && same(index_cache_->st)) return index_cache_->index;
  // 2. Otherwise parse it, and keep it with its file.
  sys::FdReader r(fd->get(), path);
  std::string text = TRY_CTX(util::read_all(r, 64 << 20), path);
  oci::Index index = TRY(oci::parse_index(text, path));
  index_cache_ = CachedIndex{std::move(*fd), st, index};
  return index;
}

Status Store::update_index(const std::function<Status(oci::Index&)>& change) {
  FileLock held = TRY(lock("index.lock", LOCK_EX));
  oci::Index index = TRY(read_index());
  std::string before = oci::to_json(index);
  TRY(change(index));
  index.media_type = std::string(oci::media::kOciIndex);
  // Nothing changed (a rebuild tagging the image it tagged before): no write, no fsync.
  std::string after = oci::to_json(index);
  if (after == before) return {};
  // The blobs it names are fsynced, their names in blobs/ not yet: one fsync makes every blob
  // committed before this point durable before the index that refers to them.
  TRY(sys::fsync_dir(root_ + "/blobs/sha256"));
  // Write the temp file in ingest/ so that a crash leaves nothing stray beside index.json.
  std::string tmp = root_ + "/ingest/index-" + random_name();
  {
    sys::UniqueFd fd = TRY(sys::open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644));
    sys::FdWriter w(fd.get(), tmp);
    auto st = w.write(after);
    if (st) st = sys::fsync_fd(fd.get(), tmp);
    if (!st) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  if (auto st = sys::rename_file(tmp, root_ + "/index.json"); !st) {
    ::unlink(tmp.c_str());
    return st;
  }
  return sys::fsync_dir(root_);
}

Result<FileLock> Store::lock(const std::string& name, int op) {
  std::string path = root_ + "/locks/" + name;
  sys::UniqueFd fd = TRY(sys::open_file(path, O_RDWR | O_CREAT, 0644));
  int rc;
  do {
    rc = ::flock(fd.get(), op);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return sys_fail("lock " + path);
  return FileLock(std::move(fd));
}

Result<FileLock> Store::lock_gc_shared() { return lock("gc.lock", LOCK_SH); }
Result<FileLock> Store::lock_gc_exclusive() { return lock("gc.lock", LOCK_EX); }

Result<int> Store::clean_stale_ingests() {
  std::string dir = root_ + "/ingest";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return sys_fail("open " + dir);
  int removed = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    auto fd = sys::open_file(path, O_RDONLY | O_NOFOLLOW);
    if (!fd) continue;
    // Index temp files are never locked but are only in flight while index.lock is held.
    bool is_index_tmp = name.starts_with("index-");
    if (is_index_tmp) {
      auto held = lock("index.lock", LOCK_EX | LOCK_NB);
      if (!held) continue;
      ::unlink(path.c_str());
      ++removed;
      continue;
    }
    if (::flock(fd->get(), LOCK_EX | LOCK_NB) == 0) {
      ::unlink(path.c_str());
      ++removed;
    }
  }
  ::closedir(d);
  return removed;
}

}  // namespace bonsai::store
