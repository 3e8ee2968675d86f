// The dashboard's routes (docs/dashboard.md): GET /ui redirects to /ui/, GET /ui/{asset} serves
// a file of gateway/ui_assets.h. Static files only: the page reads everything else from the
// REST routes with the caller's own bearer token, so serving the files needs no token and
// reveals nothing about the cluster.
//
// Every file is sent with its ETag and "Cache-Control: no-cache" (a browser revalidates and
// gets 304 while the binary is the same, and the new page right after an upgrade), and a
// Content-Security-Policy that allows this origin only: no remote script, style, font or
// connection, no framing.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "gateway/http_message.h"

namespace cube::gateway {

// The policy every dashboard file carries.
inline constexpr std::string_view kUiContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// 301 to /ui/ (the page's relative URLs need the trailing slash).
HttpResponse ui_redirect();

// The asset `name` ("" is index.html): 200 with its body, or 304 without one when `request`'s
// If-None-Match names its ETag; 404 (JSON error) for a name that is not one of the files.
HttpResponse ui_asset(std::string_view name, const HttpRequest& request);

}  // namespace cube::gateway
