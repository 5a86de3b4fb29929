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
  std::string url;  // http:// or https://
  // A larger resource is a kLimit error; 0: no limit. The limit is on the resource, not on
  // this response: bytes before `offset` count towards it.
  uint64_t max_bytes = 0;
  // When > 0, asks for the resource from this byte on (Range: bytes=offset-), to resume a
  // download. `body` then receives the resource from byte `offset` on whatever the server does:
  // a server that ignores the range answers 200 with the whole resource, and the client drops
  // its first `offset` bytes (HttpResponse::resumed says which happened).
  uint64_t offset = 0;
  long timeout_seconds = 0;  // for the whole transfer; 0: none
  long connect_timeout_seconds = 30;
  // A failure that may pass (no route, DNS, a refused or dropped connection, a timeout, HTTP 408,
  // 429, 500, 502, 503, 504) before any byte of the body was written is tried again this many
  // times, after retry_delay_ms and then twice as long each time.
  int retries = 3;
  long retry_delay_ms = 1000;
};

struct HttpResponse {
  long status = 0;
  std::string effective_url;             // after redirects
  std::optional<int64_t> last_modified;  // Last-Modified, seconds since the epoch
  uint64_t bytes = 0;                    // body bytes written
  // True when the server honoured a request's offset (206 Partial Content from that byte). False
  // for a plain request, and for a range request the server answered in full (200): the whole
  // resource was transferred and its first `offset` bytes dropped.
  bool resumed = false;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // GETs the URL, following redirects, and streams the body into `body`. A status of 400 or
  // more is a kNotFound (404, 410) or kIo error naming the URL and the status; the error body is
  // not written. A transfer that fails midway (kIo) leaves in `body` what had arrived, and is
  // not tried again (the caller may resume it with `offset`).
  virtual Result<HttpResponse> get(const HttpRequest& request, Writer& body) = 0;
};

}  // namespace bonsai::util
