#include "util/io.h"

#include <algorithm>
#include <cstring>
#include <memory>

namespace bonsai::util {

Result<size_t> read_full(Reader& in, std::span<char> buf) {
  size_t done = 0;
  while (done < buf.size()) {
    size_t n = TRY(in.read(buf.subspan(done)));
    if (n == 0) break;
    done += n;
  }
  return done;
}

Result<std::string> read_all(Reader& in, size_t max_bytes) {
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    size_t n = TRY(in.read(buf));
    if (n == 0) return out;
    if (out.size() + n > max_bytes)
      return fail(ErrorKind::kLimit,
                  "stream is larger than " + std::to_string(max_bytes) + " bytes");
    out.append(buf, n);
  }
}

Result<uint64_t> copy(Reader& in, Writer& out) {
  // Not zeroed: a copy of a small file touches only the pages its bytes fill, and a COPY of
  // 10,000 files does not clear 256 KiB for each.
  constexpr size_t kSize = 256 * 1024;
  auto buf = std::make_unique_for_overwrite<char[]>(kSize);
  uint64_t total = 0;
  for (;;) {
    size_t n = TRY(in.read(std::span<char>(buf.get(), kSize)));
    if (n == 0) return total;
    TRY(out.write(std::string_view(buf.get(), n)));
    total += n;
  }
}

Status skip(Reader& in, uint64_t n) {
  char buf[64 * 1024];
  while (n > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(n, sizeof buf));
    size_t got = TRY(in.read(std::span<char>(buf, want)));
    if (got == 0) return fail(ErrorKind::kCorrupt, "unexpected end of stream");
    n -= got;
  }
  return {};
}

Result<size_t> StringReader::read(std::span<char> buf) {
  size_t n = std::min(buf.size(), data_.size());
  std::memcpy(buf.data(), data_.data(), n);
  data_.remove_prefix(n);
  return n;
}

Status CountingWriter::write(std::string_view data) {
  count_ += data.size();
  return out_ ? out_->write(data) : Status{};
}

Result<size_t> CountingReader::read(std::span<char> buf) {
  size_t n = TRY(in_.read(buf));
  count_ += n;
  return n;
}

Result<size_t> PrefixReader::read(std::span<char> buf) {
  if (pos_ < head_.size()) {
    size_t n = std::min(buf.size(), head_.size() - pos_);
    std::memcpy(buf.data(), head_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  return rest_.read(buf);
}

Result<size_t> LimitedReader::read(std::span<char> buf) {
  if (left_ == 0) return size_t{0};
  if (buf.size() > left_) buf = buf.first(static_cast<size_t>(left_));
  size_t n = TRY(in_.read(buf));
  left_ -= n;
  return n;
}

Result<size_t> BufferedReader::read(std::span<char> buf) {
  if (pos_ == end_) {
    // A large request bypasses the buffer rather than being copied through it.
    if (buf.size() >= buf_.size()) return in_.read(buf);
    end_ = TRY(in_.read(buf_));
    pos_ = 0;
    if (end_ == 0) return size_t{0};
  }
  size_t n = std::min(buf.size(), end_ - pos_);
  std::memcpy(buf.data(), buf_.data() + pos_, n);
  pos_ += n;
  return n;
}

}  // namespace bonsai::util
