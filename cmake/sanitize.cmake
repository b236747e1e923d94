# FERRET_SANITIZE: a sanitizer build of the torch-free layers and their tests, e.g.
#   cmake -S . -B build-asan -DFERRET_SANITIZE=address,undefined -DFERRET_WITH_TORCH=OFF -DFERRET_CUDA=OFF
# (scripts/sanitize.sh does this and runs `ctest -L unit` plus the fuzz passes). LibTorch is left
# out because its prebuilt libraries are not instrumented and would only report false positives.
set(FERRET_SANITIZE "" CACHE STRING "Sanitizers (-fsanitize=...) for the torch-free build, e.g. address,undefined")
if(FERRET_SANITIZE)
  if(FERRET_WITH_TORCH)
    message(FATAL_ERROR "FERRET_SANITIZE=${FERRET_SANITIZE} needs -DFERRET_WITH_TORCH=OFF (LibTorch is not instrumented)")
  endif()
  add_compile_options(-fsanitize=${FERRET_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all -g)
  add_link_options(-fsanitize=${FERRET_SANITIZE})
endif()
