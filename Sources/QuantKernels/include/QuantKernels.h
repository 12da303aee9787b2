#ifndef QUANTKERNELS_H
#define QUANTKERNELS_H
#include "alg_kernels.h"
#endif
