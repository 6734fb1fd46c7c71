#include <gtest/gtest.h>

#include "sdwalk/animation.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

TEST(AnimationFormat, NamesExtensionsAndFileExtensionsAgree) {
  for (AnimationFormat f : {AnimationFormat::Gif, AnimationFormat::WebP, AnimationFormat::Mp4,
                            AnimationFormat::WebM, AnimationFormat::PngFrames}) {
    const std::string ext = extension_of(f);
    EXPECT_EQ(format_from_name(ext), f);
    EXPECT_EQ(format_from_extension("out/walk." + ext), f);
  }
  EXPECT_EQ(format_from_name("GIF"), AnimationFormat::Gif);
  EXPECT_EQ(format_from_extension("a/B.WebM"), AnimationFormat::WebM);
  EXPECT_EQ(format_from_extension("frames"), std::nullopt);
  EXPECT_EQ(format_from_extension("walk.avi"), std::nullopt);
}

TEST(AnimationFormat, UnknownNameIsAnErrorNamingIt) {
  try {
    format_from_name("avi");
    FAIL() << "accepted avi";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'avi'"), std::string::npos) << e.what();
  }
}

TEST(AnimationFormat, FrameFileNamesSortInFrameOrder) {
  EXPECT_EQ(frame_file_name(0), "frame_000000.png");
  EXPECT_EQ(frame_file_name(123456), "frame_123456.png");
  EXPECT_LT(frame_file_name(9), frame_file_name(10));
}

}  // namespace
}  // namespace sdwalk
