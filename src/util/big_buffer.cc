#include "util/big_buffer.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

namespace bonsai::util {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

BigBuffer::~BigBuffer() { release(); }

BigBuffer::BigBuffer(BigBuffer&& other) noexcept { *this = std::move(other); }

BigBuffer& BigBuffer::operator=(BigBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
    touched_ = std::exchange(other.touched_, 0);
    huge_ = std::exchange(other.huge_, false);
  }
  return *this;
}

void BigBuffer::release() {
  if (mapping_) ::munmap(mapping_, mapped_);
  data_ = nullptr;
  mapping_ = nullptr;
  size_ = capacity_ = mapped_ = touched_ = 0;
  huge_ = false;
}

char* BigBuffer::map(size_t bytes, bool huge) {
  // Map a huge page more than asked and trim both ends to the aligned region.
  void* raw = ::mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = round_up(start, kHugePage);
  if (aligned > start) ::munmap(raw, aligned - start);
  uintptr_t end = start + bytes + kHugePage;
  if (end > aligned + bytes)
    ::munmap(reinterpret_cast<void*>(aligned + bytes), end - aligned - bytes);
  // Refused harmlessly where huge pages are off.
  if (huge) (void)::madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
  return reinterpret_cast<char*>(aligned);
}

void BigBuffer::remap(size_t capacity, bool huge) {
  char* fresh = map(capacity, huge);
  if (size_ > 0) std::memcpy(fresh, data_, size_);
  const size_t size = size_;
  release();
  data_ = fresh;
  size_ = touched_ = size;
  capacity_ = mapped_ = capacity;
  mapping_ = fresh;
  huge_ = huge;
}

void BigBuffer::reserve(size_t n) {
  if (n <= capacity_) return;
  const size_t want = round_up(std::max(n, capacity_ + capacity_ / 2), kHugePage);
  if (want < n) throw std::bad_alloc();  // overflow
  remap(want, huge_);
}

void BigBuffer::prepare(size_t n) {
  reserve(n);
  if (!huge_ && n > kHugeFrom) {
    if (touched_ == 0) {
      // Nothing touched yet: advise the mapping as it is.
      (void)::madvise(mapping_, mapped_, MADV_HUGEPAGE);
      huge_ = true;
    } else {
      // Its first pages are already small ones, which would keep the first 2 MiB at 512
      // faults: move the (at most kHugeFrom) bytes to a fresh advised mapping.
      remap(capacity_, true);
    }
  }
  touched_ = std::max(touched_, n);
}

void BigBuffer::resize(size_t n) {
  prepare(n);
  size_ = n;
}

void BigBuffer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  prepare(size_ + bytes.size());
  std::memcpy(data_ + size_, bytes.data(), bytes.size());
  size_ += bytes.size();
}

}  // namespace bonsai::util
