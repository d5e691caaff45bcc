#ifndef MAILBRIDGE_CQRENCODE_SHIM_H
#define MAILBRIDGE_CQRENCODE_SHIM_H
#include <qrencode.h>
#endif
