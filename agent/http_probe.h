// One health probe: a blocking HTTP GET with libcurl (agent/health_check.h says which URL and
// when). Runs on a worker thread, never on the agent's poll loop.
#pragma once

#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace cube::agent {

// GETs `url` (http:// only, no redirects followed, no proxy) and discards the body. OK for an
// answer with status 200-399 within `timeout` (connecting included). Otherwise Unavailable
// with a message that starts "GET <url>: " and says what went wrong: "HTTP 404", "no answer
// within 2000 ms", or libcurl's description ("Couldn't connect to server"). Blocks for at most
// about `timeout`. Thread-safe: each call uses its own libcurl handle.
Status http_probe(const std::string& url, Millis timeout);

}  // namespace cube::agent
