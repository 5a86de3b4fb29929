#include "util/error.h"

#include <cstring>

namespace bonsai::util {

std::string_view kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
      return "invalid argument";
    case ErrorKind::kNotFound:
      return "not found";
    case ErrorKind::kAlreadyExists:
      return "already exists";
    case ErrorKind::kCorrupt:
      return "corrupt";
    case ErrorKind::kUnsupported:
      return "unsupported";
    case ErrorKind::kLimit:
      return "limit exceeded";
    case ErrorKind::kIo:
      return "i/o error";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kFailed:
      return "failed";
    case ErrorKind::kInternal:
      return "internal error";
  }
  return "error";
}

Error& Error::context(std::string_view what) & {
  message_.insert(0, std::string(what) + ": ");
  return *this;
}

Error&& Error::context(std::string_view what) && {
  message_.insert(0, std::string(what) + ": ");
  return std::move(*this);
}

Error sys_error(std::string_view what, int err) {
  ErrorKind kind = ErrorKind::kIo;
  switch (err) {
    case ENOENT:
      kind = ErrorKind::kNotFound;
      break;
    case EEXIST:
      kind = ErrorKind::kAlreadyExists;
      break;
    case EINVAL:
      kind = ErrorKind::kInvalidArgument;
      break;
    case EXDEV:
    case ELOOP:
      kind = ErrorKind::kInvalidArgument;
      break;
    default:
      break;
  }
  return Error(kind, std::string(what) + ": " + std::strerror(err), err);
}

std::unexpected<Error> sys_fail(std::string_view what, int err) {
  return std::unexpected(sys_error(what, err));
}

}  // namespace bonsai::util
