// (KernelSpec is a plain aggregate; keys and sources are produced in kernel_key.cpp and
// emitter.cpp.)
#include "codegen/kernel_spec.hpp"
