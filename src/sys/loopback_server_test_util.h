// A TCP server on 127.0.0.1 for tests of HTTP clients (sys/curl_http, debian/fetch): one thread
// accepts each connection, reads the request head (through the blank line) and hands it to the
// handler, then closes the connection. The port is chosen by the kernel.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace bonsai::sys::testing {

class LoopbackServer {
 public:
  // handler(fd, head): write the response to fd (write_all helps); it runs on the server thread.
  using Handler = std::function<void(int fd, const std::string& head)>;

  explicit LoopbackServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = bound_socket(&port_);
    EXPECT_EQ(::listen(fd_, 16), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // A TCP socket bound to a port of 127.0.0.1 the kernel chose (stored in *port).
  static int bound_socket(uint16_t* port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    *port = ntohs(addr.sin_port);
    return fd;
  }

  // A port of 127.0.0.1 where nothing listens: connecting to it is refused.
  static uint16_t refusing_port() {
    uint16_t port = 0;
    ::close(bound_socket(&port));
    return port;
  }

  // Sends all of data, giving up quietly when the client has gone.
  static void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

 private:
  void serve() {
    for (;;) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      handler_(c, head);
      ::close(c);
    }
  }

  Handler handler_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace bonsai::sys::testing
