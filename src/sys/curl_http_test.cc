// CurlHttpClient against a real HTTP server on loopback: a thread that answers each connection
// with a canned response chosen by the request path.
#include "sys/curl_http.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "sys/fd.h"
#include "sys/loopback_server_test_util.h"

namespace bonsai::sys {
namespace {

// Answers each request with a canned response chosen by its path (404 otherwise).
class LoopbackServer {
 public:
  explicit LoopbackServer(std::map<std::string, std::string> responses)
      : responses_(std::move(responses)) {}
  std::string url(const std::string& path) const { return server_.url(path); }
  // The raw request heads received so far, in order.
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void respond(int c, const std::string& req) {
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
    }
    std::string path = req.substr(4, req.find(' ', 4) - 4);
    auto it = responses_.find(path);
    testing::LoopbackServer::write_all(
        c, it != responses_.end() ? it->second
                                  : "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  }

  std::map<std::string, std::string> responses_;
  std::mutex mu_;
  std::vector<std::string> requests_;
  testing::LoopbackServer server_{[this](int c, const std::string& req) { respond(c, req); }};
};

std::string ok(const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + extra + "\r\n" + body;
}

TEST(CurlHttpClient, GetsTheBodyAndLastModified) {
  LoopbackServer server(
      {{"/a.txt", ok("hello", "Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n")}});
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url("/a.txt")}, body);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body.str(), "hello");
  EXPECT_EQ(r->bytes, 5u);
  ASSERT_TRUE(r->last_modified);
  EXPECT_EQ(*r->last_modified, 1445412480);
}

TEST(CurlHttpClient, FollowsRedirects) {
  LoopbackServer server({{"/old",
                          "HTTP/1.1 301 Moved\r\nLocation: /new\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n"},
                         {"/new", ok("moved")}});
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url("/old")}, body);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(body.str(), "moved");
  EXPECT_EQ(r->effective_url, server.url("/new"));
}

TEST(CurlHttpClient, NotFoundNamesTheUrlAndStatus) {
  LoopbackServer server({});
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url("/missing")}, body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kNotFound);
  EXPECT_NE(r.error().message().find("/missing: HTTP status 404"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(server.requests().size(), 1u);  // a 404 is not tried again
}

TEST(CurlHttpClient, BodyOverTheLimitIsALimitError) {
  LoopbackServer server({{"/big", ok(std::string(10000, 'x'))}});
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url("/big"), .max_bytes = 100}, body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kLimit);
}

std::string partial(const std::string& body, const std::string& range) {
  return "HTTP/1.1 206 Partial Content\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nContent-Range: bytes " + range + "\r\nConnection: close\r\n\r\n" + body;
}

TEST(CurlHttpClient, OffsetSendsARangeAndA206Resumes) {
  LoopbackServer server({{"/f", partial("world", "5-9/10")}});
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url("/f"), .offset = 5}, body);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 206);
  EXPECT_TRUE(r->resumed);
  EXPECT_EQ(body.str(), "world");
  EXPECT_EQ(r->bytes, 5u);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_NE(server.requests()[0].find("\r\nRange: bytes=5-\r\n"), std::string::npos)
      << server.requests()[0];
}

TEST(CurlHttpClient, NoOffsetSendsNoRange) {
  LoopbackServer server({{"/f", ok("helloworld")}});
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url("/f")}, body);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->resumed);
  EXPECT_EQ(server.requests()[0].find("Range:"), std::string::npos);
}

TEST(CurlHttpClient, ServerIgnoringTheRangeIsReportedAndItsPrefixDropped) {
  LoopbackServer server({{"/f", ok("helloworld")}});
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url("/f"), .offset = 5}, body);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->resumed);
  EXPECT_EQ(body.str(), "world");  // the body still starts at the requested offset
  EXPECT_EQ(r->bytes, 5u);
}

TEST(CurlHttpClient, A206FromAnotherOffsetIsAnError) {
  LoopbackServer server({{"/f", partial("helloworld", "0-9/10")}});
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url("/f"), .offset = 5}, body);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("Content-Range \"bytes 0-9/10\""), std::string::npos)
      << r.error().message();
  EXPECT_EQ(body.str(), "");
}

TEST(CurlHttpClient, MaxBytesCountsTheBytesBeforeTheOffset) {
  LoopbackServer server({{"/f", partial("world", "5-9/10")}});
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url("/f"), .max_bytes = 8, .offset = 5}, body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kLimit);
  auto whole = http.get({.url = server.url("/f"), .max_bytes = 10, .offset = 5}, body);
  EXPECT_TRUE(whole) << whole.error().message();
}

TEST(CurlHttpClient, ErrorBodiesAreNotWritten) {
  LoopbackServer server(
      {{"/gone", std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close"
                             "\r\n\r\nnot here!")}});
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url("/gone"), .offset = 3}, body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kNotFound);
  EXPECT_EQ(body.str(), "");
}

// Answers the first `failures` requests with `failure`, then every other with "ok".
class FlakyServer {
 public:
  FlakyServer(int failures, std::string failure)
      : failures_(failures), failure_(std::move(failure)) {}
  std::string url() const { return server_.url("/f"); }
  int requests() const { return requests_; }

 private:
  std::atomic<int> requests_ = 0;
  int failures_;
  std::string failure_;
  testing::LoopbackServer server_{[this](int c, const std::string&) {
    testing::LoopbackServer::write_all(c, ++requests_ <= failures_ ? failure_ : ok("ok"));
  }};
};

const std::string k503 = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy";

TEST(CurlHttpClient, TransientStatusesAreTriedAgainUntilTheyPass) {
  FlakyServer server(2, k503);
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url(), .retry_delay_ms = 1}, body);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(body.str(), "ok");  // the error bodies were not written
  EXPECT_EQ(server.requests(), 3);
}

TEST(CurlHttpClient, GivesUpAfterTheRetriesSayingHowManyTries) {
  FlakyServer server(100, k503);
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url(), .retries = 2, .retry_delay_ms = 1}, body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kIo);
  EXPECT_NE(r.error().message().find("HTTP status 503 (tried 3 times)"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(server.requests(), 3);
}

TEST(CurlHttpClient, ARefusedConnectionIsTriedAgain) {
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get(
      {.url = "http://127.0.0.1:" + std::to_string(testing::LoopbackServer::refusing_port()) + "/f",
       .retries = 1,
       .retry_delay_ms = 1},
      body);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("(tried 2 times)"), std::string::npos) << r.error().message();
}

TEST(CurlHttpClient, ATransferCutOffMidwayIsNotTriedAgain) {
  // The caller has the first bytes and decides whether to resume.
  FlakyServer server(100, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst bytes");
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url(), .retry_delay_ms = 1}, body);
  ASSERT_FALSE(r);
  EXPECT_EQ(body.str(), "first bytes");
  EXPECT_EQ(server.requests(), 1);
  EXPECT_EQ(r.error().message().find("tried"), std::string::npos) << r.error().message();
}

TEST(CurlHttpClient, RetriesZeroMakesOneRequest) {
  FlakyServer server(1, k503);
  CurlHttpClient http;
  util::StringWriter body;
  EXPECT_FALSE(http.get({.url = server.url(), .retries = 0}, body));
  EXPECT_EQ(server.requests(), 1);
}

TEST(CurlHttpClient, RefusesOtherProtocols) {
  CurlHttpClient http;
  util::StringWriter body;
  EXPECT_FALSE(http.get({.url = "file:///etc/passwd"}, body));
}

}  // namespace
}  // namespace bonsai::sys
