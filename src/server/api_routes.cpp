#include "server/api_routes.hpp"

#include <httplib.h>

#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <sstream>

#include "sdwalk/animation.hpp"
#include "sdwalk/smoothness_report.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/run_folder.hpp"
#include "server/http_error.hpp"
#include "server/job_queue.hpp"
#include "server/requests.hpp"
#include "server/runs_root.hpp"
#include "server/served_model.hpp"

namespace sdwalk::server {
namespace fs = std::filesystem;
using httplib::Request;
using httplib::Response;

namespace {

void send_json(Response& res, const nlohmann::json& j, int status = 200) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(j.dump(), "application/json");
}

// Every handler answers an error as {"error": "..."}: HttpError with its status, other Errors
// (bad settings the library found) 400, anything else 500.
template <class F>
httplib::Server::Handler guarded(F f) {
  return [f](const Request& req, Response& res) {
    try {
      f(req, res);
    } catch (const HttpError& e) {
      send_json(res, {{"error", e.what()}}, e.status);
    } catch (const Error& e) {
      send_json(res, {{"error", e.what()}}, 400);
    } catch (const std::exception& e) {
      send_json(res, {{"error", std::string("internal error: ") + e.what()}}, 500);
    }
  };
}

nlohmann::json json_body(const Request& req) {
  const std::string type = req.get_header_value("Content-Type");
  if (type.rfind("application/json", 0) != 0) throw HttpError(415, "send the body as Content-Type: application/json");
  return parse_body(req.body);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw HttpError(404, "not found");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A file of the run folder or beside it, if it resolves inside the runs root (404 otherwise).
void send_file(Response& res, const RunsRoot& root, const fs::path& path, const std::string& type,
               const std::string& download_name = "") {
  const auto real = root.existing_inside(path);
  if (!real || !fs::is_regular_file(*real)) throw HttpError(404, "not found");
  res.set_header("Cache-Control", "no-store");
  if (!download_name.empty()) res.set_header("Content-Disposition", "attachment; filename=\"" + download_name + "\"");
  res.set_content(read_file(*real), type.c_str());
}

const char* animation_type(const std::string& ext) {
  if (ext == "gif") return "image/gif";
  if (ext == "webp") return "image/webp";
  if (ext == "mp4") return "video/mp4";
  if (ext == "webm") return "video/webm";
  return nullptr;
}

}  // namespace

void add_api_routes(httplib::Server& svr, const ServedModel& model, JobQueue& queue, const RunsRoot& root) {
  svr.Get("/api/models", guarded([&](const Request&, Response& res) {
    const RequestDefaults& d = model.defaults;
    const std::string name = model.defaults.demo ? "demo" : fs::path(model.model).filename().string();
    send_json(res, {{"models",
                     {{{"name", name},
                       {"demo", d.demo},
                       {"loaded", true},
                       {"defaults",
                        {{"width", d.size}, {"height", d.size}, {"num_inference_steps", d.steps},
                         {"guidance_scale", d.guidance_scale}, {"scheduler", d.scheduler}}},
                       {"schedulers", {"lms", "ddim", "pndm", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lcm"}},
                       {"modes", {"keyframes", "prompts", "noise", "drift", "circle"}},
                       {"formats", {"gif", "webp", "mp4", "webm"}}}}}});
  }));

  svr.Get("/api/walks", guarded([&](const Request&, Response& res) { send_json(res, {{"walks", queue.list()}}); }));

  svr.Post("/api/walks", guarded([&](const Request& req, Response& res) {
    const WalkSettings s = walk_settings_from_request(json_body(req), model);
    const std::string id = queue.submit(s);
    send_json(res, {{"id", id}}, 201);
  }));

  svr.Get(R"(/api/walks/([^/]+))", guarded([&](const Request& req, Response& res) {
    send_json(res, queue.status(req.matches[1]));
  }));

  svr.Delete(R"(/api/walks/([^/]+))", guarded([&](const Request& req, Response& res) {
    send_json(res, queue.cancel(req.matches[1]));
  }));

  svr.Post(R"(/api/walks/([^/]+)/resume)", guarded([&](const Request& req, Response& res) {
    send_json(res, queue.resume(req.matches[1]));
  }));

  // Server-sent events: first the walk's status, then "state", "progress" and "frame" events as they
  // happen (a late client gets the earlier ones too); the stream ends when the walk does.
  svr.Get(R"(/api/walks/([^/]+)/events)", guarded([&](const Request& req, Response& res) {
    const std::string id = req.matches[1];
    const nlohmann::json first = queue.status(id);  // 400 / 404 before the stream starts
    auto at = std::make_shared<JobQueue::StreamPosition>();
    auto opening = std::make_shared<std::string>("retry: 2000\nevent: status\ndata: " + first.dump() + "\n\n");
    res.set_header("Cache-Control", "no-store");
    res.set_chunked_content_provider("text/event-stream", [&queue, id, at, opening](size_t, httplib::DataSink& sink) {
      try {
        if (!opening->empty()) {
          const std::string s = std::move(*opening);
          opening->clear();
          return sink.write(s.data(), s.size());
        }
        bool finished = false;
        const std::vector<JobEvent> events = queue.events(id, *at, std::chrono::seconds(10), finished);
        std::string out;
        for (const JobEvent& e : events) out += "event: " + e.name + "\ndata: " + e.data + "\n\n";
        if (out.empty() && !finished) out = ": keep-alive\n\n";
        if (!out.empty() && !sink.write(out.data(), out.size())) return false;
        if (finished) sink.done();
        return true;
      } catch (const std::exception&) {
        return false;
      }
    });
  }));

  svr.Get(R"(/api/walks/([^/]+)/frames/([^/]+))", guarded([&](const Request& req, Response& res) {
    static const std::regex name(R"((\d{1,9})\.png)");
    const std::string id = req.matches[1], file = req.matches[2];
    std::smatch m;
    if (!std::regex_match(file, m, name)) throw HttpError(400, "frame names are N.png (N: the frame's index)");
    const fs::path dir = queue.run_dir(id);
    send_file(res, root, dir / frame_file_name(std::stoll(m[1])), "image/png");
  }));

  // The walk's animation in its own format, or assembled from its frames on the first request for
  // another one (once the walk is done).
  svr.Get(R"(/api/walks/([^/]+)/animation\.([A-Za-z0-9]+))", guarded([&](const Request& req, Response& res) {
    static std::mutex assembling;
    const std::string id = req.matches[1], ext = req.matches[2];
    const char* type = animation_type(ext);
    if (!type) throw HttpError(400, "animations are gif, webp, mp4 or webm");
    const fs::path dir = queue.run_dir(id);
    if (!queue.done(id)) throw HttpError(409, "walk " + id + " is not done");
    const fs::path file = root.dir() / (id + "." + ext);
    {
      std::lock_guard lock(assembling);
      if (!fs::exists(fs::symlink_status(file))) {
        RunFolder run = RunFolder::open(dir);
        run.settings().format = ext;
        run.settings().output = file.string();
        run.write_animation(size_t(run.settings().frame_count));
      }
    }
    send_file(res, root, file, type, id + "." + ext);
  }));

  // The smoothness report every walk writes beside its animation (smoothness_report.hpp).
  svr.Get(R"(/api/walks/([^/]+)/(report\.json|distances\.png|contact\.png))", guarded([&](const Request& req, Response& res) {
    const std::string id = req.matches[1], what = req.matches[2];
    queue.run_dir(id);  // a known run
    if (!queue.done(id)) throw HttpError(409, "walk " + id + " is not done");
    const ReportPaths paths = report_paths(root.dir() / (id + ".gif"));
    const fs::path file = what == "report.json" ? paths.json : what == "distances.png" ? paths.plot : paths.contact;
    send_file(res, root, file, what == "report.json" ? "application/json" : "image/png");
  }));

  svr.Post("/api/generate", guarded([&](const Request& req, Response& res) {
    const GenerateRequest r = generate_request_from(json_body(req), model);
    GenerateResult result;
    queue.run_exclusive([&] { result = model.engine->generate(r); });
    static std::mt19937_64 rng{std::random_device{}()};
    static std::mutex rng_mutex;
    uint64_t n;
    {
      std::lock_guard lock(rng_mutex);
      n = rng();
    }
    const fs::path tmp = fs::temp_directory_path() / ("sdwalk-generate-" + std::to_string(n) + ".png");
    write_png(tmp, result.image, {{"sdwalk", result.settings.dump()}}, /*no_clobber=*/true);
    std::string bytes;
    try {
      bytes = read_file(tmp);
    } catch (...) {
      fs::remove(tmp);
      throw;
    }
    fs::remove(tmp);
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Seed", std::to_string(r.seed));
    res.set_content(bytes, "image/png");
  }));
}

}  // namespace sdwalk::server
