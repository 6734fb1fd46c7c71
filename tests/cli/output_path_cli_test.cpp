// What may stand at an output path: nothing, or (generate --overwrite) a regular file. A FIFO, a
// symlink, a folder or an existing file is refused before any work, with one line, and left as it was.
#include <sys/stat.h>

#include <fstream>

#include "common/cli_test.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::file_bytes;
using test::run_sdwalk;

class OutputPathCli : public test::CliTest {};

// A FIFO, a symlink (to a file, and dangling) and a folder at the output path.
struct Obstacle {
  fs::path path;
  std::string expect;  // in the error line
};

std::vector<Obstacle> make_obstacles(const fs::path& dir, const std::string& ext) {
  std::vector<Obstacle> out;
  const fs::path fifo = dir / ("fifo" + ext);
  EXPECT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  out.push_back({fifo, "FIFO"});
  std::ofstream(dir / "target.bin") << "keep";
  fs::create_symlink(dir / "target.bin", dir / ("link" + ext));
  out.push_back({dir / ("link" + ext), "symlink"});
  fs::create_symlink(dir / "nowhere", dir / ("dangling" + ext));
  out.push_back({dir / ("dangling" + ext), "symlink"});
  fs::create_directories(dir / ("folder" + ext));
  out.push_back({dir / ("folder" + ext), "folder"});
  return out;
}

void expect_refused_and_untouched(const test::RunResult& r, const Obstacle& o, const fs::path& dir) {
  EXPECT_NE(r.status, 0) << o.path;
  EXPECT_NE(r.err.find(o.expect), std::string::npos) << o.path << "\nstderr: " << r.err;
  EXPECT_EQ(r.err.find("loading"), std::string::npos) << "refused only after the model was loaded: " << r.err;
  const fs::file_status st = fs::symlink_status(o.path);
  const fs::file_type expected = o.expect == "FIFO"      ? fs::file_type::fifo
                                 : o.expect == "symlink" ? fs::file_type::symlink
                                                         : fs::file_type::directory;
  EXPECT_EQ(st.type(), expected) << o.path;
  EXPECT_EQ(file_bytes(dir / "target.bin"), "keep");
}

TEST_F(OutputPathCli, GenerateRefusesWhatIsNotANewRegularFile) {
  for (const Obstacle& o : make_obstacles(dir(), ".png")) {
    expect_refused_and_untouched(run_sdwalk(small_generate(o.path) + model_flag()), o, dir());
    expect_refused_and_untouched(run_sdwalk(small_generate(o.path) + model_flag() + " --overwrite"), o, dir());
  }
}

TEST_F(OutputPathCli, GenerateReplacesAnExistingFileOnlyWithOverwrite) {
  const fs::path out = dir() / "out.png";
  std::ofstream(out) << "old";
  const auto refused = run_sdwalk(small_generate(out) + model_flag());
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.err.find("--overwrite"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("loading"), std::string::npos) << refused.err;
  EXPECT_EQ(file_bytes(out), "old");
  const auto replaced = run_sdwalk(small_generate(out) + model_flag() + " --overwrite");
  ASSERT_EQ(replaced.status, 0) << replaced.err;
  EXPECT_EQ(file_bytes(out).substr(1, 3), "PNG");
}

TEST_F(OutputPathCli, GenerateWritesOnlyToAPngName) {
  const auto r = run_sdwalk(small_generate(dir() / "x.jpg") + model_flag());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find(".png"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir() / "x.jpg"));
}

TEST_F(OutputPathCli, WalkRefusesWhatIsNotANewRegularFile) {
  for (const Obstacle& o : make_obstacles(dir(), ".gif")) {
    if (o.expect == "folder") continue;  // folder.gif: the run folder is "folder", a different name
    expect_refused_and_untouched(run_sdwalk(small_walk(o.path) + model_flag()), o, dir());
    EXPECT_FALSE(fs::exists(o.path.parent_path() / o.path.stem())) << "run folder left behind";
  }
}

}  // namespace
}  // namespace sdwalk
