"""A tiny demo service for the docker-compose stack (python3 standard library only).

It pretends to be two versions of one service, `demo` in namespace `local`,
both taking 50 requests/s, and exposes their request counters on /metrics in
the Prometheus text format:

    http_requests_total{service="demo",namespace="local",version="v1",code="200"} 12345

Each version answers 1% of its requests with a 500. Make one version bad, and
watch Backstop roll it back:

    curl -X POST 'http://127.0.0.1:8081/error_ratio?version=v2&ratio=0.3'

For local demos only.
"""

import http.server
import threading
import time
import urllib.parse

PORT = 8081
SERVICE = "demo"
NAMESPACE = "local"
REQUESTS_PER_SECOND = 50.0

_lock = threading.Lock()
_error_ratio = {"v1": 0.01, "v2": 0.01}
_ok = {"v1": 0.0, "v2": 0.0}
_errors = {"v1": 0.0, "v2": 0.0}
_last = time.monotonic()


def _advance():
    """Adds the requests served since the last call, split by each version's error ratio."""
    global _last
    now = time.monotonic()
    elapsed = now - _last
    _last = now
    for version, ratio in _error_ratio.items():
        _errors[version] += elapsed * REQUESTS_PER_SECOND * ratio
        _ok[version] += elapsed * REQUESTS_PER_SECOND * (1.0 - ratio)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/metrics":
            self._send(404, "not found\n")
            return
        with _lock:
            _advance()
            lines = ["# TYPE http_requests_total counter"]
            for version in sorted(_error_ratio):
                for code, value in (("200", _ok[version]), ("500", _errors[version])):
                    lines.append(
                        'http_requests_total{service="%s",namespace="%s",version="%s",code="%s"} %d'
                        % (SERVICE, NAMESPACE, version, code, int(value))
                    )
        self._send(200, "\n".join(lines) + "\n", "text/plain; version=0.0.4")

    def do_POST(self):
        url = urllib.parse.urlparse(self.path)
        params = urllib.parse.parse_qs(url.query)
        try:
            version = params["version"][0]
            ratio = float(params["ratio"][0])
        except (KeyError, ValueError):
            self._send(400, "usage: POST /error_ratio?version=v2&ratio=0.3\n")
            return
        if url.path != "/error_ratio" or version not in _error_ratio or not 0.0 <= ratio <= 1.0:
            self._send(400, "usage: POST /error_ratio?version=v1|v2&ratio=0..1\n")
            return
        with _lock:
            _advance()
            _error_ratio[version] = ratio
        self._send(200, "%s now fails %.1f%% of requests\n" % (version, ratio * 100))

    def _send(self, status, body, content_type="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
