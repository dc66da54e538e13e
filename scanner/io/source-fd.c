/* PLACEHOLDER */
#include "io/source.h"
