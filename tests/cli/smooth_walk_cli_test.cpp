// Smooth walks on the built-in demo model, through the CLI as a user runs them: even pacing (the
// default) against uniform t on a prompts walk with cuts (the README's), a noise walk and a keyframes
// walk; the report beside each animation; resume of an interrupted paced walk; `sdwalk report` on
// the same walk as GIF, MP4 and PNG frames; bad input to report. The targets are issue 17's.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/cli_runner.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

const char* kRed = "a red circle on a white background";
const char* kBlue = "a blue square on a black background";
const char* kStar = "a yellow star on a green background";

struct Walk {
  std::string name, args;
  double max_over_median, one_minus_gini;  // what the defaults must reach
};

std::string q(const std::string& s) { return shell_quote(s); }

const Walk kWalks[] = {
    {"prompts", "walk prompts -p " + q(kRed) + " -p " + q(kBlue) + " --seed 42 --num-interpolation-steps 24", 2.5, 0.75},
    {"noise", "walk noise -p " + q(kRed) + " --seed 42 --num-interpolation-steps 24", 1.5, 0.90},
    {"keyframes",
     "walk keyframes -p " + q(kRed) + " -p " + q(kBlue) + " -p " + q(kStar) +
         " --seed 42 --seed 43 --seed 44 --frames 12 --frames 13 --seamless",
     2.5, 0.75},
};

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

class SmoothWalkCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(test::sdwalk_binary())) << test::sdwalk_binary() << " not found: build target sdwalk first";
    SDWALK_REQUIRE_FIXTURE(test::demo_model_dir() / "model_index.json");
    dir_ = fs::temp_directory_path() / ("sdwalk_smooth_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

size_t png_count(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().rfind("frame_", 0) == 0;
  return n;
}

TEST_F(SmoothWalkCli, EvenPacingMeetsTheTargetsAndKeepsTheEnds) {
  for (const Walk& w : kWalks) {
    SCOPED_TRACE(w.name);
    const fs::path even = dir_ / (w.name + "-even.gif"), uniform = dir_ / (w.name + "-uniform.gif");
    const auto e = run_sdwalk(w.args + " -o " + q(even.string()));
    ASSERT_EQ(e.status, 0) << e.err;
    const auto u = run_sdwalk(w.args + " --pacing uniform -o " + q(uniform.string()));
    ASSERT_EQ(u.status, 0) << u.err;
    const nlohmann::json re = read_json(dir_ / (w.name + "-even.report.json"));
    const nlohmann::json ru = read_json(dir_ / (w.name + "-uniform.report.json"));
    EXPECT_EQ(re["pacing"], "even");
    EXPECT_EQ(ru["pacing"], "uniform");
    EXPECT_LE(re["max_over_median"].get<double>(), w.max_over_median) << e.err;
    EXPECT_GE(re["one_minus_gini"].get<double>(), w.one_minus_gini) << e.err;
    // Uniform t is what the targets improve on (the demo walks all jump somewhere).
    EXPECT_GT(ru["max_over_median"].get<double>(), re["max_over_median"].get<double>());
    // The frame count is the user's; the ends are the uniform walk's frames.
    const fs::path fe = dir_ / (w.name + "-even"), fu = dir_ / (w.name + "-uniform");
    ASSERT_EQ(png_count(fe), png_count(fu));
    EXPECT_EQ(re["frames"], ru["frames"]);
    const size_t last = png_count(fu) - 1;
    EXPECT_EQ(read_png(fe / "frame_000000.png").rgb, read_png(fu / "frame_000000.png").rgb);
    char name[32];
    std::snprintf(name, sizeof name, "frame_%06zu.png", last);
    EXPECT_EQ(read_png(fe / name).rgb, read_png(fu / name).rgb);
    // The cost, as the walk prints it, within the default budget (1.5x, target <= 1.6x).
    std::smatch m;
    ASSERT_TRUE(std::regex_search(e.err, m, std::regex("= ([0-9.]+)x the uniform walk"))) << e.err;
    EXPECT_LE(std::stod(m[1]), 1.6);
    EXPECT_NE(e.err.find("smoothness: max/median"), std::string::npos) << e.err;
    EXPECT_TRUE(fs::exists(dir_ / (w.name + "-even.distances.png")));
    EXPECT_TRUE(fs::exists(dir_ / (w.name + "-even.contact.png")));
  }
}

TEST_F(SmoothWalkCli, AnInterruptedPacedWalkResumesToTheSameAnimation) {
  const std::string args = kWalks[0].args;
  const fs::path whole = dir_ / "whole.gif", cut = dir_ / "cut.gif";
  const auto w = run_sdwalk(args + " -o " + q(whole.string()));
  ASSERT_EQ(w.status, 0) << w.err;
  test::interrupt_when_exists(test::sdwalk_binary().string() + " " + args + " -o " + q(cut.string()) + " 2>/dev/null",
                              dir_ / "cut" / "pacing" / "segment000_point0015.png", SIGINT);
  ASSERT_TRUE(fs::exists(dir_ / "cut" / "pacing")) << "the walk did not get to its pacing points";
  ASSERT_FALSE(fs::exists(cut)) << "interrupted too late to test resume";
  const auto r = run_sdwalk("walk --resume " + q((dir_ / "cut").string()));
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream a(whole, std::ios::binary), b(cut, std::ios::binary);
  const std::string ba((std::istreambuf_iterator<char>(a)), {}), bb((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(ba, bb) << "the resumed walk's GIF differs from the uninterrupted one's";
  // The points of the first run were not rendered again: the resumed run spent fewer steps.
  std::smatch mw, mr;
  ASSERT_TRUE(std::regex_search(w.err, mw, std::regex("pacing: ([0-9]+) denoising steps")));
  ASSERT_TRUE(std::regex_search(r.err, mr, std::regex("pacing: ([0-9]+) denoising steps")));
  EXPECT_LT(std::stoi(mr[1]), std::stoi(mw[1]));
}

TEST_F(SmoothWalkCli, MaxJumpAddsFramesUntilNoNeighboursDifferMore) {
  const fs::path gif = dir_ / "jump.gif";
  const auto r = run_sdwalk("walk noise -p " + q(kRed) + " --seed 42 --num-interpolation-steps 12 --max-jump 0.05 "
                            "--pacing-budget 3 -o " + q(gif.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json j = read_json(dir_ / "jump.report.json");
  EXPECT_GT(j["frames"].get<int>(), 12);
  EXPECT_LE(j["max"].get<double>(), 0.05 + 1e-9);
  EXPECT_EQ(png_count(dir_ / "jump"), j["frames"].get<size_t>());
}

TEST_F(SmoothWalkCli, ReportReadsGifMp4AndPngFramesAlike) {
  const std::string args = kWalks[0].args + " --pacing uniform";
  ASSERT_EQ(run_sdwalk(args + " -o " + q((dir_ / "w.gif").string())).status, 0);
  ASSERT_EQ(run_sdwalk(args + " -o " + q((dir_ / "v.mp4").string())).status, 0);
  const auto png = run_sdwalk("report " + q((dir_ / "w").string()));  // the GIF's run folder: its PNG frames
  ASSERT_EQ(png.status, 0) << png.err;
  const nlohmann::json ref = read_json(dir_ / "w.report.json");
  for (const std::string f : {"w.gif", "v.mp4"}) {
    SCOPED_TRACE(f);
    const auto r = run_sdwalk("report " + q((dir_ / f).string()));
    ASSERT_EQ(r.status, 0) << r.err;
    const nlohmann::json j = read_json(dir_ / (fs::path(f).stem().string() + ".report.json"));
    ASSERT_EQ(j["distances"].size(), ref["distances"].size());
    for (size_t i = 0; i < ref["distances"].size(); ++i) {
      const double d = ref["distances"][i], c = j["distances"][i];
      EXPECT_NEAR(c, d, 0.02 + 0.1 * d) << "transition " << i;  // 256 colours / 4:2:0 H.264 loss
    }
    EXPECT_NEAR(j["max_over_median"].get<double>(), ref["max_over_median"].get<double>(),
                0.15 * ref["max_over_median"].get<double>());
    EXPECT_EQ(j["largest_jumps"][0]["transition"], ref["largest_jumps"][0]["transition"]);
  }
}

TEST_F(SmoothWalkCli, ReportRefusesWhatIsNotAnAnimation) {
  std::ofstream(dir_ / "text.gif") << "not a gif";
  std::ofstream(dir_ / "notes.txt") << "hello";
  fs::create_directories(dir_ / "one");
  write_png(dir_ / "one" / "frame_000000.png", Image{8, 8, std::vector<uint8_t>(192, 128)});
  struct Case {
    std::string path, expect;
  };
  const Case cases[] = {{(dir_ / "text.gif").string(), "not a readable GIF"},
                        {(dir_ / "notes.txt").string(), "not an animation"},
                        {(dir_ / "missing.webp").string(), "no such file"},
                        {(dir_ / "one").string(), "2 or more"}};
  for (const Case& c : cases) {
    const auto r = run_sdwalk("report " + q(c.path));
    EXPECT_NE(r.status, 0) << c.path;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.path << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir_ / "text.report.json"));
}

TEST_F(SmoothWalkCli, BadPacingFlagsGetOneLine) {
  const std::string base = "walk prompts -p a -p b --seed 1 --save-path " + q((dir_ / "bad").string());
  const std::pair<std::string, std::string> cases[] = {
      {" --pacing-budget 0.5", "--pacing-budget"},
      {" --max-jump -1", "--max-jump"},
      {" --pacing fast", "--pacing"},
  };
  for (const auto& [flags, expect] : cases) {
    const auto r = run_sdwalk(base + flags);
    EXPECT_NE(r.status, 0) << flags;
    EXPECT_NE(r.err.find(expect), std::string::npos) << flags << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "bad") && !fs::is_empty(dir_ / "bad")) << flags;
  }
  const auto drift = run_sdwalk("walk drift -p a --seed 1 --pacing even --save-path " + q((dir_ / "bad").string()));
  EXPECT_NE(drift.status, 0);
  EXPECT_NE(drift.err.find("drift walk's frames are steps"), std::string::npos) << drift.err;
}

}  // namespace
}  // namespace sdwalk
