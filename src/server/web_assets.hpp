#pragma once
// The studio page's files (web/), compiled into the binary by cmake/embed_web.cmake: the server
// needs no files beside it and loads nothing from a CDN.
#include <cstddef>
#include <string>

namespace sdwalk::server {

struct WebAsset {
  const char* name;          // "index.html", "app.js", ...
  const char* content_type;
  const unsigned char* data;
  size_t size;
};

// nullptr when there is no such file.
const WebAsset* find_web_asset(const std::string& name);

}  // namespace sdwalk::server
