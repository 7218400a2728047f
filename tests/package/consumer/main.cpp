// Uses the installed moejit package through its public headers only.
#include <cstdio>
#include <string>

#include "moejit/types.hpp"
#include "moejit/version.hpp"

int main() {
  const auto f = moejit::parse_format("q4_k");
  if (!f || moejit::block_layout(*f).block_bytes != 144) return 1;
  std::printf("moejit %s: q4_k has %d-byte blocks\n", std::string(moejit::version()).c_str(),
              moejit::block_layout(*f).block_bytes);
  return 0;
}
