// Byte streams. Layers are streamed end to end (file -> gunzip -> tar -> disk, or tar -> gzip ->
// hash -> blob), never held whole in memory, so every stage is a Reader or a Writer.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace bonsai::util {

class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to buf.size() bytes. Returns 0 only at end of stream.
  virtual Result<size_t> read(std::span<char> buf) = 0;
};

class Writer {
 public:
  virtual ~Writer() = default;
  virtual Status write(std::string_view data) = 0;
  // Flushes anything buffered and ends the stream. Writing after close() is a bug.
  virtual Status close() { return {}; }
};

// Reads until buf is full or the stream ends; returns the count read.
Result<size_t> read_full(Reader& in, std::span<char> buf);
// Reads the whole stream into a string, failing with kLimit past max_bytes.
Result<std::string> read_all(Reader& in, size_t max_bytes);
// Copies in to out until end of stream; returns the byte count. Does not close out.
Result<uint64_t> copy(Reader& in, Writer& out);
// Reads and drops n bytes; fails with kCorrupt if the stream ends first.
Status skip(Reader& in, uint64_t n);

class StringReader final : public Reader {
 public:
  explicit StringReader(std::string_view data) : data_(data) {}
  Result<size_t> read(std::span<char> buf) override;

 private:
  std::string_view data_;
};

class StringWriter final : public Writer {
 public:
  Status write(std::string_view data) override {
    out_.append(data);
    return {};
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

// Counts bytes passed through to another writer (or discarded when out is null).
class CountingWriter final : public Writer {
 public:
  explicit CountingWriter(Writer* out) : out_(out) {}
  Status write(std::string_view data) override;
  Status close() override { return out_ ? out_->close() : Status{}; }
  uint64_t count() const { return count_; }

 private:
  Writer* out_;
  uint64_t count_ = 0;
};

// Counts bytes read through it.
class CountingReader final : public Reader {
 public:
  explicit CountingReader(Reader& in) : in_(in) {}
  Result<size_t> read(std::span<char> buf) override;
  uint64_t count() const { return count_; }

 private:
  Reader& in_;
  uint64_t count_ = 0;
};

// Replays bytes already taken from a stream (peeked at to detect its format), then continues
// with the rest of it.
class PrefixReader final : public Reader {
 public:
  PrefixReader(std::string head, Reader& rest) : head_(std::move(head)), rest_(rest) {}
  Result<size_t> read(std::span<char> buf) override;

 private:
  std::string head_;
  size_t pos_ = 0;
  Reader& rest_;
};

// Reads at most `limit` bytes of another reader (a tar entry body, a blob of known size).
class LimitedReader final : public Reader {
 public:
  LimitedReader(Reader& in, uint64_t limit) : in_(in), left_(limit) {}
  Result<size_t> read(std::span<char> buf) override;
  uint64_t left() const { return left_; }

 private:
  Reader& in_;
  uint64_t left_;
};

// Reads another reader in large chunks, so consumers that ask for small pieces (a tar header
// at a time) do not cost a system call each.
class BufferedReader final : public Reader {
 public:
  explicit BufferedReader(Reader& in, size_t capacity = 1 << 20) : in_(in), buf_(capacity) {}
  Result<size_t> read(std::span<char> buf) override;

 private:
  Reader& in_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
};

}  // namespace bonsai::util
