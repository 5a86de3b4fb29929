// SHA-256 through OpenSSL's SHA256_* functions, which use the CPU's SHA extensions (SHA-NI) where
// present: over 1 GB/s here, against 0.26 GB/s for coreutils sha256sum. Not EVP: its first use
// loads openssl.cnf and builds the provider tables, about 65 page faults (2-3 ms here) at every
// start of bonsai, and with a static libcrypto it would pull in most of the library.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/io.h"

namespace bonsai::util {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  // Returns the lowercase hex digest. The hasher may not be used afterwards.
  std::string finish_hex();
  std::array<uint8_t, 32> finish();

  static std::string hex_of(std::string_view data);

 private:
  // OpenSSL's SHA256_CTX (112 bytes), kept opaque so that callers need no OpenSSL headers.
  alignas(8) unsigned char state_[112];
};

std::string to_hex(const uint8_t* data, size_t n);

// Hashes what passes through to another writer (or only hashes, when out is null).
class HashingWriter final : public Writer {
 public:
  explicit HashingWriter(Writer* out) : out_(out) {}
  Status write(std::string_view data) override;
  Status close() override { return out_ ? out_->close() : Status{}; }
  uint64_t count() const { return count_; }
  std::string finish_hex() { return hash_.finish_hex(); }

 private:
  Writer* out_;
  Sha256 hash_;
  uint64_t count_ = 0;
};

// Hashes what is read through it.
class HashingReader final : public Reader {
 public:
  explicit HashingReader(Reader& in) : in_(in) {}
  Result<size_t> read(std::span<char> buf) override;
  uint64_t count() const { return count_; }
  std::string finish_hex() { return hash_.finish_hex(); }

 private:
  Reader& in_;
  Sha256 hash_;
  uint64_t count_ = 0;
};

}  // namespace bonsai::util
