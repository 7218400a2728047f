// Library version.
#pragma once

#include <string_view>

namespace moejit {

// "MAJOR.MINOR.PATCH" of the moejit library this program links.
std::string_view version();

}  // namespace moejit
