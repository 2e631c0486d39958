#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "backstop/api/ui_assets.hpp"
#include "backstop/http/client.hpp"
#include "test_support.hpp"

// The web page's files as HTTP answers (issue 15): public, compiled in,
// with their content types and security headers; nothing else under /ui/.
// The page's behaviour in a browser is ui_browser_itest.cpp.

namespace backstop::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

http::ClientResponse Get(TestServer& server, const std::string& target,
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::HttpClient client("127.0.0.1", server.port());
  http::ClientRequest req;
  req.target = target;
  req.headers = std::move(headers);
  auto r = client.Send(req);
  if (!r.ok()) throw std::runtime_error(r.error().message);
  return *r;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class UiServingTest : public ::testing::Test {
 protected:
  TestServer server;
};

TEST_F(UiServingTest, ServesThePageWithoutATokenWithItsSecurityHeaders) {
  const auto r = Get(server, "/ui/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.Header("Content-Security-Policy"), kCsp);
  EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.Header("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(r.Header("Cache-Control"), "no-cache");
  EXPECT_FALSE(r.Header("ETag").empty());
  // The stable hooks of INTEGRATIONS §6.
  EXPECT_NE(r.body.find(R"(<input type="password" id="token")"), std::string::npos);
  EXPECT_NE(r.body.find(R"(<label for="token">Token</label>)"), std::string::npos);
  // No inline script or style for the CSP to block.
  EXPECT_EQ(r.body.find("<script>"), std::string::npos);
  EXPECT_EQ(r.body.find("style="), std::string::npos);
  EXPECT_EQ(Get(server, "/ui/index.html").body, r.body);
}

TEST_F(UiServingTest, ServesEveryFileOfUiExactlyWithItsContentType) {
  // Every file in the source tree's ui/ is embedded, byte for byte.
  std::set<std::string> on_disk;
  for (const auto& entry : fs::directory_iterator(SourcePath("ui"))) {
    on_disk.insert(entry.path().filename().string());
  }
  std::set<std::string> embedded;
  for (const auto& a : api::UiAssets()) embedded.insert(std::string(a.name));
  EXPECT_EQ(embedded, on_disk);

  for (const auto& name : on_disk) {
    const auto r = Get(server, "/ui/" + name);
    ASSERT_EQ(r.status, 200) << name;
    EXPECT_EQ(r.body, ReadFile(fs::path(SourcePath("ui")) / name)) << name;
    const std::string ext = fs::path(name).extension().string();
    const std::string expected = ext == ".html" ? "text/html; charset=utf-8"
                                 : ext == ".css" ? "text/css; charset=utf-8"
                                                 : "text/javascript; charset=utf-8";
    EXPECT_EQ(r.Header("Content-Type"), expected) << name;
    EXPECT_EQ(r.Header("Content-Security-Policy"), kCsp) << name;
    EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff") << name;
  }
}

TEST_F(UiServingTest, AnswersNotModifiedToItsOwnEtag) {
  const auto first = Get(server, "/ui/app.js");
  const std::string etag = first.Header("ETag");
  ASSERT_EQ(etag.size(), 66u) << etag;  // a quoted SHA-256
  const auto again = Get(server, "/ui/app.js", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.Header("ETag"), etag);
  EXPECT_EQ(Get(server, "/ui/app.js", {{"If-None-Match", "\"other\""}}).status, 200);
}

TEST_F(UiServingTest, RedirectsTheBarePathToTheFolder) {
  const auto r = Get(server, "/ui");
  EXPECT_EQ(r.status, 308);
  EXPECT_EQ(r.Header("Location"), "/ui/");
}

TEST_F(UiServingTest, UnknownFilesAndEveryTraversalAre404) {
  for (const char* target : {"/ui/nope.js", "/ui/INDEX.HTML", "/ui/..", "/ui/%2e%2e", "/ui/../CMakeLists.txt",
                             "/ui/%2e%2e%2fCMakeLists.txt", "/ui/..%2f..%2fetc%2fpasswd", "/ui/app.js%00",
                             "/ui/app.js/", "/ui/x/app.js", "/ui/.%2fapp.js", "/ui/%2fetc%2fpasswd"}) {
    const auto r = Get(server, target);
    EXPECT_EQ(r.status, 404) << target << ": " << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "application/json") << target;
    EXPECT_EQ(r.body.find("<html"), std::string::npos) << target;
  }
}

TEST_F(UiServingTest, OnlyGetIsAllowed) {
  const auto r = server.Request("POST", "/ui/", "", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow"), "GET");
}

}  // namespace
}  // namespace backstop::testing
