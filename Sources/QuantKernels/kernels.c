#include "QuantKernels.h"
