// libFuzzer's driver entry point (compiler-rt FuzzerInterface.h / FuzzerDriver.cpp, LLVM 11 and later). SwiftPM
// links an executable target with `main` aliased to `<Target>_main`; each target defines that function and hands
// control to libFuzzer's driver with its `LLVMFuzzerTestOneInput`.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
