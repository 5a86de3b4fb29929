// CurlHttpClient against a real HTTP server on loopback: a thread that answers each connection
// with a canned response chosen by the request path.
#include "sys/curl_http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "sys/fd.h"

namespace bonsai::sys {
namespace {

class LoopbackServer {
 public:
  explicit LoopbackServer(std::map<std::string, std::string> responses)
      : responses_(std::move(responses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    EXPECT_EQ(::listen(fd_, 8), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  void serve() {
    for (;;) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      std::string path = req.substr(4, req.find(' ', 4) - 4);
      auto it = responses_.find(path);
      std::string resp = it != responses_.end()
                             ? it->second
                             : "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
      (void)!::write(c, resp.data(), resp.size());
      ::close(c);
    }
  }
  std::map<std::string, std::string> responses_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
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
}

TEST(CurlHttpClient, BodyOverTheLimitIsALimitError) {
  LoopbackServer server({{"/big", ok(std::string(10000, 'x'))}});
  CurlHttpClient http;
  util::StringWriter body;
  auto r = http.get({.url = server.url("/big"), .max_bytes = 100}, body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kLimit);
}

TEST(CurlHttpClient, RefusesOtherProtocols) {
  CurlHttpClient http;
  util::StringWriter body;
  EXPECT_FALSE(http.get({.url = "file:///etc/passwd"}, body));
}

}  // namespace
}  // namespace bonsai::sys
