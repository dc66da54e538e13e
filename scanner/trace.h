/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Debug tracing of the library (and so of the command), chosen by the environment variable
 * IMGSCAN_DEBUG (a comma-separated list; "probe" or "all"), read once per
 * process.  IMGSCAN_DEBUG=probe prints to stderr, for each volume, every
 * magic the probe core tries and every check that refuses the volume
 * ("why is this raw, or damaged?"):
 *   imgscan: probe: PATH: qcow2: magic "QFI\xfb" at offset 0: found
 *   imgscan: probe: PATH: qcow2: check failed: Unsupported cluster size (cluster_bits 5, 9..21)
 *   imgscan: probe: PATH: qcow: no match: version 7 (qcow is version 1; 2 and 3 are qcow2)
 * The core formats the lines (struct img_reader.trace); this file writes
 * them, the path escaped as in every error message.  Off, nothing is
 * installed and the probe pays one test of a NULL pointer per step.
 */
#pragma once

#include "io/source.h"

/* IMGSCAN_DEBUG names "probe" (read once, at the first call) */
bool img_debug_probe(void);
/*
 * With IMGSCAN_DEBUG=probe, trace the probes of src as path (kept by the
 * caller until src is freed); otherwise nothing.
 */
void img_trace_attach(struct img_source *src, const char *path);
