// Keeps the deployment files consistent with each other: docker-compose.yml,
// deploy/prometheus.yml, deploy/backstop.docker.yaml, the repo-root
// backstop.yaml and the Dockerfile. These read files from the source tree
// (BACKSTOP_SOURCE_DIR) but touch no network or database.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "backstop/config/config_loader.hpp"
#include "backstop/policy/threshold_parser.hpp"

#ifndef BACKSTOP_SOURCE_DIR
#error "BACKSTOP_SOURCE_DIR must name the repository root"
#endif

namespace backstop::config {
namespace {

std::filesystem::path SourcePath(const std::string& relative) {
  return std::filesystem::path(BACKSTOP_SOURCE_DIR) / relative;
}

std::string ReadText(const std::string& relative) {
  std::ifstream file(SourcePath(relative));
  EXPECT_TRUE(file) << "cannot read " << SourcePath(relative);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

YAML::Node LoadYaml(const std::string& relative) {
  return YAML::Load(ReadText(relative));
}

EnvLookup NoEnv() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

// A service's `environment`, written either as a map or as ["KEY=value", ...].
std::map<std::string, std::string> ServiceEnvironment(const YAML::Node& service) {
  std::map<std::string, std::string> env;
  const YAML::Node node = service["environment"];
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      env[it->first.as<std::string>()] = it->second.as<std::string>();
    }
  } else if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      const std::string entry = item.as<std::string>();
      const auto equals = entry.find('=');
      if (equals != std::string::npos) env[entry.substr(0, equals)] = entry.substr(equals + 1);
    }
  }
  return env;
}

EnvLookup EnvFrom(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

// Container ports of a service's `ports` entries in short syntax
// ("8080:8080", "127.0.0.1:8080:8080", "8080/tcp"): the part after the last ':'.
std::vector<int> ContainerPorts(const YAML::Node& service) {
  std::vector<int> ports;
  for (const YAML::Node& item : service["ports"]) {
    std::string entry = item.as<std::string>();
    entry = entry.substr(0, entry.find('/'));
    const auto colon = entry.rfind(':');
    ports.push_back(std::stoi(colon == std::string::npos ? entry : entry.substr(colon + 1)));
  }
  return ports;
}

bool Contains(const std::vector<int>& values, int value) {
  for (const int v : values) {
    if (v == value) return true;
  }
  return false;
}

// "postgresql://user[:password]@host:port/db" → "host:port".
std::string UrlAuthority(const std::string& url) {
  const auto scheme_end = url.find("://");
  std::string rest = scheme_end == std::string::npos ? url : url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('/'));
  const auto at = rest.rfind('@');
  return at == std::string::npos ? rest : rest.substr(at + 1);
}

bool DependsOn(const YAML::Node& service, const std::string& name) {
  const YAML::Node depends = service["depends_on"];
  if (depends.IsMap()) return static_cast<bool>(depends[name]);
  if (depends.IsSequence()) {
    for (const YAML::Node& item : depends) {
      if (item.as<std::string>() == name) return true;
    }
  }
  return false;
}

class ComposeTest : public ::testing::Test {
 protected:
  YAML::Node compose_ = LoadYaml("docker-compose.yml");
  YAML::Node services_ = compose_["services"];
};

TEST_F(ComposeTest, DefinesPostgresBackstopAndPrometheus) {
  ASSERT_TRUE(services_.IsMap());
  EXPECT_TRUE(services_["postgres"].IsMap());
  EXPECT_TRUE(services_["backstop"].IsMap());
  EXPECT_TRUE(services_["prometheus"].IsMap());
  EXPECT_TRUE(DependsOn(services_["backstop"], "postgres"));
}

TEST_F(ComposeTest, BackstopPublishesThePortItsConfigListensOn) {
  const Result<Config> file_only =
      ParseConfig(ReadText("deploy/backstop.docker.yaml"), "/etc/backstop", NoEnv());
  ASSERT_TRUE(file_only.ok()) << file_only.error().message;
  const std::vector<int> published = ContainerPorts(services_["backstop"]);
  EXPECT_TRUE(Contains(published, file_only->listen_port))
      << "deploy/backstop.docker.yaml listens on " << file_only->listen_port;

  // What the container really sees: the file plus the compose environment.
  const Result<Config> effective =
      ParseConfig(ReadText("deploy/backstop.docker.yaml"), "/etc/backstop",
                  EnvFrom(ServiceEnvironment(services_["backstop"])));
  ASSERT_TRUE(effective.ok()) << effective.error().message;
  EXPECT_TRUE(Contains(published, effective->listen_port))
      << "BACKSTOP_LISTEN makes backstop listen on " << effective->listen_port;
  // Reachable from the other containers, not only from inside its own.
  EXPECT_NE(effective->listen_host, "127.0.0.1");
}

TEST_F(ComposeTest, PrometheusScrapesBackstopServiceOnItsListenPort) {
  const Result<Config> config =
      ParseConfig(ReadText("deploy/backstop.docker.yaml"), "/etc/backstop", NoEnv());
  ASSERT_TRUE(config.ok()) << config.error().message;
  // Inside the compose network the service name is the host name.
  ASSERT_TRUE(services_["backstop"].IsMap());
  const std::string expected_target = "backstop:" + std::to_string(config->listen_port);

  const YAML::Node prometheus = LoadYaml("deploy/prometheus.yml");
  bool found = false;
  for (const YAML::Node& job : prometheus["scrape_configs"]) {
    if (job["job_name"].as<std::string>() != "backstop") continue;
    EXPECT_EQ(job["metrics_path"].as<std::string>("/metrics"), "/metrics");
    for (const YAML::Node& static_config : job["static_configs"]) {
      for (const YAML::Node& target : static_config["targets"]) {
        EXPECT_EQ(target.as<std::string>(), expected_target);
        found = true;
      }
    }
  }
  EXPECT_TRUE(found) << "no scrape target for job backstop";

  bool mounted = false;
  for (const YAML::Node& volume : services_["prometheus"]["volumes"]) {
    if (volume.as<std::string>().find("deploy/prometheus.yml:") != std::string::npos) mounted = true;
  }
  EXPECT_TRUE(mounted) << "prometheus must mount deploy/prometheus.yml";
}

TEST_F(ComposeTest, DatabaseUrlPointsAtPostgresService) {
  const std::map<std::string, std::string> env = ServiceEnvironment(services_["backstop"]);
  ASSERT_TRUE(env.contains("BACKSTOP_DATABASE_URL"));
  EXPECT_TRUE(Contains(ContainerPorts(services_["postgres"]), 5432));
  EXPECT_EQ(UrlAuthority(env.at("BACKSTOP_DATABASE_URL")), "postgres:5432");

  // The file's own database_url (used without the override) agrees.
  const Result<Config> config =
      ParseConfig(ReadText("deploy/backstop.docker.yaml"), "/etc/backstop", NoEnv());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(UrlAuthority(config->database_url), "postgres:5432");
}

// "postgresql://user@host:port/db" → "user".
std::string UrlUser(const std::string& url) {
  const auto scheme_end = url.find("://");
  std::string rest = scheme_end == std::string::npos ? url : url.substr(scheme_end + 3);
  const auto at = rest.find('@');
  return at == std::string::npos ? "" : rest.substr(0, rest.find_first_of(":@"));
}

// DESIGN "Audit log": the serving role is not the schema owner. Compose
// serves as one role and migrates as another, both of which the postgres
// service's init script creates, with the database owned by the owner.
TEST_F(ComposeTest, BackstopServesAsOneRoleAndMigratesAsTheOwnerTheInitScriptCreates) {
  const std::map<std::string, std::string> env = ServiceEnvironment(services_["backstop"]);
  ASSERT_TRUE(env.contains("BACKSTOP_MIGRATION_DATABASE_URL"));
  const std::string serving = UrlUser(env.at("BACKSTOP_DATABASE_URL"));
  const std::string owner = UrlUser(env.at("BACKSTOP_MIGRATION_DATABASE_URL"));
  EXPECT_EQ(UrlAuthority(env.at("BACKSTOP_MIGRATION_DATABASE_URL")), "postgres:5432");
  ASSERT_FALSE(serving.empty());
  ASSERT_FALSE(owner.empty());
  EXPECT_NE(serving, owner);
  const std::string init = ReadText("deploy/postgres-init.sql");
  EXPECT_NE(init.find("CREATE ROLE " + serving + " LOGIN"), std::string::npos) << init;
  EXPECT_NE(init.find("CREATE ROLE " + owner + " LOGIN"), std::string::npos) << init;
  EXPECT_NE(init.find("OWNER " + owner), std::string::npos) << init;
  bool mounted = false;
  for (const YAML::Node& v : services_["postgres"]["volumes"]) {
    mounted = mounted || v.as<std::string>().find("deploy/postgres-init.sql:/docker-entrypoint-initdb.d/") == 0 ||
              v.as<std::string>().find("./deploy/postgres-init.sql:/docker-entrypoint-initdb.d/") == 0;
  }
  EXPECT_TRUE(mounted) << "postgres must run deploy/postgres-init.sql";

  const Result<Config> config = ParseConfig(ReadText("deploy/backstop.docker.yaml"), "/etc/backstop", NoEnv());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(UrlUser(config->database_url), serving);
  EXPECT_EQ(UrlUser(config->MigrationDatabaseUrl()), owner);
}

TEST_F(ComposeTest, BackstopCommandNamesTheConfigTheDockerfileInstalls) {
  const std::string command = services_["backstop"]["command"].as<std::string>();
  const std::string config_path = "/etc/backstop/backstop.yaml";
  EXPECT_NE(command.find("--config " + config_path), std::string::npos) << command;

  const std::string dockerfile = ReadText("Dockerfile");
  EXPECT_NE(dockerfile.find("deploy/backstop.docker.yaml " + config_path), std::string::npos);

  const Result<Config> config =
      ParseConfig(ReadText("deploy/backstop.docker.yaml"), "/etc/backstop", NoEnv());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_NE(dockerfile.find("/migrations " + config->migrations_dir), std::string::npos)
      << "the Dockerfile must install migrations at " << config->migrations_dir;
  EXPECT_NE(dockerfile.find("/thresholds " + config->thresholds_dir), std::string::npos)
      << "the Dockerfile must install thresholds at " << config->thresholds_dir;
}

TEST_F(ComposeTest, DemoServiceIsScrapedAndItsClassQueriesTheConfiguredSource) {
  // The demo service publishes its port and Prometheus scrapes it there.
  ASSERT_TRUE(services_["demo"].IsMap());
  EXPECT_TRUE(Contains(ContainerPorts(services_["demo"]), 8081));
  bool scraped = false;
  for (const YAML::Node& job : LoadYaml("deploy/prometheus.yml")["scrape_configs"]) {
    if (job["job_name"].as<std::string>() != "demo") continue;
    for (const YAML::Node& static_config : job["static_configs"]) {
      for (const YAML::Node& target : static_config["targets"]) scraped |= target.as<std::string>() == "demo:8081";
    }
  }
  EXPECT_TRUE(scraped) << "deploy/prometheus.yml must scrape demo:8081";
  EXPECT_NE(ReadText("deploy/demo_service.py").find("PORT = 8081"), std::string::npos);

  // Backstop pulls from the compose Prometheus ...
  const Result<Config> config = ParseConfig(ReadText("deploy/backstop.docker.yaml"), "/etc/backstop", NoEnv());
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->telemetry_sources.size(), 1u);
  EXPECT_EQ(UrlAuthority(config->telemetry_sources[0].url), "prometheus:9090");
  EXPECT_TRUE(Contains(ContainerPorts(services_["prometheus"]), 9090));

  // ... with the demo class mounted among the thresholds, querying that source.
  const policy::ParseResult demo =
      policy::ParseThresholdYaml(ReadText("deploy/demo-thresholds/demo-web.yaml"), "demo-web.yaml");
  ASSERT_TRUE(demo.set) << (demo.errors.empty() ? "" : demo.errors[0].ToString());
  EXPECT_TRUE(policy::CheckQuerySources(*demo.set, "demo-web.yaml", {config->telemetry_sources[0].name}).empty());
  bool mounted = false;
  for (const YAML::Node& volume : services_["backstop"]["volumes"]) {
    mounted |= volume.as<std::string>().find("deploy/demo-thresholds/demo-web.yaml:" + config->thresholds_dir +
                                             "/demo-web.yaml") != std::string::npos;
  }
  EXPECT_TRUE(mounted) << "backstop must mount the demo class into " << config->thresholds_dir;
}

TEST(DeployConfigTest, RepoRootConfigLoads) {
  const Result<Config> config = ParseConfig(ReadText("backstop.yaml"), BACKSTOP_SOURCE_DIR, NoEnv());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listen_host, "127.0.0.1");
  EXPECT_EQ(config->listen_port, 8080);
  EXPECT_EQ(std::filesystem::path(config->migrations_dir),
            SourcePath("migrations").lexically_normal());
  ASSERT_EQ(config->executors.size(), 1u);
  EXPECT_EQ(ToString(config->executors[0].type), "log");
}

TEST(DeployConfigTest, DockerConfigLoads) {
  const Result<Config> config =
      ParseConfig(ReadText("deploy/backstop.docker.yaml"), "/etc/backstop", NoEnv());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->migrations_dir, "/usr/share/backstop/migrations");
  EXPECT_EQ(config->thresholds_dir, "/usr/share/backstop/thresholds");
  ASSERT_EQ(config->executors.size(), 1u);
  EXPECT_EQ(ToString(config->executors[0].type), "log");
}

}  // namespace
}  // namespace backstop::config
