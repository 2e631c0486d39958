#pragma once

#include <span>
#include <string_view>

namespace backstop::api {

// One file of the web page (ui/ in the source tree), compiled into the
// binary by cmake/embed_ui.cmake so the page always matches the API it talks
// to and nothing is read from disk at run time.
struct UiAsset {
  std::string_view name;  // "index.html", "app.js": a bare file name, no folders
  std::string_view body;  // the file's bytes
};

// Every embedded file, sorted by name. Defined in the generated
// ui_assets.cpp; static storage, valid for the life of the process.
std::span<const UiAsset> UiAssets();

}  // namespace backstop::api
