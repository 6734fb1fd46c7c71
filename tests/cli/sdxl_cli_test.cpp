// sdwalk on the SDXL fixture model (mini-sdxl) as a user runs it: info names the family, generate
// takes --original-size / --crops-coords-top-left, a keyframes walk renders and each keyframe's frame
// is the picture `sdwalk generate` makes of its prompt, seed and size conditioning, bit for bit; bad
// input (a folder without text_encoder_2, sizes that are not two positive integers, the SDXL flags
// on an SD 1.x model) fails with one line before any work.
#include <fstream>

#include "common/cli_test.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/animation.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

class SdxlCli : public test::CliTest {
 protected:
  void SetUp() override {
    test::CliTest::SetUp();
    if (IsSkipped()) return;
    if (!fs::exists(model())) GTEST_SKIP() << "fixture absent: " << model();
  }
  static fs::path model() { return test::fixture("mini-sdxl"); }
  static std::string model_arg() { return " --model " + shell_quote(model().string()); }
  // A small Euler run: 64x64, 2 steps, guidance 5.
  static std::string sampling() { return " --height 64 --width 64 --steps 2 --guidance-scale 5 --scheduler euler"; }
  static int count_lines(const std::string& s) {
    int n = 0;
    for (char c : s) n += c == '\n';
    return n;
  }
  void expect_one_line_error(const std::string& args, const std::string& expect) {
    const auto r = run_sdwalk(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_EQ(r.err.find("denoising"), std::string::npos) << "failed only after work began: " << r.err;
    EXPECT_EQ(r.err.find("rendering"), std::string::npos) << "failed only after work began: " << r.err;
    EXPECT_EQ(count_lines(r.err.substr(r.err.find("error"))), 1) << r.err;
  }
};

TEST_F(SdxlCli, InfoNamesTheFamilyAndBothEncoders) {
  const auto r = run_sdwalk("info " + shell_quote(model().string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("family:        SDXL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CLIPTextModelWithProjection"), std::string::npos) << r.out;
  const auto j = run_sdwalk("info --json " + shell_quote(model().string()));
  if (j.status == 0 && !j.out.empty() && j.out[0] == '{') {
    const auto doc = nlohmann::json::parse(j.out);
    EXPECT_EQ(doc.at("family"), "SDXL");
    EXPECT_EQ(doc.at("text_encoder_2").at("projection_dim"), 32);
  }
}

TEST_F(SdxlCli, GenerateTakesTheSizeConditioning) {
  const fs::path plain = dir() / "plain.png", sized = dir() / "sized.png";
  auto r = run_sdwalk("generate -p 'a sea sunset' --seed 4" + sampling() + model_arg() + " -o " + shell_quote(plain.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_sdwalk("generate -p 'a sea sunset' --seed 4" + sampling() + model_arg() +
                 " --original-size 96,80 --crops-coords-top-left 8,4 -o " + shell_quote(sized.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  const Image a = read_png(plain), b = read_png(sized);
  EXPECT_EQ(a.width, 64);
  EXPECT_NE(a.rgb, b.rgb) << "the size conditioning changes the picture";
  const auto settings = nlohmann::json::parse(read_png_text(sized).at("sdwalk"));
  EXPECT_EQ(settings.at("original_size"), nlohmann::json({96, 80}));
  EXPECT_EQ(settings.at("crops_coords_top_left"), nlohmann::json({8, 4}));
}

TEST_F(SdxlCli, KeyframeFramesEqualGenerate) {
  const fs::path keys = dir() / "keys.json";
  std::ofstream(keys) << R"({"keyframes": [
    {"prompt": "a photo of an astronaut riding a horse on mars", "seed": 5, "frames": 3},
    {"prompt": "Beautiful sea sunset, warm light", "negative_prompt": "blurry", "seed": 9,
     "original_size": [96, 80], "crops_coords_top_left": [8, 4]}]})";
  const fs::path frames = dir() / "frames";
  auto r = run_sdwalk("walk keyframes --keyframes " + shell_quote(keys.string()) + sampling() + model_arg() +
                      " --pacing uniform --format png -o " + shell_quote(frames.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(fs::exists(frames / frame_file_name(i))) << i;
  const fs::path first = dir() / "first.png", last = dir() / "last.png";
  r = run_sdwalk("generate -p 'a photo of an astronaut riding a horse on mars' --seed 5" + sampling() + model_arg() +
                 " -o " + shell_quote(first.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_sdwalk("generate -p 'Beautiful sea sunset, warm light' -n blurry --seed 9 --original-size 96,80 "
                 "--crops-coords-top-left 8,4" + sampling() + model_arg() + " -o " + shell_quote(last.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_png(frames / frame_file_name(0)).rgb, read_png(first).rgb) << "keyframe 0";
  EXPECT_EQ(read_png(frames / frame_file_name(2)).rgb, read_png(last).rgb) << "keyframe 1";
  const Image middle = read_png(frames / frame_file_name(1));
  EXPECT_NE(middle.rgb, read_png(first).rgb);
  EXPECT_NE(middle.rgb, read_png(last).rgb);
}

TEST_F(SdxlCli, TurboLikeSchedulerBringsItsFewStepDefaults) {
  // mini-sdxl with SDXL-Turbo's scheduler choice: Euler, trailing spacing.
  const fs::path copy = dir() / "turbo";
  fs::create_directories(copy / "scheduler");
  for (const auto& e : fs::directory_iterator(model()))
    if (e.path().filename() != "scheduler") fs::create_symlink(e.path(), copy / e.path().filename());
  auto config = nlohmann::json::parse(test::file_bytes(model() / "scheduler" / "scheduler_config.json"));
  config["timestep_spacing"] = "trailing";
  std::ofstream(copy / "scheduler" / "scheduler_config.json") << config.dump();
  const auto r = run_sdwalk("generate -p 'a sea sunset' --seed 3 --height 64 --width 64 --model " +
                            shell_quote(copy.string()) + " -o " + shell_quote((dir() / "turbo.png").string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("SD-Turbo-like"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 step(s), guidance 0"), std::string::npos) << r.err;
  const auto settings = nlohmann::json::parse(read_png_text(dir() / "turbo.png").at("sdwalk"));
  EXPECT_EQ(settings.at("num_inference_steps"), 1);
  EXPECT_EQ(settings.at("guidance_scale"), 0.0);
}

TEST_F(SdxlCli, BadInputIsOneLineBeforeAnyWork) {
  // An SDXL folder without text_encoder_2/.
  const fs::path copy = dir() / "no_te2";
  fs::create_directories(copy);
  for (const auto& e : fs::directory_iterator(model()))
    if (e.path().filename() != "text_encoder_2") fs::create_symlink(e.path(), copy / e.path().filename());
  expect_one_line_error("generate -p x" + sampling() + " --model " + shell_quote(copy.string()) + " -o " +
                            shell_quote((dir() / "a.png").string()),
                        "missing text_encoder_2/");
  for (const std::string bad : {"96", "96,0", "-1,5", "a,b", "96,80,1", "96x80"})
    expect_one_line_error("generate -p x" + sampling() + model_arg() + " --original-size " + shell_quote(bad) + " -o " +
                              shell_quote((dir() / "b.png").string()),
                          "--original-size: expected two positive integers H,W");
  expect_one_line_error("generate -p x" + sampling() + model_arg() + " --crops-coords-top-left 1 -o " +
                            shell_quote((dir() / "c.png").string()),
                        "--crops-coords-top-left: expected two integers");
  // The SDXL flags on an SD 1.x model: generate and walk.
  expect_one_line_error("generate -p x" + sampling() + model_flag() + " --original-size 96,80 -o " +
                            shell_quote((dir() / "d.png").string()),
                        "SDXL's size conditioning");
  // An SD 1.x LoRA on an SDXL model: its layers do not fit; refused at load, before denoising.
  if (fs::exists(test::fixture("lora/style_kohya.safetensors")))
    expect_one_line_error("generate -p x" + sampling() + model_arg() + " --lora " +
                              shell_quote(test::fixture("lora/style_kohya.safetensors").string()) + " -o " +
                              shell_quote((dir() / "e.png").string()),
                          "this LoRA is for another architecture");
  // Inversion has no SDXL conditioning yet: refused before the load.
  const fs::path picture = dir() / "picture.png";
  ASSERT_EQ(run_sdwalk("generate -p x --seed 1" + sampling() + model_arg() + " -o " + shell_quote(picture.string())).status, 0);
  expect_one_line_error("invert " + shell_quote(picture.string()) + model_arg() + " -o " +
                            shell_quote((dir() / "n.safetensors").string()),
                        "is SDXL: inversion");
  expect_one_line_error("walk noise -p x --num-interpolation-steps 2" + sampling() + model_flag() +
                            " --crops-coords-top-left 8,4 --pacing uniform -o " + shell_quote((dir() / "w.gif").string()),
                        "SDXL's size conditioning");
}

}  // namespace
}  // namespace sdwalk
