// Library version, from the CMake project version.
#include "moejit/version.hpp"

#include "moejit_version_config.hpp"

namespace moejit {
std::string_view version() { return MOEJIT_VERSION_STRING; }
}  // namespace moejit
