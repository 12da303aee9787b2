#ifndef QUANTKERNELS_H
#define QUANTKERNELS_H
#endif
