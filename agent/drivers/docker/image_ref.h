// Splitting an image reference into the fromImage/tag pair of dockerd's pull endpoint.
// Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace cube::agent {

struct ImageRef {
  std::string repository;  // "no-such/image", "registry:5000/team/app"
  std::string tag;         // "1", "latest"; empty when the reference has a digest
  std::string digest;      // "sha256:..." or empty
};

// "busybox" -> {busybox, latest}; "no-such/image:1" -> {no-such/image, 1};
// "registry:5000/app" -> {registry:5000/app, latest} (a colon before the last "/" is a port);
// "app@sha256:ab.." -> {app, "", sha256:ab..}. Does not validate: protocol/task_validation.h
// has already checked the reference before a task reaches a driver.
ImageRef split_image_ref(std::string_view reference);

}  // namespace cube::agent
