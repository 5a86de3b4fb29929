#include "debian/release.h"

#include <gtest/gtest.h>

#include "debian/release_test_util.h"
#include "debian/sources.h"
#include "sys/curl_http.h"
#include "sys/fd.h"

namespace bonsai::debian {
namespace {

using util::ErrorKind;

constexpr std::string_view kRelease =
    "Origin: Debian\n"
    "Label: Debian\n"
    "Suite: oldstable\n"
    "Version: 12.15\n"
    "Codename: bookworm\n"
    "Date: Sat, 11 Jul 2026 10:16:37 UTC\n"
    "Acquire-By-Hash: yes\n"
    "Architectures: all amd64 arm64\n"
    "Components: main contrib\n"
    "Description: Debian 12.15\n"
    "MD5Sum:\n"
    " d41d8cd98f00b204e9800998ecf8427e        0 main/binary-amd64/Packages\n"
    "SHA256:\n"
    " e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855        0 "
    "main/binary-amd64/Packages\n"
    " 9E0B5AABB2465B3D2E7A7FE27F9913846277833F7A2826E7767ACCCFF5B588C5  8790396 "
    "main/binary-amd64/Packages.xz\n";

// Keys made once for the whole test program: gpg key generation and its agent take a while.
struct Keys {
  testing::GpgHome home;
  std::string good_fpr, other_fpr, expired_fpr;
  std::string keyring;        // good and expired
  std::string other_keyring;  // other only
  Keys() {
    good_fpr = home.generate("good@example.com");
    other_fpr = home.generate("other@example.com");
    expired_fpr = home.generate("expired@example.com", "1d", "20200101T000000");
    keyring = home.dir() + "/trusted.gpg";
    other_keyring = home.dir() + "/other.gpg";
    home.export_keyring({"good@example.com", "expired@example.com"}, keyring);
    home.export_keyring({"other@example.com"}, other_keyring);
  }
};

Keys& keys() {
  static Keys k;
  return k;
}

VerifyOptions trusted() { return {.keyrings = {keys().keyring}}; }

std::string signed_release(const std::vector<std::string>& by = {"good@example.com"}) {
  return keys().home.clearsign(std::string(kRelease), by);
}

TEST(VerifyClearsigned, AcceptsAGoodSignatureAndReturnsTheSignedText) {
  auto r = verify_clearsigned(signed_release(), "InRelease", trusted());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->text, kRelease);
  EXPECT_EQ(r->signers, std::vector<std::string>{keys().good_fpr});
}

TEST(VerifyClearsigned, RejectsAlteredText) {
  std::string doc = signed_release();
  doc.replace(doc.find("Codename: bookworm"), 18, "Codename: trixie!!");
  auto r = verify_clearsigned(doc, "InRelease", trusted());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(r.error().message().find("InRelease: bad signature"), std::string::npos)
      << r.error().message();
}

TEST(VerifyClearsigned, RejectsAlteredHashLine) {
  std::string doc = signed_release();
  doc.replace(doc.find(" 8790396 "), 9, " 8790397 ");
  EXPECT_FALSE(verify_clearsigned(doc, "InRelease", trusted()));
}

TEST(VerifyClearsigned, RejectsAKeyNotInTheKeyrings) {
  auto r = verify_clearsigned(signed_release({"other@example.com"}), "InRelease", trusted());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(r.error().message().find("no public key in the keyrings"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find(keys().keyring), std::string::npos) << r.error().message();
}

TEST(VerifyClearsigned, RejectsAnExpiredKey) {
  std::string doc =
      keys().home.clearsign(std::string(kRelease), {"expired@example.com"}, "20200101T010000");
  auto r = verify_clearsigned(doc, "InRelease", trusted());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("key expired"), std::string::npos) << r.error().message();
}

TEST(VerifyClearsigned, RejectsASha1Signature) {
  std::string doc = keys().home.clearsign(std::string(kRelease), {"good@example.com"}, "", "SHA1");
  auto r = verify_clearsigned(doc, "InRelease", trusted());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("weak digest"), std::string::npos) << r.error().message();
}

TEST(VerifyClearsigned, RejectsAnUnsignedFile) {
  auto r = verify_clearsigned(kRelease, "InRelease", trusted());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(r.error().message().find("InRelease: line 1: not a clearsigned message"),
            std::string::npos)
      << r.error().message();
}

TEST(VerifyClearsigned, RejectsArmorWithoutASignature) {
  std::string doc = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + std::string(kRelease) +
                    "-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n";
  auto r = verify_clearsigned(doc, "InRelease", trusted());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
}

TEST(VerifyClearsigned, RejectsTextBeforeTheArmorThatGpgvWouldIgnore) {
  auto r = verify_clearsigned("Suite: evil\n\n" + signed_release(), "InRelease", trusted());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("not a clearsigned message"), std::string::npos);
}

TEST(VerifyClearsigned, RejectsTextAfterTheSignature) {
  auto r = verify_clearsigned(signed_release() + "Suite: evil\n", "InRelease", trusted());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("text after the signature"), std::string::npos);
}

TEST(VerifyClearsigned, RejectsASecondSignedMessageAppended) {
  auto r = verify_clearsigned(signed_release() + signed_release(), "InRelease", trusted());
  ASSERT_FALSE(r);
}

TEST(VerifyClearsigned, OneGoodSignatureSufficesBesideAnUnknownKey) {
  auto r = verify_clearsigned(signed_release({"good@example.com", "other@example.com"}),
                              "InRelease", trusted());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->signers, std::vector<std::string>{keys().good_fpr});
}

TEST(VerifyClearsigned, FingerprintsRestrictWhichKeysCount) {
  VerifyOptions only_other = trusted();
  only_other.fingerprints = {keys().other_fpr};
  auto r = verify_clearsigned(signed_release(), "InRelease", only_other);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("not among the allowed fingerprints"), std::string::npos)
      << r.error().message();

  std::string lower = keys().good_fpr;
  for (char& c : lower) c = static_cast<char>(std::tolower(c));
  VerifyOptions only_good = trusted();
  only_good.fingerprints = {lower.substr(0, 20) + " " + lower.substr(20)};
  EXPECT_TRUE(verify_clearsigned(signed_release(), "InRelease", only_good));
}

TEST(VerifyClearsigned, SeveralKeyringsAreAllUsed) {
  VerifyOptions both{.keyrings = {keys().other_keyring, keys().keyring}};
  auto r = verify_clearsigned(signed_release({"other@example.com"}), "InRelease", both);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->signers, std::vector<std::string>{keys().other_fpr});
}

TEST(VerifyClearsigned, DashEscapesAndTrailingBlanksRoundTrip) {
  std::string text = "Name: x\n-dashed: y\nTrailing: z  \t\n";
  auto r = verify_clearsigned(keys().home.clearsign(text, {"good@example.com"}), "f", trusted());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->text, "Name: x\n-dashed: y\nTrailing: z\n");
}

TEST(VerifyClearsigned, MissingKeyringIsNotFound) {
  auto r = verify_clearsigned(signed_release(), "InRelease", {.keyrings = {"/no/such.gpg"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(r.error().message().find("/no/such.gpg"), std::string::npos);
}

TEST(VerifyClearsigned, MissingGpgvIsNotFound) {
  VerifyOptions o = trusted();
  o.gpgv = "bonsai-no-such-gpgv";
  auto r = verify_clearsigned(signed_release(), "InRelease", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
}

TEST(ClearsignedText, StripsArmorAndDashEscapes) {
  auto r = clearsigned_text(
      "-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nA: 1\r\n- -B: 2\r\n"
      "-----BEGIN PGP SIGNATURE-----\r\nxyz\r\n-----END PGP SIGNATURE-----\r\n\r\n",
      "f");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, "A: 1\n-B: 2\n");
}

TEST(ClearsignedText, RejectsAnUnescapedDashLine) {
  auto r = clearsigned_text(
      "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nA: 1\n"
      "-----BEGIN PGP SIGNED MESSAGE-----\n-----BEGIN PGP SIGNATURE-----\n"
      "-----END PGP SIGNATURE-----\n",
      "f");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("f: line 5:"), std::string::npos) << r.error().message();
}

TEST(ClearsignedText, RejectsUnknownArmorHeaders) {
  EXPECT_FALSE(clearsigned_text(
      "-----BEGIN PGP SIGNED MESSAGE-----\nComment: hi\n\nA: 1\n-----BEGIN PGP SIGNATURE-----\n"
      "-----END PGP SIGNATURE-----\n",
      "f"));
}

TEST(JudgeGpgStatus, GoodsigWithoutValidsigDoesNotCount) {
  auto v = judge_gpg_status("[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 973C532B93CA11CF T <t@x>\n", {});
  EXPECT_TRUE(v.good.empty());
  ASSERT_EQ(v.problems.size(), 1u);
}

TEST(JudgeGpgStatus, ValidsigForAnotherKeyDoesNotCount) {
  auto v = judge_gpg_status(
      "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 1111111111111111 T <t@x>\n"
      "[GNUPG:] VALIDSIG 88A5E655BA6366F222BFB1BD973C532B93CA11CF 2026-11-27 1795822553 0 4 0 22 "
      "8 01 88A5E655BA6366F222BFB1BD973C532B93CA11CF\n",
      {});
  EXPECT_TRUE(v.good.empty());
}

TEST(JudgeGpgStatus, RevokedKeyDoesNotCountEvenWithValidsig) {
  auto v = judge_gpg_status(
      "[GNUPG:] NEWSIG\n[GNUPG:] REVKEYSIG 973C532B93CA11CF T <t@x>\n"
      "[GNUPG:] VALIDSIG 88A5E655BA6366F222BFB1BD973C532B93CA11CF 2026-11-27 1795822553 0 4 0 22 "
      "8 01 88A5E655BA6366F222BFB1BD973C532B93CA11CF\n",
      {});
  EXPECT_TRUE(v.good.empty());
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0], "key 973C532B93CA11CF: key revoked");
}

TEST(JudgeGpgStatus, BadsigMarksTheWholeDocumentBad) {
  auto v = judge_gpg_status(
      "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 973C532B93CA11CF T <t@x>\n"
      "[GNUPG:] VALIDSIG 88A5E655BA6366F222BFB1BD973C532B93CA11CF 2026-11-27 1795822553 0 4 0 22 "
      "8 01 88A5E655BA6366F222BFB1BD973C532B93CA11CF\n"
      "[GNUPG:] NEWSIG\n[GNUPG:] BADSIG 1111111111111111 T <t@x>\n",
      {});
  EXPECT_EQ(v.good.size(), 1u);
  EXPECT_TRUE(v.bad);
}

TEST(JudgeGpgStatus, NoStatusMeansNoSignature) {
  auto v = judge_gpg_status("", {});
  EXPECT_TRUE(v.good.empty());
  EXPECT_FALSE(v.bad);
}

TEST(ParseRelease, ReadsTheFieldsAndTheSha256List) {
  auto r = parse_release(kRelease, "Release");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->suite, "oldstable");
  EXPECT_EQ(r->codename, "bookworm");
  EXPECT_TRUE(r->is_suite("bookworm"));
  EXPECT_TRUE(r->is_suite("oldstable"));
  EXPECT_FALSE(r->is_suite("trixie"));
  EXPECT_EQ(r->date, 1783764997);
  EXPECT_FALSE(r->valid_until);
  EXPECT_TRUE(r->acquire_by_hash);
  EXPECT_EQ(r->architectures, (std::vector<std::string>{"all", "amd64", "arm64"}));
  EXPECT_EQ(r->components, (std::vector<std::string>{"main", "contrib"}));
  ASSERT_EQ(r->files.size(), 2u);
  const ReleaseFile* xz = r->find("main/binary-amd64/Packages.xz");
  ASSERT_NE(xz, nullptr);
  EXPECT_EQ(xz->size, 8790396u);
  EXPECT_EQ(xz->sha256, "9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5");
  EXPECT_EQ(r->find("main/binary-amd64/Packages.gz"), nullptr);
}

TEST(ParseRelease, RequiresASha256List) {
  auto r = parse_release("Suite: x\nMD5Sum:\n d41d8cd98f00b204e9800998ecf8427e 0 a\n", "Release");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("no SHA256"), std::string::npos);
}

TEST(ParseRelease, MalformedSha256LineNamesItsLine) {
  auto r = parse_release("Suite: x\nSHA256:\n abc 12 main/Packages\n", "Release");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(r.error().message().find("Release: line 3:"), std::string::npos) << r.error().message();
}

TEST(ParseRelease, ExpiredMetadataIsRefusedUnlessAllowed) {
  std::string text =
      "Suite: bookworm-security\nValid-Until: Sat, 18 Jul 2026 10:16:37 UTC\n"
      "SHA256:\n"
      " e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 a\n";
  int64_t before = 1783764997, after = 1783764997 + 30 * 86400;
  EXPECT_TRUE(parse_release(text, "Release", {.now = before}));
  auto r = parse_release(text, "Release", {.now = after});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("Release: expired on Sat, 18 Jul 2026 10:16:37 UTC"),
            std::string::npos)
      << r.error().message();
  EXPECT_TRUE(parse_release(text, "Release", {.check_valid_until = false, .now = after}));
}

TEST(ParseRelease, BadDateNamesTheField) {
  auto r = parse_release("Date: yesterday\nSHA256:\n", "Release");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("Release: line 1: Date: bad date"), std::string::npos)
      << r.error().message();
}

TEST(ParseReleaseDate, ReadsTheFormsReleaseFilesUse) {
  EXPECT_EQ(parse_release_date("Sat, 11 Jul 2026 10:16:37 UTC").value(), 1783764997);
  EXPECT_EQ(parse_release_date("11 Jul 2026 10:16:37 GMT").value(), 1783764997);
  EXPECT_EQ(parse_release_date("Thu, 29 Feb 2024 02:30:00 +0230").value(), 1709164800);
  EXPECT_FALSE(parse_release_date("Sat, 30 Feb 2026 10:16:37 UTC"));
  EXPECT_FALSE(parse_release_date("Sat, 11 Jul 2026 10:16 UTC"));
  EXPECT_FALSE(parse_release_date("Sat, 11 Jul 2026 10:16:37 CEST"));
  EXPECT_FALSE(parse_release_date("Sat, 11 July 2026 10:16:37 UTC"));
}

// The real thing: Debian's bookworm InRelease from the host's mirror, checked against the
// host's Debian archive keyring. Skipped when the network or the keyring is not there.
TEST(ReadInRelease, VerifiesDebianBookwormFromTheHostMirror) {
  if (!sys::exists(std::string(kDebianArchiveKeyring))) GTEST_SKIP() << "no Debian keyring";
  std::string mirror = "http://deb.debian.org/debian";
  if (auto host = read_host_sources(); host) {
    if (auto m = debian_mirror(*host, "bookworm")) mirror = m->uri;
  }
  std::string url = mirror + "/dists/bookworm/InRelease";
  sys::CurlHttpClient http;
  util::StringWriter body;
  auto got = http.get({.url = url, .max_bytes = 16 << 20, .timeout_seconds = 120}, body);
  if (!got) GTEST_SKIP() << got.error().message();
  auto r = read_inrelease(body.str(), url);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->codename, "bookworm");
  EXPECT_TRUE(r->acquire_by_hash);
  EXPECT_NE(r->find("main/binary-amd64/Packages.xz"), nullptr);
  EXPECT_GT(r->files.size(), 100u);

  std::string tampered = body.str();
  tampered.replace(tampered.find("Codename: bookworm"), 18, "Codename: bookwarm");
  EXPECT_FALSE(read_inrelease(tampered, url));
}

}  // namespace
}  // namespace bonsai::debian
