#include "integration_support.hpp"

#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/evaluator/evaluator.hpp"
#include "json_schema.hpp"

namespace backstop::testing {

std::string Fixture(const std::string& relative) {
  std::ifstream in(SourcePath("tests/integration/fixtures/" + relative), std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + relative);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

boost::json::object FixtureObject(const std::string& relative) {
  return boost::json::parse(Fixture(relative)).as_object();
}

std::vector<std::string> YamlBlocksOf(const std::string& markdown_path) {
  std::ifstream in(SourcePath(markdown_path));
  if (!in) throw std::runtime_error("missing " + markdown_path);
  std::vector<std::string> blocks;
  std::string line;
  std::optional<std::string> block;
  while (std::getline(in, line)) {
    if (!block && line == "```yaml") {
      block.emplace();
    } else if (block && line == "```") {
      blocks.push_back(*block);
      block.reset();
    } else if (block) {
      *block += line + "\n";
    }
  }
  return blocks;
}

const char* ToString(ArgoPhase p) {
  switch (p) {
    case ArgoPhase::kSuccessful: return "Successful";
    case ArgoPhase::kFailed: return "Failed";
    case ArgoPhase::kInconclusive: return "Inconclusive";
    case ArgoPhase::kError: return "Error";
  }
  return "?";
}

namespace {

// The condition language Argo's AnalysisTemplates use for web metrics, as
// far as Backstop's documented template needs it.
class Condition {
 public:
  Condition(const std::string& text, const boost::json::value& result) : text_(text), result_(result) {}

  // nullopt: unreadable (Argo: an Error measurement).
  std::optional<bool> Evaluate() {
    try {
      const bool v = Or();
      Skip();
      if (pos_ != text_.size()) return std::nullopt;
      return v;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

 private:
  void Skip() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Take(const std::string& token) {
    Skip();
    if (text_.compare(pos_, token.size(), token) != 0) return false;
    pos_ += token.size();
    return true;
  }
  bool Or() {
    bool v = And();
    while (Take("||")) v = And() || v;
    return v;
  }
  bool And() {
    bool v = Comparison();
    while (Take("&&")) v = Comparison() && v;
    return v;
  }
  bool Comparison() {
    if (Take("(")) {
      const bool v = Or();
      if (!Take(")")) throw std::runtime_error("missing )");
      return v;
    }
    const boost::json::value left = Operand();
    if (Take("==")) return left == Operand();
    if (Take("!=")) return left != Operand();
    throw std::runtime_error("expected == or !=");
  }
  boost::json::value Operand() {
    Skip();
    if (pos_ >= text_.size()) throw std::runtime_error("expected an operand");
    const char quote = text_[pos_];
    if (quote == '"' || quote == '\'') {
      const auto end = text_.find(quote, pos_ + 1);
      if (end == std::string::npos) throw std::runtime_error("unterminated string");
      std::string s = text_.substr(pos_ + 1, end - pos_ - 1);
      pos_ = end + 1;
      return boost::json::string(s);
    }
    std::string path;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' ||
                                   text_[pos_] == '.')) {
      path.push_back(text_[pos_++]);
    }
    if (path == "true") return true;
    if (path == "false") return false;
    if (path == "nil") return nullptr;
    if (path != "result" && !path.starts_with("result.")) throw std::runtime_error("unknown name " + path);
    const boost::json::value* at = &result_;
    std::string rest = path.size() > 6 ? path.substr(7) : "";
    while (!rest.empty()) {
      const auto dot = rest.find('.');
      const std::string key = rest.substr(0, dot);
      rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
      // A missing key reads as nil, like expr's map access.
      if (!at->is_object() || !at->as_object().contains(key)) return nullptr;
      at = &at->as_object().at(key);
    }
    return *at;
  }

  const std::string& text_;
  const boost::json::value& result_;
  std::size_t pos_ = 0;
};

}  // namespace

ArgoPhase EvaluateArgoMeasurement(const boost::json::value& result, const std::string& success_condition,
                                  const std::string& failure_condition) {
  bool success = false;
  bool failure = false;
  if (!success_condition.empty()) {
    auto v = Condition(success_condition, result).Evaluate();
    if (!v) return ArgoPhase::kError;
    success = *v;
  }
  if (!failure_condition.empty()) {
    auto v = Condition(failure_condition, result).Evaluate();
    if (!v) return ArgoPhase::kError;
    failure = *v;
  }
  if (success_condition.empty() && failure_condition.empty()) return ArgoPhase::kSuccessful;
  if (!success_condition.empty() && failure_condition.empty()) failure = !success;
  if (success_condition.empty() && !failure_condition.empty()) success = !failure;
  if (failure) return ArgoPhase::kFailed;
  if (!success) return ArgoPhase::kInconclusive;
  return ArgoPhase::kSuccessful;
}

boost::json::value RenderArgoArgs(const boost::json::value& v,
                                  const std::vector<std::pair<std::string, std::string>>& args) {
  if (v.is_object()) {
    boost::json::object out;
    for (const auto& kv : v.as_object()) out[kv.key()] = RenderArgoArgs(kv.value(), args);
    return out;
  }
  if (v.is_array()) {
    boost::json::array out;
    for (const auto& item : v.as_array()) out.push_back(RenderArgoArgs(item, args));
    return out;
  }
  if (!v.is_string()) return v;
  std::string text(v.as_string());
  std::size_t open;
  while ((open = text.find("{{")) != std::string::npos) {
    const auto close = text.find("}}", open);
    if (close == std::string::npos) break;
    std::string name = text.substr(open + 2, close - open - 2);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    std::string value;
    bool found = false;
    for (const auto& [k, val] : args) {
      if ("args." + k == name) {
        value = val;
        found = true;
      }
    }
    if (!found) {
      ADD_FAILURE() << "no sample value for {{" << name << "}}";
      return v;
    }
    text.replace(open, close + 2 - open, value);
  }
  return boost::json::string(text);
}

http::ClientResponse Send(TestServer& server, const std::string& method, const std::string& target,
                          const std::string& body, std::vector<std::pair<std::string, std::string>> headers) {
  http::HttpClient client("127.0.0.1", server.port());
  http::ClientRequest req;
  req.method = method;
  req.target = target;
  req.body = body;
  req.headers = std::move(headers);
  auto r = client.Send(req, Millis(15000));
  if (!r) throw std::runtime_error("request failed: " + r.error().message);
  return *r;
}

namespace {

// Auto, decides at once (breach_for 0s, 5 samples), a 5xx bound with a
// baseline comparison; `duration` sets when a quiet release is healthy.
std::string GateClass(const std::string& name, const std::string& duration) {
  return "release_class: " + name + "\nversion: 1\nreversibility: reversible_with_state\nautomation: auto\n"
         "blast_radius:\n  max_traffic_percent: 25\n"
         "budget:\n  max_auto_rollbacks: 100\n  per: 1h\n"
         "approval:\n  ttl: 1h\n"
         "evaluation:\n  window: 5m\n  min_samples: 5\n  max_staleness: 5m\n  breach_for: 0s\n  duration: " +
         duration +
         "\n"
         "signals:\n"
         "  - name: http_5xx_ratio\n    max: 0.05\n    baseline:\n      ratio: 2\n      min_delta: 0.01\n"
         "      test: none\n    sources_tolerance: 0.5\n";
}

}  // namespace

GateServer::GateServer(Options options) {
  dir_.Write("web.yaml", GateClass("web", "1h"));
  dir_.Write("web-short.yaml", GateClass("web-short", "1s"));
  auto c = TestConfig("");
  c.thresholds_dir = dir_.path();
  c.evaluation_tick = Millis(100);
  config::ExecutorConfig gate;
  gate.match = "*";
  gate.type = config::ExecutorType::kGate;
  gate.timeout = options.gate_timeout;
  c.executors = {gate};
  c.integrations.github.secret_env = options.github_secret_env;
  c.integrations.flagger.default_release_class = options.default_release_class;
  c.integrations.cdevents.default_release_class = options.default_release_class;
  c.integrations.github.default_release_class = options.default_release_class;
  server_ = std::make_unique<TestServer>(c);
  deployer = server_->Token("ci-bot", Role::kDeployer);
  admin = server_->Token("admin-1", Role::kAdmin);
  approver = server_->Token("sre-1", Role::kApprover);
  viewer = server_->Token("dashboard", Role::kViewer);
}

void GateServer::Samples(const std::string& service, const std::string& environment, const std::string& version,
                         double value, int n) {
  boost::json::array samples;
  for (int i = 0; i < n; ++i) {
    samples.push_back(boost::json::object{{"service", service}, {"environment", environment}, {"version", version},
                                          {"signal", "http_5xx_ratio"}, {"value", value}});
  }
  auto r = server_->Request("POST", "/v1/telemetry", deployer,
                            boost::json::serialize(boost::json::object{{"samples", samples}}));
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_EQ(ParseJson(r.body).at("accepted").as_int64(), n) << r.body;
}

void GateServer::Tick() { server_->app().evaluator().TickNow(); }

boost::json::object GateServer::Release(const std::string& id) {
  auto r = server_->Request("GET", "/v1/releases/" + id, admin);
  EXPECT_EQ(r.status, 200) << r.body;
  return ParseJson(r.body).at("release").as_object();
}

std::string GateServer::AwaitStatusOtherThan(const std::string& id, const std::string& from,
                                             std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string status = from;
  while (status == from && std::chrono::steady_clock::now() < deadline) {
    Tick();
    status = std::string(Release(id).at("status").as_string());
    if (status == from) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return status;
}

bool GateServer::AwaitDecision(const std::string& id, const std::string& kind, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    Tick();
    const boost::json::object release = Release(id);
    for (const auto& d : release.at("decisions").as_array()) {
      if (d.at("decision").as_string() == kind) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

boost::json::array GateServer::Actions(const std::string& release_id) {
  return ParseJson(server_->Request("GET", "/v1/actions?release_id=" + release_id, admin).body)
      .at("actions")
      .as_array();
}

boost::json::array GateServer::Escalations(const std::string& release_id) {
  return ParseJson(server_->Request("GET", "/v1/escalations?release_id=" + release_id, admin).body)
      .at("escalations")
      .as_array();
}

boost::json::array GateServer::Audit(const std::string& release_id) {
  // Entries commit with their event (audit_repository appends in the same transaction).
  return ParseJson(server_->Request("GET", "/v1/audit?limit=1000&release_id=" + release_id, admin).body)
      .at("entries")
      .as_array();
}

void GateServer::SetMode(const std::string& mode) {
  auto r = server_->Request("PUT", "/v1/mode", admin, R"({"mode":")" + mode + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
}

http::ClientResponse GateServer::Approve(const std::string& escalation_id) {
  return server_->Request("POST", "/v1/escalations/" + escalation_id + "/approve", approver, R"({"comment":"ok"})");
}

http::ClientResponse GateServer::Reject(const std::string& escalation_id, const std::string& comment) {
  return server_->Request("POST", "/v1/escalations/" + escalation_id + "/reject", approver,
                          boost::json::serialize(boost::json::object{{"comment", comment}}));
}

void GateServer::ExpectDocumented(const std::string& method, const std::string& pattern,
                                  const http::ClientResponse& r) {
  if (openapi_.is_null()) openapi_ = ParseJson(server_->Request("GET", "/openapi.json").body);
  std::string lower = method;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto* responses = openapi_.at("paths").at(pattern).at(lower).at("responses").as_object().if_contains(
      std::to_string(r.status));
  if (responses == nullptr) {
    ADD_FAILURE() << method << " " << pattern << " documents no " << r.status << ": " << r.body;
    return;
  }
  const boost::json::value* response = responses;
  if (const auto* ref = response->as_object().if_contains("$ref")) {
    boost::system::error_code ec;
    response = openapi_.find_pointer(std::string(ref->as_string()).substr(1), ec);
  }
  const auto errors =
      ValidateJson(ParseJson(r.body), response->at("content").at("application/json").at("schema"), openapi_);
  EXPECT_TRUE(errors.empty()) << method << " " << pattern << " " << r.status << ": " << errors.front() << "\n"
                              << r.body;
}

std::vector<std::string> Strings(const boost::json::value& array) {
  std::vector<std::string> out;
  for (const auto& r : array.as_array()) out.emplace_back(r.as_string());
  return out;
}

}  // namespace backstop::testing
