#include "gateway/ui_routes.h"

#include <string>

#include "gateway/json_error.h"
#include "gateway/ui_assets.h"

namespace cube::gateway {
namespace {

constexpr std::string_view kIndex = "index.html";

const UiAsset* find_asset(std::string_view name) {
  for (const UiAsset& asset : ui_assets()) {
    if (asset.name == name)
      return &asset;
  }
  return nullptr;
}

// True when the If-None-Match list names `etag` (or is "*").
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match == "*")
    return true;
  size_t start = 0;
  while (start < if_none_match.size()) {
    size_t comma = if_none_match.find(',', start);
    std::string_view item = if_none_match.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (item.starts_with("W/"))
      item.remove_prefix(2);  // weak comparison, as RFC 9110 asks for If-None-Match
    if (item == etag)
      return true;
    if (comma == std::string_view::npos)
      break;
    start = comma + 1;
  }
  return false;
}

}  // namespace

HttpResponse ui_redirect() {
  HttpResponse r;
  r.status = 301;
  r.content_type.clear();
  r.headers.emplace_back("Location", "/ui/");
  return r;
}

HttpResponse ui_asset(std::string_view name, const HttpRequest& request) {
  const UiAsset* asset = find_asset(name.empty() ? kIndex : name);
  if (asset == nullptr)
    return error_response(
        404, ErrorCode::NotFound,
        "no such file in the dashboard: /ui/" + std::string(name) + " (the dashboard is at /ui/)");
  HttpResponse r;
  if (etag_matches(request.if_none_match, asset->etag)) {
    r.status = 304;
    r.content_type.clear();
  } else {
    r.content_type = std::string(asset->content_type);
    r.body = std::string(asset->body);
  }
  r.headers.emplace_back("ETag", std::string(asset->etag));
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("Content-Security-Policy", std::string(kUiContentSecurityPolicy));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

}  // namespace cube::gateway
