/* PLACEHOLDER: being written */
#include "output/output.h"
