#include "sys/curl_http.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace bonsai::sys {

namespace {

using util::ErrorKind;
using util::fail;

struct Transfer {
  util::Writer* body = nullptr;
  uint64_t max_bytes = 0;
  uint64_t written = 0;
  std::optional<util::Error> error;  // why the write callback stopped the transfer
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->max_bytes != 0 && t->written + n > t->max_bytes) {
    t->error = util::Error(ErrorKind::kLimit,
                           "body larger than " + std::to_string(t->max_bytes) + " bytes");
    return 0;
  }
  if (auto st = t->body->write(std::string_view(data, n)); !st) {
    t->error = st.error();
    return 0;
  }
  t->written += n;
  return n;
}

}  // namespace

CurlHttpClient::CurlHttpClient() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

util::Result<util::HttpResponse> CurlHttpClient::get(const util::HttpRequest& req,
                                                     util::Writer& body) {
  // 1. One easy handle per request, configured for a plain, verified GET.
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return fail(ErrorKind::kInternal, "curl_easy_init failed");
  Transfer t;
  t.body = &body;
  t.max_bytes = req.max_bytes;
  char errbuf[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, req.connect_timeout_seconds);
  if (req.timeout_seconds > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT, req.timeout_seconds);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "bonsai");

  // 2. Run it; a status of 400 or more is an error, checked before the body is trusted.
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (t.error) return std::unexpected(t.error->context("GET " + req.url));
  if (rc != CURLE_OK)
    return fail(ErrorKind::kIo, "GET " + req.url + ": " +
                                    (errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc)));
  if (status >= 400)
    return fail(status == 404 || status == 410 ? ErrorKind::kNotFound : ErrorKind::kIo,
                "GET " + req.url + ": HTTP status " + std::to_string(status));

  // 3. What the caller may want to know about the response.
  util::HttpResponse out;
  out.status = status;
  out.bytes = t.written;
  char* effective = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  out.effective_url = effective ? effective : req.url;
  curl_off_t filetime = -1;
  if (curl_easy_getinfo(c, CURLINFO_FILETIME_T, &filetime) == CURLE_OK && filetime >= 0)
    out.last_modified = static_cast<int64_t>(filetime);
  return out;
}

}  // namespace bonsai::sys
