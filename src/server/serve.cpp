// The HTTP server: cpp-httplib (Debian's libcpp-httplib-dev, 0.11.4; upstream a single header, which
// Debian ships as that header plus a small shared library, found with pkg-config): small,
// Debian-packaged, a thread per connection from its pool (a long server-sent event stream does not hold up other
// requests), and server-sent events through its chunked content provider. One process, one model,
// one worker thread rendering (job_queue.hpp).
#include "server/serve.hpp"

#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstdio>

#include "server/api_routes.hpp"
#include "server/http_error.hpp"
#include "server/job_queue.hpp"
#include "server/runs_root.hpp"
#include "server/security.hpp"
#include "server/web_assets.hpp"

namespace sdwalk::server {
namespace {

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

void add_page_routes(httplib::Server& svr) {
  const auto page = [](const std::string& name, httplib::Response& res) {
    const WebAsset* a = find_web_asset(name);
    if (!a) return send_error(res, 404, "not found");
    // The page loads nothing from elsewhere, runs no inline script and is framed by no one.
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
                   "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_content(reinterpret_cast<const char*>(a->data), a->size, a->content_type);
  };
  svr.Get("/", [page](const httplib::Request&, httplib::Response& res) { page("index.html", res); });
  svr.Get(R"(/([A-Za-z0-9_-]+\.(html|js|css|svg)))",
          [page](const httplib::Request& req, httplib::Response& res) { page(req.matches[1], res); });
}

}  // namespace

void serve(const ServedModel& model, const ServeConfig& config, StopSignals& signals) {
  signal(SIGPIPE, SIG_IGN);  // a client that goes away mid-stream
  const RunsRoot root(config.runs);
  JobQueue queue(model, root);
  httplib::Server svr;
  svr.new_task_queue = [] { return new httplib::ThreadPool(32); };
  svr.set_payload_max_length(config.max_body);
  svr.set_keep_alive_timeout(2);
  const AccessPolicy policy(config.token, is_loopback_host(config.host));
  svr.set_pre_routing_handler([&policy](const httplib::Request& req, httplib::Response& res) {
    if (const auto refusal = policy.refuse(req)) {
      if (refusal->status == 401) res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, refusal->status, refusal->message);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const char* what = res.status == 413   ? "request body too large"
                       : res.status == 404 ? "not found"
                       : res.status == 405 ? "method not allowed"
                                           : "bad request";
    send_error(res, res.status, what);
  });
  add_api_routes(svr, model, queue, root);
  add_page_routes(svr);

  // httplib 0.11 listens with a backlog of 5: a burst of connections (50 submissions at once) would
  // overflow it and lose some. The listening socket is caught as it is made, and listen() again
  // (Linux takes a second call as a new backlog) raises it.
  int listen_fd = -1;
  svr.set_socket_options([&listen_fd](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = sock;  // the last one made while binding is the one that bound
  });
  int port = config.port;
  if (port == 0)
    port = svr.bind_to_any_port(config.host);
  else if (!svr.bind_to_port(config.host, port))
    port = -1;
  check(port > 0, "cannot listen on " + config.host + ":" + std::to_string(config.port) +
                      " (in use, or not an address of this machine)");
  int listening = 0;
  socklen_t size = sizeof listening;
  if (listen_fd >= 0 && getsockopt(listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0 && listening)
    ::listen(listen_fd, 256);
  std::fprintf(stderr, "runs in %s\n", root.dir().c_str());
  if (!config.token.empty()) std::fprintf(stderr, "every /api request needs: Authorization: Bearer <token>\n");
  const std::string shown = config.host.find(':') == std::string::npos ? config.host : "[" + config.host + "]";
  std::printf("sdwalk serve: http://%s:%d/\n", shown.c_str(), port);
  std::fflush(stdout);

  signals.on_stop([&] {
    queue.stop();  // first: it ends the event streams that hold httplib's threads
    svr.stop();
  });
  svr.listen_after_bind();
  signals.on_stop(nullptr);
}

}  // namespace sdwalk::server
