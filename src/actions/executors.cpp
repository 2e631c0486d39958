#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

#include "backstop/actions/delivery.hpp"
#include "backstop/actions/executor.hpp"
#include "backstop/http/client.hpp"

extern char** environ;

namespace backstop::actions {

namespace {

constexpr std::size_t kMaxOutputBytes = 16384;

std::string Truncate(const std::string& s) { return SanitizeOutput(s, kMaxOutputBytes); }

// POSTs the signed rollback request (DESIGN "Rollback webhook").
class WebhookExecutor final : public Executor {
 public:
  WebhookExecutor(HttpUrl url, std::shared_ptr<const http::TlsClientContext> tls, std::string secret, Millis timeout)
      : url_(std::move(url)), tls_(std::move(tls)), secret_(std::move(secret)), timeout_(timeout) {}
  std::string name() const override { return "webhook"; }

  ExecutionResult Execute(const ActionRequest& a) override {
    const std::string body = WebhookBody(a);
    // A fresh t on every attempt, so a late retry passes a receiver's freshness window.
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    http::ClientRequest req;
    req.method = "POST";
    req.target = url_.target;
    req.body = body;
    req.headers = {{"Content-Type", "application/json"},
                   {"Idempotency-Key", a.action_id},
                   {"X-Backstop-Signature", SignatureHeader(secret_, now, body)}};
    // One connection per attempt: attempts are rare and a fresh connection
    // never inherits a half-read response from a timed-out one.
    http::HttpClient client(http::ClientEndpoint{url_.https, url_.host, url_.port, tls_});
    auto r = client.Send(req, timeout_);
    ExecutionResult out;
    if (!r) {
      out.outcome = Outcome::kRetry;  // timeouts and connection errors are retried
      out.error = r.error().message;
      return out;
    }
    out.http_status = r->status;
    out.output = Truncate(r->body);
    out.outcome = ClassifyHttpStatus(r->status);
    if (out.outcome != Outcome::kSucceeded) out.error = "HTTP " + std::to_string(r->status);
    return out;
  }

 private:
  HttpUrl url_;
  std::shared_ptr<const http::TlsClientContext> tls_;  // https only
  std::string secret_;
  Millis timeout_;
};

// Runs argv directly (posix_spawn, no shell); exit 0 = done. A run past the
// timeout is killed (its process group) and retried like a timeout.
class CommandExecutor final : public Executor {
 public:
  CommandExecutor(std::vector<std::string> argv, Millis timeout) : argv_(std::move(argv)), timeout_(timeout) {}
  std::string name() const override { return "command"; }

  ExecutionResult Execute(const ActionRequest& a) override {
    const std::vector<std::string> argv = ExpandArgv(argv_, a);
    std::vector<char*> args;
    for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    int out_pipe[2];
    ExecutionResult out;
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
      out.outcome = Outcome::kRetry;
      out.error = "pipe failed";
      return out;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    // The child inherits nothing else: no listening socket, no client connection.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(out_pipe[1]);
    if (rc != 0) {
      ::close(out_pipe[0]);
      out.outcome = Outcome::kFailed;
      out.error = "cannot start " + argv[0] + ": " + std::strerror(rc);
      return out;
    }
    std::string output;
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    bool timed_out = false;
    bool exited = false;
    int status = 0;
    // Read until the child exits (a grandchild holding the pipe open must not
    // turn a finished command into a timeout), then drain what is buffered.
    while (!exited) {
      const int w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        exited = true;
        break;
      }
      if (w < 0 && errno != EINTR) {
        ::close(out_pipe[0]);
        out.outcome = Outcome::kRetry;
        out.error = std::string("waitpid failed: ") + std::strerror(errno);
        return out;
      }
      const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) {
        timed_out = true;
        ::kill(-pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      pollfd p{out_pipe[0], POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<long long>(left, 20))) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
      if (n > 0 && output.size() <= kMaxOutputBytes) output.append(buf, static_cast<std::size_t>(n));
      if (n == 0) {
        // End of output: wait for the exit itself, still bounded by the deadline.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    if (exited) {
      ::fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
      char buf[4096];
      ssize_t n = 0;
      while (output.size() <= kMaxOutputBytes && (n = ::read(out_pipe[0], buf, sizeof buf)) > 0) {
        output.append(buf, static_cast<std::size_t>(n));
      }
    }
    ::close(out_pipe[0]);
    out.output = Truncate(std::move(output));
    if (timed_out) {
      out.outcome = Outcome::kRetry;
      out.error = "timed out after " + FormatDuration(timeout_) + "; killed";
      return out;
    }
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    out.outcome = *out.exit_code == 0 ? Outcome::kSucceeded : Outcome::kRetry;
    if (*out.exit_code != 0) out.error = "exit code " + std::to_string(*out.exit_code);
    return out;
  }

 private:
  std::vector<std::string> argv_;
  Millis timeout_;
};

// Records the action and succeeds: for local runs without a real target.
class LogExecutor final : public Executor {
 public:
  std::string name() const override { return "log"; }
  ExecutionResult Execute(const ActionRequest& a) override {
    spdlog::info("log executor: would roll back {} in {} from {} to {} (action {}, release {})", a.service,
                 a.environment, a.from_version, a.to_version.value_or("?"), a.action_id, a.release_id);
    return ExecutionResult{Outcome::kSucceeded, std::nullopt, std::nullopt, "logged", "", std::nullopt};
  }
};

// Gate actions wait for a gate answer to hand them out (workflow/gate_flow);
// the outbox worker never claims them. An action that reaches this executor
// was queued for another executor before the config made its service a gate
// one: failing it asks a human, whose approval queues a gate action.
class GateExecutor final : public Executor {
 public:
  std::string name() const override { return "gate"; }
  ExecutionResult Execute(const ActionRequest&) override {
    return ExecutionResult{Outcome::kFailed, std::nullopt, std::nullopt, "",
                           "the service's executor is now a gate: this action cannot be handed out", std::nullopt};
  }
};

}  // namespace

Result<std::shared_ptr<Executor>> MakeExecutor(const config::ExecutorConfig& c, int index,
                                               const config::EnvLookup& env) {
  const std::string where = "executors[" + std::to_string(index) + "]";
  if (c.type == config::ExecutorType::kLog) return std::shared_ptr<Executor>(std::make_shared<LogExecutor>());
  if (c.type == config::ExecutorType::kGate) return std::shared_ptr<Executor>(std::make_shared<GateExecutor>());
  if (c.type == config::ExecutorType::kCommand) {
    if (c.argv.empty()) return Error::InvalidInput(where + ".argv: is required for a command executor");
    return std::shared_ptr<Executor>(std::make_shared<CommandExecutor>(c.argv, c.timeout));
  }
  if (c.type == config::ExecutorType::kWebhook) {
    auto url = ParseHttpUrl(c.url);
    if (!url) return Error::InvalidInput(where + ".url: must be an http:// or https:// URL");
    const auto secret = env(c.secret_env);
    if (!secret || secret->empty()) {
      return Error::InvalidInput(where + ".secret_env: environment variable " + c.secret_env + " is not set");
    }
    std::shared_ptr<const http::TlsClientContext> tls;
    if (url->https) {
      auto created = http::TlsClientContext::Create(c.ca_file);
      if (!created) return Error::InvalidInput(where + ".ca_file: " + created.error().message);
      tls = *created;
    } else if (!IsLoopbackHost(url->host)) {
      spdlog::warn("{}.url is plain http:// to {}: rollback requests travel unencrypted", where, url->host);
    }
    return std::shared_ptr<Executor>(std::make_shared<WebhookExecutor>(*url, tls, *secret, c.timeout));
  }
  return Error::InvalidInput(where + ".type: unknown executor type " + std::string(config::ToString(c.type)));
}

}  // namespace backstop::actions
