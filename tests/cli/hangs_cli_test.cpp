// What used to hang or crawl: a FIFO (or anything but a regular file) given where sdwalk reads a
// file is refused at once (it was opened first and blocked forever; each run here has a timeout,
// exit 124 means it hung), and --threads beyond the cores is capped with a warning.
#include <sys/stat.h>

#include <thread>

#include "common/cli_test.hpp"
#include "common/fixtures.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

class HangsCli : public test::CliTest {
 protected:
  fs::path fifo(const fs::path& p) const {
    fs::remove(p);
    EXPECT_EQ(::mkfifo(p.c_str(), 0644), 0) << p;
    return p;
  }
  void expect_refused(const std::string& args) {
    const auto r = run_sdwalk(args, 60);
    EXPECT_NE(r.status, 124) << "hung: " << args;
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << args << "\nstderr: " << r.err;
  }
};

TEST_F(HangsCli, ModelFilesThatAreFifosAreRefused) {
  const std::string gen = small_generate(dir() / "out.png");
  expect_refused(gen + " --model " + shell_quote(fifo(dir() / "model.safetensors").string()));
  for (const std::string rel : {"model_index.json", "unet/config.json", "scheduler/scheduler_config.json",
                                "tokenizer/vocab.json", "vae/diffusion_pytorch_model.safetensors"}) {
    const fs::path model = model_copy("model", {});
    fifo(model / rel);
    expect_refused(gen + " --model " + shell_quote(model.string()));
    fs::remove_all(model);
  }
  const fs::path single = test::fixture("mini-sd15.fp16.safetensors");
  const fs::path config = model_copy("config", {});
  fifo(config / "unet" / "config.json");
  expect_refused(gen + " --model " + shell_quote(single.string()) + " --config " + shell_quote(config.string()) +
                 " --tokenizer " + shell_quote((config / "tokenizer").string()));
}

TEST_F(HangsCli, WalkInputsThatAreFifosAreRefused) {
  const std::string m = model_flag();
  expect_refused(small_walk(dir() / "a.gif") + " --noise " + shell_quote(fifo(dir() / "noise.safetensors").string()) + m);
  expect_refused("walk keyframes --keyframes " + shell_quote(fifo(dir() / "keys.json").string()) + m);
  fs::create_directories(dir() / "run");
  fifo(dir() / "run" / "settings.json");
  expect_refused("walk --resume " + shell_quote((dir() / "run").string()));
}

TEST_F(HangsCli, ThreadsBeyondTheCoresAreCappedWithAWarning) {
  const auto r = test::run_sdwalk(small_generate(dir() / "out.png") + " --threads 1000" + model_flag());
  EXPECT_EQ(r.status, 0) << r.err;
  const std::string cores = std::to_string(std::thread::hardware_concurrency());
  EXPECT_NE(r.err.find("warning: --threads 1000"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("using " + cores), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sdwalk
