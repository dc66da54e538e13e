/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --prometheus (out-prom.c): node_exporter textfile collector format.
 * img_prom_add takes one volume (any order); img_prom_print writes every
 * family with its HELP and TYPE lines, then the scan's own series.
 */
#pragma once

#include <stdio.h>

#include "cmd/view.h"

struct img_prom;
struct img_prom *img_prom_new(void);
void img_prom_add(struct img_prom *p, const struct img_view *v);
int img_prom_print(struct img_prom *p, FILE *f, double duration_sec);
void img_prom_free(struct img_prom *p);
