// Errors and results for the whole project.
//
// Every fallible function returns Result<T> = std::expected<T, Error>. An Error carries a kind
// (mapped to exit codes by the CLI), the errno of a failed system call when there was one, and a
// message that names what failed and where ("open blobs/sha256/ab..: No such file or directory").
// Context is added on the way up with Error::context(), so the final message reads outermost
// first: "load golang.tar: layer 3: gzip: unexpected end of stream".
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace bonsai::util {

enum class ErrorKind {
  kInvalidArgument,  // bad flag, bad reference, malformed user input
  kNotFound,         // image, blob, file or tag absent
  kAlreadyExists,
  kCorrupt,      // content does not match its digest, malformed archive or document
  kUnsupported,  // valid input we do not handle (unknown media type, algorithm)
  kLimit,        // a safety limit was hit (decompression bomb, header too large)
  kIo,           // a system call failed
  kConflict,     // a concurrent writer or a lock stopped us
  kFailed,       // a command bonsai ran for the user failed (a RUN step exiting non-zero)
  kInternal,     // a bug in bonsai
};

std::string_view kind_name(ErrorKind kind);

class [[nodiscard]] Error {
 public:
  Error(ErrorKind kind, std::string message, int sys_errno = 0)
      : kind_(kind), sys_errno_(sys_errno), message_(std::move(message)) {}

  ErrorKind kind() const { return kind_; }
  int sys_errno() const { return sys_errno_; }
  // The message with any errno text appended ("open x: No such file or directory").
  const std::string& message() const { return message_; }

  // Prefixes "what: " to the message. Returns *this for chaining on temporaries.
  Error& context(std::string_view what) &;
  Error&& context(std::string_view what) &&;

 private:
  ErrorKind kind_;
  int sys_errno_;
  std::string message_;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return std::unexpected(Error(kind, std::move(message)));
}

// For a failed system call: "what: strerror(err)", kind from errno (ENOENT => kNotFound, ...).
std::unexpected<Error> sys_fail(std::string_view what, int err = errno);
Error sys_error(std::string_view what, int err = errno);

}  // namespace bonsai::util

// TRY(expr): evaluates a Result; on error returns it from the enclosing function, otherwise
// yields the value. TRY_CTX(expr, ctx) also prefixes "ctx: " to the error message.
#define TRY(expr)                                                                 \
  ({                                                                              \
    auto&& bonsai_try_r_ = (expr);                                                \
    if (!bonsai_try_r_) return std::unexpected(std::move(bonsai_try_r_).error()); \
    std::move(bonsai_try_r_).value();                                             \
  })

#define TRY_CTX(expr, ctx)                                                                     \
  ({                                                                                           \
    auto&& bonsai_try_r_ = (expr);                                                             \
    if (!bonsai_try_r_) return std::unexpected(std::move(bonsai_try_r_).error().context(ctx)); \
    std::move(bonsai_try_r_).value();                                                          \
  })
