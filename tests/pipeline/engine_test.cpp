// sdwalk::Engine: generate against diffusers' pipeline outputs, cancellation from the callbacks, a
// cancelled walk resumed, frames handed over in order, and per-engine thread counts.
#include "sdwalk/engine.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "pipeline/pipeline_cases.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {
namespace {

EngineOptions options_for(const std::filesystem::path& model, int threads) {
  EngineOptions o;
  o.model = model;
  o.threads = threads;
  return o;
}

Callbacks on_frame(std::function<bool(size_t, const Image&)> f) {
  Callbacks c;
  c.on_frame = std::move(f);
  return c;
}

const Engine& fixture_engine() {
  static const Engine e(options_for(test::fixture("mini-sd15"), 1));
  return e;
}

// An 8-bit picture as the float [1, H, W, 3] in [0, 1] the references store.
Tensor image_to_float(const Image& image) {
  Tensor t({1, image.height, image.width, 3});
  for (size_t i = 0; i < image.rgb.size(); ++i) t.f32()[i] = float(image.rgb[i]) / 255.0f;
  return t;
}

std::string string_or_empty(const nlohmann::json& j) { return j.is_string() ? j.get<std::string>() : ""; }

// Every stored diffusers pipeline case that draws its noise from a seed, through Engine::generate.
TEST(Engine, GenerateMatchesDiffusersPipelines) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  int cases = 0;
  for (const std::string& name : test::pipeline_cases()) {
    const SafeTensors ref = SafeTensors::open(test::fixture("expected/" + name));
    const auto seed = test::metadata_json(ref, "generator_seed");
    if (!seed.is_number() || ref.contains("latents_in")) continue;
    const nlohmann::json sched = test::metadata_json(ref, "scheduler_config");
    GenerateRequest r;
    r.prompt = string_or_empty(test::metadata_json(ref, "prompt"));
    r.negative_prompt = string_or_empty(test::metadata_json(ref, "negative_prompt"));
    r.height = test::metadata_json(ref, "height").get<int>();
    r.width = test::metadata_json(ref, "width").get<int>();
    r.num_inference_steps = test::metadata_json(ref, "num_inference_steps").get<int>();
    r.guidance_scale = test::metadata_json(ref, "guidance_scale").get<double>();
    r.seed = seed.get<uint64_t>();
    // A request names its scheduler and the engine builds it on the model's config: only cases whose
    // config is the model's own, but for the class, compare like for like.
    const nlohmann::json& model_config = fixture_engine().pipeline().files().scheduler_config;
    bool same = true;
    for (const auto& [key, value] : sched.items())
      if (key[0] != '_' && model_config.contains(key) && model_config[key] != value) same = false;
    if (!same) continue;
    r.scheduler = sched.value("_class_name", "");
    const GenerateResult out = fixture_engine().generate(r);
    const auto d = test::compare(image_to_float(out.image), ref.get("image"));
    // 8-bit rounding (half a level) on top of the pipeline tests' 2e-3.
    EXPECT_LE(d.max_abs, 0.5 / 255 + 2e-3) << name << ": " << d.str();
    ++cases;
    std::printf("[ %s ] %s\n", name.c_str(), d.str().c_str());
  }
  if (cases == 0) GTEST_SKIP() << "no seeded pipeline case with the model's own scheduler config in the fixtures";
  std::printf("[ engine ] %d diffusers pipeline cases reproduced\n", cases);
}

TEST(Engine, ReturningFalseFromOnStepCancelsWithinTheStep) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  GenerateRequest r;
  r.prompt = "a red circle";
  r.height = r.width = 64;
  r.num_inference_steps = 6;
  int calls = 0;
  Callbacks cb;
  cb.on_step = [&](int step, int steps) {
    ++calls;
    EXPECT_EQ(steps, 6);
    return step < 2;
  };
  EXPECT_THROW(fixture_engine().generate(r, cb), Cancelled);
  EXPECT_EQ(calls, 2);
}

TEST(Engine, BadRequestsFailBeforeAnyWork) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  GenerateRequest r;
  r.height = 70;
  EXPECT_THROW(fixture_engine().check(r), Error);
  r.height = 64;
  r.num_inference_steps = 0;
  EXPECT_THROW(fixture_engine().check(r), Error);
  r.num_inference_steps = 2;
  r.scheduler = "no_such_scheduler";
  EXPECT_THROW(fixture_engine().check(r), Error);
  r.scheduler.clear();
  r.latents = Tensor({1, 4, 7, 7});
  EXPECT_THROW(fixture_engine().check(r), Error);
}

// A walk cancelled from on_frame after two frames keeps them; rendering again finishes it, hands every
// frame over in order, and the pictures equal an uninterrupted render's.
TEST(Engine, CancelledWalkResumesToTheSameFramesInOrder) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  const Engine& e = fixture_engine();
  WalkSettings s;
  s.mode = WalkMode::Noise;
  s.prompts = {"a green triangle"};
  s.seeds = {3};
  s.height = s.width = 64;
  s.num_inference_steps = 3;
  s.num_interpolation_steps = 5;
  s.scheduler = "euler_a";
  s.batch_size = 2;
  s.format = "png";
  const auto root = std::filesystem::temp_directory_path() / ("sdwalk_engine_" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  const std::vector<Frame> frames = e.plan(s);
  ASSERT_EQ(frames.size(), 5u);

  std::vector<Image> whole;
  e.render(s, frames, root / "whole", on_frame([&](size_t i, const Image& img) {
                                          EXPECT_EQ(i, whole.size());
                                          whole.push_back(img);
                                          return true;
                                        }));
  ASSERT_EQ(whole.size(), 5u);

  size_t seen = 0;
  auto stop_after_two = [&](size_t i, const Image&) { return ++seen < 2 || i > 1; };
  EXPECT_THROW(e.render(s, frames, root / "cut", on_frame(stop_after_two)), Cancelled);
  std::vector<Image> resumed;
  const size_t rendered = e.render(s, frames, root / "cut", on_frame([&](size_t i, const Image& img) {
                                                               EXPECT_EQ(i, resumed.size());
                                                               resumed.push_back(img);
                                                               return true;
                                                             }));
  EXPECT_EQ(rendered, 3u);  // frames 0 and 1 (one batch) were on disk already
  ASSERT_EQ(resumed.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(resumed[i].rgb, whole[i].rgb) << "frame " << i;
  std::filesystem::remove_all(root);
}

TEST(Engine, EachEngineRunsWithItsOwnThreadCount) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  const Engine two(options_for(test::fixture("mini-sd15"), 2));
  EXPECT_EQ(fixture_engine().threads(), 1);
  EXPECT_EQ(two.threads(), 2);
  GenerateRequest r;
  r.prompt = "a blue square";
  r.height = r.width = 64;
  r.num_inference_steps = 2;
  for (const Engine* e : {&fixture_engine(), &two}) {
    Callbacks cb;
    cb.on_step = [&](int, int) {
      EXPECT_EQ(ops::threads(), e->threads());
      return true;
    };
    e->generate(r, cb);
  }
  // f32 results do not depend on the thread count (README, Guarantees).
  EXPECT_EQ(fixture_engine().generate(r).image.rgb, two.generate(r).image.rgb);
}

}  // namespace
}  // namespace sdwalk
