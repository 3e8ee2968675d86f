// The dashboard's files (gateway/ui/), built into the binary: cube-broker --http serves /ui/
// without any file beside it and without the internet. gateway/embed_ui_assets.cmake generates
// the table at build time from whatever gateway/ui/ holds.
//
// Thread-safety: immutable static data.
#pragma once

#include <span>
#include <string_view>

namespace cube::gateway {

struct UiAsset {
  std::string_view name;          // path under gateway/ui/: "index.html", "app.js"
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view body;          // the file's bytes
  std::string_view etag;          // quoted strong ETag (part of the file's SHA-256)
};

// Every asset, sorted by name.
std::span<const UiAsset> ui_assets();

}  // namespace cube::gateway
