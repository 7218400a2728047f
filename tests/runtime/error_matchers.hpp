// Test helper: runs a callable and checks it throws moejit::Error with a code and message parts.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "moejit/error.hpp"

namespace moejit::testing {

template <class Fn>
::testing::AssertionResult throws_error(Fn&& fn, ErrorCode code,
                                        std::initializer_list<std::string_view> parts) {
  try {
    fn();
  } catch (const Error& e) {
    if (e.code() != code)
      return ::testing::AssertionFailure()
             << "expected " << error_code_name(code) << ", got: " << e.what();
    const std::string message = e.what();
    for (std::string_view part : parts)
      if (message.find(part) == std::string::npos)
        return ::testing::AssertionFailure()
               << "message does not mention \"" << part << "\": " << message;
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-moejit exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw " << error_code_name(code);
}

}  // namespace moejit::testing
