#include "util/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace bonsai::util {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::update(std::string_view data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }

std::array<uint8_t, 32> Sha256::finish() {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, out.data(), &len);
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
