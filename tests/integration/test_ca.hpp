#pragma once

#include <string>
#include <vector>

namespace backstop::testing {

// A certificate authority made for one test with the `openssl` command, in
// a scratch folder removed at the end. Issues server certificates for
// loopback receivers: trusted, for the wrong name, expired, or from an
// authority nobody trusts.
class TestCa {
 public:
  struct Issued {
    std::string cert_file;  // PEM leaf certificate
    std::string key_file;   // PEM private key
  };

  TestCa();
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  // The CA certificate: what a `ca_file` points at.
  const std::string& ca_file() const { return ca_cert_; }

  // A certificate signed by this CA for `sans` ("DNS:localhost",
  // "IP:127.0.0.1"), valid for `days`; negative days make one that expired.
  Issued Issue(const std::string& name, const std::vector<std::string>& sans, int days = 2) const;
  // A certificate for `sans` signed by another CA that nothing trusts.
  Issued IssueUntrusted(const std::string& name, const std::vector<std::string>& sans) const;

 private:
  Issued Sign(const std::string& name, const std::vector<std::string>& sans, int days, const std::string& ca_cert,
              const std::string& ca_key) const;
  std::string dir_;
  std::string ca_cert_;
  std::string ca_key_;
  std::string rogue_cert_;
  std::string rogue_key_;
};

}  // namespace backstop::testing
