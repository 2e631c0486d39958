#include <string>
#include <vector>

#include "backstop/cli/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return backstop::cli::Run(args);
}
