#ifndef MAILBRIDGE_CETPAN_SHIM_H
#define MAILBRIDGE_CETPAN_SHIM_H
#include <libetpan/libetpan.h>
#endif
