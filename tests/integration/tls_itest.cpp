// TLS for every outbound call and optional inbound TLS, against loopback
// receivers whose certificates come from a CA made in the test (openssl).
#include <chrono>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/common/sha256.hpp"
#include "backstop/http/client.hpp"
#include "test_ca.hpp"
#include "test_support.hpp"
#include "webhook_receiver.hpp"

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSecretEnv = "BACKSTOP_TLS_TEST_SECRET";
constexpr const char* kSecret = "tls-test-secret";

std::string AutoClass() {
  return "release_class: web\nversion: 1\nreversibility: reversible_with_state\nautomation: auto\n"
         "evaluation:\n  window: 5m\n  min_samples: 5\n  max_staleness: 5m\n  breach_for: 0s\n  duration: 1h\n"
         "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n";
}

std::string DeployBody(const std::string& id) {
  return R"({"id":")" + id +
         R"(","service":"checkout","environment":"prod","version":"v2","previous_version":"v1","release_class":"web","traffic_percent":10})";
}

WebhookReceiver::Options Https(const TestCa::Issued& cert) {
  WebhookReceiver::Options o;
  o.tls_cert_file = cert.cert_file;
  o.tls_key_file = cert.key_file;
  return o;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv(kSecretEnv, kSecret, 1); }

  // A server whose only executor posts to `url`, trusting `ca_file`.
  void Start(const std::string& url, const std::string& ca_file, int max_attempts = 1) {
    dir.Write("web.yaml", AutoClass());
    auto c = TestConfig("");
    c.thresholds_dir = dir.path();
    c.evaluation_tick = Millis(100);
    config::ExecutorConfig e = WebhookExecutor(url, kSecretEnv, Millis(3000), max_attempts);
    e.ca_file = ca_file;
    c.executors = {e};
    server = std::make_unique<TestServer>(c);
    deployer = server->Token("ci-bot", Role::kDeployer);
    viewer = server->Token("viewer-1", Role::kViewer);
  }

  void Breach() {
    ASSERT_EQ(PostDeployment(*server, deployer, DeployBody("rel-1")).status, 201);
    ASSERT_EQ(server->Request("POST", "/v1/telemetry", deployer, TelemetryBatch("checkout", "v2", 0.5, 8)).status, 202);
  }

  boost::json::object AwaitActionFinal() {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto list = ParseJson(server->Request("GET", "/v1/actions?release_id=rel-1", viewer).body).at("actions").as_array();
      if (!list.empty()) {
        const auto state = list.back().at("state").as_string();
        if (state == "succeeded" || state == "failed") return list.back().as_object();
      }
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "the action did not finish";
    return {};
  }

  // The rollback failed for good: the release is rollback_failed and a human is asked.
  void ExpectRollbackFailedWith(const std::string& reason) {
    const auto action = AwaitActionFinal();
    EXPECT_EQ(action.at("state").as_string(), "failed");
    EXPECT_EQ(action.at("attempts").as_int64(), 1);
    const std::string error(action.at("last_error").as_string());
    EXPECT_NE(error.find("TLS: certificate of localhost:"), std::string::npos) << error;
    EXPECT_NE(error.find("rejected: " + reason), std::string::npos) << error;
    const auto release = ParseJson(server->Request("GET", "/v1/releases/rel-1", viewer).body);
    EXPECT_EQ(release.at("release").at("status").as_string(), "rollback_failed");
    const auto escalations =
        ParseJson(server->Request("GET", "/v1/escalations?release_id=rel-1&state=pending", viewer).body);
    ASSERT_EQ(escalations.at("escalations").as_array().size(), 1u);
    EXPECT_EQ(escalations.at("escalations").at(0).at("reasons").at(0).as_string(), "rollback.failed");
  }

  TestCa ca;
  ThresholdDir dir;
  std::unique_ptr<TestServer> server;
  std::string deployer;
  std::string viewer;
};

TEST_F(TlsTest, RollbackWebhookOverHttpsSucceedsWithTheCaFile) {
  WebhookReceiver receiver(Https(ca.Issue("receiver", {"DNS:localhost", "IP:127.0.0.1"})));
  Start(receiver.url("localhost"), ca.ca_file());
  Breach();
  const auto action = AwaitActionFinal();
  EXPECT_EQ(action.at("state").as_string(), "succeeded");
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].idempotency_key, std::string(action.at("id").as_string()));
  const auto comma = got[0].signature.find(",v1=");
  ASSERT_NE(comma, std::string::npos);
  EXPECT_EQ(got[0].signature.substr(comma + 4),
            HmacSha256Hex(kSecret, got[0].signature.substr(2, comma - 2) + "." + got[0].body));
}

TEST_F(TlsTest, AnIpAddressIsCheckedAgainstTheCertificatesIpSan) {
  WebhookReceiver receiver(Https(ca.Issue("receiver", {"IP:127.0.0.1"})));
  Start(receiver.url("127.0.0.1"), ca.ca_file());
  Breach();
  EXPECT_EQ(AwaitActionFinal().at("state").as_string(), "succeeded");
}

TEST_F(TlsTest, AnUntrustedCertificateFailsTheAttemptAndTheRollback) {
  WebhookReceiver receiver(Https(ca.IssueUntrusted("rogue", {"DNS:localhost"})));
  Start(receiver.url("localhost"), ca.ca_file());
  Breach();
  ExpectRollbackFailedWith("unable to get local issuer certificate");
  EXPECT_TRUE(receiver.received().empty());
}

TEST_F(TlsTest, TheSystemStoreDoesNotTrustATestCa) {
  WebhookReceiver receiver(Https(ca.Issue("receiver", {"DNS:localhost"})));
  Start(receiver.url("localhost"), /*ca_file=*/"");
  Breach();
  ExpectRollbackFailedWith("unable to get local issuer certificate");
  EXPECT_TRUE(receiver.received().empty());
}

TEST_F(TlsTest, AWrongHostNameFailsTheAttemptAndTheRollback) {
  WebhookReceiver receiver(Https(ca.Issue("elsewhere", {"DNS:hooks.example.com"})));
  Start(receiver.url("localhost"), ca.ca_file());
  Breach();
  ExpectRollbackFailedWith("hostname mismatch");
  EXPECT_TRUE(receiver.received().empty());
}

TEST_F(TlsTest, AnExpiredCertificateFailsTheAttemptAndTheRollback) {
  WebhookReceiver receiver(Https(ca.Issue("expired", {"DNS:localhost"}, /*days=*/-1)));
  Start(receiver.url("localhost"), ca.ca_file());
  Breach();
  ExpectRollbackFailedWith("certificate has expired");
  EXPECT_TRUE(receiver.received().empty());
}

TEST_F(TlsTest, AnUnreadableCaFileIsAStartUpErrorNamingTheKey) {
  auto c = TestConfig("");
  config::ExecutorConfig e = WebhookExecutor("https://localhost:1/rollback", kSecretEnv);
  e.ca_file = "/nonexistent/ca.pem";
  c.executors = {e};
  try {
    TestServer refused(c);
    ADD_FAILURE() << "started with an unreadable ca_file";
  } catch (const std::runtime_error& err) {
    EXPECT_NE(std::string(err.what()).find("executors[0].ca_file: cannot load CA certificates from /nonexistent/ca.pem"),
              std::string::npos)
        << err.what();
  }
}

// ---- inbound TLS ---------------------------------------------------------------

class InboundTlsTest : public ::testing::Test {
 protected:
  std::shared_ptr<const http::TlsClientContext> Trust() {
    auto ctx = http::TlsClientContext::Create(ca.ca_file());
    EXPECT_TRUE(ctx.ok());
    return *ctx;
  }
  TestCa ca;
};

TEST_F(InboundTlsTest, ServesReadyzOverHttpsOnly) {
  const auto cert = ca.Issue("backstop", {"DNS:localhost", "IP:127.0.0.1"});
  auto c = TestConfig("");
  c.tls = config::TlsConfig{cert.cert_file, cert.key_file};
  TestServer server(c);

  http::HttpClient https(http::ClientEndpoint{true, "localhost", server.port(), Trust()});
  auto ready = https.Send({"GET", "/readyz", {}, ""}, Millis(10000));
  ASSERT_TRUE(ready.ok()) << ready.error().message;
  EXPECT_EQ(ready->status, 200) << ready->body;
  auto metrics = https.Send({"GET", "/metrics", {}, ""}, Millis(10000));  // same connection, kept alive
  ASSERT_TRUE(metrics.ok()) << metrics.error().message;
  EXPECT_EQ(metrics->status, 200);

  // Plain HTTP gets no answer: the handshake fails and the connection closes.
  http::HttpClient plain("127.0.0.1", server.port());
  EXPECT_FALSE(plain.Send({"GET", "/readyz", {}, ""}, Millis(3000)).ok());
}

TEST_F(InboundTlsTest, AClientThatDoesNotTrustTheCertificateIsRefused) {
  const auto cert = ca.IssueUntrusted("backstop", {"DNS:localhost"});
  auto c = TestConfig("");
  c.tls = config::TlsConfig{cert.cert_file, cert.key_file};
  TestServer server(c);
  http::HttpClient https(http::ClientEndpoint{true, "localhost", server.port(), Trust()});
  auto r = https.Send({"GET", "/readyz", {}, ""}, Millis(10000));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("unable to get local issuer certificate"), std::string::npos) << r.error().message;
}

TEST_F(InboundTlsTest, AKeyThatCannotBeLoadedStopsStartUpNamingTheKey) {
  const auto cert = ca.Issue("backstop", {"DNS:localhost"});
  auto c = TestConfig("");
  c.tls = config::TlsConfig{cert.cert_file, "/nonexistent/server.key"};
  try {
    TestServer refused(c);
    ADD_FAILURE() << "started without its key";
  } catch (const std::runtime_error& err) {
    EXPECT_NE(std::string(err.what()).find("tls.key_file: cannot load /nonexistent/server.key"), std::string::npos)
        << err.what();
  }
}

}  // namespace
}  // namespace backstop::testing
