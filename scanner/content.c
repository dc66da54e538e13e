/* PLACEHOLDER */
#include "content.h"
