// The seam between bonsai and HTTP: one client for every download (ADD <url> today; Debian
// package indexes and registries next). sys::CurlHttpClient is the real one; tests of code that
// downloads can use a fake.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/error.h"
#include "util/io.h"

namespace bonsai::util {

struct HttpRequest {
  std::string url;           // http:// or https://
  uint64_t max_bytes = 0;    // a larger body is a kLimit error; 0: no limit
  long timeout_seconds = 0;  // for the whole transfer; 0: none
  long connect_timeout_seconds = 30;
};

struct HttpResponse {
  long status = 0;
  std::string effective_url;             // after redirects
  std::optional<int64_t> last_modified;  // Last-Modified, seconds since the epoch
  uint64_t bytes = 0;                    // body bytes written
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // GETs the URL, following redirects, and streams the body into `body`. A status of 400 or
  // more is a kNotFound (404, 410) or kIo error naming the URL and the status; nothing useful
  // has then been written.
  virtual Result<HttpResponse> get(const HttpRequest& request, Writer& body) = 0;
};

}  // namespace bonsai::util
