// --resume finishes the run it was given and nothing else: a run whose settings.json or model
// changed since its frames were rendered is refused, naming what changed; flags beside --resume are
// an error (the run's settings.json holds them); temporaries of a killed run are cleaned up.
#include <fstream>

#include "common/cli_test.hpp"
#include "sdwalk/animation.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

class ResumeCli : public test::CliTest {
 protected:
  // A finished 4-frame walk into dir()/name (PNG frames) whose frame 2 is then deleted: an
  // interrupted run. `model` replaces the fixture model when given.
  fs::path interrupted_run(const std::string& name, const fs::path& model = {}) {
    const fs::path run = dir() / name;
    const std::string m = model.empty() ? model_flag() : " --model " + shell_quote(model.string());
    const auto r = run_sdwalk("walk noise -p x --seed 1 --height 64 --width 64 --num-inference-steps 2"
                              " --num-interpolation-steps 4 --format png -o " + shell_quote(run.string()) + m);
    EXPECT_EQ(r.status, 0) << r.err;
    fs::remove(run / frame_file_name(2));
    return run;
  }
  static void edit_json(const fs::path& file, const std::string& key, const nlohmann::json& value) {
    nlohmann::json j = nlohmann::json::parse(std::ifstream(file));
    j[key] = value;
    fs::remove(file);  // a model copy's file may be a symlink to the fixture
    std::ofstream(file) << j.dump(2);
  }
  void expect_refused(const std::string& args, const std::string& expect, const fs::path& run) {
    const auto r = run_sdwalk(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_FALSE(fs::exists(run / frame_file_name(2))) << "a frame was rendered for a mixed run";
  }
};

TEST_F(ResumeCli, EditedSettingsAreRefusedNamingWhatChanged) {
  const struct {
    std::string key;
    nlohmann::json value;
  } edits[] = {{"prompts", {"y"}}, {"seeds", {2}}, {"num_interpolation_steps", 5}, {"guidance_scale", 3.0}};
  for (const auto& e : edits) {
    const fs::path run = interrupted_run("run_" + e.key);
    edit_json(run / "settings.json", e.key, e.value);
    expect_refused("walk --resume " + shell_quote(run.string()), e.key, run);
  }
}

TEST_F(ResumeCli, AChangedModelConfigIsRefused) {
  const fs::path model = model_copy("model", {});
  const fs::path run = interrupted_run("run", model);
  edit_json(model / "scheduler" / "scheduler_config.json", "beta_end", 0.013);
  expect_refused("walk --resume " + shell_quote(run.string()), "scheduler config", run);
  edit_json(model / "scheduler" / "scheduler_config.json", "beta_end", 0.012);  // back as it was
  const auto r = run_sdwalk("walk --resume " + shell_quote(run.string()));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(run / frame_file_name(2)));
}

TEST_F(ResumeCli, FlagsBesideResumeAreAnError) {
  const fs::path run = interrupted_run("run");
  const std::string resume = " --resume " + shell_quote(run.string());
  expect_refused("walk" + resume + " --seed 5", "--seed", run);
  expect_refused("walk" + resume + " --num-inference-steps 3", "--num-inference-steps", run);
  expect_refused("walk noise" + resume, "mode", run);
  const auto r = run_sdwalk("walk" + resume + " --threads 1");  // how fast, not what: allowed
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(ResumeCli, TemporariesOfAKilledRunAreRemoved) {
  const fs::path out = dir() / "walk.gif", run = dir() / "walk";
  const auto first = run_sdwalk("walk noise -p x --seed 1 --height 64 --width 64 --num-inference-steps 1"
                                " --num-interpolation-steps 3 -o " + shell_quote(out.string()) + model_flag());
  ASSERT_EQ(first.status, 0) << first.err;
  fs::remove(out);
  fs::remove(run / frame_file_name(1));
  std::ofstream(run / ".frame_000001.png.tmp-Ab12Cd") << "half";
  std::ofstream(dir() / ".walk.gif.tmp-Xy34Zw") << "half";
  fs::create_directories(dir() / ".walk.gif.pingpong-Qr56St");
  const auto r = run_sdwalk("walk --resume " + shell_quote(run.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(out));
  EXPECT_FALSE(fs::exists(run / ".frame_000001.png.tmp-Ab12Cd"));
  EXPECT_FALSE(fs::exists(dir() / ".walk.gif.tmp-Xy34Zw"));
  EXPECT_FALSE(fs::exists(dir() / ".walk.gif.pingpong-Qr56St"));
}

}  // namespace
}  // namespace sdwalk
