#include "util/sha256.h"

// SHA256_Init and friends are marked deprecated in OpenSSL 3 in favour of EVP, but they remain
// part of its API and run the same assembly (see the header for why bonsai avoids EVP).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace bonsai::util {

namespace {
static_assert(sizeof(SHA256_CTX) <= 112 && alignof(SHA256_CTX) <= 8);
SHA256_CTX* ctx(unsigned char* state) { return reinterpret_cast<SHA256_CTX*>(state); }
}  // namespace

Sha256::Sha256() { SHA256_Init(ctx(state_)); }

Sha256::~Sha256() = default;

void Sha256::update(std::string_view data) { SHA256_Update(ctx(state_), data.data(), data.size()); }

std::array<uint8_t, 32> Sha256::finish() {
  std::array<uint8_t, 32> out{};
  SHA256_Final(out.data(), ctx(state_));
  return out;
}

std::string Sha256::finish_hex() {
  auto raw = finish();
  return to_hex(raw.data(), raw.size());
}

std::string Sha256::hex_of(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish_hex();
}

std::string to_hex(const uint8_t* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

Status HashingWriter::write(std::string_view data) {
  hash_.update(data);
  count_ += data.size();
  return out_ ? out_->write(data) : Status{};
}

Result<size_t> HashingReader::read(std::span<char> buf) {
  size_t n = TRY(in_.read(buf));
  hash_.update(std::string_view(buf.data(), n));
  count_ += n;
  return n;
}

}  // namespace bonsai::util
