// GET /ui/ and GET /ui/{file}: the approval queue web page (INTEGRATIONS §6).
//
// The files are compiled into the binary (ui_assets.hpp), so serving is a
// lookup by exact name in a fixed table: no file system access, nothing a
// request path can walk out of. A name that is not in the table is a 404,
// whatever it contains ("..", "%2f", a folder). The routes are public: the
// page itself holds no data; the token is typed into it and every call it
// makes goes to /v1 with a bearer header, where roles are enforced.
#include <string>
#include <string_view>
#include <unordered_map>

#include "backstop/api/api_context.hpp"
#include "backstop/api/ui_assets.hpp"
#include "backstop/common/sha256.hpp"

namespace backstop::api {

namespace {

// No inline script or style, no foreign origin, no framing, no <base>, forms
// post only here. img-src allows data: for the empty favicon.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

constexpr std::string_view kIndex = "index.html";

std::string_view ContentTypeFor(std::string_view name) {
  const auto ends_with = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  return "application/octet-stream";  // embed_ui.cmake admits no other extension
}

struct ServedAsset {
  std::string_view body;
  std::string_view content_type;
  std::string etag;  // quoted SHA-256 of the body
};

// Built once, on first use (thread-safe static initialisation), read-only after.
const std::unordered_map<std::string_view, ServedAsset>& Assets() {
  static const auto* const assets = [] {
    auto* m = new std::unordered_map<std::string_view, ServedAsset>();
    for (const auto& a : UiAssets()) {
      m->emplace(a.name, ServedAsset{a.body, ContentTypeFor(a.name), "\"" + Sha256Hex(a.body) + "\""});
    }
    return m;
  }();
  return *assets;
}

// If-None-Match holds a comma-separated list of entity tags, or "*".
bool MatchesEtag(const std::string& if_none_match, const std::string& etag) {
  std::size_t start = 0;
  while (start < if_none_match.size()) {
    auto comma = if_none_match.find(',', start);
    if (comma == std::string::npos) comma = if_none_match.size();
    std::string_view tag(if_none_match.data() + start, comma - start);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);  // weak comparison, as for GET
    if (tag == "*" || tag == etag) return true;
    start = comma + 1;
  }
  return false;
}

void AddSecurityHeaders(http::Response& r) {
  r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

http::Response NotFound(const std::string& path) {
  http::Response r = http::ErrorResponse(Error::NotFound("no page file at " + path));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

http::Response Serve(const http::Request& req, std::string_view name) {
  const auto& assets = Assets();
  const auto it = assets.find(name);
  if (it == assets.end()) return NotFound(req.path);
  const ServedAsset& a = it->second;
  http::Response r;
  r.content_type = std::string(a.content_type);
  AddSecurityHeaders(r);
  // The names carry no version, so the browser revalidates every time and
  // gets a body-less 304 while the binary (and so the page) is unchanged.
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("ETag", a.etag);
  if (auto inm = req.Header("If-None-Match"); inm && MatchesEtag(*inm, a.etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.body = std::string(a.body);
  return r;
}

}  // namespace

void AddUiRoutes(http::Router& router, ApiContext&) {
  // "/ui" and "/ui/" match this one pattern (the router ignores empty
  // segments); the bare one is redirected.
  router.Add({"GET", "/ui/", {}, http::BodyPolicy::kNone,
              [](const http::RequestContext& rc, http::Respond respond) {
                if (rc.request.path == "/ui") {
                  // Relative links in the page resolve against /ui/, not /.
                  http::Response r;
                  r.status = 308;
                  r.content_type = "text/plain; charset=utf-8";
                  r.headers.emplace_back("Location", "/ui/");
                  r.body = "see /ui/\n";
                  return respond(std::move(r));
                }
                if (rc.request.path != "/ui/") return respond(NotFound(rc.request.path));
                respond(Serve(rc.request, kIndex));
              }});
  router.Add({"GET", "/ui/{file}", {}, http::BodyPolicy::kNone,
              [](const http::RequestContext& rc, http::Respond respond) {
                // The router ignores empty segments; the page's files have
                // exactly one name, so "/ui//app.js" or "/ui/app.js/" are not it.
                const std::string& name = rc.params.at(0);
                if (rc.request.path != "/ui/" + name) return respond(NotFound(rc.request.path));
                respond(Serve(rc.request, name));
              }});
}

}  // namespace backstop::api
