// sdwalk serve's JSON API against a real server (demo model, temp runs folder, free loopback port):
// a walk watched through server-sent events whose GIF equals `sdwalk walk`'s byte for byte, cancel
// and resume, a restart that lists earlier runs, tokens, and hostile input.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "common/cli_runner.hpp"
#include "server/server_process.hpp"

namespace sdwalk::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const char* kA = "a red circle on a white background";
const char* kB = "a blue square on a black background";

json small_walk(int frames = 3, int steps = 4) {
  return {{"mode", "keyframes"}, {"prompts", {kA, kB}},        {"seeds", {1, 2}},
          {"keyframe_frames", {frames}}, {"num_inference_steps", steps}, {"guidance_scale", 2.0},
          {"scheduler", "euler"},      {"height", 64},               {"width", 64}};
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class ServeApi : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sdwalk-serve-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    runs_ = dir_ / "runs";
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  ServerProcess& start(const std::vector<std::string>& extra = {}) {
    server_ = std::make_unique<ServerProcess>(runs_, extra);
    return *server_;
  }
  std::string submit(httplib::Client& c, const json& body) {
    auto r = c.Post("/api/walks", body.dump(), "application/json");
    EXPECT_TRUE(r);
    if (!r) return "";
    EXPECT_EQ(r->status, 201) << r->body;
    return json::parse(r->body).value("id", "");
  }
  json status(httplib::Client& c, const std::string& id) {
    auto r = c.Get("/api/walks/" + id);
    EXPECT_TRUE(r && r->status == 200);
    return r ? json::parse(r->body) : json();
  }
  // Polls until `pred` holds for the walk's status (60 s at most).
  json wait_for(httplib::Client& c, const std::string& id, const std::function<bool(const json&)>& pred) {
    json s;
    for (int i = 0; i < 600; ++i) {
      s = status(c, id);
      if (pred(s)) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "timed out; last status " << s.dump();
    return s;
  }
  json wait_state(httplib::Client& c, const std::string& id, const std::string& state) {
    return wait_for(c, id, [&](const json& s) { return s.value("state", "") == state; });
  }

  fs::path dir_, runs_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ServeApi, WalkStreamsFramesAndItsGifEqualsTheCliGif) {
  auto c = start().client();
  const std::string id = submit(c, small_walk());
  ASSERT_FALSE(id.empty());
  // The event stream: status first, then frames as they are written; it ends with the walk.
  std::string stream;
  auto r = c.Get("/api/walks/" + id + "/events", [&](const char* data, size_t n) {
    stream.append(data, n);
    return true;
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  EXPECT_EQ(stream.rfind("retry: 2000\nevent: status\n", 0), 0u) << stream.substr(0, 200);
  std::set<int> frames;
  for (size_t at = stream.find("event: frame\ndata: "); at != std::string::npos;
       at = stream.find("event: frame\ndata: ", at + 1)) {
    const size_t begin = at + 19;
    frames.insert(json::parse(stream.substr(begin, stream.find('\n', begin) - begin))["index"].get<int>());
  }
  const json s = status(c, id);
  EXPECT_EQ(s["state"], "done");
  const int total = s["frames_total"];
  EXPECT_GE(total, 3);
  EXPECT_EQ(s["frames_done"], total);
  EXPECT_EQ(int(frames.size()), total);
  EXPECT_NE(stream.find("\"state\":\"done\""), std::string::npos);
  EXPECT_NE(stream.find("event: progress\ndata: "), std::string::npos);

  auto frame = c.Get("/api/walks/" + id + "/frames/0.png");
  ASSERT_TRUE(frame && frame->status == 200);
  EXPECT_EQ(frame->body.substr(1, 3), "PNG");
  auto gif = c.Get("/api/walks/" + id + "/animation.gif");
  ASSERT_TRUE(gif && gif->status == 200);
  EXPECT_EQ(gif->get_header_value("Content-Type"), "image/gif");

  // The same walk from the command line.
  const fs::path cli_gif = dir_ / "cli.gif";
  const RunResult cli = run_sdwalk("walk keyframes -p " + shell_quote(kA) + " -p " + shell_quote(kB) +
                                   " --seed 1 --seed 2 --frames 3 --num-inference-steps 4 --guidance-scale 2"
                                   " --scheduler euler --height 64 --width 64 --threads 1 -o " +
                                   shell_quote(cli_gif.string()));
  ASSERT_EQ(cli.status, 0) << cli.err;
  const std::string expected = read_bytes(cli_gif);
  ASSERT_FALSE(expected.empty());
  EXPECT_TRUE(gif->body == expected) << "server GIF " << gif->body.size() << " bytes, CLI GIF " << expected.size();

  // Its smoothness report (even pacing, the default for keyframes walks, as on the command line).
  auto report = c.Get("/api/walks/" + id + "/report.json");
  ASSERT_TRUE(report && report->status == 200) << (report ? report->body : "");
  const json rj = json::parse(report->body);
  EXPECT_EQ(rj["pacing"], "even");
  EXPECT_EQ(rj["distances"].size(), 2u);  // 3 frames
  auto plot = c.Get("/api/walks/" + id + "/distances.png");
  ASSERT_TRUE(plot && plot->status == 200);
  EXPECT_EQ(plot->get_header_value("Content-Type"), "image/png");

  // Another format, assembled from the frames on request.
  auto webp = c.Get("/api/walks/" + id + "/animation.webp");
  ASSERT_TRUE(webp && webp->status == 200) << (webp ? webp->body : "");
  EXPECT_EQ(webp->body.substr(0, 4), "RIFF");
  // One picture.
  auto png = c.Post("/api/generate", json{{"prompt", kA}, {"seed", 5}, {"num_inference_steps", 3}}.dump(),
                    "application/json");
  ASSERT_TRUE(png && png->status == 200) << (png ? png->body : "");
  EXPECT_EQ(png->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(png->body.substr(1, 3), "PNG");
}

TEST_F(ServeApi, CancelledWalkStaysResumableAndResumesToDone) {
  auto c = start().client();
  // Uniform t: its frames are written one by one (even pacing writes a segment's frames once it is paced).
  json walk = small_walk(12, 8);
  walk["pacing"] = "uniform";
  const std::string id = submit(c, walk);
  ASSERT_FALSE(id.empty());
  // Running, with a first frame and an estimate of the time left.
  wait_for(c, id, [](const json& s) {
    return s["state"] == "running" && s["frames_done"].get<int>() >= 1 && s["eta_s"].is_number();
  });
  auto del = c.Delete("/api/walks/" + id);
  ASSERT_TRUE(del && del->status == 200) << (del ? del->body : "");
  const json cancelled = wait_state(c, id, "cancelled");
  EXPECT_TRUE(cancelled["resumable"].get<bool>());
  EXPECT_LT(cancelled["frames_done"].get<int>(), cancelled["frames_total"].get<int>());
  auto early = c.Get("/api/walks/" + id + "/animation.gif");
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 409);
  auto res = c.Post("/api/walks/" + id + "/resume");
  ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "");
  const json done = wait_state(c, id, "done");
  EXPECT_EQ(done["frames_done"], done["frames_total"]);
  auto gif = c.Get("/api/walks/" + id + "/animation.gif");
  ASSERT_TRUE(gif && gif->status == 200);
  // A finished walk is not cancelled or resumed again.
  auto again = c.Post("/api/walks/" + id + "/resume");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);
}

TEST_F(ServeApi, ARestartedServerListsEarlierRuns) {
  std::string done_id, queued_id;
  {
    auto c = start().client();
    done_id = submit(c, small_walk());
    wait_state(c, done_id, "done");
    queued_id = submit(c, small_walk(200, 20));
    wait_state(c, queued_id, "running");
    EXPECT_EQ(server_->stop(), 0) << "SIGTERM stops the server cleanly, the running walk cancelled";
  }
  auto c = start().client();
  auto r = c.Get("/api/walks");
  ASSERT_TRUE(r && r->status == 200);
  std::map<std::string, json> runs;
  const json listed = json::parse(r->body);
  for (const json& w : listed["walks"]) runs[w["id"].get<std::string>()] = w;
  ASSERT_TRUE(runs.count(done_id)) << r->body;
  ASSERT_TRUE(runs.count(queued_id)) << r->body;
  EXPECT_EQ(runs[done_id]["state"], "done");
  EXPECT_EQ(runs[queued_id]["state"], "cancelled");  // stopped or never started: resumable
  EXPECT_TRUE(runs[queued_id]["resumable"].get<bool>());
  auto gif = c.Get("/api/walks/" + done_id + "/animation.gif");
  ASSERT_TRUE(gif && gif->status == 200);
  auto del = c.Post("/api/walks/" + queued_id + "/resume");
  ASSERT_TRUE(del && del->status == 200);
  auto cancel = c.Delete("/api/walks/" + queued_id);
  ASSERT_TRUE(cancel && cancel->status == 200);
}

TEST_F(ServeApi, HostileInputGetsClearErrorsAndNothingOutsideTheRunsFolder) {
  auto c = start().client();
  const auto post = [&](const std::string& body, const std::string& type = "application/json") {
    auto r = c.Post("/api/walks", body, type.c_str());
    EXPECT_TRUE(r);
    return r ? std::make_pair(r->status, r->body) : std::make_pair(-1, std::string());
  };
  const auto expect_error = [](const std::pair<int, std::string>& r, int status, const std::string& words) {
    EXPECT_EQ(r.first, status) << r.second;
    const json j = json::parse(r.second, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r.second;
    EXPECT_NE(j["error"].get<std::string>().find(words), std::string::npos) << r.second;
  };
  expect_error(post("{\"mode\": "), 400, "not valid JSON");
  expect_error(post("[1, 2]"), 400, "JSON object");
  expect_error(post(json{{"mode", "keyframes"}, {"bogus", 1}}.dump()), 400, "unknown walk setting \"bogus\"");
  expect_error(post(json{{"mode", "prompts"}, {"prompts", {"a"}}, {"model", "/etc"}}.dump()), 400, "set by the server");
  expect_error(post(json{{"mode", "prompts"}, {"prompts", {"a"}}, {"noise_file", "/etc/passwd"}}.dump()), 400,
               "set by the server");
  expect_error(post(json{{"mode", "nope"}, {"prompts", {"a"}}}.dump()), 400, "mode");
  expect_error(post(json{{"mode", "prompts"}, {"prompts", {"a", "b"}}, {"num_inference_steps", "x"}}.dump()), 400,
               "walk settings");
  expect_error(post(json{{"mode", "prompts"}, {"prompts", {"a", "b"}}, {"height", 65}}.dump()), 400, "65");
  expect_error(post(json{{"mode", "prompts"}, {"prompts", {"a", "b"}}}.dump(), "text/plain"), 415, "application/json");
  expect_error(post(json{{"mode", "keyframes"}, {"prompts", {"a", "b"}}, {"keyframe_frames", {1000000000}}}.dump()), 400,
               "more than this server renders");
  expect_error(post(json{{"mode", "noise"}, {"prompts", {"a"}}, {"num_interpolation_steps", 2000000000}}.dump()), 400,
               "more than this server renders");
  // (original_size: malformed, then well formed but this model is SD 1.x, not SDXL)
  for (const json& bad : {json{{"seed", -1}}, json{{"height", 64.5}}, json{{"prompt", 3}}, json{{"bogus", true}},
                          json{{"original_size", {96}}}, json{{"original_size", {96, 80}}},
                          json{{"crops_coords_top_left", "0,0"}}}) {
    auto r = c.Post("/api/generate", bad.dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bad.dump() << " -> " << r->body;
    EXPECT_NE(r->body.find("\"error\""), std::string::npos);
  }
  // Bodies over 1 MiB.
  expect_error(post(std::string(2 << 20, ' ')), 413, "too large");

  // A finished run to aim at, and a folder outside the runs root that a symlink points to.
  const std::string id = submit(c, small_walk(2, 2));
  wait_state(c, id, "done");
  const fs::path outside = dir_ / "outside";
  fs::create_directories(outside);
  fs::copy_file(runs_ / id / "settings.json", outside / "settings.json");
  fs::copy_file(runs_ / id / "frame_000000.png", outside / "frame_000000.png");
  {
    std::ofstream secret(dir_ / "secret.txt");
    secret << "TOP-SECRET";
  }
  fs::create_directory_symlink(outside, runs_ / "escape");
  fs::create_symlink(dir_ / "secret.txt", runs_ / id / "frame_000099.png");
  fs::create_symlink(dir_ / "secret.txt", runs_ / "linked.gif");

  const auto get = [&](const std::string& path) {
    auto r = c.Get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return -1;
    EXPECT_EQ(r->body.find("TOP-SECRET"), std::string::npos) << path;
    EXPECT_EQ(r->body.find("root:"), std::string::npos) << path;
    EXPECT_EQ(r->body.find("\"prompts\""), std::string::npos) << path;  // no settings.json either
    return r->status;
  };
  for (const std::string& path : std::vector<std::string>{"/api/walks/..", "/api/walks/%2E%2E", "/api/walks/..%2F..%2Fetc%2Fpasswd", "/api/walks/%2Fetc%2Fpasswd",
        "/api/walks/a.b/frames/0.png", "/api/walks/../../etc/passwd", "/api/walks/escape/frames/0.png",
        "/api/walks/" + id + "/frames/..%2Fsettings.json", "/api/walks/" + id + "/frames/%2Fetc%2Fpasswd",
        "/api/walks/" + id + "/frames/99.png", "/api/walks/" + id + "/frames/-1.png",
        "/api/walks/" + id + "/animation.txt", "/api/walks/linked/animation.gif",
        "/api/walks/" + id + "/animation.json", "/%2E%2E/%2E%2E/etc/passwd", "/../../etc/passwd"}) {
    const int status = get(path);
    EXPECT_TRUE(status == 400 || status == 404) << path << " -> " << status;
  }
  // The symlinked folder is no run of this server.
  auto list = c.Get("/api/walks");
  ASSERT_TRUE(list && list->status == 200);
  EXPECT_EQ(list->body.find("escape"), std::string::npos);
  // Requests from another origin, or for another host name (DNS rebinding), are refused.
  auto cross = c.Get("/api/walks", {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);
  auto rebound = c.Get("/api/walks", {{"Host", "evil.example:" + std::to_string(server_->port())}});
  ASSERT_TRUE(rebound);
  EXPECT_EQ(rebound->status, 403);
  // Still serving.
  auto models = c.Get("/api/models");
  ASSERT_TRUE(models && models->status == 200);
  EXPECT_TRUE(server_->alive());
}

TEST_F(ServeApi, ATokenGuardsEveryApiCall) {
  ServerProcess& s = start({"--token", "s3cret-token"});
  for (const std::string path : {"/api/models", "/api/walks", "/api/walks/x", "/api/nothing"}) {
    auto none = s.client().Get(path);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401) << path;
    EXPECT_NE(none->body.find("token"), std::string::npos);
    auto wrong = s.client("s3cret-tokeN").Get(path);
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401) << path;
  }
  auto post = s.client().Post("/api/walks", small_walk().dump(), "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 401);
  auto right = s.client("s3cret-token").Get("/api/models");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  auto page = s.client().Get("/");  // the page itself asks for the token (#token=...) before calling the API
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
}

TEST_F(ServeApi, AnotherInterfaceGetsAGeneratedToken) {
  ServerProcess& s = start({"--host", "0.0.0.0"});
  ASSERT_EQ(s.printed_token().size(), 32u);
  auto none = s.client().Get("/api/walks");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  auto with = s.client(s.printed_token()).Get("/api/walks");
  ASSERT_TRUE(with);
  EXPECT_EQ(with->status, 200);
}

TEST_F(ServeApi, FiftyConcurrentSubmissionsAreAllQueued) {
  ServerProcess& s = start();
  std::vector<std::string> ids(50);
  std::vector<int> statuses(50, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i)
    threads.emplace_back([&, i] {
      auto c = s.client();
      json body = small_walk(2, 1);
      body["seeds"] = {i, i + 100};
      auto r = c.Post("/api/walks", body.dump(), "application/json");
      if (!r) {
        ADD_FAILURE() << "submission " << i << ": " << httplib::to_string(r.error());
        return;
      }
      statuses[i] = r->status;
      if (r->status == 201) ids[i] = json::parse(r->body)["id"];
    });
  for (auto& t : threads) t.join();
  std::set<std::string> unique;
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(statuses[i], 201) << i;
    unique.insert(ids[i]);
  }
  EXPECT_EQ(unique.size(), 50u);
  auto c = s.client();
  auto r = c.Get("/api/walks");
  ASSERT_TRUE(r && r->status == 200);
  const json walks = json::parse(r->body)["walks"];
  std::set<std::string> listed;
  int queued = 0;
  for (const json& w : walks) {
    listed.insert(w["id"].get<std::string>());
    queued += w["state"] == "queued";
  }
  for (const std::string& id : unique) EXPECT_TRUE(listed.count(id)) << id;
  EXPECT_GT(queued, 0);
  // Cancel what has not finished; the server keeps serving.
  for (const std::string& id : unique) {
    auto d = c.Delete("/api/walks/" + id);
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->status == 200 || d->status == 409) << d->body;
  }
  auto models = c.Get("/api/models");
  ASSERT_TRUE(models && models->status == 200);
  EXPECT_TRUE(s.alive());
}

TEST(ServeCli, BadFlagsGetOneErrorLineBeforeTheModelLoads) {
  for (const auto& [flags, words] : std::vector<std::pair<std::string, std::string>>{
           {"--port 70000", "--port must be 0..65535"},
           {"--token 'a b'", "--token must be printable"},
           {"--runs /dev/null/x", "cannot create the runs folder"}}) {
    const RunResult r = run_sdwalk("serve " + flags, 30);
    EXPECT_EQ(r.status, 1) << flags;
    EXPECT_NE(r.err.find("sdwalk: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(words), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("loading"), std::string::npos) << flags << ": " << r.err;
  }
}

}  // namespace
}  // namespace sdwalk::test
