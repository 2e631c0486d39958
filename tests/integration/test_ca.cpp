#include "test_ca.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "backstop/common/sha256.hpp"
#include "process.hpp"

namespace backstop::testing {

namespace {

namespace fs = std::filesystem;

// The openssl program, found on PATH (RunProcess execs a path, not a name).
std::string OpensslPath() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const auto end = dirs.find(':', start);
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / "openssl";
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
    if (end == std::string::npos) break;
    start = end + 1;
  }
  throw std::runtime_error("the openssl command is not installed (Debian package openssl)");
}

void Openssl(std::vector<std::string> args) {
  static const std::string program = OpensslPath();
  args.insert(args.begin(), program);
  const ProcessResult r = RunProcess(args, {}, std::chrono::seconds(30));
  if (r.exit_code != 0) throw std::runtime_error("openssl " + args.at(1) + " failed: " + r.err);
}

// A self-signed CA certificate (CA:TRUE from the req defaults).
void MakeCa(const std::string& cert, const std::string& key, const std::string& subject) {
  Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
           "-out", cert, "-days", "2", "-subj", subject});
}

}  // namespace

TestCa::TestCa() {
  dir_ = (fs::temp_directory_path() / ("backstop-ca-" + RandomHex(6))).string();
  fs::create_directories(dir_);
  ca_cert_ = dir_ + "/ca.pem";
  ca_key_ = dir_ + "/ca.key";
  rogue_cert_ = dir_ + "/rogue-ca.pem";
  rogue_key_ = dir_ + "/rogue-ca.key";
  MakeCa(ca_cert_, ca_key_, "/CN=Backstop Test CA");
  MakeCa(rogue_cert_, rogue_key_, "/CN=Somebody Else's CA");
}

TestCa::~TestCa() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

TestCa::Issued TestCa::Issue(const std::string& name, const std::vector<std::string>& sans, int days) const {
  return Sign(name, sans, days, ca_cert_, ca_key_);
}

TestCa::Issued TestCa::IssueUntrusted(const std::string& name, const std::vector<std::string>& sans) const {
  return Sign(name, sans, 2, rogue_cert_, rogue_key_);
}

TestCa::Issued TestCa::Sign(const std::string& name, const std::vector<std::string>& sans, int days,
                            const std::string& ca_cert, const std::string& ca_key) const {
  const std::string base = dir_ + "/" + name;
  Issued out{base + ".pem", base + ".key"};
  std::string san_list;
  for (const auto& s : sans) san_list += (san_list.empty() ? "" : ",") + s;
  std::ofstream(base + ".ext") << "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                                  "extendedKeyUsage=serverAuth\nsubjectAltName="
                               << san_list << "\n";
  Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", out.key_file, "-out",
           base + ".csr", "-subj", "/CN=" + name});
  // -days -1 ends the validity before it starts: an expired certificate.
  Openssl({"x509", "-req", "-in", base + ".csr", "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial", "-days",
           std::to_string(days), "-extfile", base + ".ext", "-out", out.cert_file});
  return out;
}

}  // namespace backstop::testing
