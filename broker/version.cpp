#include "broker/version.h"

#ifndef CUBE_BROKER_VERSION
#define CUBE_BROKER_VERSION "unknown"
#endif

namespace cube::broker {

std::string_view broker_version() {
  return CUBE_BROKER_VERSION;
}

}  // namespace cube::broker
