// zlib for the gzip-compressed IDX files of Fashion-MNIST.
#ifndef DPTRAIN_CZLIB_SHIM_H
#define DPTRAIN_CZLIB_SHIM_H
#include <zlib.h>
#endif
