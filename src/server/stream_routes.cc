// Server-sent events: one migration's full JSON, or the fleet's summaries, sent as an event
// `status` whenever it changes, with a comment heartbeat every 15 s. A stream wakes on every
// change LiveStatus hears of and looks again at least once a second (steps also write facts
// the driver does not announce); it ends when the client goes away, the server stops, or the
// migration is no longer visible.
#include <chrono>

#include "server/api_error.h"
#include "server/api_handler.h"
#include "server/api_routes.h"
#include "server/authorization.h"
#include "server/migration_view.h"
#include "server/resource_access.h"

namespace pgshift::server {
namespace {

using std::chrono::steady_clock;
constexpr auto kHeartbeat = std::chrono::seconds(15);
constexpr auto kLookAgain = std::chrono::milliseconds(1000);
// Each open stream holds one of the server's connections (ControlPlaneServer::kMaxConnections,
// 64): past this many, a new stream is refused (503) so that the API always has workers left.
constexpr int64_t kMaxStreams = 48;

Status StreamRoomLeft(const ServerContext& ctx) {
  if (ctx.metrics.streams_open.load() < kMaxStreams) return Status::Ok();
  return Unavailable("too many open event streams (" + std::to_string(kMaxStreams) +
                     "); close one or retry later");
}

std::string Event(const nlohmann::json& data) {
  return "event: status\ndata: " + data.dump() + "\n\n";
}

// Runs `frame` (which writes the events that changed, or returns false to end) until the end.
void Loop(ServerContext& ctx, const HttpResponse::StreamWriter& write,
          const std::function<bool(const HttpResponse::StreamWriter&)>& frame) {
  ++ctx.metrics.streams_open;
  auto last_write = steady_clock::now();
  uint64_t seen = ctx.live.version();
  if (write(": pgshift event stream\n\n")) {
    while (!ctx.stopping) {
      bool wrote = false;
      auto counting = [&](std::string_view chunk) {
        wrote = true;
        return write(chunk);
      };
      if (!frame(counting)) break;
      if (wrote) last_write = steady_clock::now();
      if (steady_clock::now() - last_write >= kHeartbeat) {
        if (!write(": heartbeat\n\n")) break;
        last_write = steady_clock::now();
      }
      seen = ctx.live.WaitForChange(seen, kLookAgain);
    }
  }
  --ctx.metrics.streams_open;
}

HttpResponse Stream(std::function<void(const HttpResponse::StreamWriter&)> body) {
  HttpResponse r;
  r.status = 200;
  r.content_type = "text/event-stream";
  r.headers["cache-control"] = "no-cache";
  r.headers["x-accel-buffering"] = "no";
  r.stream = std::move(body);
  return r;
}

}  // namespace

void AddStreamRoutes(HttpRouteTable& routes, ServerContext& ctx) {
  routes.Add(
      "GET", "/v1/migrations/{name}/stream",
      Authenticated(ctx, "migration.stream",
                    [&ctx](const HttpRequest& req, const Caller& caller, RequestAudit& a) {
                      const std::string name = req.PathParam("name");
                      a.target = "migration/" + name;
                      auto first = FindVisibleMigration(ctx, caller, name);
                      if (!first.ok()) return ErrorResponse(first.status());
                      RETURN_ERROR_RESPONSE(StreamRoomLeft(ctx));
                      return Stream([&ctx, caller, name](const HttpResponse::StreamWriter& write) {
                        std::string last;
                        Loop(ctx, write, [&](const HttpResponse::StreamWriter& out) {
                          auto m = FindVisibleMigration(ctx, caller, name);
                          if (!m.ok()) return false;
                          auto view = MigrationViewJson(ctx, *m);
                          if (!view.ok()) return true;  // the store hiccuped: look again
                          std::string now = view->dump();
                          if (now == last) return true;
                          last = now;
                          return out(Event(*view));
                        });
                      });
                    }));
  routes.Add(
      "GET", "/v1/stream",
      Authenticated(ctx, "fleet.stream",
                    [&ctx](const HttpRequest& req, const Caller& caller, RequestAudit& a) {
                      a.audit = false;
                      RETURN_ERROR_RESPONSE(StreamRoomLeft(ctx));
                      auto scope =
                          ListScope(caller, req.query.count("team") ? req.query.at("team") : "");
                      return Stream([&ctx, caller, scope](const HttpResponse::StreamWriter& write) {
                        std::map<std::string, std::string> last;  // name -> summary sent
                        Loop(ctx, write, [&](const HttpResponse::StreamWriter& out) {
                          if (!scope) return true;
                          auto all = ctx.migrations.List();
                          auto controls = ctx.control.AllControls();
                          if (!all.ok() || !controls.ok()) return true;
                          for (const MigrationRecord& r : *all) {
                            auto it = controls->find(r.name);
                            const nlohmann::json control =
                                it == controls->end() ? nlohmann::json::object() : it->second;
                            const std::string team = control.value("team", "");
                            if (!CanSee(caller, team)) continue;
                            if (!scope->empty() && team != *scope) continue;
                            nlohmann::json s = MigrationSummaryJson(r, control, ctx.live);
                            std::string now = s.dump();
                            if (last[r.name] == now) continue;
                            last[r.name] = now;
                            if (!out(Event(s))) return false;
                          }
                          return true;
                        });
                      });
                    }));
}

}  // namespace pgshift::server
