# Helpers shared by the module CMakeLists: warnings and internal include paths.

# Warnings every moejit target compiles with.
function(moejit_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  # Internal headers are included by module path ("reference/gguf_blocks.hpp").
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
endfunction()

# A static module library exported as moejit::<export_name>; sources are the module folder's *.cpp.
function(moejit_module_library target export_name)
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  add_library(${target} STATIC ${_srcs} ${ARGN})
  add_library(moejit::${export_name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name} LINKER_LANGUAGE CXX)
  moejit_target_defaults(${target})
  target_link_libraries(${target} PUBLIC moejit_headers)
  set_property(GLOBAL APPEND PROPERTY MOEJIT_EXPORTED_TARGETS ${target})
endfunction()
