// util::HttpClient over libcurl: redirects followed (at most 10, http and https only), TLS
// verified against the system's CA store, proxies from the usual environment variables.
#pragma once

#include "util/http.h"

namespace bonsai::sys {

class CurlHttpClient final : public util::HttpClient {
 public:
  CurlHttpClient();
  util::Result<util::HttpResponse> get(const util::HttpRequest& request,
                                       util::Writer& body) override;
};

}  // namespace bonsai::sys
