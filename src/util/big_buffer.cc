#include "util/big_buffer.h"

#include <sys/mman.h>

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

BigBuffer::BigBuffer(BigBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapped_(std::exchange(other.mapped_, 0)) {}

BigBuffer& BigBuffer::operator=(BigBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

void BigBuffer::release() {
  if (mapping_) ::munmap(mapping_, mapped_);
  data_ = nullptr;
  mapping_ = nullptr;
  size_ = capacity_ = mapped_ = 0;
}

void BigBuffer::reserve(size_t n) {
  if (n <= capacity_) return;
  // 1. Map whole huge pages, aligned to one: map a huge page more and trim both ends.
  const size_t want = round_up(std::max(n, capacity_ + capacity_ / 2), kHugePage);
  if (want < n) throw std::bad_alloc();  // overflow
  void* raw = ::mmap(nullptr, want + kHugePage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = round_up(start, kHugePage);
  if (aligned > start) ::munmap(raw, aligned - start);
  uintptr_t end = start + want + kHugePage;
  if (end > aligned + want) ::munmap(reinterpret_cast<void*>(aligned + want), end - aligned - want);
  // 2. Ask for huge pages (refused harmlessly where they are off), then move the contents.
  (void)::madvise(reinterpret_cast<void*>(aligned), want, MADV_HUGEPAGE);
  char* fresh = reinterpret_cast<char*>(aligned);
  if (size_ > 0) std::memcpy(fresh, data_, size_);
  size_t size = size_;
  release();
  data_ = fresh;
  size_ = size;
  capacity_ = want;
  mapping_ = fresh;
  mapped_ = want;
}

void BigBuffer::resize(size_t n) {
  reserve(n);
  size_ = n;
}

void BigBuffer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  reserve(size_ + bytes.size());
  std::memcpy(data_ + size_, bytes.data(), bytes.size());
  size_ += bytes.size();
}

}  // namespace bonsai::util
