// The bare telemetry server on its own, for load tools like wrk:
//   build/bench/bare_telemetry_server [seconds]   (default 60; prints its port)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "bare_server.hpp"

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 60;  // bounded: it stops by itself
  backstop::bench::BareServer server;
  std::printf("bare telemetry server on http://127.0.0.1:%u for %d s\n", server.port(), seconds);
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  return 0;
}
