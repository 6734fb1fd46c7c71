// Options the help advertises do what it says: --scheduler pndm on a model whose PNDM config skips
// the PRK steps, and --vae-tiling on walk (checked, used, recorded in the run's settings).
#include "common/cli_test.hpp"
#include "sdwalk/animation.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;

class AdvertisedOptionsCli : public test::CliTest {};

TEST_F(AdvertisedOptionsCli, PndmRunsWithTheModelsOwnConfig) {
  const auto g = run_sdwalk(small_generate(dir() / "out.png", {.steps = 2}) + " --scheduler pndm" + model_flag());
  EXPECT_EQ(g.status, 0) << g.err;
  EXPECT_TRUE(fs::exists(dir() / "out.png"));
  const auto w = run_sdwalk(small_walk(dir() / "out.gif", {.steps = 2}) + " --scheduler pndm" + model_flag());
  EXPECT_EQ(w.status, 0) << w.err;
  EXPECT_TRUE(fs::exists(dir() / "out.gif"));
}

TEST_F(AdvertisedOptionsCli, WalkTakesVaeTiling) {
  const auto bad = run_sdwalk(small_walk(dir() / "bad.gif") + " --vae-tiling=maybe" + model_flag());
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("tiling mode"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find("rendering"), std::string::npos) << bad.err;
  // Tiled decoding gives the same pixels: the frames equal those of a whole decode.
  const auto on = run_sdwalk(small_walk(dir() / "on", {.height = 128}) + " --format png --seed 3 --vae-tiling" + model_flag());
  ASSERT_EQ(on.status, 0) << on.err;
  const auto off =
      run_sdwalk(small_walk(dir() / "off", {.height = 128}) + " --format png --seed 3 --vae-tiling=off" + model_flag());
  ASSERT_EQ(off.status, 0) << off.err;
  EXPECT_EQ(read_png(dir() / "on" / frame_file_name(0)).rgb, read_png(dir() / "off" / frame_file_name(0)).rgb);
  EXPECT_NE(test::file_bytes(dir() / "on" / "settings.json").find("\"vae_tiling\": \"on\""), std::string::npos)
      << "the run records how it decoded";
}

}  // namespace
}  // namespace sdwalk
