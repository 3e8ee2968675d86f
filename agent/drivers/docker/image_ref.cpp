#include "agent/drivers/docker/image_ref.h"

namespace cube::agent {

ImageRef split_image_ref(std::string_view reference) {
  ImageRef ref;
  if (auto at = reference.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(reference.substr(at + 1));
    reference = reference.substr(0, at);
  }
  size_t slash = reference.rfind('/');
  size_t colon = reference.rfind(':');
  bool has_tag =
      colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash);
  if (has_tag) {
    ref.repository = std::string(reference.substr(0, colon));
    ref.tag = std::string(reference.substr(colon + 1));
  } else {
    ref.repository = std::string(reference);
    if (ref.digest.empty())
      ref.tag = "latest";
  }
  return ref;
}

}  // namespace cube::agent
