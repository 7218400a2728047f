// The whole public API of moejit in one include: plans (select / run), errors, enums and block
// layouts, GGUF block formats on the CPU, the CPU reference and precision guarantees, version.
#pragma once

#include "moejit/error.hpp"
#include "moejit/gguf.hpp"
#include "moejit/moe_plan.hpp"
#include "moejit/precision.hpp"
#include "moejit/reference.hpp"
#include "moejit/types.hpp"
#include "moejit/version.hpp"
