#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace backstop::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs argv (no shell) with extra environment entries ("NAME=value") and
// waits at most `timeout`; a process still running then is killed.
// With `own_process_group` the child leads a process group of its own and
// the whole group is killed when it ends or times out, so nothing it
// started (a browser and its helpers) outlives the test.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60),
                         bool own_process_group = false);

// A background child process, killed on destruction if still running, and
// by the kernel if the test process dies first (PR_SET_PDEATHSIG). Create
// it on the test's thread: the death signal follows the thread that forked.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::string& log_path);
  ~ChildProcess();
  pid_t pid() const { return pid_; }
  void Signal(int sig) const;
  // Waits for exit; returns the exit code, or -1 (signal / timeout).
  int Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

}  // namespace backstop::testing
