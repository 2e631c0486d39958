#include "backstop/cli/rest_cli.hpp"

#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

#include <boost/json.hpp>

#include "backstop/actions/delivery.hpp"
#include "backstop/cli/rest_output.hpp"
#include "backstop/http/client.hpp"

namespace backstop::cli {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnavailable = 3;
constexpr const char* kDefaultUrl = "http://127.0.0.1:8080";
constexpr Millis kRequestTimeout = std::chrono::seconds(30);

constexpr const char* kUsage = R"(usage (BACKSTOP_URL, BACKSTOP_TOKEN or --url URL, --token-file FILE; --output json):
  backstop queue list [--state STATE] [--service S] [--environment E]
  backstop queue show ID
  backstop queue approve ID [--comment TEXT]
  backstop queue reject ID --comment TEXT
  backstop releases list [--service S] [--environment E] [--status STATUS]
  backstop releases show ID
  backstop mode [get]
  backstop mode set normal|dry_run|freeze --reason TEXT
  backstop audit verify
exit codes: 0 ok, 1 refused, 2 usage, 3 unreachable or server error
)";

const std::vector<std::string> kValueOptions = {"--state", "--service", "--environment", "--status", "--comment",
                                                "--reason", "--output", "--url", "--token-file"};

struct Invocation {
  std::string command;
  std::string sub;
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  std::optional<std::string> Option(const std::string& name) const {
    auto it = options.find(name);
    return it == options.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
};

struct UsageError {
  std::string message;
};

// Options may come anywhere after the command, as `--name value` or `--name=value`.
std::variant<Invocation, UsageError> Parse(const std::vector<std::string>& args) {
  Invocation inv;
  inv.command = args.at(0);
  std::vector<std::string> words;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) {
      words.push_back(a);
      continue;
    }
    const auto eq = a.find('=');
    const std::string name = a.substr(0, eq);
    if (std::find(kValueOptions.begin(), kValueOptions.end(), name) == kValueOptions.end()) {
      return UsageError{"unknown option " + name};
    }
    if (eq != std::string::npos) {
      inv.options[name] = a.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      inv.options[name] = args[++i];
    } else {
      return UsageError{name + " needs a value"};
    }
  }
  if (!words.empty()) {
    inv.sub = words.front();
    inv.positional.assign(words.begin() + 1, words.end());
  }
  if (auto o = inv.Option("--output"); o && *o != "json" && *o != "table") {
    return UsageError{"--output must be json or table"};
  }
  return inv;
}

std::string PercentEncode(const std::string& in) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Query(const std::vector<std::pair<std::string, std::optional<std::string>>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!value) continue;
    out += (out.empty() ? "?" : "&") + name + "=" + PercentEncode(*value);
  }
  return out;
}

// One REST call: what to send and how to render a 2xx answer.
struct Call {
  std::string method = "GET";
  std::string target;
  std::string body;
  std::function<std::string(const boost::json::value&)> render;
};

std::variant<Call, UsageError> Plan(const Invocation& inv) {
  const auto one_id = [&]() -> std::optional<std::string> {
    if (inv.positional.size() != 1) return std::nullopt;
    return PercentEncode(inv.positional[0]);
  };
  if (inv.command == "queue") {
    if (inv.sub == "list" && inv.positional.empty()) {
      return Call{"GET",
                  "/v1/escalations" + Query({{"state", inv.Option("--state").value_or("pending")},
                                             {"service", inv.Option("--service")},
                                             {"environment", inv.Option("--environment")}}),
                  "", FormatEscalationList};
    }
    const auto id = one_id();
    if (inv.sub == "show" && id) return Call{"GET", "/v1/escalations/" + *id, "", FormatEscalation};
    if ((inv.sub == "approve" || inv.sub == "reject") && id) {
      const auto comment = inv.Option("--comment");
      if (inv.sub == "reject" && (!comment || comment->find_first_not_of(" \t\r\n") == std::string::npos)) {
        return UsageError{"reject needs --comment TEXT: say why the release is kept"};
      }
      boost::json::object body;
      if (comment) body["comment"] = *comment;
      return Call{"POST", "/v1/escalations/" + *id + "/" + inv.sub, boost::json::serialize(body), FormatEscalation};
    }
  } else if (inv.command == "releases") {
    if (inv.sub == "list" && inv.positional.empty()) {
      return Call{"GET",
                  "/v1/releases" + Query({{"service", inv.Option("--service")},
                                          {"environment", inv.Option("--environment")},
                                          {"status", inv.Option("--status")}}),
                  "", FormatReleaseList};
    }
    const auto id = one_id();
    if (inv.sub == "show" && id) return Call{"GET", "/v1/releases/" + *id, "", FormatRelease};
  } else if (inv.command == "mode") {
    if ((inv.sub.empty() || inv.sub == "get") && inv.positional.empty()) return Call{"GET", "/v1/mode", "", FormatMode};
    if (inv.sub == "set" && inv.positional.size() == 1) {
      const auto reason = inv.Option("--reason");
      if (!reason || reason->find_first_not_of(" \t\r\n") == std::string::npos) {
        return UsageError{"mode set needs --reason TEXT: it is recorded in the audit log"};
      }
      boost::json::object body{{"mode", inv.positional[0]}, {"reason", *reason}};
      return Call{"PUT", "/v1/mode", boost::json::serialize(body), FormatMode};
    }
  } else if (inv.command == "audit") {
    if (inv.sub == "verify" && inv.positional.empty()) return Call{"GET", "/v1/audit/verify", "", FormatVerify};
  }
  return UsageError{"unknown or incomplete command"};
}

std::optional<std::string> ReadToken(const Invocation& inv, const config::EnvLookup& env, std::string& problem) {
  if (auto file = inv.Option("--token-file")) {
    std::ifstream in(*file);
    if (!in) {
      problem = "cannot read --token-file " + *file;
      return std::nullopt;
    }
    std::string token;
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    return token;
  }
  return env("BACKSTOP_TOKEN");
}

}  // namespace

bool IsRestCommand(const std::string& command) {
  return command == "queue" || command == "releases" || command == "mode" || command == "audit";
}

int RunRestCommand(const std::vector<std::string>& args, const config::EnvLookup& env, std::ostream& out,
                   std::ostream& err) {
  auto parsed = Parse(args);
  if (auto* u = std::get_if<UsageError>(&parsed)) {
    err << "error: " << u->message << "\n" << kUsage;
    return kExitUsage;
  }
  const Invocation& inv = std::get<Invocation>(parsed);
  auto planned = Plan(inv);
  if (auto* u = std::get_if<UsageError>(&planned)) {
    err << "error: " << u->message << "\n" << kUsage;
    return kExitUsage;
  }
  const Call& call = std::get<Call>(planned);

  const std::string base = inv.Option("--url").value_or(env("BACKSTOP_URL").value_or(kDefaultUrl));
  const auto url = actions::ParseHttpUrl(base);
  if (!url) {
    err << "error: BACKSTOP_URL/--url must be an http://host:port URL, got " << base << "\n";
    return kExitUsage;
  }
  std::string problem;
  const auto token = ReadToken(inv, env, problem);
  if (!problem.empty()) {
    err << "error: " << problem << "\n";
    return kExitUsage;
  }

  http::ClientRequest request;
  request.method = call.method;
  // A URL with a path prefix (behind a proxy) keeps it.
  const std::string prefix = url->target == "/" ? "" : (url->target.back() == '/' ? url->target.substr(0, url->target.size() - 1) : url->target);
  request.target = prefix + call.target;
  if (token && !token->empty()) request.headers.emplace_back("Authorization", "Bearer " + *token);
  if (!call.body.empty() || call.method != "GET") {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = call.body;
  }
  http::HttpClient client(url->host, url->port);
  auto response = client.Send(request, kRequestTimeout);
  if (!response) {
    err << "error: unreachable: " << base << ": " << response.error().message << "\n";
    return kExitUnavailable;
  }
  boost::system::error_code ec;
  const boost::json::value answer = boost::json::parse(response->body, ec);
  if (response->status >= 400) {
    std::string code = "http_" + std::to_string(response->status);
    std::string message = response->body;
    if (!ec && answer.is_object()) {
      if (const auto* e = answer.as_object().if_contains("error"); e != nullptr && e->is_object()) {
        if (const auto* c = e->as_object().if_contains("code"); c != nullptr && c->is_string()) code = c->as_string();
        if (const auto* m = e->as_object().if_contains("message"); m != nullptr && m->is_string()) {
          message = m->as_string();
        }
      }
    }
    err << "error: " << code << ": " << message << "\n";
    return response->status >= 500 ? kExitUnavailable : kExitRefused;
  }
  if (ec) {
    err << "error: the server's answer is not JSON\n";
    return kExitUnavailable;
  }
  if (inv.Option("--output").value_or("table") == "json") {
    out << response->body << "\n";
  } else {
    out << call.render(answer);
  }
  return kExitOk;
}

}  // namespace backstop::cli
