#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "test_support.hpp"

// What the tests of the integrations (INTEGRATIONS.md §2, §3) share: the
// hand-written upstream fixtures, the docs' YAML blocks, Argo's measurement
// semantics and a server with a gate executor and two release classes.
namespace backstop::testing {

// A fixture of tests/integration/fixtures/, as text and as a JSON object.
std::string Fixture(const std::string& relative);
boost::json::object FixtureObject(const std::string& relative);

// The ```yaml blocks of a Markdown file of the source tree, in order.
std::vector<std::string> YamlBlocksOf(const std::string& markdown_path);

// Argo Rollouts' measurement phases (utils/evaluate in argo-rollouts).
enum class ArgoPhase { kSuccessful, kFailed, kInconclusive, kError };
const char* ToString(ArgoPhase p);

// A small evaluator of Argo's successCondition / failureCondition on a web
// metric's `result` (the whole JSON answer): conditions are comparisons
// `result.a.b == "text"` / `!=`, joined by `&&` or `||`. The semantics are
// Argo's EvaluateResult: both empty → Successful; only success set → failed
// unless it holds; only failure set → successful unless it holds; both set
// → Failed if the failure condition holds, else Successful if the success
// condition holds, else Inconclusive. A condition it cannot read → Error.
ArgoPhase EvaluateArgoMeasurement(const boost::json::value& result, const std::string& success_condition,
                                  const std::string& failure_condition);

// Replaces every "{{args.NAME}}" (spaces inside the braces allowed) in every
// string of `v` by args[NAME]; a name without a value is a test failure.
boost::json::value RenderArgoArgs(const boost::json::value& v, const std::vector<std::pair<std::string, std::string>>& args);

// One request with any headers.
http::ClientResponse Send(TestServer& server, const std::string& method, const std::string& target,
                          const std::string& body, std::vector<std::pair<std::string, std::string>> headers);

// A server for the integration tests: release classes `web` (auto, decides
// at once, duration 1h) and `web-short` (the same, duration 1s), a gate
// executor for every service, and tokens of every role.
class GateServer {
 public:
  struct Options {
    Millis gate_timeout = std::chrono::minutes(10);
    std::string github_secret_env;  // sets integrations.github.secret_env
    std::optional<std::string> default_release_class;
  };
  explicit GateServer(Options options);
  GateServer() : GateServer(Options{}) {}

  TestServer& server() { return *server_; }

  // Samples of http_5xx_ratio = value for service/environment/version.
  void Samples(const std::string& service, const std::string& environment, const std::string& version,
               double value, int n);
  void Tick();
  boost::json::object Release(const std::string& id);
  // Ticks (bounded) until the release's status differs from `from`; returns it.
  std::string AwaitStatusOtherThan(const std::string& id, const std::string& from,
                                   std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Ticks (bounded) until the release holds a decision of `kind` (a tick can
  // run just before the samples' receipt time, so one tick may not decide).
  bool AwaitDecision(const std::string& id, const std::string& kind,
                     std::chrono::milliseconds limit = std::chrono::seconds(10));
  boost::json::array Actions(const std::string& release_id);
  boost::json::array Escalations(const std::string& release_id);
  boost::json::array Audit(const std::string& release_id);
  void SetMode(const std::string& mode);
  http::ClientResponse Approve(const std::string& escalation_id);
  // Validates an answer of `method pattern` against GET /openapi.json's
  // schema for its status (a test failure naming each violation).
  void ExpectDocumented(const std::string& method, const std::string& pattern, const http::ClientResponse& r);
  http::ClientResponse Reject(const std::string& escalation_id, const std::string& comment);

  std::string deployer;
  std::string admin;
  std::string approver;
  std::string viewer;

 private:
  ThresholdDir dir_;
  std::unique_ptr<TestServer> server_;
  boost::json::value openapi_;
};

// The reason codes of a JSON array.
std::vector<std::string> Strings(const boost::json::value& array);

}  // namespace backstop::testing
