// Throwaway OpenPGP keys for tests: a temporary GNUPGHOME where the real gpg generates keys,
// exports keyrings and clearsigns text, as a Debian archive would.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "sys/process.h"

namespace bonsai::debian::testing {

class GpgHome {
 public:
  GpgHome() {
    std::string tmpl = "/tmp/bonsai-gpg-XXXXXX";  // short: gpg-agent's socket lives here
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir_ = tmpl;
  }
  ~GpgHome() {
    (void)sys::run_process({.argv = {"gpgconf", "--kill", "gpg-agent"}, .env = env()});
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  GpgHome(const GpgHome&) = delete;
  GpgHome& operator=(const GpgHome&) = delete;

  const std::string& dir() const { return dir_; }

  // Generates an ed25519 signing key for `email` ("expire" as gpg takes it: "never", "1d"),
  // at a faked time when one is given ("20200101T000000"). Returns its fingerprint.
  std::string generate(const std::string& email, const std::string& expire = "never",
                       const std::string& faked_time = "") {
    std::vector<std::string> argv = {"gpg", "--batch", "--passphrase", ""};
    if (!faked_time.empty()) argv.insert(argv.end(), {"--faked-system-time", faked_time + "!"});
    argv.insert(argv.end(), {"--quick-gen-key", "Test <" + email + ">", "ed25519", "sign", expire});
    gpg(argv);
    std::string out = gpg({"gpg", "--with-colons", "--list-keys", "<" + email + ">"});
    auto at = out.find("\nfpr:");
    EXPECT_NE(at, std::string::npos) << out;
    auto start = out.find_first_not_of(':', at + 5);
    return out.substr(start, out.find(':', start) - start);
  }

  // Writes the public keys of `emails` to a binary keyring file.
  void export_keyring(const std::vector<std::string>& emails, const std::string& path) {
    std::vector<std::string> argv = {"gpg", "--batch", "--yes", "--output", path, "--export"};
    for (const auto& e : emails) argv.push_back("<" + e + ">");
    gpg(argv);
  }

  // Clearsigns text with the keys of `emails`.
  std::string clearsign(const std::string& text, const std::vector<std::string>& emails,
                        const std::string& faked_time = "", const std::string& digest = "") {
    std::vector<std::string> argv = {"gpg", "--batch", "--clearsign"};
    if (!faked_time.empty()) argv.insert(argv.end(), {"--faked-system-time", faked_time + "!"});
    if (!digest.empty()) argv.insert(argv.end(), {"--digest-algo", digest});
    for (const auto& e : emails) argv.insert(argv.end(), {"--local-user", "<" + e + ">"});
    return gpg(argv, text);
  }

 private:
  std::vector<std::string> env() const {
    const char* path = getenv("PATH");
    return {"GNUPGHOME=" + dir_, std::string("PATH=") + (path ? path : "/usr/bin:/bin"),
            "LC_ALL=C"};
  }
  std::string gpg(const std::vector<std::string>& argv, const std::string& input = "") {
    auto r = sys::run_process({.argv = argv, .env = env(), .stdin_data = input});
    EXPECT_TRUE(r) << r.error().message();
    if (!r) return "";
    EXPECT_EQ(r->exit_code, 0) << argv[1] << ": " << r->stderr_data;
    return r->stdout_data;
  }

  std::string dir_;
};

}  // namespace bonsai::debian::testing
