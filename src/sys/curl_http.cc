#include "sys/curl_http.h"

// Plain declarations (no type-checking macros): the functions are called through pointers.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>

namespace bonsai::sys {

namespace {

using util::ErrorKind;
using util::fail;

// libcurl is loaded on first use, not linked: with the ~30 libraries it pulls in (GnuTLS,
// Kerberos, LDAP, ...) it would be mapped and relocated at every start of bonsai, which is
// most of the time of a build whose steps are all cached, and most commands never make a
// request.
struct CurlApi {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
};

util::Result<const CurlApi*> curl_api() {
  static CurlApi api;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* why = ::dlerror();
      error = why ? why : "dlopen failed";
      return;
    }
    auto load = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));
      if (fn == nullptr && error.empty()) error = std::string("no symbol ") + name;
    };
    load(api.global_init, "curl_global_init");
    load(api.easy_init, "curl_easy_init");
    load(api.easy_cleanup, "curl_easy_cleanup");
    load(api.easy_setopt, "curl_easy_setopt");
    load(api.easy_perform, "curl_easy_perform");
    load(api.easy_getinfo, "curl_easy_getinfo");
    load(api.easy_strerror, "curl_easy_strerror");
    if (error.empty() && api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      error = "curl_global_init failed";
  });
  if (!error.empty())
    return fail(ErrorKind::kUnsupported,
                "libcurl.so.4 could not be loaded (" + error + "): install libcurl4");
  return &api;
}

// What the callbacks know about the transfer in progress. Redirect responses' bodies never
// reach on_body (curl drops them when it follows a redirect), so the first call to on_body
// belongs to the final response, whose status is known by then.
struct Transfer {
  const CurlApi* api = nullptr;
  CURL* curl = nullptr;
  util::Writer* body = nullptr;
  uint64_t max_bytes = 0;
  uint64_t offset = 0;               // requested start of the body within the resource
  bool started = false;              // on_body has seen the final response's status
  bool discard = false;              // an error status: its body is not the resource
  bool resumed = false;              // 206 from `offset`
  uint64_t position = 0;             // resource offset of the next byte received
  uint64_t written = 0;              // bytes passed to `body`
  std::string content_range;         // of the latest response's headers
  std::optional<util::Error> error;  // why a callback stopped the transfer
};

// Keeps the Content-Range header of the latest response (a redirect's headers come first).
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) t->content_range.clear();
  constexpr std::string_view kName = "content-range:";
  if (line.size() > kName.size() &&
      std::equal(kName.begin(), kName.end(), line.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    line.remove_prefix(kName.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    t->content_range = std::string(line);
  }
  return n;
}

// The first byte of a "bytes FIRST-LAST/TOTAL" Content-Range, or nullopt.
std::optional<uint64_t> range_start(std::string_view v) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  uint64_t first = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), first);
  if (ec != std::errc() || end == v.data() || end == v.data() + v.size() || *end != '-')
    return std::nullopt;
  return first;
}

// Decides, on the first body bytes, where they sit in the resource: at `offset` for a 206 that
// starts there, at 0 for any other success (the bytes before `offset` are then dropped).
bool start_body(Transfer* t) {
  t->started = true;
  long status = 0;
  t->api->easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {
    t->discard = true;
    return true;
  }
  if (status != 206) return true;
  auto first = range_start(t->content_range);
  if (!first || *first != t->offset) {
    t->error =
        util::Error(ErrorKind::kIo, "206 response with Content-Range \"" + t->content_range +
                                        "\" for a request from byte " + std::to_string(t->offset));
    return false;
  }
  t->resumed = t->offset > 0;
  t->position = t->offset;
  return true;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (!t->started && !start_body(t)) return 0;
  if (t->discard) return n;
  if (t->max_bytes != 0 && t->position + n > t->max_bytes) {
    t->error = util::Error(ErrorKind::kLimit,
                           "body larger than " + std::to_string(t->max_bytes) + " bytes");
    return 0;
  }
  std::string_view chunk(data, n);
  uint64_t before = t->position;
  t->position += n;
  // A server that ignored the range resent bytes the caller already has.
  if (before < t->offset) chunk.remove_prefix(std::min<uint64_t>(n, t->offset - before));
  if (chunk.empty()) return n;
  if (auto st = t->body->write(chunk); !st) {
    t->error = st.error();
    return 0;
  }
  t->written += chunk.size();
  return n;
}

// Whether a failed attempt may succeed if made again: the network or the server failed, not
// the request. The statuses are those curl's --retry counts as transient.
bool transient(CURLcode rc, long status) {
  switch (rc) {
    case CURLE_OK:
      return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
             status == 504;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

// One attempt at the request. `*retry` is set when it failed for a reason that may pass and
// nothing of the body was written, so that the same request may be made again.
util::Result<util::HttpResponse> attempt(const CurlApi& api, const util::HttpRequest& req,
                                         util::Writer& body, bool* retry) {
  // 1. One easy handle per request, configured for a plain, verified GET.
  *retry = false;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(api.easy_init(), api.easy_cleanup);
  if (!curl) return fail(ErrorKind::kInternal, "curl_easy_init failed");
  Transfer t;
  t.api = &api;
  t.curl = curl.get();
  t.body = &body;
  t.max_bytes = req.max_bytes;
  t.offset = req.offset;
  char errbuf[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  api.easy_setopt(c, CURLOPT_URL, req.url.c_str());
  api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  api.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  api.easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  api.easy_setopt(c, CURLOPT_FILETIME, 1L);
  api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  api.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  api.easy_setopt(c, CURLOPT_WRITEDATA, &t);
  api.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  api.easy_setopt(c, CURLOPT_HEADERDATA, &t);
  std::string range = std::to_string(req.offset) + "-";
  if (req.offset > 0) api.easy_setopt(c, CURLOPT_RANGE, range.c_str());
  api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, req.connect_timeout_seconds);
  if (req.timeout_seconds > 0) api.easy_setopt(c, CURLOPT_TIMEOUT, req.timeout_seconds);
  api.easy_setopt(c, CURLOPT_USERAGENT, "bonsai");

  // 2. Run it; a status of 400 or more is an error, checked before the body is trusted.
  CURLcode rc = api.easy_perform(c);
  long status = 0;
  api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (t.error) return std::unexpected(t.error->context("GET " + req.url));
  *retry = t.written == 0 && transient(rc, status);
  if (rc != CURLE_OK)
    return fail(ErrorKind::kIo, "GET " + req.url + ": " +
                                    (errbuf[0] ? std::string(errbuf) : api.easy_strerror(rc)));
  if (status >= 400)
    return fail(status == 404 || status == 410 ? ErrorKind::kNotFound : ErrorKind::kIo,
                "GET " + req.url + ": HTTP status " + std::to_string(status));

  // 3. What the caller may want to know about the response.
  util::HttpResponse out;
  out.status = status;
  out.bytes = t.written;
  out.resumed = t.resumed;
  char* effective = nullptr;
  api.easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  out.effective_url = effective ? effective : req.url;
  curl_off_t filetime = -1;
  if (api.easy_getinfo(c, CURLINFO_FILETIME_T, &filetime) == CURLE_OK && filetime >= 0)
    out.last_modified = static_cast<int64_t>(filetime);
  return out;
}

}  // namespace

CurlHttpClient::CurlHttpClient() = default;

util::Result<util::HttpResponse> CurlHttpClient::get(const util::HttpRequest& req,
                                                     util::Writer& body) {
  const CurlApi& api = *TRY(curl_api());
  // Transient failures before any byte of the body arrived are tried again after a pause that
  // doubles each time, as apt does (Acquire::Retries); the last error says how many tries.
  auto delay = std::chrono::milliseconds(req.retry_delay_ms);
  for (int tries = 1;; ++tries) {
    bool retry = false;
    auto got = attempt(api, req, body, &retry);
    if (got) return got;
    if (!retry || tries > req.retries) {
      if (tries == 1) return got;
      return fail(got.error().kind(),
                  got.error().message() + " (tried " + std::to_string(tries) + " times)");
    }
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
}

}  // namespace bonsai::sys
