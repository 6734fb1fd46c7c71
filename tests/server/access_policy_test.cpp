// The server's pure pieces: run ids, the runs root's containment, and who may call the API.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>

#include "server/http_error.hpp"
#include "server/runs_root.hpp"
#include "server/security.hpp"

namespace sdwalk::server {
namespace {
namespace fs = std::filesystem;

// The refusal's status, 0 when the request may pass.
int refused(const AccessPolicy& p, const httplib::Request& r) {
  const auto refusal = p.refuse(r);
  return refusal ? refusal->status : 0;
}

httplib::Request request(const std::string& path, const httplib::Headers& headers) {
  httplib::Request r;
  r.path = path;
  r.headers = headers;
  return r;
}

TEST(RunIds, OnlyLettersDigitsUnderscoreAndDash) {
  EXPECT_TRUE(valid_run_id("walk-20261203-130212-bd29"));
  EXPECT_TRUE(valid_run_id("A_b-9"));
  for (const std::string& bad : std::vector<std::string>{"", ".", "..", "a/b", "/etc", "a b", "a.gif", "%2e", std::string(101, 'a')})
    EXPECT_FALSE(valid_run_id(bad)) << bad;
}

TEST(RunsRootPaths, StayInsideWithSymlinksFollowed) {
  const fs::path dir = fs::temp_directory_path() / ("sdwalk-runs-root-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const RunsRoot root(dir / "runs");
  fs::create_directories(root.dir() / "a");
  std::ofstream(root.dir() / "a" / "f.png") << "x";
  std::ofstream(dir / "outside.png") << "x";
  fs::create_symlink(dir / "outside.png", root.dir() / "a" / "link.png");
  EXPECT_TRUE(root.existing_inside(root.dir() / "a" / "f.png"));
  EXPECT_FALSE(root.existing_inside(root.dir() / "a" / "link.png"));
  EXPECT_FALSE(root.existing_inside(root.dir() / ".." / "outside.png"));
  EXPECT_FALSE(root.existing_inside(root.dir() / "a" / "missing.png"));
  EXPECT_FALSE(root.existing_inside(root.dir()));  // the root itself is no file of a run
  try {
    root.run_dir("..");
    ADD_FAILURE() << "'..' taken as an id";
  } catch (const HttpError& e) {
    EXPECT_EQ(e.status, 400);
  }
  fs::remove_all(dir);
}

TEST(Access, LoopbackWithoutTokenRefusesForeignOriginsAndHosts) {
  const AccessPolicy p("", true);
  EXPECT_EQ(refused(p, request("/api/walks", {{"Host", "127.0.0.1:7860"}})), 0);
  EXPECT_EQ(refused(p, request("/api/walks", {{"Host", "localhost:7860"}})), 0);
  EXPECT_EQ(refused(p, request("/api/walks", {{"Host", "[::1]:7860"}})), 0);
  EXPECT_EQ(refused(p, request("/api/walks", {{"Host", "127.0.0.1:7860"}, {"Origin", "http://127.0.0.1:7860"}})), 0);
  EXPECT_EQ(refused(p, request("/api/walks", {{"Host", "127.0.0.1:7860"}, {"Origin", "http://evil.example"}})), 403);
  EXPECT_EQ(refused(p, request("/api/walks", {{"Host", "evil.example:7860"}})), 403);
  EXPECT_EQ(refused(p, request("/", {{"Host", "127.0.0.1.evil.example:7860"}})), 403);
}

TEST(Access, ATokenGuardsTheApiButNotThePage) {
  const AccessPolicy p("t0ken", false);
  EXPECT_EQ(refused(p, request("/api/models", {{"Host", "10.0.0.5:7860"}})), 401);
  EXPECT_EQ(refused(p, request("/api/models", {{"Host", "10.0.0.5:7860"}, {"Authorization", "Bearer t0kem"}})), 401);
  EXPECT_EQ(refused(p, request("/api/models", {{"Host", "10.0.0.5:7860"}, {"Authorization", "t0ken"}})), 401);
  EXPECT_EQ(refused(p, request("/api/models", {{"Host", "10.0.0.5:7860"}, {"Authorization", "Bearer t0ken"}})), 0);
  EXPECT_EQ(refused(p, request("/", {{"Host", "10.0.0.5:7860"}})), 0);
  EXPECT_TRUE(is_loopback_host("127.0.0.1") && is_loopback_host("127.1.2.3") && is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.evil.example") || is_loopback_host("0.0.0.0") || is_loopback_host("10.0.0.5"));
  EXPECT_EQ(random_token().size(), 32u);
  EXPECT_NE(random_token(), random_token());
}

}  // namespace
}  // namespace sdwalk::server
